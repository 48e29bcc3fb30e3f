"""The worker side of a job: start (claim + submit), poll, download, store; and the sweeper.

Every step begins with a conditional UPDATE on the job's state, so a step
delivered twice, or by two workers, runs once. The rules that keep money
safe (DESIGN §5):

- the provider task id is committed before the first poll;
- a submit whose outcome is unknown is never repeated for a paid backend:
  the job waits for a person (`needs_review`);
- polling is a chain of short tasks with countdowns, so no worker process
  sits idle while the provider works;
- the number of jobs holding a provider slot never exceeds the backend's cap.

Functions return a `Step` saying what to schedule next; `workers.tasks`
does the scheduling.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, InterfaceError, close_old_connections, connection, transaction
from django.db.models import Count, F, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from boards.models import Panel, Take
from reviews.services import activity_take_made, review_take_selected
from studio.images import ImageRejected, process_generated
from studio.storage import delete_files, fill_stored_image
from workers import chains, registry
from workers.backends.base import (
    BackendError,
    OutcomeUnknown,
    RateLimited,
    ResultRefused,
    ResultUnavailable,
    Submission,
    TransientError,
)
from workers.compiler import CompiledRequest, compile_panel
from workers.models import BackendSlots, GenerationJob
from workers.selectors import panel_spec, request_images

log = logging.getLogger(__name__)

State = GenerationJob.State
_COMMIT_PATIENCE_S = 30.0


@dataclass(frozen=True)
class Step:
    """What the task layer should schedule next (and `then`, steps of other jobs)."""

    task: str | None = None  # "start", "poll" or "download"
    countdown: float = 0.0
    job_id: int | None = None
    then: tuple[Step, ...] = ()
    url: str = ""  # the result to fetch, for "download"

    def also(self, other: Step) -> Step:
        if other.task is None and not other.then:
            return self
        return Step(self.task, self.countdown, self.job_id, (*self.then, other), self.url)

    def flatten(self) -> list[Step]:
        own = [self] if self.task else []
        return own + [step for child in self.then for step in child.flatten()]


DONE = Step()


def _lease(extra: float = 0.0) -> timedelta:
    return timedelta(seconds=settings.STUDIO_JOB_LEASE_S + extra)


def _jitter(base: float) -> float:
    return base * (0.8 + 0.4 * random.random())


def _backoff(attempt: int, *, first: float = 1.0, cap: float = 60.0) -> float:
    return _jitter(min(cap, first * 2 ** max(0, attempt - 1)))


# --- finishing ------------------------------------------------------------


def _finish(
    job_id: int, from_states, state: str, *, code: str = "", message: str = "", **extra
) -> bool:
    changed = GenerationJob.objects.filter(pk=job_id, state__in=from_states).update(
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


def _fail(
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


def _needs_review(job_id: int, from_states, message: str, code: str = "outcome_unknown") -> Step:
    _finish(job_id, from_states, State.NEEDS_REVIEW, code=code, message=message)
    return DONE


# --- slots ----------------------------------------------------------------


def _in_flight_count(backend: str) -> Coalesce:
    """The number of the backend's jobs holding a slot, as SQL to use inside another query."""
    counted = (
        GenerationJob.objects.filter(backend=backend, state__in=GenerationJob.SLOT_STATES)
        .order_by()
        .values("backend")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def _claimed_fields(now) -> dict:
    return {
        "state": State.SUBMITTING,
        "attempts": F("attempts") + 1,
        "started": now,
        "lease_expires": now + _lease(),
    }


def _mark_claimed(job: GenerationJob, now) -> GenerationJob:
    """Bring the in-memory job up to date with the claim just written."""
    job.state = State.SUBMITTING
    job.attempts += 1
    job.started = now
    job.lease_expires = now + _lease()
    return job


def _claim_slot(job: GenerationJob, cap: int) -> bool:
    """Move a queued job to `submitting` if the backend has a free slot.

    Claims are serialised on the backend's slots row; the count of jobs in
    flight and the claim are one conditional UPDATE under that lock.
    """
    now = timezone.now()
    _ensure_slots_row(job.backend)
    with transaction.atomic():
        _lock_slots(job.backend)
        claimed = (
            GenerationJob.objects.filter(pk=job.pk, state=State.QUEUED)
            .alias(in_flight=_in_flight_count(job.backend))
            .filter(in_flight__lt=cap)
            .update(**_claimed_fields(now))
        )
        if not claimed:
            _wait_for_slot(job, now)
            return False
    _mark_claimed(job, now)
    return True


def _lock_slots(backend: str) -> None:
    """Serialise slot claims for a backend until the current transaction ends."""
    list(BackendSlots.objects.select_for_update().filter(backend=backend))


def _job(job_id: int, **state) -> GenerationJob | None:
    # Not .first(): its ORDER BY is pointless on a primary key and costs compiling.
    found = list(GenerationJob.objects.filter(pk=job_id, **state))
    return found[0] if found else None


_slots_rows: set[str] = set()


def _ensure_slots_row(backend: str) -> None:
    # The row never goes away, so each process creates or finds it once.
    if backend not in _slots_rows:
        BackendSlots.objects.get_or_create(backend=backend)
        _slots_rows.add(backend)


def _wait_for_slot(job: GenerationJob, now) -> None:
    # Wait for a finishing job to kick us; the lease is the backstop.
    GenerationJob.objects.filter(pk=job.pk, state=State.QUEUED).update(
        lease_expires=now + _lease(), next_poll_at=None
    )


def _waiting(backend: str, now):
    """Queued jobs of the backend, oldest first, that were not kicked in the last
    seconds and are not waiting out a provider's Retry-After."""
    return (
        GenerationJob.objects.filter(backend=backend, state=State.QUEUED)
        .filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lt=now - timedelta(seconds=5)))
        .order_by("created", "id")
    )


