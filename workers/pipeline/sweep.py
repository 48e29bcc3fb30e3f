"""The sweeper: take back active jobs whose lease ran out, never resubmitting a sent one."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from workers import chains, registry
from workers.models import GenerationJob
from workers.pipeline.slots import needs_review
from workers.pipeline.states import State, Step, lease, transition


def jobs_sweep(now=None) -> list[Step]:
    """One pass: take back active jobs whose lease ran out. Never resubmits a sent job."""
    now = now or timezone.now()
    steps: list[Step] = []
    chains.chains_sweep()
    stale = GenerationJob.objects.filter(state__in=GenerationJob.LEASED_STATES).filter(
        Q(lease_expires__lt=now) | Q(lease_expires__isnull=True)
    )
    requeued = {"state": State.QUEUED, "lease_expires": now + lease(), "next_poll_at": None}
    for job in stale.order_by("created", "id")[:500]:
        # Only if no one renewed the lease since it was read.
        unchanged = Q(lease_expires=job.lease_expires)
        if job.state == State.QUEUED or not registry.is_paid(job.backend):
            # Not sent, or free and deterministic to redo: start again.
            if transition(job.pk, job.state, unchanged, **requeued):
                steps.append(Step("start", 0, job.pk))
        elif job.state == State.SUBMITTING and not job.submit_sent:
            # Claimed but never sent (the worker died while preparing it).
            if transition(job.pk, job.state, unchanged, **requeued):
                steps.append(Step("start", 0, job.pk))
        elif job.state == State.SUBMITTING and not job.provider_task_id:
            needs_review(
                job.pk,
                [State.SUBMITTING],
                "A worker stopped while submitting: the provider may or may not have this "
                "request. Retrying may be billed again.",
            )
        elif transition(
            job.pk,
            job.state,
            unchanged,
            state=State.POLLING,
            next_poll_at=now,
            lease_expires=now + lease(),
        ):
            # Sent already (task id stored): resume by polling, never by submitting.
            steps.append(Step("poll", 0, job.pk))
    return steps
