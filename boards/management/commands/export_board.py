"""export_board BOARD_ID --format pdf|zip [--layout NAME] [--paper a4|letter]
[--orientation portrait|landscape] [--cover] [--cast] --out PATH"""

from __future__ import annotations

import os
import tempfile

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from boards.export_services import export_defaults, export_options, export_write
from boards.exports import LAYOUTS, EmptyBoardError
from boards.models import Board


class Command(BaseCommand):
    help = "Write a board as a PDF (sheets or comic pages) or a ZIP of its selected takes."

    def add_arguments(self, parser):
        parser.add_argument("board_id", type=int)
        parser.add_argument("--format", required=True, choices=["pdf", "zip"])
        parser.add_argument(
            "--layout", help=f"PDF layout: {', '.join(LAYOUTS)} (default: by board kind)"
        )
        parser.add_argument("--paper", choices=["a4", "letter"], default="a4")
        parser.add_argument("--orientation", choices=["portrait", "landscape"], default="landscape")
        parser.add_argument("--cover", action="store_true", help="start with a cover page")
        parser.add_argument("--cast", action="store_true", help="add a cast sheet")
        parser.add_argument("--out", required=True, help="file to write")

    def handle(self, *args, board_id, format, layout, paper, orientation, cover, cast, out, **_):
        board = Board.objects.select_related("project").filter(pk=board_id).first()
        if board is None:
            raise CommandError(f"No board with id {board_id}.")
        try:
            options = export_options(
                {
                    "layout": layout or export_defaults(board)["layout"],
                    "paper": paper,
                    "orientation": orientation,
                    "cover": cover,
                    "cast_sheet": cast,
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
                export_write(board, format=format, options=options, out=fh)
            os.replace(partial, out)
        except EmptyBoardError as exc:
            raise CommandError(f"Board {board_id} (“{board.name}”): {exc}") from None
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        self.stdout.write(
            f"Board {board.pk} “{board.name}” written to {out} ({os.path.getsize(out):,} bytes)."
        )
