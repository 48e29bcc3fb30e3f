"""Jobs that wait for the previous panel's job ("continue from previous panel").

A panel that continues the previous one is drawn from that panel's picture.
When both are asked for together, the continuing panel's job is written
`waiting`, pointing at the previous panel's job (`after`), priced up front
with a stand-in for the picture to come. It holds no provider slot and no
lease. When the job it follows ends:

- succeeded: the waiting job is compiled with that job's take and queued;
- failed, cancelled or needs review: it fails with the reason, and so does
  any job waiting for it in turn (nothing of theirs was sent or billed).

`chain_release` is called where a job ends (the pipeline, cancel) and by
the sweeper for any waiting job whose predecessor has ended, so a lost call
only delays a release.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from boards.models import Panel, Take
from workers import registry
from workers.compiler import compile_panel
from workers.models import GenerationJob
from workers.pipeline.plain_update import has_followers
from workers.selectors import image_spec, panel_spec

log = logging.getLogger(__name__)
State = GenerationJob.State


def chain_release(job_id: int) -> None:
    """`job_id` may have ended: queue the jobs waiting for it, or fail them with the reason."""
    # Most jobs have no follower: one small query, written as SQL, settles it.
    if not has_followers(job_id):
        return
    followers = list(GenerationJob.objects.filter(after_id=job_id, state=State.WAITING))
    job = GenerationJob.objects.select_related("panel", "take").filter(pk=job_id).first()
    if job is None or job.state in GenerationJob.ACTIVE_STATES:
        return
    if job.state == State.SUCCEEDED and job.take is not None:
        for follower in followers:
            _release(follower, job.take)
        return
    reason = _why_not(job)
    for follower in followers:
        _fail(follower, reason)


def _why_not(job: GenerationJob) -> str:
    number = job.panel.number
    if job.state == State.CANCELLED:
        return f"panel {number} was cancelled"
    if job.state == State.NEEDS_REVIEW:
        return f"panel {number} needs review"
    detail = f": {job.error_message}" if job.error_message else ""
    return f"panel {number} failed{detail}"


def _fail(follower: GenerationJob, reason: str) -> None:
    failed = GenerationJob.objects.filter(pk=follower.pk, state=State.WAITING).update(
        state=State.FAILED,
        error_code="previous_failed",
        error_message=(
            f"Not generated because {reason.rstrip('.')}. This panel continues it: "
            "generate both again."
        ),
        finished=timezone.now(),
        lease_expires=None,
    )
    if failed:
        chain_release(follower.pk)  # whoever continues this panel cannot go on either


def _release(follower: GenerationJob, take: Take) -> None:
    """Compile a waiting job with the previous panel's new take and queue it."""
    try:
        panel = Panel.objects.select_related("board__project").get(pk=follower.panel_id)
        spec = replace(
            panel_spec(panel, seed=follower.seed),
            previous_take=image_spec(take, label="previous panel"),
        )
        caps = registry.capabilities(follower.backend, follower.model)
        compiled = compile_panel(spec, caps, backend=follower.backend, model=follower.model)
    except Exception as exc:  # nothing is sent: a deleted reference, a backend gone
        log.exception("job %s: could not compile after its previous panel", follower.pk)
        _fail(follower, f"it could not be prepared ({exc})")
        return
    now = timezone.now()
    request = {**follower.request, **compiled.manifest()}
    queued = GenerationJob.objects.filter(pk=follower.pk, state=State.WAITING).update(
        state=State.QUEUED,
        request=request,
        fingerprint=compiled.fingerprint,
        lease_expires=now + timedelta(seconds=settings.STUDIO_JOB_LEASE_S),
        next_poll_at=None,
    )
    if queued:
        from workers.pipeline import kick_waiting

        kick_waiting(follower.backend)


def chains_sweep() -> int:
    """Release or fail waiting jobs whose predecessor has ended; returns how many were looked at.

    The backstop for a release lost with a worker; a waiting job whose
    predecessor is gone (its panel deleted) fails.
    """
    stuck = list(
        GenerationJob.objects.filter(state=State.WAITING)
        .filter(Q(after__isnull=True) | ~Q(after__state__in=GenerationJob.ACTIVE_STATES))
        .values_list("pk", "after_id")[:500]
    )
    for job_id, after_id in stuck:
        if after_id is None:
            follower = GenerationJob(pk=job_id)
            _fail(follower, "the previous panel was deleted")
        else:
            chain_release(after_id)
    return len(stuck)
