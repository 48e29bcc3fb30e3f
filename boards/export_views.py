"""The export page and the export status fragment.

Exporting is reading: every member, viewers included, may export a board
(a producer downloads PDFs). Outsiders get 404 like everywhere else.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards import export_services
from boards.export_forms import ExportForm
from boards.exports import LAYOUTS
from boards.exports.document import EMPTY_BOARD_MESSAGE
from boards.models import Board, Export, Panel
from reviews.services import activity_record
from studio.access import Need, board_for, export_for
from studio.http import HtmxHttpRequest, attach

RECENT_EXPORTS = 8
_PAPER = {"a4": "A4", "letter": "Letter"}


def _summary(export: Export) -> str:
    options = export.options or {}
    if export.format == Export.Format.ZIP:
        return "Selected images with a manifest"
    if export.format in Export.ANIMATIC_FORMATS:
        parts = [f"{options.get('size', '')}p", f"{options.get('fps', '')} fps"]
        if export.format == Export.Format.MP4:
            parts.append("captions burned in" if options.get("captions") else "SRT captions")
        return " · ".join(parts)
    layout = LAYOUTS.get(options.get("layout", ""))
    parts = [
        layout.label if layout else options.get("layout", ""),
        f"{_PAPER.get(options.get('paper', ''), '')} {options.get('orientation', '')}".strip(),
    ]
    parts += [
        label
        for key, label in (
            ("cover", "cover"),
            ("cast_sheet", "cast sheet"),
            ("review_status", "review status"),
        )
        if options.get(key)
    ]
    return " · ".join(p for p in parts if p)


def _with_download(export: Export) -> Export:
    """Attach a summary and the permission-checked media URL, asking for a readable name."""
    attach(export, summary=_summary(export), download_url="", subtitles_url="")
    if export.state == Export.State.DONE and export.file:
        name = export_services.export_download_name(export)
        attach(
            export,
            download_url=f"{export.file.url}?{urlencode({'as': name})}",
            download_name=name,
        )
        if export.subtitles:
            srt_name = name.rsplit(".", 1)[0] + ".srt"
            attach(
                export,
                subtitles_url=f"{export.subtitles.url}?{urlencode({'as': srt_name})}",
                subtitles_name=srt_name,
            )
    return export


def _recent(board: Board) -> list[Export]:
    exports = (
        Export.objects.filter(board=board)
        .select_related("board", "requested_by")
        .order_by("-created", "-id")[:RECENT_EXPORTS]
    )
    return [_with_download(e) for e in exports]


@login_required
@require_http_methods(["GET", "POST"])
def board_export(request: HttpRequest, pk: int) -> HttpResponse:
    access = board_for(request.user, pk, Need.READ)
    board = access.obj
    has_panels = Panel.objects.filter(board=board).exists()
    form = ExportForm(request.POST or None, initial=export_services.export_settings_for(board))
    if request.method == "POST":
        if not has_panels:
            messages.error(request, EMPTY_BOARD_MESSAGE)
            return redirect("board_export", pk=board.pk)
        if form.is_valid():
            try:
                export = export_services.export_request(
                    board=board, user=request.user, remember=access.can_edit, **form.cleaned_data
                )
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("board_export", pk=board.pk)
            saved = (
                " Your settings are saved for the next export of this board."
                if access.can_edit
                else ""
            )
            activity_record(
                board=board, verb="exported", actor=request.user, text=export.format.upper()
            )
            messages.success(
                request, f"Exporting “{board.name}” as {export.get_format_display()}.{saved}"
            )
            return redirect("export_status", pk=export.pk)
    context = {
        "board": board,
        "project": access.project,
        "access": access,
        "form": form,
        "has_panels": has_panels,
        "exports": _recent(board),
        "ttl_hours": int(export_services.ttl().total_seconds() // 3600),
    }
    return render(request, "boards/export_page.html", context, status=400 if form.errors else 200)


@login_required
@require_GET
def export_status(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    access = export_for(request.user, pk)
    export = _with_download(access.obj)
    context = {"export": export, "board": export.board, "project": access.project}
    if request.htmx:
        return render(request, "boards/export_status.html", context)
    return render(request, "boards/export_status_page.html", context)


@login_required
@require_POST
def export_cancel(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Stop an export still queued or running: the person who asked for it, or an editor."""
    access = export_for(request.user, pk)
    export = access.obj
    if not (access.can_edit or export.requested_by_id == request.user.pk):
        raise PermissionDenied
    if export_services.export_cancel(export=export):
        messages.info(request, "Export cancelled. Nothing was kept.")
    export.refresh_from_db()
    context = {"export": _with_download(export), "board": export.board, "project": access.project}
    if request.htmx:
        return render(request, "boards/export_status.html", context)
    return redirect("export_status", pk=export.pk)
