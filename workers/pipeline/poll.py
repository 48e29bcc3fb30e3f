"""Poll a submitted job without holding a worker idle; hand its slot over when it is ready."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from workers import registry
from workers.backends.base import BackendError, Submission, TransientError
from workers.models import GenerationJob
from workers.pipeline import submit as submitting
from workers.pipeline.plain_update import claim_job
from workers.pipeline.slots import fail, hand_slot_to_next, needs_review
from workers.pipeline.states import DONE, State, Step, lease, load_job, transition
from workers.pipeline.store import claim_download, fetch_and_store

# Observed provider latency per backend, in this process: the first poll is
# aimed just before a typical task finishes instead of hammering early.
_latency: dict[str, float] = {}


def first_poll_delay(backend: str) -> float:
    seen = _latency.get(backend)
    return max(0.25, seen * 0.9) if seen else 0.5


def _note_latency(backend: str, seconds: float) -> None:
    old = _latency.get(backend)
    _latency[backend] = seconds if old is None else 0.7 * old + 0.3 * seconds


def poll_interval(elapsed: float, expected: float | None = None) -> float:
    """Short intervals while a result is likely near, longer as a task drags on.

    Around the latency this process has seen, polls come closer together:
    a result noticed a tenth of a second sooner frees its provider slot
    sooner, which is what bounds a whole board's time.
    """
    if expected is not None and 0.8 * expected <= elapsed <= 1.3 * expected:
        return 0.1
    if elapsed < 10:
        return 0.25
    if elapsed < 60:
        return 1.0
    return 3.0


# With webhooks on, a poll every this many seconds catches a webhook that never came.
WEBHOOK_FALLBACK_POLL_S = 15.0


def job_poll(job_id: int) -> Step:
    """Ask the provider about a submitted job; download and store it when ready."""
    now = timezone.now()
    # Claim this poll: a duplicate chain (e.g. one the sweeper started) that
    # arrives before the next poll is due drops out here.
    job = claim_job(
        job_id,
        [State.POLLING],
        {
            # Held only while this poll runs: a retry of this task after a
            # database error must find the poll due again.
            "next_poll_at": now + timedelta(seconds=2),
            "lease_expires": now + lease(30),
            "updated": now,
        },
        due_by=now + timedelta(milliseconds=250),
    )
    if job is None:
        return DONE
    elapsed = (now - (job.started or job.created)).total_seconds()
    # Checked before every poll, not only after a "still running" answer: a
    # task reported Ready whose download keeps failing comes back here too,
    # and must not be polled (with the key) forever.
    if elapsed > settings.STUDIO_POLL_DEADLINE_S:
        return _past_deadline(job, elapsed)
    try:
        backend = registry.get_backend(job.backend, job.model)
        result = backend.poll(Submission(task_id=job.provider_task_id, polling_url=job.polling_url))
    except TransientError:
        return _poll_again(job, elapsed, interval=min(30.0, max(1.0, elapsed / 10)))
    except (BackendError, LookupError) as exc:
        if isinstance(exc, LookupError):
            return fail(job_id, [State.POLLING], code="backend_unavailable", message=str(exc))
        return fail(job_id, [State.POLLING], exc)
    if result.state == "ready":
        _note_latency(job.backend, elapsed)
        return _hand_over(job, result.sample_url)
    if result.progress is not None:
        transition(job_id, State.POLLING, progress=result.progress)
    interval = poll_interval(elapsed, _latency.get(job.backend))
    if getattr(backend, "webhook_url", ""):
        # Results arrive by webhook; polling is only the fallback for a lost one.
        interval = max(interval, WEBHOOK_FALLBACK_POLL_S)
    return _poll_again(job, elapsed, interval=interval)


def job_deliver(job_id: int, task_id: str, payload: dict) -> Step:
    """A provider's webhook for a polling job: move it on as a poll answer would.

    Accepted once: only a job still polling, with this task id, moves (the
    hand-over is a conditional transition), so a repeated or late webhook,
    or one for a job the poll already finished, changes nothing.
    """
    job = load_job(job_id, state=State.POLLING, provider_task_id=task_id)
    if job is None:
        return DONE
    try:
        backend = registry.get_backend(job.backend, job.model)
        result = backend.read_status(payload)  # type: ignore[attr-defined]
    except (BackendError, LookupError) as exc:
        if isinstance(exc, LookupError):
            return fail(job_id, [State.POLLING], code="backend_unavailable", message=str(exc))
        return fail(job_id, [State.POLLING], exc)
    if result.state != "ready":
        return DONE  # a progress report: the polls carry on
    started = job.started or job.created
    _note_latency(job.backend, (timezone.now() - started).total_seconds())
    return _hand_over(job, result.sample_url)


def _past_deadline(job: GenerationJob, elapsed: float) -> Step:
    return needs_review(
        job.pk,
        [State.POLLING],
        f"No result after {int(elapsed // 60)} minutes: the provider has not finished, "
        "or its result could not be downloaded. It may still deliver; retrying may be "
        "billed again.",
        code="deadline",
    )


def _poll_again(job: GenerationJob, elapsed: float, *, interval: float) -> Step:
    if elapsed > settings.STUDIO_POLL_DEADLINE_S:
        return _past_deadline(job, elapsed)
    now = timezone.now()
    transition(
        job.pk,
        State.POLLING,
        next_poll_at=now + timedelta(seconds=interval),
        lease_expires=now + lease(interval),
    )
    return Step("poll", interval, job.pk)


def _hand_over(job: GenerationJob, url: str) -> Step:
    """The provider finished: give its slot to the next waiting panel, then download.

    When a panel was waiting, its submit happens here, in this task, and the
    download becomes a task of its own (sent at once: provider URLs expire
    within minutes). A wave of results arriving together then hands every
    freed slot over before any image is stored, instead of each hand-over
    waiting behind the previous result's download. When nobody was waiting,
    nothing is held up, and the image is stored here without another task.
    """
    if not claim_download(job.pk):
        return DONE
    next_job = hand_slot_to_next(job.backend, submitting.capabilities(job).max_active)
    if next_job is None:
        return fetch_and_store(job, url=url, image=None)
    return Step("download", 0, job.pk, url=url).also(submitting.submit_claimed(next_job))