def _claim_next_waiting(backend: str) -> int | None:
    """Mark and return the oldest queued job of the backend not kicked in the last seconds."""
    now = timezone.now()
    with transaction.atomic():
        _lock_slots(backend)
        job_id = _waiting(backend, now).values_list("pk", flat=True).first()
        if job_id is not None:
            GenerationJob.objects.filter(pk=job_id).update(next_poll_at=now)
    return job_id


def _hand_slot_to_next(backend: str, cap: int) -> GenerationJob | None:
    """Claim the oldest waiting job of the backend for a slot that just freed up.

    One transaction under the slots lock picks it (reading the count of jobs
    in flight in the same query) and claims it; the job comes back ready to
    submit, with no claim or read of its own.
    """
    now = timezone.now()
    _ensure_slots_row(backend)
    with transaction.atomic():
        _lock_slots(backend)
        job = _waiting(backend, now).annotate(in_flight=_in_flight_count(backend)).first()
        if job is None or job.in_flight >= cap:
            return None
        claimed = GenerationJob.objects.filter(pk=job.pk, state=State.QUEUED).update(
            **_claimed_fields(now), next_poll_at=now
        )
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


# --- start: claim, compile, submit -------------------------------------------


def job_start(job_id: int) -> Step:
    """Claim a queued job and submit it to its backend."""
    job = _job(job_id)
    if job is None or job.state != State.QUEUED:
        return DONE  # a repeated delivery, a cancelled job, or one another worker has
    try:
        cap = _capabilities(job).max_active
    except LookupError as exc:
        return _fail(job_id, [State.QUEUED], code="backend_unavailable", message=str(exc))
    if not _claim_slot(job, cap):
        return DONE
    return _submit(job)


def _capabilities(job: GenerationJob):
    return registry.get_backend(job.backend, job.model).capabilities(job.model)


