"""Board and panel pages. Every object comes through studio.access; writes through services."""

from __future__ import annotations

import math

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from boards import selectors, services
from boards.cards import board_cards, mark_moves
from boards.forms import (
    INLINE_FIELDS,
    PANEL_FIELDS,
    BoardForm,
    CastFormSet,
    PanelCropForm,
    PanelForm,
    PanelInlineForm,
    TakeUploadForm,
    board_fields,
    board_state,
    cast_initial,
    panel_state,
)
from boards.models import Board, Panel
from characters.selectors import cast_choices, locations_with_thumbnails
from reviews.services import activity_record
from reviews.views import board_review_context, panel_review_context
from studio import edits
from studio.access import Access, Need, board_for, panel_for, project_for, take_for
from studio.http import HtmxHttpRequest, attach
from workers import progress
from workers.models import GenerationJob
from workers.selectors import (
    failed_edits,
    instruction_words,
    panel_state_jobs,
    panels_generation,
    project_spend,
    recent_jobs,
    unreferenced_cast,
)
from workers.services import unreferenced_warning

# Ratios with a frame class in app.css; a custom board borrows the closest one.
_FRAME_RATIOS = {
    "16-9": 16 / 9,
    "2_39-1": 2.39,
    "1_85-1": 1.85,
    "4-3": 4 / 3,
    "1-1": 1.0,
    "4-5": 4 / 5,
    "9-16": 9 / 16,
}


def frame_class(board: Board) -> str:
    """The CSS class giving a frame the board's shape (the CSP rules out inline styles)."""
    suffix = board.aspect_css
    if suffix not in _FRAME_RATIOS:
        ratio = board.ratio
        suffix = min(_FRAME_RATIOS, key=lambda k: abs(math.log(_FRAME_RATIOS[k] / ratio)))
    return f"ar-{suffix}"


