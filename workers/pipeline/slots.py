"""Provider slots: claim one under the backend's lock, hand it to the next waiting job, free it.

The number of jobs holding a slot (`GenerationJob.SLOT_STATES`) never
exceeds the backend's cap across all workers: the count and the claim are
one conditional UPDATE under a lock on the backend's `BackendSlots` row.
Finishing a job frees its slot, so the finishing helpers live here too.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from workers import chains
from workers.backends.base import BackendError
from workers.models import BackendSlots, GenerationJob
from workers.pipeline.plain_update import SlotFree, oldest_waiting
from workers.pipeline.states import DONE, State, Step, lease, transition


def _finish(
    job_id: int, from_states, state: str, *, code: str = "", message: str = "", **extra
) -> bool:
    changed = transition(
        job_id,
        from_states,
        state=state,
        error_code=code[:40],
        error_message=message,
        finished=timezone.now(),
        lease_expires=None,
        **extra,
    )
    if changed:
        backend = GenerationJob.objects.filter(pk=job_id).values_list("backend", flat=True).first()
        if backend:
            kick_waiting(backend)
        chains.chain_release(job_id)
    return bool(changed)


def fail(
    job_id: int, from_states, exc: BackendError | None = None, *, code: str = "", message: str = ""
) -> Step:
    failed = _finish(
        job_id,
        from_states,
        State.FAILED,
        code=code or (exc.code if exc else "failed"),
        message=message or (exc.message if exc else "The job failed."),
    )
    if failed:
        _tell_requester_it_failed(job_id)
    return DONE


def _tell_requester_it_failed(job_id: int) -> None:
    """Put the failure in the inbox of the person who asked for the panel."""
    from django.urls import reverse

    from studio.notifications import notify

    job = (
        GenerationJob.objects.select_related("panel__board__project", "requested_by")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.requested_by is None:
        return
    panel = job.panel
    notify(
        recipients=[job.requested_by],
        kind="generation_failed",
        project=panel.board.project,
        text=f"Panel {panel.number} of “{panel.board.name}” could not be generated: "
        f"{job.error_message}",
        url=reverse("panel_edit", args=[panel.pk]),
    )


def needs_review(job_id: int, from_states, message: str, code: str = "outcome_unknown") -> Step:
    _finish(job_id, from_states, State.NEEDS_REVIEW, code=code, message=message)
    return DONE


def _claimed_fields(now) -> dict:
    return {
        "state": State.SUBMITTING,
        "attempts": F("attempts") + 1,
        "started": now,
        "lease_expires": now + lease(),
    }


def _mark_claimed(job: GenerationJob, now) -> GenerationJob:
    """Bring the in-memory job up to date with the claim just written."""
    job.state = State.SUBMITTING
    job.attempts += 1
    job.started = now
    job.lease_expires = now + lease()
    return job


def claim_slot(job: GenerationJob, cap: int) -> bool:
    """Move a queued job to `submitting` if the backend has a free slot.

    Claims are serialised on the backend's slots row; the count of jobs in
    flight and the claim are one conditional UPDATE under that lock.
    """
    now = timezone.now()
    _ensure_slots_row(job.backend)
    with transaction.atomic():
        _lock_slots(job.backend)
        claimed = transition(
            job.pk,
            State.QUEUED,
            SlotFree(job.backend, cap),
            **_claimed_fields(now),
        )
        if not claimed:
            _wait_for_slot(job, now)
            return False
    _mark_claimed(job, now)
    return True


def _lock_slots(backend: str) -> None:
    """Serialise slot claims for a backend until the current transaction ends."""
    connection = connections[router.db_for_write(BackendSlots)]
    if not connection.features.has_select_for_update:
        # SQLite: BEGIN IMMEDIATE (see settings) has already taken the write lock.
        return
    with connection.cursor() as cursor:
        # Plain SQL: the ORM spends more CPU building this than the database running it.
        cursor.execute(_LOCK_SQL, [backend])


_LOCK_SQL = f"SELECT backend FROM {BackendSlots._meta.db_table} WHERE backend = %s FOR UPDATE"  # noqa: S608


_slots_rows: set[str] = set()


def _ensure_slots_row(backend: str) -> None:
    # The row never goes away, so each process creates or finds it once.
    if backend not in _slots_rows:
        BackendSlots.objects.get_or_create(backend=backend)
        _slots_rows.add(backend)


def _wait_for_slot(job: GenerationJob, now) -> None:
    # Wait for a finishing job to kick us; the lease is the backstop.
    transition(job.pk, State.QUEUED, lease_expires=now + lease(), next_poll_at=None)


# A queued job kicked less than this long ago is left to the start already sent for it.
_KICK_QUIET_S = 5


def _waiting(backend: str, now):
    """Queued jobs of the backend, oldest first, that were not kicked in the last
    seconds and are not waiting out a provider's Retry-After."""
    return (
        GenerationJob.objects.filter(backend=backend, state=State.QUEUED)
        .filter(
            Q(next_poll_at__isnull=True)
            | Q(next_poll_at__lt=now - timedelta(seconds=_KICK_QUIET_S))
        )
        .order_by("created", "id")
    )


def _claim_next_waiting(backend: str) -> int | None:
    """Mark and return the oldest queued job of the backend not kicked in the last seconds."""
    now = timezone.now()
    with transaction.atomic():
        _lock_slots(backend)
        job_id = _waiting(backend, now).values_list("pk", flat=True).first()
        if job_id is not None:
            transition(job_id, State.QUEUED, next_poll_at=now)
    return job_id


def hand_slot_to_next(backend: str, cap: int) -> GenerationJob | None:
    """Claim the oldest waiting job of the backend for a slot that just freed up.

    One transaction under the slots lock picks it (reading the count of jobs
    in flight in the same query) and claims it; the job comes back ready to
    submit, with no claim or read of its own.
    """
    now = timezone.now()
    _ensure_slots_row(backend)
    with transaction.atomic():
        _lock_slots(backend)
        job, in_flight = oldest_waiting(
            backend,
            kicked_before=now - timedelta(seconds=_KICK_QUIET_S),
            slot_states=GenerationJob.SLOT_STATES,
        )
        if job is None or in_flight >= cap:
            return None
        claimed = transition(job.pk, State.QUEUED, **_claimed_fields(now), next_poll_at=now)
    if not claimed:
        return None
    job.next_poll_at = now
    return _mark_claimed(job, now)


def kick_waiting(backend: str) -> None:
    """A slot freed up: send a start for the oldest waiting job of the backend."""
    job_id = _claim_next_waiting(backend)
    if job_id is None:
        return
    from workers.tasks import start_job

    transaction.on_commit(lambda: start_job.delay(job_id))