def _submit(job: GenerationJob) -> Step:
    """Compile and send a job this process has just claimed (state `submitting`)."""
    job_id = job.pk
    try:
        backend = registry.get_backend(job.backend, job.model)
        caps = backend.capabilities(job.model)
    except LookupError as exc:
        return _fail(job_id, [State.SUBMITTING], code="backend_unavailable", message=str(exc))
    try:
        compiled = _compiled(job, caps)
        request = compiled.load()
    except Exception as exc:  # nothing was sent: a missing file, a broken reference
        log.exception("job %s: could not build the request", job_id)
        return _fail(
            job_id,
            [State.SUBMITTING],
            code="request_error",
            message=f"Could not prepare the request: {exc}",
        )
    # Intent first: from this write on, a lost worker means "outcome unknown".
    intent: dict = {"submit_sent": timezone.now()}
    if compiled.fingerprint != job.fingerprint:
        intent.update(request=compiled.manifest(), fingerprint=compiled.fingerprint)
    if not GenerationJob.objects.filter(pk=job_id, state=State.SUBMITTING).update(**intent):
        return DONE  # cancelled in the meantime: nothing is sent

    try:
        submission = backend.submit(request)
    except RateLimited as exc:
        return _requeue(job, countdown=_jitter(exc.retry_after or 5.0), attempts_count=False)
    except TransientError:
        if job.attempts >= settings.STUDIO_MAX_SUBMIT_ATTEMPTS:
            return _fail(
                job_id,
                [State.SUBMITTING],
                code="unreachable",
                message="The provider could not be reached; try again later.",
            )
        return _requeue(job, countdown=_backoff(job.attempts))
    except OutcomeUnknown as exc:
        if registry.is_paid(job.backend):
            return _needs_review(
                job_id,
                [State.SUBMITTING],
                f"The provider may or may not have received this request ({exc.message}). "
                "Check the provider's dashboard; retrying may be billed again.",
            )
        return _requeue(job, countdown=_backoff(job.attempts))
    except BackendError as exc:
        return _fail(job_id, [State.SUBMITTING], exc)

    cost = (
        Decimal(str(submission.cost)).quantize(Decimal("0.01"))
        if submission.cost is not None
        else None
    )
    # The task id is committed before anything else happens: from here on a
    # crash resumes by polling, never by submitting again.
    now = timezone.now()
    delay = 0.0 if submission.image is not None else first_poll_delay(job.backend)
    _commit_submission(
        job_id,
        state=State.POLLING,
        provider_task_id=submission.task_id[:200],
        polling_url=submission.polling_url[:1000],
        cost=cost,
        next_poll_at=now + timedelta(seconds=delay),
        lease_expires=now + _lease(delay),
    )
    if submission.image is not None:
        return _download_and_store(job_id, image=submission.image)
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


def _commit_submission(job_id: int, **fields) -> None:
    """Store what the provider answered, riding out a short database outage.

    The request is already paid for and only this process knows its task id:
    losing this write would leave the job for a person to review, so it is
    retried for a while (a PostgreSQL restart takes a few seconds).
    """
    deadline = time.monotonic() + _COMMIT_PATIENCE_S
    while True:
        try:
            GenerationJob.objects.filter(pk=job_id, state=State.SUBMITTING).update(**fields)
            return
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
        "lease_expires": now + _lease(countdown),
        "next_poll_at": now + timedelta(seconds=countdown),
    }
    if not attempts_count:
        changes["attempts"] = F("attempts") - 1
    if GenerationJob.objects.filter(pk=job.pk, state=State.SUBMITTING).update(**changes):
        kick_waiting(job.backend)
        return Step("start", countdown, job.pk)
    return DONE


# --- polling -----------------------------------------------------------------

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


def job_poll(job_id: int) -> Step:
    """Ask the provider about a submitted job; download and store it when ready."""
    now = timezone.now()
    # Claim this poll: a duplicate chain (e.g. one the sweeper started) that
    # arrives before the next poll is due drops out here.
    claimed = (
        GenerationJob.objects.filter(pk=job_id, state=State.POLLING)
        .filter(
            Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now + timedelta(milliseconds=250))
        )
        # Held only while this poll runs: a retry of this task after a database
        # error must find the poll due again.
        .update(next_poll_at=now + timedelta(seconds=2), lease_expires=now + _lease(30))
    )
    if not claimed:
        return DONE
    job = GenerationJob.objects.get(pk=job_id)
    elapsed = (now - (job.started or job.created)).total_seconds()
    try:
        backend = registry.get_backend(job.backend, job.model)
        result = backend.poll(Submission(task_id=job.provider_task_id, polling_url=job.polling_url))
    except TransientError:
        return _poll_again(job, elapsed, interval=min(30.0, max(1.0, elapsed / 10)))
    except (BackendError, LookupError) as exc:
        if isinstance(exc, LookupError):
            return _fail(job_id, [State.POLLING], code="backend_unavailable", message=str(exc))
        return _fail(job_id, [State.POLLING], exc)
    if result.state == "ready":
        _note_latency(job.backend, elapsed)
        return _hand_over(job, result.sample_url)
    if result.progress is not None:
        GenerationJob.objects.filter(pk=job_id).update(progress=result.progress)
    expected = _latency.get(job.backend)
    return _poll_again(job, elapsed, interval=poll_interval(elapsed, expected))


