"""The animatic player page and the timeline's duration drag.

Watching is reading: every member may play a board. Changing a duration is
an edit (viewers 403, outsiders 404) and goes through the panel service.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from boards import selectors, services
from boards.exports.timing import (
    MAX_DURATION_S,
    MIN_DURATION_S,
    format_running_time,
    panel_timing,
    running_time,
)
from boards.models import Board, Panel, Take
from boards.views import frame_class
from studio.access import Need, board_for, panel_for


def _panel_data(panel: Panel, image_url: Callable[[Take], str], can_edit: bool) -> dict:
    timing = panel_timing(str(panel.number), panel.duration)
    take = panel.selected_take
    data = {
        "id": panel.pk,
        "number": panel.number,
        "seconds": float(timing.seconds),
        "written": None if panel.duration is None else float(panel.duration),
        "note": timing.note,
        "image": image_url(take) if take is not None else "",
        "dialogue": panel.dialogue,
        "shotType": panel.get_shot_type_display(),
    }
    if can_edit:
        data["durationUrl"] = reverse("panel_duration", kwargs={"pk": panel.pk})
    return data


def player_context(
    board: Board, panels: list[Panel], *, can_edit: bool, image_url: Callable[[Take], str]
) -> dict:
    """What boards/_animatic_player.html needs to play `panels` (with their selected takes).

    image_url gives the address of a take's picture: the members' media URL,
    or the guest link's own take URL, so a guest never sees a member URL.
    """
    timings = [panel_timing(str(p.number), p.duration) for p in panels]
    return {
        "board": board,
        "panels": panels,
        "frame_class": frame_class(board),
        "can_edit": can_edit,
        "data": {
            "board": board.name,
            "ratio": board.ratio,
            "canEdit": can_edit,
            "min": float(MIN_DURATION_S),
            "max": float(MAX_DURATION_S),
            "panels": [_panel_data(p, image_url, can_edit) for p in panels],
        },
        "running_time": format_running_time(running_time(timings)),
        "notes": [t.note for t in timings if t.note],
        "has_takes": any(p.selected_take_id for p in panels),
    }


@login_required
@require_GET
def board_play(request: HttpRequest, pk: int) -> HttpResponse:
    access = board_for(request.user, pk)
    board = access.obj
    panels = selectors.board_playlist(board)
    context = {
        **player_context(
            board, panels, can_edit=access.can_edit, image_url=lambda take: take.file.url
        ),
        "project": access.project,
        "access": access,
    }
    return render(request, "boards/animatic.html", context)


@login_required
@require_POST
def panel_duration(request: HttpRequest, pk: int) -> JsonResponse:
    """Save a duration dragged on the timeline, in seconds (two decimals kept)."""
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    raw = request.POST.get("duration", "").strip()
    try:
        value = Decimal(raw).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        return JsonResponse(
            {"ok": False, "error": "Type the duration in seconds, for example 2.5."}, status=400
        )
    try:
        services.panel_update(panel=panel, location=panel.location, duration=value)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        return JsonResponse({"ok": False, "error": f"Not saved: {message}"}, status=400)
    timing = panel_timing(str(panel.number), panel.duration)
    timings = [
        panel_timing(str(p.position + 1), p.duration)
        for p in Panel.objects.filter(board_id=panel.board_id).only("position", "duration")
    ]
    return JsonResponse(
        {
            "ok": True,
            "written": float(value),
            "seconds": float(timing.seconds),
            "note": timing.note,
            "runningTime": format_running_time(running_time(timings)),
        }
    )
