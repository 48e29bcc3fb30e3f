from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from boards.models import Panel, Take
from studio.models import Project


class GenerationJob(models.Model):
    """One request to a backend for one panel; the database is its source of truth."""

    class State(models.TextChoices):
        # Continues a panel whose job in the same request has not finished yet.
        WAITING = "waiting", "Waiting for the previous panel"
        QUEUED = "queued", "Queued"
        SUBMITTING = "submitting", "Submitting"
        POLLING = "polling", "Generating"
        DOWNLOADING = "downloading", "Downloading"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        NEEDS_REVIEW = "needs_review", "Needs review"

    ACTIVE_STATES = ("waiting", "queued", "submitting", "polling", "downloading")
    # Jobs a worker or the sweeper moves along, under a lease. A waiting job has
    # none: the job it follows releases it when it finishes (workers.chains).
    LEASED_STATES = ("queued", "submitting", "polling", "downloading")
    # Jobs holding a provider slot. A job that is downloading does not: the
    # provider has finished its task, and freeing the slot before the download
    # and store lets the next panel start while this one is being saved.
    SLOT_STATES = ("submitting", "polling")
    FINAL_STATES = ("succeeded", "failed", "cancelled")

    class Kind(models.TextChoices):
        GENERATE = "generate", "Generate"
        VARIATION = "variation", "New variation"
        EDIT = "edit", "Edit"

    project = models.ForeignKey(Project, models.CASCADE, related_name="jobs")
    panel = models.ForeignKey(Panel, models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.GENERATE)
    state = models.CharField(max_length=12, choices=State.choices, default=State.QUEUED)
    backend = models.CharField(max_length=40)
    model = models.CharField(max_length=60, blank=True)
    source_take = models.ForeignKey(
        Take, models.SET_NULL, null=True, blank=True, related_name="edit_jobs"
    )
    instruction = models.TextField(blank=True)
    # Region edits: the prepared mask (PNG, the source take's size, white =
    # change). The job keeps its own file so a retry can send it again.
    mask = models.FileField(max_length=300, blank=True)
    # The previous panel's job this one waits for ("continue from previous
    # panel"): compiled with that job's take once it succeeds.
    after = models.ForeignKey(
        "self", models.SET_NULL, null=True, blank=True, related_name="followers"
    )
    seed = models.PositiveBigIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    # The compiled request without image bytes (prompt, references by id and hash, size).
    request = models.JSONField(default=dict, blank=True)
    provider_task_id = models.CharField(max_length=200, blank=True)
    polling_url = models.URLField(max_length=1000, blank=True)
    # Where the provider said the task can be stopped (fal, Replicate); used when it is cancelled.
    cancel_url = models.URLField(max_length=1000, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=40, blank=True)
    error_message = models.TextField(blank=True)
    estimated_cost = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    progress = models.FloatField(null=True, blank=True)
    take = models.ForeignKey(Take, models.SET_NULL, null=True, blank=True, related_name="jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    started = models.DateTimeField(null=True, blank=True)
    # Written (and committed) just before the request leaves for the provider:
    # a job found submitting without it was never sent and may be started again.
    submit_sent = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)
    # A worker holding the job renews this; past it, the sweeper may take the job back.
    lease_expires = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["panel"],
                condition=Q(
                    state__in=["waiting", "queued", "submitting", "polling", "downloading"]
                ),
                name="job_one_active_per_panel",
            ),
        ]
        indexes = [
            # Serves the sweeper: active jobs whose lease ran out.
            models.Index(
                fields=["lease_expires"],
                condition=Q(state__in=["queued", "submitting", "polling", "downloading"]),
                name="job_active_lease",
            ),
            # Serves the in-flight cap: jobs holding a provider slot, per backend.
            models.Index(
                fields=["backend", "state"],
                condition=Q(state__in=["submitting", "polling", "downloading"]),
                name="job_in_flight",
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.state}) for {self.panel_id}"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def activity(self) -> str:
        """What a person is told while the job is under way, in the backend's own words.

        Submitting, polling and downloading are one step to someone waiting
        for a frame, and mean nothing for a backend that draws on the spot.
        """
        if self.state in (self.State.WAITING, self.State.QUEUED):
            return self.get_state_display()
        from workers import registry

        try:
            backend = registry.get_backend(self.backend, self.model)
        except LookupError:
            return "Generating"
        return getattr(backend, "activity", "Generating")


class BackendSlots(models.Model):
    """One row per backend, locked while a job takes a provider slot.

    The in-flight count itself is derived from job states (so a crashed
    worker never leaks a slot); this row only makes "count, then claim"
    atomic across workers.
    """

    backend = models.CharField(max_length=40, primary_key=True)

    def __str__(self) -> str:
        return self.backend