def _poll_again(job: GenerationJob, elapsed: float, *, interval: float) -> Step:
    if elapsed > settings.STUDIO_POLL_DEADLINE_S:
        return _needs_review(
            job.pk,
            [State.POLLING],
            f"The provider has not finished after {int(elapsed // 60)} minutes. "
            "It may still deliver; retrying may be billed again.",
            code="deadline",
        )
    now = timezone.now()
    GenerationJob.objects.filter(pk=job.pk, state=State.POLLING).update(
        next_poll_at=now + timedelta(seconds=interval), lease_expires=now + _lease(interval)
    )
    return Step("poll", interval, job.pk)


# --- download and store -----------------------------------------------------------


def _download_and_store(job_id: int, *, image: bytes) -> Step:
    """A backend that rendered during submit: store its image now."""
    if not _claim_download(job_id):
        return DONE
    job = GenerationJob.objects.get(pk=job_id)
    kick_waiting(job.backend)
    return _fetch_and_store(job, url="", image=image)


def _claim_download(job_id: int) -> bool:
    return bool(
        GenerationJob.objects.filter(pk=job_id, state=State.POLLING).update(
            state=State.DOWNLOADING, lease_expires=timezone.now() + _lease()
        )
    )


def _hand_over(job: GenerationJob, url: str) -> Step:
    """The provider finished: give its slot to the next waiting panel, then download.

    When a panel was waiting, its submit happens here, in this task, and the
    download becomes a task of its own (sent at once: provider URLs expire
    within minutes). A wave of results arriving together then hands every
    freed slot over before any image is stored, instead of each hand-over
    waiting behind the previous result's download. When nobody was waiting,
    nothing is held up, and the image is stored here without another task.
    """
    if not _claim_download(job.pk):
        return DONE
    next_job = _hand_slot_to_next(job.backend, _capabilities(job).max_active)
    if next_job is None:
        return _fetch_and_store(job, url=url, image=None)
    return Step("download", 0, job.pk, url=url).also(_submit(next_job))


def job_download(job_id: int, url: str) -> Step:
    """Fetch a finished job's image and store it."""
    job = _job(job_id, state=State.DOWNLOADING)
    if job is None:
        return DONE
    return _fetch_and_store(job, url=url, image=None)


def _fetch_and_store(job: GenerationJob, *, url: str, image: bytes | None) -> Step:
    job_id = job.pk
    now = timezone.now()
    if image is None:
        try:
            image = registry.get_backend(job.backend, job.model).fetch(url)
        except ResultRefused as exc:
            return _fail(job_id, [State.DOWNLOADING], exc)
        except ResultUnavailable as exc:
            return _needs_review(
                job_id,
                [State.DOWNLOADING],
                f"The image was made but could not be downloaded: {exc.message} "
                "Retrying may be billed again.",
                code="result_unavailable",
            )
        except TransientError:
            GenerationJob.objects.filter(pk=job_id, state=State.DOWNLOADING).update(
                state=State.POLLING, next_poll_at=now + timedelta(seconds=2)
            )
            return Step("poll", 2.0, job_id)
    try:
        processed = process_generated(image)
    except ImageRejected as exc:
        return _fail(
            job_id,
            [State.DOWNLOADING],
            code="bad_result",
            message=f"The provider's image {exc.reason}",
        )
    return store_take(job, processed)


