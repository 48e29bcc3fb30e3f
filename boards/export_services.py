"""Writes for board exports: ask for one, run one, forget the expired ones.

An export is a row (boards.models.Export) whose state the database owns:
`queued -> running -> done | failed`, and `done -> expired` once its file is
deleted. The Celery task only says "look at export N now"; running it twice
is harmless because the run claims the row with a conditional update.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from boards.animatic_export import (
    EXTENSIONS,
    animatic_defaults,
    animatic_options,
    animatic_write,
)
from boards.export_adapter import StoreDown, board_snapshot
from boards.exports import (
    DEFAULT_LAYOUT,
    LAYOUTS,
    EmptyBoardError,
    ExportOptions,
    render_pdf,
    render_zip,
)
from boards.exports.animatic import NO_TAKES_MESSAGE
from boards.exports.document import EMPTY_BOARD_MESSAGE
from boards.exports.timing import FPS_CHOICES, HEIGHT_CHOICES
from boards.models import Board, Export, Panel
from boards.progress import RowProgress
from studio.storage import StorageUnavailable, save_stream

log = logging.getLogger(__name__)

PAPERS = ("a4", "letter")
ORIENTATIONS = ("portrait", "landscape")
# An export still queued or running after this long lost its worker (the hard
# time limit is far shorter): the cleanup marks it failed so nobody waits forever.
STALE_AFTER = timedelta(hours=2)
FAILED_MESSAGE = (
    "The export failed unexpectedly. Try again; if it keeps failing, "
    "tell the person who runs this studio."
)
STORAGE_MESSAGE = (
    "The file store did not answer, so the export could not be saved. "
    "Nothing on the board is affected: export again in a minute."
)
TOO_LONG_MESSAGE = (
    "The export took too long and was stopped. Try the ZIP, or a layout with more panels per page."
)
STALE_MESSAGE = (
    "The export stopped before it finished (the worker may have restarted). Export again."
)
# How often (seconds) a running export looks whether someone cancelled it.
CANCEL_CHECK_S = 0.5


class ExportCancelled(Exception):
    """Raised inside a running export when its row is no longer `running`."""


def ttl() -> timedelta:
    """How long a finished export's file is kept."""
    return timedelta(hours=settings.STUDIO_EXPORT_TTL_HOURS)


def export_defaults(board: Board) -> dict[str, Any]:
    """The export form's settings for a board nobody has exported yet."""
    return {
        "format": Export.Format.PDF.value,
        "layout": DEFAULT_LAYOUT[board.kind],
        "paper": "a4",
        "orientation": "landscape",
        "cover": False,
        "cast_sheet": False,
        "review_status": False,
        **animatic_defaults(),
    }


def export_settings_for(board: Board) -> dict[str, Any]:
    """The board's remembered export settings over the defaults.

    Values that are no longer valid (a layout since removed, a hand-edited
    row) fall back to the default instead of breaking the form.
    """
    values = export_defaults(board)
    saved = board.export_settings if isinstance(board.export_settings, dict) else {}
    allowed: dict[str, Collection[object]] = {
        "format": Export.Format.values,
        "layout": LAYOUTS,
        "paper": PAPERS,
        "orientation": ORIENTATIONS,
        "fps": FPS_CHOICES,
        "size": HEIGHT_CHOICES,
    }
    for key, choices in allowed.items():
        if saved.get(key) in choices:
            values[key] = saved[key]
    for key in ("cover", "cast_sheet", "review_status", "captions"):
        if isinstance(saved.get(key), bool):
            values[key] = saved[key]
    return values


