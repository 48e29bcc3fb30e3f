"""Generation views: ask for panels, follow progress, edit takes, handle failed jobs."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from boards.models import Panel
from boards.views import frame_class
from studio.access import Need, board_for, job_for, panel_for, take_for
from workers import progress, registry, services, tasks
from workers.backends import masks
from workers.backends.masks import MAX_FEATHER
from workers.forms import BoardGenerateForm, InstructionForm, RegionEditForm
from workers.models import GenerationJob
from workers.selectors import (
    instruction_words,
    job_card_rows,
    jobs_by_panel,
    panels_finished_since,
    panels_generation,
    polling_job_for_task,
    project_spend,
)


def _back(request, fallback: str) -> str:
    """Where to return after a plain POST: the page the form was on, if it is ours."""
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next") or request.headers.get("referer", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _report(request, outcome: services.RequestOutcome) -> None:
    level = messages.success if outcome.jobs or outcome.reused else messages.warning
    if outcome.refused and not outcome.jobs:
        level = messages.error
    level(request, outcome.summary())


@login_required
@require_POST
def panel_generate(request, pk):
    access = panel_for(request.user, pk, Need.WRITE)
    panel = Panel.objects.select_related("board__project").get(pk=access.obj.pk)
    variation = request.POST.get("variation") == "1"
    # "Regenerate from the previous panel": the new take replaces the stale one.
    continuity = request.POST.get("continuity") == "1"
    try:
        outcome = services.jobs_request(
            panels=[panel], user=request.user, variation=variation, select_result=continuity
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _report(request, outcome)
    return redirect(_back(request, reverse("panel_edit", args=[panel.pk])))


@login_required
@require_POST
def board_generate(request, pk):
    access = board_for(request.user, pk, Need.WRITE)
    board = access.obj
    all_panels = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    form = BoardGenerateForm(request.POST, panel_ids=[p.pk for p in all_panels])
    if not form.is_valid():
        # A panel id that is not on this board (another board, another project).
        messages.error(
            request, "Some of the chosen panels are not on this board; nothing was queued."
        )
        return redirect("board_detail", pk=board.pk)
    # The ticked boxes belong to the form; only "Generate selected" uses them.
    chosen = set(form.cleaned_data["panels"]) if request.POST.get("selected") else set()
    panels = [p for p in all_panels if p.pk in chosen] if chosen else all_panels
    if not panels:
        messages.warning(request, "This board has no panels to generate yet.")
        return redirect("board_detail", pk=board.pk)
    try:
        outcome = services.jobs_request(
            panels=panels, user=request.user, variation=form.cleaned_data["variation"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        _report(request, outcome)
    return redirect("board_detail", pk=board.pk)


def board_progress_view(request, board_id: int) -> HttpResponse:
    """The board's progress, polled every 2 s while something is under way.

    `?v=` names the version the page shows: unchanged, the answer is an empty
    204 (one query of job states and one of the spend); changed, only the
    cards whose job moved are drawn.
    """
    access = board_for(request.user, board_id)
    board = access.obj
    project = access.project
    rows = job_card_rows(board)
    spend = project_spend(project)
    now = progress.version(rows, spend, project.spending_cap)
    shown = request.GET.get("v", "")
    if shown == now:
        return HttpResponse(status=204)
    active_panels = {pk for pk, row in rows.items() if row[1] in GenerationJob.ACTIVE_STATES}
    changed = progress.changed_since(board.pk, shown, rows) if _VERSION.fullmatch(shown) else None
    if changed is None:
        # Any job finished lately, a failed edit too: its card stops showing it under way.
        recent = timezone.now() - timedelta(seconds=30)
        changed = active_panels | panels_finished_since(board, recent)
    progress.remember(board.pk, now, rows)
    panels = list(
        Panel.objects.filter(pk__in=changed).select_related("selected_take").order_by("position")
    )
    # Whole jobs only for the cards sent; the bar needs the states alone.
    panels_generation(panels, jobs_by_panel([rows[p.pk][0] for p in panels if p.pk in rows]))
    # Counted from the same jobs as the board page, so the bar agrees with the cards.
    active = len(active_panels)
    total = len(rows)
    context = {
        "board": board,
        "access": access,
        "panels": panels,
        "active": active,
        "done": total - active,
        "total": total,
        "percent": int(100 * (total - active) / total) if total else 100,
        "frame_class": frame_class(board),
        "spend": spend,
        "project": project,
        "progress_version": now,
        "oob": True,
    }
    return render(request, "workers/_board_progress.html", context)


_VERSION = re.compile(r"[0-9a-f]{24}")


@login_required
@require_GET
def board_progress(request, pk):
    return board_progress_view(request, pk)


@login_required
@require_GET
def job_status(request, pk):
    """A job's state as JSON, for scripts and the status poller."""
    job = job_for(request.user, pk).obj
    take_url = ""
    if job.take_id:
        take_url = job.take.file.url
    return JsonResponse(
        {
            "id": job.pk,
            "panel": job.panel_id,
            "state": job.state,
            "label": job.get_state_display(),
            "progress": job.progress,
            "error_code": job.error_code,
            "error": job.error_message,
            "take": job.take_id,
            "take_url": take_url,
            "cost": str(job.cost) if job.cost is not None else None,
        }
    )