def _errors(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def _board_url(board_id: int, panel_id: int | None = None) -> str:
    url = reverse("board_detail", kwargs={"pk": board_id})
    return f"{url}#panel-{panel_id}" if panel_id else url


def _order_payload(board_id: int) -> list[dict[str, int]]:
    return [{"id": pk, "number": i + 1} for i, pk in enumerate(selectors.board_order(board_id))]


def _card_context(panel: Panel, access: Access, board: Board) -> dict:
    return {"panel": panel, "board": board, "access": access, "frame_class": frame_class(board)}


def _render_card(request: HttpRequest, panel_id: int, access: Access) -> HttpResponse:
    panel = selectors.panel_card(panel_id)
    mark_moves([panel], selectors.board_order(panel.board_id))
    newest = panel_state_jobs([panel])
    panels_generation([panel], newest)
    return render(request, "boards/_panel_card.html", _card_context(panel, access, panel.board))


def _generate_controls(request: HttpRequest, board: Board) -> str:
    """The board's generate buttons, swapped in out of band: they show only while it has panels."""
    panels = list(board.panels.only("pk"))
    # The same warning as on the page: a panel deleted may have been the last without references.
    missing = sorted({name for names in unreferenced_cast(panels).values() for name in names})
    context = {
        "board": board,
        "has_panels": bool(panels),
        "unreferenced": unreferenced_warning(missing) if missing else "",
        "oob": True,
    }
    return render_to_string("boards/_generate_form.html", context, request=request)


# --- boards -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def board_create(request, project_id):
    access = project_for(request.user, project_id, Need.WRITE)
    form = BoardForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            board = services.board_create(project=access.obj, **form.service_fields())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Board “{board.name}” created. Add its first panel.")
            return redirect("board_detail", pk=board.pk)
    context = {"form": form, "project": access.obj, "access": access, "board": None}
    return render(request, "boards/board_form.html", context)


@login_required
@require_GET
def board_detail(request, pk):
    access = board_for(request.user, pk)
    board = access.obj
    panels, review = board_cards(request, access)
    jobs = {card.pk: card.job for card in panels if card.job}
    active = sum(1 for job in jobs.values() if job[1] in GenerationJob.ACTIVE_STATES)
    unreferenced = sorted({name for card in panels for name in card.unreferenced})
    spend = project_spend(access.project)
    # The progress poll answers "nothing new" while it would show what the page shows.
    shown = progress.version(jobs, spend, access.project.spending_cap)
    if active:
        progress.remember(board.pk, shown, jobs)
    context = {
        "board": board,
        "project": access.project,
        "access": access,
        "panels": panels,
        "frame_class": frame_class(board),
        "active": active,
        "total": len(jobs),
        "done": len(jobs) - active,
        "spend": spend,
        "progress_version": shown,
        "unreferenced": unreferenced_warning(unreferenced) if unreferenced else "",
    }
    context.update(board_review_context(request, access, panels, review))
    return render(request, "boards/board_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def board_edit(request, pk):
    access = board_for(request.user, pk, Need.WRITE)
    board = access.obj
    # The form fills in its own copy, so the page keeps naming the board as saved.
    form = BoardForm(request.POST or None, instance=Board.objects.get(pk=board.pk))
    form.opened_on(board_state(board))
    if request.method == "POST" and form.is_valid():

        def save(values, base):
            fields = board_fields(values)
            services.board_update(board=form.instance, version=edits.version_of(base), **fields)

        page = {"what": f"the board “{board.name}”", "noun": "board"}
        try:
            merge = edits.save_or_merge(
                request,
                form,
                load=lambda: board_state(Board.objects.get(pk=board.pk)),
                save=save,
                page={**page, "action": request.path, "back": _board_url(board.pk)},
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if merge:
                return merge
            messages.success(request, "Board saved.")
            return redirect("board_detail", pk=board.pk)
    context = {"form": form, "project": access.project, "access": access, "board": board}
    return render(request, "boards/board_form.html", context)


@login_required
@require_POST
def board_delete(request, pk):
    access = board_for(request.user, pk, Need.WRITE)
    name = access.obj.name
    services.board_delete(board=access.obj)
    messages.success(request, f"Board “{name}” deleted with its panels and takes.")
    return redirect("project_detail", pk=access.project.pk)


# --- panels -------------------------------------------------------------------------


@login_required
@require_POST
def panel_create(request, pk):
    access = board_for(request.user, pk, Need.WRITE)
    board = access.obj
    after = None
    if request.POST.get("after"):
        after = panel_for(request.user, request.POST["after"], Need.WRITE).obj
        if after.board_id != board.pk:
            return HttpResponseBadRequest("That panel is on another board.")
    panel = services.panel_create(board=board, after=after)
    if request.htmx:
        response = _render_card(request, panel.pk, access)
        response.write(_generate_controls(request, board))
        return trigger_client_event(
            response, "panelsChanged", {"order": _order_payload(board.pk)}, after="swap"
        )
    messages.success(request, f"Panel {panel.number} added. Write what happens in it.")
    return redirect("panel_edit", pk=panel.pk)


@login_required
@require_http_methods(["GET", "POST"])
def panel_edit(request, pk):
    access = panel_for(request.user, pk, Need.WRITE if request.method == "POST" else Need.READ)
    panel = selectors.panel_detail(access.obj.pk)
    board, project = panel.board, access.project
    characters = cast_choices(project)
    locations = list(locations_with_thumbnails(project))
    data = request.POST if request.method == "POST" else None
    initial = {name: getattr(panel, name) for name in PANEL_FIELDS}
    initial["location"] = panel.location_id
    cast = CastFormSet(data, initial=cast_initial(panel), prefix="cast", characters=characters)
    form = PanelForm(data, initial=initial, locations=locations, cast=cast)
    form.opened_on(panel_state(panel))
    if request.method == "POST" and form.is_valid() and cast.is_valid():

        def save(values, base):
            fields = dict(values)
            location, entries = fields.pop("location"), fields.pop("cast")
            version = edits.version_of(base)
            services.panel_save(
                panel=panel, location=location, cast=entries, version=version, **fields
            )

        try:
            merge = edits.save_or_merge(
                request,
                form,
                load=lambda: panel_state(selectors.panel_detail(panel.pk)),
                save=save,
                page=_panel_merge_page(request, panel),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if merge:
                return merge
            activity_record(board=board, verb="edited", actor=request.user, panel=panel)
            messages.success(request, f"Panel {panel.number} saved.")
            return redirect(_board_url(board.pk, panel.pk))
    before, after = selectors.panel_neighbours(panel)
    jobs = recent_jobs(panel)
    unreferenced = panels_generation([panel], panel_state_jobs([panel]))
    takes = list(panel.takes.all())
    failed = failed_edits(panel)
    by_id = {take.pk: take for take in takes}
    for take in takes:
        # An edited take is shown against its parent (always a take of this panel).
        attach(take, failed_edit=failed.get(take.pk), before=by_id.get(take.parent_id))
    context = {
        "jobs": jobs,
        "panel": panel,
        "board": board,
        "project": project,
        "access": access,
        "form": form,
        "cast": cast,
        "characters": characters,
        "has_locations": bool(locations),
        "takes": takes,
        "edit_words": instruction_words(project),
        "unreferenced": unreferenced_warning(unreferenced) if unreferenced else "",
        "upload_form": TakeUploadForm(),
        "before": before,
        "after": after,
        "frame_class": frame_class(board),
        "crop_form": PanelCropForm(initial=PanelCropForm.initial_for(panel)),
    }
    context.update(panel_review_context(access, panel))
    status = 400 if request.method == "POST" else 200
    return render(request, "boards/panel_edit.html", context, status=status)


@login_required
@require_POST
def panel_crop(request, pk):
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    form = PanelCropForm(request.POST)
    if form.is_valid():
        x, y = form.point()
        services.panel_set_crop(panel=panel, focus_x=x, focus_y=y)
        messages.success(request, f"Crop of panel {panel.number} saved: {form.focus_label}.")
    else:
        messages.error(request, "Pick one of the nine points to keep in view, then save.")
    return redirect("panel_edit", pk=panel.pk)


@login_required
@require_http_methods(["GET", "POST"])
def panel_inline(request, pk):
    # Write access even to GET the form: it is only for people who may save it.
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    if request.method == "GET" and not request.htmx:
        return redirect("panel_edit", pk=panel.pk)  # without htmx, quick edit is the editor
    if request.method == "GET":
        if request.GET.get("cancel"):
            return _render_card(request, panel.pk, access)
        form = PanelInlineForm(initial={name: getattr(panel, name) for name in INLINE_FIELDS})
        form.opened_on(panel_state(selectors.panel_detail(panel.pk)))
        return _render_inline(request, panel, form)
    form = PanelInlineForm(request.POST)
    if form.is_valid():

        def save(values, base):
            services.panel_update(panel=panel, version=edits.version_of(base), **values)

        try:
            merge = edits.save_or_merge(
                request,
                form,
                load=lambda: panel_state(selectors.panel_detail(panel.pk)),
                save=save,
                page={**_panel_merge_page(request, panel), "panel": panel},
                template=(
                    "boards/_panel_inline_conflict.html"
                    if request.htmx
                    else "studio/edit_conflict.html"
                ),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if merge:
                return merge
            activity_record(board=panel.board, verb="edited", actor=request.user, panel=panel)
    if not form.is_valid():
        if not request.htmx:
            messages.error(request, "The panel was not saved: " + _form_errors(form))
            return redirect(_board_url(panel.board_id, panel.pk))
        return _render_inline(request, panel, form)
    if not request.htmx:
        messages.success(request, f"Panel {panel.number} saved.")
        return redirect(_board_url(panel.board_id, panel.pk))
    return _render_card(request, panel.pk, access)


def _panel_merge_page(request: HttpRequest, panel: Panel) -> dict:
    kind = "panel" if panel.board.kind == Board.Kind.COMIC else "shot"
    return {
        "what": f"{kind} {panel.number} of “{panel.board.name}”",
        "noun": kind,
        "action": request.path,
        "back": _board_url(panel.board_id, panel.pk),
    }


def _render_inline(request: HttpRequest, panel: Panel, form: PanelInlineForm) -> HttpResponse:
    return render(request, "boards/_panel_inline_form.html", {"panel": panel, "form": form})


def _form_errors(form) -> str:
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


@login_required
@require_POST
def panel_delete(request, pk):
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    board_id, number = panel.board_id, panel.number
    board = panel.board
    services.panel_delete(panel=panel)
    if request.htmx:
        response = HttpResponse(_generate_controls(request, board))
        return trigger_client_event(
            response, "panelsChanged", {"order": _order_payload(board_id)}, after="swap"
        )
    messages.success(request, f"Panel {number} deleted; the panels after it moved up.")
    return redirect("board_detail", pk=board_id)


def _wants_json(request: HtmxHttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or bool(request.htmx)


@login_required
@require_POST
def panel_move(request, pk):
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    raw = request.POST.get("after", "").strip()
    error = None
    try:
        after_id = int(raw) if raw else None
    except ValueError:
        after_id, error = None, "Pick the panel to place it after."
    if error is None:
        try:
            services.panel_move(panel=panel, after_id=after_id)
        except ValidationError as exc:
            error = _errors(exc) + " Reload the board to see its current order."
    if _wants_json(request):
        body = {"ok": error is None, "moved": panel.pk, "order": _order_payload(panel.board_id)}
        if error:
            body["error"] = error
        return JsonResponse(body, status=400 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Moved to position {panel.number}.")
    return redirect(_board_url(panel.board_id, panel.pk))


# --- takes --------------------------------------------------------------------------


@login_required
@require_POST
def take_upload(request, pk):
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    form = TakeUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose an image file to upload as a take.")
    else:
        upload = form.cleaned_data["image"]
        try:
            services.take_upload(panel=panel, file=upload, name=upload.name, user=request.user)
        except ValidationError as exc:
            messages.error(request, _errors(exc) + " Try a JPEG, PNG or WebP image.")
        else:
            activity_record(
                board=panel.board,
                verb="edited",
                actor=request.user,
                panel=panel,
                text="Uploaded a take",
            )
            messages.success(request, "Take uploaded and selected.")
    return redirect(reverse("panel_edit", kwargs={"pk": panel.pk}) + "#takes")


@login_required
@require_POST
def take_select(request, pk):
    access = take_for(request.user, pk, Need.WRITE)
    take = access.obj
    panel = take.panel
    if request.POST.get("panel"):
        # The page says which panel it is showing; a take of another panel is refused
        # rather than quietly selected somewhere the person is not looking.
        panel = panel_for(request.user, request.POST["panel"], Need.WRITE).obj
    try:
        services.take_select(panel=panel, take=take)
    except ValidationError as exc:
        messages.error(request, _errors(exc) + " Pick one of the takes shown under this panel.")
        return redirect(reverse("panel_edit", kwargs={"pk": panel.pk}) + "#takes")
    messages.success(request, "Take selected: the board shows it now.")
    return redirect(reverse("panel_edit", kwargs={"pk": panel.pk}) + "#takes")