def export_options(values: dict[str, Any]) -> ExportOptions:
    """ExportOptions from form-shaped settings; ValidationError names what is wrong."""
    layout = values.get("layout")
    if layout not in LAYOUTS:
        raise ValidationError(f"Unknown layout “{layout}”: choose one of {', '.join(LAYOUTS)}.")
    try:
        return ExportOptions(
            layout=layout,
            paper=values.get("paper", "a4"),
            orientation=values.get("orientation", "landscape"),
            cover=bool(values.get("cover")),
            cast_sheet=bool(values.get("cast_sheet")),
            review_status=bool(values.get("review_status")),
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def export_write(
    board: Board,
    *,
    format: str,
    options: ExportOptions,
    out: BinaryIO,
    progress=None,
) -> tuple[str, ...]:
    """Render the board (with its selected takes) as a PDF or ZIP into out.

    Returns the scripts the PDF could not print for want of a font (empty
    for a ZIP). Raises EmptyBoardError for a board without panels.
    progress(done, total) is called per panel drawn (PDF only).
    """
    pdf = format == Export.Format.PDF
    snapshot = board_snapshot(
        board, cast_sheet=pdf and options.cast_sheet, review=pdf and options.review_status
    )
    if format == Export.Format.PDF:
        return render_pdf(snapshot, options, out, progress=progress)
    if format == Export.Format.ZIP:
        render_zip(snapshot, out)
        return ()
    raise ValueError(f"Unknown export format {format!r}: use 'pdf' or 'zip'.")


def export_request(
    *, board: Board, user, format: str, remember: bool = True, **values: Any
) -> Export:
    """Queue a background export; remember its settings on the board if asked.

    values are the form's layout, paper, orientation, cover, cast_sheet and review_status.
    remember is for editors only: a viewer's export must not change the
    defaults everyone else starts from. Refuses an empty board or bad
    settings with a ValidationError, making no row and no file. The same
    request while an identical export is still running returns that export
    (a double-clicked button queues one job).
    """
    from boards.tasks import run_export

    if format not in Export.Format.values:
        raise ValidationError(
            f"Unknown export format “{format}”: use PDF, ZIP, MP4, EDL or FCPXML."
        )
    options = export_options(values)
    animatic = animatic_options(values)
    if not Panel.objects.filter(board=board).exists():
        raise ValidationError(EMPTY_BOARD_MESSAGE)
    if (
        format in Export.ANIMATIC_FORMATS
        and not Panel.objects.filter(board=board, selected_take__isnull=False).exists()
    ):
        raise ValidationError(NO_TAKES_MESSAGE)
    page_options = {
        "layout": options.layout,
        "paper": options.paper,
        "orientation": options.orientation,
        "cover": options.cover,
        "cast_sheet": options.cast_sheet,
        "review_status": options.review_status,
    }
    video_options = {"fps": animatic.fps, "size": animatic.height, "captions": animatic.captions}
    remembered = {"format": format, **page_options, **video_options}
    stored_options = video_options if format in Export.ANIMATIC_FORMATS else page_options
    exports_cleanup()
    with transaction.atomic():
        if remember:
            # update(), not save(): remembering settings is not an edit of the
            # board and must not move it to the top of "recently updated".
            Board.objects.filter(pk=board.pk).update(export_settings=remembered)
            board.export_settings = remembered
        active = Export.objects.filter(board=board, format=format, state__in=Export.ACTIVE_STATES)
        # Compared in Python: JSON equality in SQL differs between databases.
        running = next((e for e in active if e.options == stored_options), None)
        if running is not None:
            return running
        export = Export.objects.create(
            board=board, requested_by=user, format=format, options=stored_options
        )
        transaction.on_commit(lambda: run_export.delay(export.pk))
    return export


def _Progress(export_id: int) -> RowProgress:
    """Progress of a running export; ExportCancelled once someone cancels it."""
    running = Export.objects.filter(pk=export_id, state=Export.State.RUNNING)
    return RowProgress(running, stopped=ExportCancelled, every_s=CANCEL_CHECK_S)


def _claim(export_id: int) -> bool:
    claimed = Export.objects.filter(pk=export_id, state=Export.State.QUEUED).update(
        state=Export.State.RUNNING, progress=0
    )
    return claimed == 1


def _fail(export_id: int, message: str) -> None:
    Export.objects.filter(pk=export_id, state=Export.State.RUNNING).update(
        state=Export.State.FAILED, error=message, finished=timezone.now()
    )


def export_run(export_id: int) -> Export | None:
    """Make the export's file. Does nothing unless the export is queued.

    Failures end in state `failed` with a message a person can act on; the
    exception is logged, not raised, so the task is not retried into a loop.
    """
    if not _claim(export_id):
        return None
    export = Export.objects.select_related("board__project").get(pk=export_id)
    board = export.board
    subtitles, notes = "", ""
    missing: tuple[str, ...] = ()
    try:
        if export.format in Export.ANIMATIC_FORMATS:
            stored, subtitles, notes = _run_animatic(export)
        else:
            options = export_options(export.options)
            with tempfile.TemporaryFile() as tmp:
                missing = export_write(
                    board,
                    format=export.format,
                    options=options,
                    out=tmp,
                    progress=_Progress(export.pk),
                )
                tmp.seek(0)
                stored = _store(export, tmp, export.format)
    except ExportCancelled:
        log.info("export %s of board %s was cancelled", export.pk, board.pk)
        return _reload(export.pk)
    except (EmptyBoardError, ValidationError, ValueError) as exc:
        message = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        _fail(export.pk, message)
        return _reload(export.pk)
    except SoftTimeLimitExceeded:
        _fail(export.pk, TOO_LONG_MESSAGE)
        return _reload(export.pk)
    except (StorageUnavailable, StoreDown):
        log.warning("export %s of board %s: the file store did not answer", export.pk, board.pk)
        _fail(export.pk, STORAGE_MESSAGE)
        return _reload(export.pk)
    except Exception:
        log.exception("export %s of board %s failed", export.pk, board.pk)
        _fail(export.pk, FAILED_MESSAGE)
        return _reload(export.pk)
    finished = timezone.now()
    updated = Export.objects.filter(pk=export.pk, state=Export.State.RUNNING).update(
        state=Export.State.DONE,
        progress=100,
        file=stored,
        subtitles=subtitles,
        notes=notes,
        finished=finished,
        expires=finished + ttl(),
        missing_scripts=list(missing),
    )
    if not updated:
        # Cancelled or marked stale meanwhile: nobody will point at these files.
        for name in (stored, subtitles):
            if name:
                default_storage.delete(name)
    elif export.requested_by_id:
        _tell_requester_it_is_ready(export)
    return _reload(export.pk)


def _store(export: Export, fh, extension: str) -> str:
    """Store an export's file (read in chunks); StorageUnavailable when the bucket does not answer."""
    return save_stream(export.board.project_id, "exports", extension, fh)


def _run_animatic(export: Export) -> tuple[str, str, str]:
    """Render an MP4 (with its SRT) or a timeline ZIP; returns file, subtitles, notes."""
    options = animatic_options(export.options)
    extension = EXTENSIONS[Export.Format(export.format)]
    # A folder, not an open file: the MP4 muxer re-reads its output to move the
    # index to the front (+faststart), which needs a real path.
    with tempfile.TemporaryDirectory(prefix="castboard-export-") as folder:
        out_path = os.path.join(folder, f"animatic.{extension}")
        srt_path = os.path.join(folder, "animatic.srt") if export.format == "mp4" else None
        plan = animatic_write(
            export.board,
            format=export.format,
            options=options,
            out_path=out_path,
            srt_path=srt_path,
            progress=_Progress(export.pk),
        )
        with open(out_path, "rb") as fh:
            stored = _store(export, fh, extension)
        subtitles = ""
        if srt_path is not None:
            with open(srt_path, "rb") as fh:
                subtitles = _store(export, fh, "srt")
    return stored, subtitles, "\n".join(plan.notes)


def export_cancel(*, export: Export) -> bool:
    """Stop a queued or running export. Returns False if it had already ended.

    A running export notices within about CANCEL_CHECK_S, removes its
    temporary files and frees its worker; nothing is stored.
    """
    return bool(
        Export.objects.filter(pk=export.pk, state__in=Export.ACTIVE_STATES).update(
            state=Export.State.CANCELLED, finished=timezone.now()
        )
    )


def _tell_requester_it_is_ready(export: Export) -> None:
    from django.urls import reverse

    from studio.notifications import notify

    notify(
        recipients=[export.requested_by_id],
        kind="export_ready",
        project=export.board.project,
        text=f"Your {export.format.upper()} of “{export.board.name}” is ready to download.",
        url=reverse("export_status", args=[export.pk]),
    )


def _reload(export_id: int) -> Export | None:
    return Export.objects.filter(pk=export_id).first()


def exports_cleanup(*, now: datetime | None = None) -> int:
    """Delete the files of expired exports and fail exports that lost their worker.

    Returns how many exports it changed. Safe to run from many places at once:
    each row changes state with a conditional update before its file goes.
    """
    now = now or timezone.now()
    changed = 0
    expired = Export.objects.filter(state=Export.State.DONE, expires__lte=now)
    for pk, name, subtitles in expired.values_list("pk", "file", "subtitles"):
        if Export.objects.filter(pk=pk, state=Export.State.DONE).update(
            state=Export.State.EXPIRED, file="", subtitles=""
        ):
            changed += 1
            for stored in (name, subtitles):
                if stored:
                    default_storage.delete(stored)
    changed += Export.objects.filter(
        state__in=Export.ACTIVE_STATES, created__lte=now - STALE_AFTER
    ).update(state=Export.State.FAILED, error=STALE_MESSAGE, finished=now)
    return changed


def export_download_name(export: Export) -> str:
    """The file name offered on download: board name, layout and date.

    The board name is slugified with its letters kept, in any script
    ("灯台-comic-2x3-2025-03-07.pdf"); the storage file name stays random.
    """
    stem = slugify(export.board.name, allow_unicode=True)[:80].strip("-_") or "board"
    day = f"{timezone.localtime(export.created):%Y-%m-%d}"
    if export.format in (Export.Format.EDL, Export.Format.FCPXML):
        return f"{stem}-{day}-{export.format}.zip"
    options = export.options if isinstance(export.options, dict) else {}
    layout = options.get("layout")
    if export.format == Export.Format.PDF and layout in LAYOUTS:
        return f"{stem}-{layout}-{day}.pdf"
    if export.format == Export.Format.ZIP:
        return f"{stem}-images-{day}.zip"
    return f"{stem}-{day}.{export.format}"