@login_required
@require_POST
def job_cancel(request, pk):
    job = job_for(request.user, pk, Need.WRITE).obj
    if services.job_cancel(job=job):
        messages.success(
            request, "Cancelled. A request already at the provider may still be billed."
        )
    else:
        messages.info(request, "That job had already finished.")
    return redirect(_back(request, reverse("panel_edit", args=[job.panel_id])))


@login_required
@require_POST
def job_retry(request, pk):
    job = job_for(request.user, pk, Need.WRITE).obj
    try:
        result = services.job_retry(job=job, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if isinstance(result, GenerationJob):
            messages.success(request, "Queued again.")
        else:
            _report(request, result)
    return redirect(_back(request, reverse("panel_edit", args=[job.panel_id])))


@login_required
@require_POST
def job_dismiss(request, pk):
    job = job_for(request.user, pk, Need.WRITE).obj
    if services.job_dismiss(job=job):
        messages.success(request, "Marked as reviewed; it will not be retried.")
    return redirect(_back(request, reverse("panel_edit", args=[job.panel_id])))


@login_required
@require_GET
def take_region(request, pk):
    """The region editor: paint where a take should change, say what to change, send."""
    access = take_for(request.user, pk, Need.WRITE)
    take = access.obj
    panel = take.panel
    context = {
        "take": take,
        "panel": panel,
        "board": panel.board,
        "project": access.project,
        "access": access,
        "frame_class": frame_class(panel.board),
        "edit_words": instruction_words(access.project),
        "max_feather": MAX_FEATHER,
    }
    return render(request, "workers/take_region.html", context)


@login_required
@require_POST
def take_region_edit(request, pk):
    """Queue an edit of the painted region of a take; everything outside it stays."""
    take = take_for(request.user, pk, Need.WRITE).obj
    form = RegionEditForm(request.POST)
    back = reverse("take_region", args=[take.pk])
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    try:
        mask = masks.prepare_mask(
            form.cleaned_data["mask"],
            (take.width, take.height),
            feather=form.cleaned_data["feather"] or 0,
            invert=form.cleaned_data["invert"],
        )
        services.job_request_edit(
            take=take,
            instruction=form.cleaned_data["instruction"],
            user=request.user,
            mask=masks.encode(mask),
        )
    except masks.MaskRejected as exc:
        messages.error(request, exc.message)
        return redirect(back)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(back)
    messages.success(
        request, "Region edit queued: the result appears as a new take, changed only where painted."
    )
    return redirect(reverse("panel_edit", args=[take.panel_id]) + "#takes")


@login_required
@require_POST
def take_edit(request, pk):
    """Queue an instruction edit of a take ("make it night")."""
    take = take_for(request.user, pk, Need.WRITE).obj
    form = InstructionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write what to change, in under 500 characters.")
    else:
        try:
            services.job_request_edit(
                take=take, instruction=form.cleaned_data["instruction"], user=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Edit queued: the result appears as a new take.")
    return redirect(reverse("panel_edit", args=[take.panel_id]) + "#takes")


@csrf_exempt
@require_POST
def provider_webhook(request, backend: str):
    """A provider posts a task's final result here, proving the sender its own way.

    Public by design (the provider has no session). Only backends that can
    verify the sender take webhooks (bfl: shared secret; replicate: signed
    body); others get 404, an unverified request 403, and neither changes
    anything. A verified result goes to a worker; the job moves only if it is
    still polling that task, so each result is accepted once.
    """
    try:
        cls = registry.backend_class(backend)
    except LookupError:
        cls = None
    verified = getattr(cls, "webhook_verified", None)
    task_of = getattr(cls, "webhook_task_id", None)
    if verified is None or task_of is None:
        return HttpResponse("No webhooks here", status=404, content_type="text/plain")
    if not verified(request.headers, request.body):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponse("Not JSON", status=400, content_type="text/plain")
    task_id = task_of(payload) if isinstance(payload, dict) else ""
    job_id = polling_job_for_task(backend, task_id) if task_id else None
    if job_id is None:
        return HttpResponse("Nothing waits for this result", status=200, content_type="text/plain")
    tasks.deliver_result.delay(job_id, task_id, payload)
    return HttpResponse("Accepted", status=202, content_type="text/plain")
