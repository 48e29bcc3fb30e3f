"""Writes a person starts: ask for panels, edit a take, cancel, retry, dismiss.

Jobs are written in one transaction and enqueued when it commits; the
worker side of their life is `workers.pipeline`.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from boards.models import Panel, Take
from studio.models import Project
from studio.storage import save_bytes
from workers import registry
from workers.backends import masks
from workers.chains import chain_release
from workers.compiler import (
    AWAITED_PREVIOUS,
    CompiledRequest,
    ImageSpec,
    compile_panel,
    continued_from,
)
from workers.models import GenerationJob
from workers.pipeline.states import transition
from workers.selectors import (
    mask_spec,
    panel_spec,
    panel_specs,
    previous_panels,
    project_spend,
)


@dataclass
class RequestOutcome:
    jobs: list[GenerationJob] = field(default_factory=list)
    reused: list[Panel] = field(default_factory=list)
    busy: list[Panel] = field(default_factory=list)
    refused: list[Panel] = field(default_factory=list)
    message: str = ""
    # Cast members that will be drawn without any reference image of theirs.
    unreferenced: set[str] = field(default_factory=set)

    def summary(self) -> str:
        parts = []
        if self.jobs:
            parts.append(f"{len(self.jobs)} panel{'s' if len(self.jobs) != 1 else ''} queued")
        if self.reused:
            parts.append(f"{len(self.reused)} unchanged (kept the existing take)")
        if self.busy:
            parts.append(f"{len(self.busy)} already generating")
        if self.refused:
            parts.append(f"{len(self.refused)} refused")
        text = ", ".join(parts) or "Nothing to do"
        if self.jobs and self.unreferenced:
            text += f". {unreferenced_warning(sorted(self.unreferenced))}"
        return f"{text}. {self.message}".strip()


def unreferenced_warning(names: list[str]) -> str:
    """What to tell a person before and after asking for panels whose cast has no references."""
    who = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    have = "has" if len(names) == 1 else "have"
    return (
        f"{who} {have} no reference images, so they are drawn from their description only: "
        "add pictures on the character's page for a likeness"
    )


def _backend_for(project: Project, backend: str | None) -> tuple[str, str]:
    name = backend or project.backend or registry.default_backend()
    if name not in registry.configured_backends():
        raise ValidationError(
            f"The “{name}” backend is not configured on this studio; "
            f"available: {', '.join(registry.configured_backends())}."
        )
    model = (
        project.model
        if (project.backend == name and project.model)
        else registry.default_model(name)
    )
    return name, model


def _lease() -> timedelta:
    return timedelta(seconds=settings.STUDIO_JOB_LEASE_S)


def _enqueue_start(job_id: int) -> None:
    from workers.tasks import start_job

    transaction.on_commit(lambda: start_job.delay(job_id))


def _estimate(compiled: CompiledRequest) -> Decimal:
    return Decimal(str(registry.estimate_cost(compiled.backend, compiled))).quantize(
        Decimal("0.01")
    )


def _over_cap(project: Project, spent: Decimal, estimate: Decimal) -> bool:
    return project.spending_cap is not None and spent + estimate > project.spending_cap


def _new_job(
    project: Project,
    panel: Panel,
    kind: str,
    compiled: CompiledRequest,
    estimate: Decimal,
    user,
    *,
    after: GenerationJob | None = None,
    select: bool = False,
) -> GenerationJob:
    """An unsaved job that will send exactly `compiled`, priced at `estimate`.

    `after`: the previous panel's job this one waits for (it is compiled again
    with that job's take). `select`: its take replaces the panel's selected one.
    """
    request = compiled.manifest()
    if select:
        request["select"] = True
    return GenerationJob(
        project=project,
        panel=panel,
        kind=kind,
        backend=compiled.backend,
        model=compiled.model,
        seed=compiled.seed,
        fingerprint=compiled.fingerprint,
        request=request,
        estimated_cost=estimate,
        requested_by=user,
        after=after,
        state=GenerationJob.State.WAITING if after else GenerationJob.State.QUEUED,
        lease_expires=None if after else timezone.now() + _lease(),
    )


def _cap_message(project: Project, spent: Decimal, needed: Decimal) -> str:
    return (
        f"The project's spending cap is {project.spending_cap} credits; {spent:.2f} are spent or "
        f"committed and this would need about {needed:.2f} more. Raise the cap in the project "
        "settings or generate fewer panels."
    )


def jobs_request(
    *,
    panels: list[Panel],
    user,
    variation: bool = False,
    backend: str | None = None,
    select_result: bool = False,
) -> RequestOutcome:
    """Queue generation for panels of one project.

    A panel whose request is unchanged since a take was made reuses that
    take (no job, no cost) unless a new variation is asked for. A panel with
    a job already under way is left alone. Jobs that would pass the
    project's spending cap are refused.

    The first panels, as many as the backend has slots, are compiled, queued
    and started before the rest are compiled: on a big board the provider is
    already working on the first frames while the others are prepared.

    A panel that continues the previous one, when that panel is generating
    too, waits for its job and is compiled with its take (`workers.chains`);
    it is priced and counted against the cap now, like every job.
    `select_result`: the new takes replace the panels' selected ones.
    """
    outcome = RequestOutcome()
    if not panels:
        return outcome
    # In board order: a panel's predecessor is queued before the panel that continues it.
    panels = sorted(panels, key=lambda p: (p.board_id, p.position))
    project = panels[0].board.project
    if any(p.board.project_id != project.pk for p in panels):
        raise ValidationError("All panels must belong to one project.")
    name, model = _backend_for(project, backend)
    caps = registry.capabilities(name, model)
    first, rest = panels[: caps.max_active], panels[caps.max_active :]
    options = (user, variation, select_result, name, model, caps)
    free = _queue_batch(first, *options, outcome, free_slots=None)
    if rest:
        _queue_batch(rest, *options, outcome, free_slots=free)
    return outcome


def _queue_batch(
    panels: list[Panel],
    user,
    variation: bool,
    select: bool,
    name: str,
    model: str,
    caps,
    outcome: RequestOutcome,
    *,
    free_slots: int | None,
) -> int:
    """Compile, price and queue one batch of panels under the project lock.

    `free_slots`: slots still free after an earlier batch of this request
    (None: count them now). Only that many jobs get a start message; returns
    how many free slots are left without one.
    """
    seeds = {p.pk: secrets.randbelow(2**31) if variation else None for p in panels}
    specs = panel_specs(panels, seeds=seeds)
    compiled = {p.pk: compile_panel(specs[p.pk], caps, backend=name, model=model) for p in panels}
    before = {pk: prev.pk for pk, prev in previous_panels(panels).items()}
    # Continuing panels as they would be sent after a new take of the previous
    # panel: the same references and price, the picture to come stood in for.
    awaiting = {
        pk: compile_panel(
            replace(specs[pk], previous_take=AWAITED_PREVIOUS), caps, backend=name, model=model
        )
        for pk in before
    }
    kind = GenerationJob.Kind.VARIATION if variation else GenerationJob.Kind.GENERATE
    new_jobs: list[GenerationJob] = []
    with transaction.atomic():
        # Serialises requests for one project: concurrent requests cannot both
        # see the same room under the cap, nor both queue the same panel.
        project = Project.objects.select_for_update().get(pk=panels[0].board.project_id)
        spent = project_spend(project)
        active = {
            job.panel_id: job
            for job in GenerationJob.objects.filter(
                panel__in=[*(p.pk for p in panels), *before.values()],
                state__in=GenerationJob.ACTIVE_STATES,
            )
        }
        # Jobs of this request so far (earlier batches too): what a continuing panel waits for.
        pending = {job.panel_id: job for job in outcome.jobs}
        existing = {} if variation else _takes_by_fingerprint(compiled)
        for panel in panels:
            if panel.pk in active:
                outcome.busy.append(panel)
                continue
            prev = before.get(panel.pk)
            after = (pending.get(prev) or active.get(prev)) if prev else None
            request = awaiting[panel.pk] if after else compiled[panel.pk]
            take = None if after else existing.get((panel.pk, request.fingerprint))
            if take is not None:
                selected = Panel.objects.filter(pk=panel.pk)
                if not select:
                    selected = selected.filter(selected_take__isnull=True)
                selected.update(selected_take=take)
                outcome.reused.append(panel)
                continue
            estimate = _estimate(request)
            if _over_cap(project, spent, estimate):
                outcome.refused.append(panel)
                outcome.message = _cap_message(project, spent, estimate)
                continue
            spent += estimate
            job = _new_job(
                project, panel, kind, request, estimate, user, after=after, select=select
            )
            new_jobs.append(job)
            pending[panel.pk] = job
            outcome.unreferenced.update(request.unreferenced)
        # The project lock and the active check above rule out a second active
        # job for these panels; the partial unique index stays as the last word.
        _create_in_chain_order(new_jobs)
        # Start only as many as the backend has free slots: a finishing job hands
        # its slot to the oldest waiting one (workers.pipeline), and the sweeper
        # starts any job still waiting when its lease runs out. A start message
        # per job would only make workers look at full slots again and again.
        # Jobs waiting for the previous panel start when it is done.
        startable = [job for job in new_jobs if job.after is None]
        if free_slots is None:
            in_flight = GenerationJob.objects.filter(
                backend=name, state__in=GenerationJob.SLOT_STATES
            ).count()
            free_slots = caps.max_active - in_flight
        # At least one start per request, so a chain begins even when the
        # count above is stale; a start finding every slot taken just waits.
        wanted = max(free_slots, 0 if outcome.jobs else 1)
        for job in startable[:wanted]:
            _enqueue_start(job.pk)
        # A predecessor from an earlier batch or request may have ended before
        # its follower was written: look again once this commits.
        earlier = {job.after.pk for job in new_jobs if job.after and job.after not in new_jobs}
        for job_id in earlier:
            transaction.on_commit(functools.partial(chain_release, job_id))
    outcome.jobs.extend(new_jobs)
    return max(0, free_slots - len(startable))


def _create_in_chain_order(jobs: list[GenerationJob]) -> None:
    """Insert jobs in as few queries as the chains allow: a job after its predecessor."""
    remaining = jobs
    while remaining:
        ready = [j for j in remaining if j.after is None or j.after.pk is not None]
        if not ready:
            raise RuntimeError("The database did not return the ids of new jobs.")
        GenerationJob.objects.bulk_create(ready)
        remaining = [j for j in remaining if j.pk is None]


def _takes_by_fingerprint(compiled: dict) -> dict[tuple[int, str], Take]:
    """The newest take of each panel made from exactly this request, in one query."""
    takes = Take.objects.filter(
        panel_id__in=list(compiled), fingerprint__in={c.fingerprint for c in compiled.values()}
    ).order_by("created", "id")
    return {(t.panel_id, t.fingerprint): t for t in takes}


def job_request_edit(
    *, take: Take, instruction: str, user, backend: str | None = None, mask: bytes = b""
) -> GenerationJob:
    """Queue an instruction edit of a take; the result becomes a child take.

    `mask`: a region edit (PNG from `workers.backends.masks.prepare_mask`, the
    take's size, white = change). It is stored with the job, and copied to the
    new take as its provenance; only the masked part of the take may change.
    A region edit goes to the backend's fill model when it has one, whatever
    model the project generates with.
    """
    instruction = " ".join(instruction.split())
    if not instruction:
        raise ValidationError("Write what to change, e.g. “make it night”.")
    if len(instruction) > 500:
        raise ValidationError("Keep the instruction under 500 characters.")
    panel = take.panel
    project = panel.board.project
    name, model = _backend_for(project, backend)
    if mask:
        model = registry.region_edit_model(name, model)
    caps = registry.capabilities(name, model)
    if not caps.instruction_edits:
        raise ValidationError(f"The {name} backend cannot edit with instructions.")
    region = _region_words(take, mask) if mask else ""
    seed = take.seed if take.seed is not None else secrets.randbelow(2**31)
    # Stored before the job row, which names it; removed again if the job is refused.
    mask_name = save_bytes(project.pk, "masks", "png", mask) if mask else ""
    stored = mask_spec(mask_name, hashlib.sha256(mask).hexdigest()) if mask else None
    try:
        return _queue_edit(take, instruction, user, name, model, caps, seed, stored, region)
    except BaseException:
        if mask_name:
            default_storage.delete(mask_name)
        raise


def _region_words(take: Take, mask: bytes) -> str:
    """Check a prepared mask fits the take and say where it is."""
    try:
        image = masks.load(mask)
    except masks.MaskRejected as exc:
        raise ValidationError(exc.message) from None
    if image.size != (take.width, take.height):
        raise ValidationError("The mask does not fit this take; reload the page and paint again.")
    return masks.describe_region(image)


def _queue_edit(
    take: Take, instruction, user, name, model, caps, seed, mask: ImageSpec | None, region: str
) -> GenerationJob:
    panel = take.panel
    project = panel.board.project
    spec = panel_spec(
        panel, seed=seed, edit_source=take, instruction=instruction, mask=mask, region=region
    )
    compiled = compile_panel(spec, caps, backend=name, model=model)
    estimate = _estimate(compiled)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project.pk)
        spent = project_spend(project)
        if _over_cap(project, spent, estimate):
            raise ValidationError(_cap_message(project, spent, estimate))
        job = _new_job(project, panel, GenerationJob.Kind.EDIT, compiled, estimate, user)
        job.source_take, job.instruction = take, instruction
        job.mask.name = mask.file if mask else ""
        # An edit keeps what its source was made from: whose references were
        # missing, and which previous panel's take it continues.
        job.request["without_references"] = take.request.get("without_references", [])
        job.request["continues"] = continued_from(take.request)
        try:
            with transaction.atomic():
                job.save()
        except IntegrityError:
            raise ValidationError(
                "This panel is already generating; wait for it to finish."
            ) from None
        _enqueue_start(job.pk)
    return job


def _stored(name: str) -> bytes:
    try:
        with default_storage.open(name, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ValidationError(
            "The painted mask of this edit is gone; paint the region again."
        ) from None


def job_cancel(*, job: GenerationJob) -> bool:
    """Cancel a job that has not finished.

    A task already at a provider that documents a cancel call is asked to
    stop, by a worker once this commits (`workers.pipeline.cancel`); one that
    cannot be stopped may still bill, and its cost stays counted.
    """
    changed = transition(
        job.pk,
        GenerationJob.ACTIVE_STATES,
        state=GenerationJob.State.CANCELLED,
        finished=timezone.now(),
        lease_expires=None,
    )
    if changed:
        from workers.pipeline import kick_waiting

        transaction.on_commit(lambda: kick_waiting(job.backend))
        transaction.on_commit(lambda: chain_release(job.pk))
        if registry.can_cancel(job.backend):
            _enqueue_cancel_at_provider(job.pk)
    return changed


def _enqueue_cancel_at_provider(job_id: int) -> None:
    from workers.tasks import cancel_at_provider

    transaction.on_commit(lambda: cancel_at_provider.delay(job_id))


def job_dismiss(*, job: GenerationJob) -> bool:
    """Close a job that needs review without retrying it."""
    return transition(
        job.pk,
        GenerationJob.State.NEEDS_REVIEW,
        state=GenerationJob.State.FAILED,
        error_code="dismissed",
        finished=timezone.now(),
        cost=job.estimated_cost if job.provider_task_id or job.attempts else Decimal("0"),
    )


def job_retry(*, job: GenerationJob, user) -> RequestOutcome | GenerationJob:
    """Try a failed or needs-review job again as a new job (which may be billed again)."""
    if job.state not in (GenerationJob.State.FAILED, GenerationJob.State.NEEDS_REVIEW):
        raise ValidationError("Only failed jobs or jobs that need review can be retried.")
    with transaction.atomic():
        # The first attempt may have been billed: count it as spent. Only one
        # of two retries pressed together gets past this and resends.
        if job.state == GenerationJob.State.NEEDS_REVIEW and not transition(
            job.pk,
            GenerationJob.State.NEEDS_REVIEW,
            state=GenerationJob.State.FAILED,
            error_code="retried",
            cost=job.estimated_cost,
            finished=timezone.now(),
        ):
            raise ValidationError("This job was already retried or dismissed.")
        if job.kind == GenerationJob.Kind.EDIT and job.source_take is not None:
            return job_request_edit(
                take=job.source_take,
                instruction=job.instruction,
                user=user,
                backend=job.backend,
                mask=_stored(job.mask.name) if job.mask.name else b"",
            )
        panel = Panel.objects.select_related("board__project").get(pk=job.panel_id)
        return jobs_request(
            panels=[panel],
            user=user,
            variation=job.kind == GenerationJob.Kind.VARIATION,
            backend=job.backend,
        )
