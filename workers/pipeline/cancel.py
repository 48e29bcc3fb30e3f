"""Tell the provider to stop the task of a job a person cancelled.

Cancelling a job (`workers.services.job_cancel`) is a state change in the
database; this is the follow-up, run by a worker: if the job's task reached a
provider that documents a cancel call, that call is made once, best-effort.
It is free and never submits anything: a cancelled job is never sent again,
and the cost already stored for its submission stays counted.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Q

from workers import registry
from workers.backends.base import BackendError, Submission
from workers.pipeline.states import DONE, State, Step, load_job, transition

log = logging.getLogger(__name__)

# error_code of a cancelled job whose provider was asked to stop its task.
ASKED = "provider_cancel"


def job_cancel_at_provider(job_id: int) -> Step:
    """Ask the provider to stop a cancelled job's task: at most once, whoever delivers this."""
    job = load_job(job_id, state=State.CANCELLED)
    if job is None or not job.provider_task_id or not registry.can_cancel(job.backend):
        return DONE
    # The claim makes the call once, however often this step is delivered.
    if not transition(job_id, State.CANCELLED, Q(error_code=""), error_code=ASKED):
        return DONE
    submission = Submission(
        task_id=job.provider_task_id, polling_url=job.polling_url, cancel_url=job.cancel_url
    )
    try:
        backend = registry.get_backend(job.backend, job.model)
        backend.cancel(submission)  # type: ignore[attr-defined]
    except (BackendError, LookupError) as exc:
        log.warning("job %s: the provider could not be asked to stop its task: %s", job_id, exc)
        transition(
            job_id,
            State.CANCELLED,
            error_message="The provider could not be asked to stop this request; "
            "it may still finish and be billed.",
        )
    return DONE


def cancelled_while_submitting(job_id: int, **answered: Any) -> Step:
    """A job cancelled while its submit was on the way: keep what the provider answered.

    The submission reached the provider (and may be billed), so `answered`
    (its task id, URLs and cost) goes on the cancelled job, and the provider
    is asked to stop the task.
    """
    stored = transition(job_id, State.CANCELLED, Q(provider_task_id=""), **answered)
    return Step("cancel", 0, job_id) if stored else DONE
