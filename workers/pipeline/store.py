"""Download a finished job's result and store it as a take, all or nothing."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from boards.models import Panel, Take
from reviews.services import activity_take_made, review_take_selected
from studio.images import ImageRejected, process_generated
from studio.storage import (
    StorageUnavailable,
    delete_files,
    fill_stored_image,
    read_stored,
    save_bytes,
)
from workers import chains, registry
from workers.backends import masks
from workers.backends.base import ResultRefused, ResultUnavailable, TransientError
from workers.models import GenerationJob
from workers.pipeline.slots import fail, kick_waiting, needs_review
from workers.pipeline.states import DONE, State, Step, jitter, lease, load_job, transition

log = logging.getLogger(__name__)
# A bucket that did not answer is asked again after about this long.
STORE_RETRY_S = 15.0


def download_and_store(job_id: int, *, image: bytes) -> Step:
    """A backend that rendered during submit: store its image now."""
    if not claim_download(job_id):
        return DONE
    job = GenerationJob.objects.get(pk=job_id)
    kick_waiting(job.backend)
    return fetch_and_store(job, url="", image=image)


def claim_download(job_id: int) -> bool:
    return transition(
        job_id, State.POLLING, state=State.DOWNLOADING, lease_expires=timezone.now() + lease()
    )


def job_download(job_id: int, url: str) -> Step:
    """Fetch a finished job's image and store it."""
    job = load_job(job_id, state=State.DOWNLOADING)
    if job is None:
        return DONE
    return fetch_and_store(job, url=url, image=None)


def fetch_and_store(job: GenerationJob, *, url: str, image: bytes | None) -> Step:
    job_id = job.pk
    now = timezone.now()
    if image is None:
        try:
            image = registry.get_backend(job.backend, job.model).fetch(url)
        except ResultRefused as exc:
            return fail(job_id, [State.DOWNLOADING], exc)
        except ResultUnavailable as exc:
            return needs_review(
                job_id,
                [State.DOWNLOADING],
                f"The image was made but could not be downloaded: {exc.message} "
                "Retrying may be billed again.",
                code="result_unavailable",
            )
        except TransientError:
            transition(
                job_id,
                State.DOWNLOADING,
                state=State.POLLING,
                next_poll_at=now + timedelta(seconds=2),
            )
            return Step("poll", 2.0, job_id)
    if job.mask:
        # Every region edit, whoever made it: a model without masks redrew the whole
        # take, and a fill model's pass through its autoencoder shifts pixels too.
        try:
            image = _outside_mask_kept(job, image)
        except (OSError, LookupError, ValueError) as exc:
            return fail(
                job_id,
                [State.DOWNLOADING],
                code="bad_result",
                message=f"The edited image could not be fitted back into the take: {exc}",
            )
    try:
        processed = process_generated(image)
    except ImageRejected as exc:
        return fail(
            job_id,
            [State.DOWNLOADING],
            code="bad_result",
            message=f"The provider's image {exc.reason}",
        )
    return store_take(job, processed)


def _outside_mask_kept(job: GenerationJob, image: bytes) -> bytes:
    """Put back every pixel outside the mask from the take that was edited."""
    source = next(r["file"] for r in job.request["references"] if r["role"] == "edit_source")
    return masks.composite_bytes(read_stored(source), image, read_stored(str(job.mask.name)))


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
        if job.mask:
            # The take keeps its own copy: it outlives the job's retries and cleanups.
            take.mask.name = save_bytes(
                job.project_id, "masks", "png", read_stored(str(job.mask.name))
            )
    except StorageUnavailable as exc:
        delete_files(take)  # what was written before the store went away
        return _store_later(job, exc)
    except OSError as exc:
        delete_files(take)
        return fail(
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
        finished = transition(
            job.pk,
            State.DOWNLOADING,
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


def _store_later(job: GenerationJob, exc: StorageUnavailable) -> Step:
    """The bucket did not answer: keep the job and store its result a little later.

    A paid job goes back to polling its provider, whose finished task hands
    out the result again: fetched and stored anew, never submitted twice
    (the poll deadline ends the wait with "needs review"). A free backend
    draws the frame again, until the same deadline.
    """
    now = timezone.now()
    delay = jitter(STORE_RETRY_S)
    log.warning("job %s: result not stored, retrying in %.0f s: %s", job.pk, delay, exc)
    waiting = {
        "error_code": "storage_retry",
        "error_message": f"The image is made; storing it is being retried ({exc}).",
        "lease_expires": now + lease(delay),
    }
    if registry.is_paid(job.backend):
        if transition(
            job.pk,
            State.DOWNLOADING,
            state=State.POLLING,
            next_poll_at=now + timedelta(seconds=delay),
            **waiting,
        ):
            return Step("poll", delay, job.pk)
        return DONE
    if (now - job.created).total_seconds() > settings.STUDIO_POLL_DEADLINE_S:
        return fail(job.pk, [State.DOWNLOADING], code="storage", message=str(exc))
    if transition(job.pk, State.DOWNLOADING, state=State.QUEUED, next_poll_at=None, **waiting):
        return Step("start", delay, job.pk)
    return DONE


def _select_result(job: GenerationJob, take: Take) -> None:
    """Select the new take if the panel had none, or if the request asked to replace it."""
    panel = Panel.objects.filter(pk=job.panel_id)
    if not job.request.get("select"):
        panel = panel.filter(selected_take__isnull=True)
    if panel.update(selected_take=take) and job.request.get("select"):
        # A replaced take is no longer the one approved: back to review.
        review_take_selected(panel_id=job.panel_id, take_id=take.pk)
