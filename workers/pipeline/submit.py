"""Start a job: claim a slot, compile the request, record intent, submit, commit the task id."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connection
from django.db.models import F
from django.utils import timezone

from boards.models import Panel
from workers import registry
from workers.backends.base import BackendError, OutcomeUnknown, RateLimited, TransientError
from workers.compiler import CompiledRequest, compile_panel
from workers.models import GenerationJob
from workers.pipeline import poll as polling
from workers.pipeline.cancel import cancelled_while_submitting
from workers.pipeline.slots import claim_slot, fail, kick_waiting, needs_review
from workers.pipeline.states import (
    DONE,
    State,
    Step,
    backoff,
    jitter,
    lease,
    load_job,
    transition,
)
from workers.pipeline.store import download_and_store
from workers.selectors import panel_spec, request_images

log = logging.getLogger(__name__)


_COMMIT_PATIENCE_S = 30.0


def job_start(job_id: int) -> Step:
    """Claim a queued job and submit it to its backend."""
    job = load_job(job_id)
    if job is None or job.state != State.QUEUED:
        return DONE  # a repeated delivery, a cancelled job, or one another worker has
    try:
        cap = capabilities(job).max_active
    except LookupError as exc:
        return fail(job_id, [State.QUEUED], code="backend_unavailable", message=str(exc))
    if not claim_slot(job, cap):
        return DONE
    return submit_claimed(job)


def capabilities(job: GenerationJob):
    return registry.get_backend(job.backend, job.model).capabilities(job.model)


def submit_claimed(job: GenerationJob) -> Step:
    """Compile and send a job this process has just claimed (state `submitting`)."""
    job_id = job.pk
    try:
        backend = registry.get_backend(job.backend, job.model)
        caps = backend.capabilities(job.model)
    except LookupError as exc:
        return fail(job_id, [State.SUBMITTING], code="backend_unavailable", message=str(exc))
    try:
        compiled = _compiled(job, caps)
        request = compiled.load()
    except Exception as exc:  # nothing was sent: a missing file, a broken reference
        log.exception("job %s: could not build the request", job_id)
        return fail(
            job_id,
            [State.SUBMITTING],
            code="request_error",
            message=f"Could not prepare the request: {exc}",
        )
    # Intent first: from this write on, a lost worker means "outcome unknown".
    intent: dict = {"submit_sent": timezone.now()}
    if compiled.fingerprint != job.fingerprint:
        intent.update(request=compiled.manifest(), fingerprint=compiled.fingerprint)
    if not transition(job_id, State.SUBMITTING, **intent):
        return DONE  # cancelled in the meantime: nothing is sent

    try:
        submission = backend.submit(request)
    except RateLimited as exc:
        return _requeue(job, countdown=jitter(exc.retry_after or 5.0), attempts_count=False)
    except TransientError:
        if job.attempts >= settings.STUDIO_MAX_SUBMIT_ATTEMPTS:
            return fail(
                job_id,
                [State.SUBMITTING],
                code="unreachable",
                message="The provider could not be reached; try again later.",
            )
        return _requeue(job, countdown=backoff(job.attempts))
    except OutcomeUnknown as exc:
        if registry.is_paid(job.backend):
            return needs_review(
                job_id,
                [State.SUBMITTING],
                f"The provider may or may not have received this request ({exc.message}). "
                "Check the provider's dashboard; retrying may be billed again.",
            )
        return _requeue(job, countdown=backoff(job.attempts))
    except BackendError as exc:
        return fail(job_id, [State.SUBMITTING], exc)

    cost = (
        Decimal(str(submission.cost)).quantize(Decimal("0.01"))
        if submission.cost is not None
        else None
    )
    # The task id is committed before anything else happens: from here on a
    # crash resumes by polling, never by submitting again.
    now = timezone.now()
    delay = 0.0 if submission.image is not None else polling.first_poll_delay(job.backend)
    answered = {
        "provider_task_id": submission.task_id[:200],
        "polling_url": submission.polling_url[:1000],
        "cancel_url": submission.cancel_url[:1000],
        "cost": cost,
    }
    if not _commit_submission(
        job_id,
        state=State.POLLING,
        next_poll_at=now + timedelta(seconds=delay),
        lease_expires=now + lease(delay),
        **answered,
    ):
        # Cancelled while the request was on its way: it is at the provider now.
        return cancelled_while_submitting(job_id, **answered)
    if submission.image is not None:
        return download_and_store(job_id, image=submission.image)
    return Step("poll", delay, job_id)


def _compiled(job: GenerationJob, caps) -> CompiledRequest:
    """What to send: the request compiled when the job was asked for (what was priced)."""
    if "scene" in job.request:
        return CompiledRequest.from_manifest(job.request, request_images(job.request))
    panel = Panel.objects.select_related("board__project").get(pk=job.panel_id)
    spec = panel_spec(
        panel, seed=job.seed, edit_source=job.source_take, instruction=job.instruction
    )
    return compile_panel(spec, caps, backend=job.backend, model=job.model)


def _commit_submission(job_id: int, **fields) -> bool:
    """Store what the provider answered, riding out a short database outage.

    The request is already paid for and only this process knows its task id:
    losing this write would leave the job for a person to review, so it is
    retried for a while (a PostgreSQL restart takes a few seconds). False
    when the job is no longer submitting (a person cancelled it meanwhile).
    """
    deadline = time.monotonic() + _COMMIT_PATIENCE_S
    while True:
        try:
            return transition(job_id, State.SUBMITTING, **fields)
        except (DatabaseError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            log.warning("job %s: database unavailable while storing its task id; retrying", job_id)
            close_old_connections()
            connection.close()
            time.sleep(0.5)


def _requeue(job: GenerationJob, *, countdown: float, attempts_count: bool = True) -> Step:
    """Give a job that was not sent back to the queue, to start again after `countdown`."""
    now = timezone.now()
    changes: dict[str, object] = {
        "state": State.QUEUED,
        "submit_sent": None,
        "lease_expires": now + lease(countdown),
        "next_poll_at": now + timedelta(seconds=countdown),
    }
    if not attempts_count:
        changes["attempts"] = F("attempts") - 1
    if transition(job.pk, State.SUBMITTING, **changes):
        kick_waiting(job.backend)
        return Step("start", countdown, job.pk)
    return DONE