def store_take(job: GenerationJob, processed) -> Step:
    """Write the image, create the take and finish the job, all or nothing."""
    take = Take(
        panel_id=job.panel_id,
        kind=Take.Kind.EDITED if job.kind == GenerationJob.Kind.EDIT else Take.Kind.GENERATED,
        parent_id=job.source_take_id if job.kind == GenerationJob.Kind.EDIT else None,
        instruction=job.instruction,
        prompt=job.request.get("prompt", ""),
        request=job.request,
        fingerprint=job.fingerprint,
        seed=job.seed,
        backend=job.backend,
        model=job.model,
        cost=job.cost if job.cost is not None else job.estimated_cost,
        created_by_id=job.requested_by_id,
    )
    try:
        fill_stored_image(take, processed, project_id=job.project_id, folder="takes")
    except OSError as exc:
        delete_files(take)
        return _fail(
            job.pk,
            [State.DOWNLOADING],
            code="storage",
            message=f"The image was made but could not be stored ({exc.strerror or exc}). "
            "Ask the operator to check the media folder (disk full or not writable).",
        )
    with transaction.atomic():
        take.save()
        # Conditional: a job cancelled meanwhile, or stored by a duplicate
        # delivery, keeps its state and this take is rolled back.
        finished = GenerationJob.objects.filter(pk=job.pk, state=State.DOWNLOADING).update(
            state=State.SUCCEEDED,
            take=take,
            cost=take.cost,
            finished=timezone.now(),
            lease_expires=None,
            progress=1.0,
            error_code="",
            error_message="",
        )
        if finished:
            _select_result(job, take)
            activity_take_made(
                panel_id=job.panel_id,
                actor_id=job.requested_by_id,
                edited=take.parent_id is not None,
            )
        else:
            transaction.set_rollback(True)
    if not finished:
        delete_files(take)
        return DONE
    # No kick here: the slot was freed when the download began.
    chains.chain_release(job.pk)
    return DONE


def _select_result(job: GenerationJob, take: Take) -> None:
    """Select the new take if the panel had none, or if the request asked to replace it."""
    panel = Panel.objects.filter(pk=job.panel_id)
    if not job.request.get("select"):
        panel = panel.filter(selected_take__isnull=True)
    if panel.update(selected_take=take) and job.request.get("select"):
        # A replaced take is no longer the one approved: back to review.
        review_take_selected(panel_id=job.panel_id, take_id=take.pk)


# --- sweeper -----------------------------------------------------------------


def jobs_sweep(now=None) -> list[Step]:
    """One pass: take back active jobs whose lease ran out. Never resubmits a sent job."""
    now = now or timezone.now()
    steps: list[Step] = []
    chains.chains_sweep()
    stale = GenerationJob.objects.filter(state__in=GenerationJob.LEASED_STATES).filter(
        Q(lease_expires__lt=now) | Q(lease_expires__isnull=True)
    )
    for job in stale.order_by("created", "id")[:500]:
        mine = GenerationJob.objects.filter(
            pk=job.pk, state=job.state, lease_expires=job.lease_expires
        )
        if job.state == State.QUEUED or not registry.is_paid(job.backend):
            # Not sent, or free and deterministic to redo: start again.
            if mine.update(state=State.QUEUED, lease_expires=now + _lease(), next_poll_at=None):
                steps.append(Step("start", 0, job.pk))
        elif job.state == State.SUBMITTING and not job.submit_sent:
            # Claimed but never sent (the worker died while preparing it).
            if mine.update(state=State.QUEUED, lease_expires=now + _lease(), next_poll_at=None):
                steps.append(Step("start", 0, job.pk))
        elif job.state == State.SUBMITTING and not job.provider_task_id:
            _needs_review(
                job.pk,
                [State.SUBMITTING],
                "A worker stopped while submitting: the provider may or may not have this "
                "request. Retrying may be billed again.",
            )
        elif mine.update(state=State.POLLING, next_poll_at=now, lease_expires=now + _lease()):
            # Sent already (task id stored): resume by polling, never by submitting.
            steps.append(Step("poll", 0, job.pk))
    return steps
