"""Animatic exports (MP4 with SRT, EDL and FCPXML ZIPs): options and the write itself.

export_services runs these in the background like any export; the
export_board command calls `animatic_write` directly. Take images are read as
bytes through the storage API, so exports work the same on a bucket.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError

from boards.export_adapter import board_snapshot, open_stored
from boards.exports.animatic import AnimaticOptions, AnimaticPlan, plan_animatic, render_srt
from boards.exports.timeline import render_timeline_zip
from boards.exports.video import render_mp4
from boards.models import Board, Export

# File extension of each animatic format's main file.
EXTENSIONS = {Export.Format.MP4: "mp4", Export.Format.EDL: "zip", Export.Format.FCPXML: "zip"}


def animatic_defaults() -> dict[str, Any]:
    """The animatic choices of a board nobody has exported yet."""
    return {"fps": 24, "size": 1080, "captions": False}


def animatic_options(values: dict[str, Any]) -> AnimaticOptions:
    """AnimaticOptions from form-shaped settings (missing ones take the defaults).

    Raises ValidationError naming what is wrong.
    """
    defaults = animatic_defaults()
    try:
        return AnimaticOptions(
            fps=int(values.get("fps") or defaults["fps"]),
            height=int(values.get("size") or defaults["size"]),
            captions=bool(values.get("captions")),
        )
    except (TypeError, ValueError) as exc:
        raise ValidationError(str(exc)) from None


def animatic_plan(board: Board, options: AnimaticOptions) -> AnimaticPlan:
    """The board timed at the options' frame rate (raises for an empty or picture-less board)."""
    return plan_animatic(board_snapshot(board, cast_sheet=False), options)


def animatic_write(
    board: Board,
    *,
    format: str,
    options: AnimaticOptions,
    out_path: str,
    srt_path: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AnimaticPlan:
    """Write the board's animatic in `format` to out_path, and the SRT to srt_path if given.

    Returns the plan, whose notes say which durations were clamped. Raises
    EmptyBoardError or NoTakesError (both ValueError) with a message for people.
    """
    plan = animatic_plan(board, options)
    if format == Export.Format.MP4:
        render_mp4(plan, out_path, open_stored, captions=options.captions, progress=progress)
    elif format in (Export.Format.EDL, Export.Format.FCPXML):
        with open(out_path, "wb") as out:
            render_timeline_zip(plan, format, board.name, out, open_stored, progress=progress)
    else:
        raise ValueError(f"Unknown animatic format {format!r}: use mp4, edl or fcpxml.")
    if srt_path is not None:
        with open(srt_path, "w", encoding="utf-8") as fh:
            fh.write(render_srt(plan))
    return plan
