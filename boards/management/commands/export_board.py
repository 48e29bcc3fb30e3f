"""export_board BOARD_ID --format pdf|zip|mp4|edl|fcpxml --out PATH
[--layout NAME] [--paper a4|letter] [--orientation portrait|landscape] [--cover] [--cast]
[--review-status]
[--fps 24|25|30] [--size 720|1080] [--captions] [--srt PATH]"""

from __future__ import annotations

import os
import tempfile

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from boards.animatic_export import animatic_options, animatic_write
from boards.export_services import export_defaults, export_options, export_write
from boards.exports import LAYOUTS, EmptyBoardError
from boards.exports.animatic import NoTakesError
from boards.exports.timing import FPS_CHOICES, HEIGHT_CHOICES
from boards.models import Board, Export


class Command(BaseCommand):
    help = (
        "Write a board as a PDF (sheets or comic pages), a ZIP of its selected takes, "
        "an MP4 animatic with an SRT, or an EDL / FCPXML timeline zipped with its frames."
    )

    def add_arguments(self, parser):
        parser.add_argument("board_id", type=int)
        parser.add_argument("--format", required=True, choices=Export.Format.values)
        parser.add_argument(
            "--layout", help=f"PDF layout: {', '.join(LAYOUTS)} (default: by board kind)"
        )
        parser.add_argument("--paper", choices=["a4", "letter"], default="a4")
        parser.add_argument("--orientation", choices=["portrait", "landscape"], default="landscape")
        parser.add_argument("--cover", action="store_true", help="start with a cover page")
        parser.add_argument("--cast", action="store_true", help="add a cast sheet")
        parser.add_argument(
            "--review-status",
            action="store_true",
            help="print each panel's approval status and open-comment count (PDF)",
        )
        parser.add_argument("--fps", type=int, choices=FPS_CHOICES, default=24)
        parser.add_argument(
            "--size", type=int, choices=HEIGHT_CHOICES, default=1080, help="frame height"
        )
        parser.add_argument(
            "--captions", action="store_true", help="burn shot numbers and dialogue into the MP4"
        )
        parser.add_argument("--srt", help="where the MP4's SRT goes (default: beside --out)")
        parser.add_argument("--out", required=True, help="file to write")

    def handle(self, *args, board_id, format, out, **opts):
        board = Board.objects.select_related("project").filter(pk=board_id).first()
        if board is None:
            raise CommandError(f"No board with id {board_id}.")
        if format in Export.ANIMATIC_FORMATS:
            self._animatic(board, format, out, **opts)
        else:
            self._document(board, format, out, **opts)

    def _document(
        self, board, format, out, *, layout, paper, orientation, cover, cast, review_status, **_
    ):
        board_id = board.pk
        try:
            options = export_options(
                {
                    "layout": layout or export_defaults(board)["layout"],
                    "paper": paper,
                    "orientation": orientation,
                    "cover": cover,
                    "cast_sheet": cast,
                    "review_status": review_status,
                }
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        out = os.path.abspath(out)
        folder = os.path.dirname(out)
        if not os.path.isdir(folder):
            raise CommandError(f"The folder {folder} does not exist.")
        # Written beside the target and renamed at the end: a failed export
        # never leaves half a file under the name a script is waiting for.
        fd, partial = tempfile.mkstemp(dir=folder, prefix=".export-", suffix=f".{format}")
        try:
            with os.fdopen(fd, "wb") as fh:
                missing = export_write(board, format=format, options=options, out=fh)
            os.replace(partial, out)
        except EmptyBoardError as exc:
            raise CommandError(f"Board {board_id} (“{board.name}”): {exc}") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        self.stdout.write(
            f"Board {board.pk} “{board.name}” written to {out} ({os.path.getsize(out):,} bytes)."
        )
        if missing:
            self.stderr.write(
                f"No installed font covers {', '.join(missing)}: that text prints as “\ufffd”."
            )

    def _animatic(self, board, format, out, *, fps, size, captions, srt, **_):
        try:
            options = animatic_options({"fps": fps, "size": size, "captions": captions})
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        out = _target(out)
        srt_out = _target(srt) if srt else None
        if format == Export.Format.MP4 and srt_out is None:
            srt_out = os.path.splitext(out)[0] + ".srt"
        partials = []
        try:
            partial = _partial(out, format)
            srt_partial = _partial(srt_out, "srt") if srt_out else None
            partials = [p for p in (partial, srt_partial) if p]
            plan = animatic_write(
                board,
                format=format,
                options=options,
                out_path=partial,
                srt_path=srt_partial,
            )
            os.replace(partial, out)
            if srt_out and srt_partial:
                os.replace(srt_partial, srt_out)
        except (EmptyBoardError, NoTakesError) as exc:
            raise CommandError(f"Board {board.pk} (“{board.name}”): {exc}") from None
        finally:
            for path in partials:
                if os.path.exists(path):
                    os.unlink(path)
        for note in plan.notes:
            self.stderr.write(f"Note: {note}")
        w, h = plan.size
        seconds = plan.total_frames / plan.fps
        self.stdout.write(
            f"Board {board.pk} “{board.name}” written to {out} ({os.path.getsize(out):,} bytes, "
            f"{len(plan.shots)} panels, {w}x{h} at {plan.fps} fps, {seconds:.2f} s)."
        )
        if srt_out:
            self.stdout.write(f"Subtitles written to {srt_out}.")


def _target(path: str) -> str:
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise CommandError(f"The folder {folder} does not exist.")
    return path


def _partial(target: str, suffix: str) -> str:
    """An empty file beside target: written there, renamed over target at the end."""
    fd, partial = tempfile.mkstemp(
        dir=os.path.dirname(target), prefix=".export-", suffix=f".{suffix}"
    )
    os.close(fd)
    return partial
