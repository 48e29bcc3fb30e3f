from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """Our own user model from the first migration, so it can grow without a data migration."""

    email = models.EmailField("email address", blank=True, db_index=True)


class Project(models.Model):
    """A comic, a film, a campaign: the unit of access."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # The project style (DESIGN §4): text every prompt starts from.
    style = models.TextField(blank=True)
    # Generation settings; empty means "the studio default" (STUDIO_BACKEND).
    backend = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=60, blank=True)
    # Credits (1 credit = 1 US cent); null means no cap.
    spending_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_one_per_user"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "editor", "viewer"]), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.EDITOR)

    @property
    def can_manage(self) -> bool:
        return self.role == self.Role.OWNER


class StoredImage(models.Model):
    """Fields shared by every image we keep: normalised bytes, a thumbnail, a content hash.

    Files live under `projects/<project id>/`, which is what the
    permission-checked media view relies on to find the owning project.
    """

    file = models.FileField(max_length=300)
    thumbnail = models.FileField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 1.0


class LoginFailure(models.Model):
    """One failed log-in, kept only for the throttle window (studio.throttle).

    In the database, not a per-process cache, so every web worker counts the
    same failures.
    """

    # Lower-cased as typed: "Owner" and "owner" share one count.
    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(db_index=True)  # also serves the pruning DELETE

    class Meta:
        indexes = [
            # Failures of one account within the window.
            models.Index(fields=["username", "created"], name="loginfailure_account_recent"),
            # Failures from one address within the window.
            models.Index(fields=["address", "created"], name="loginfailure_address_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address or '?'} at {self.created:%Y-%m-%d %H:%M}"
