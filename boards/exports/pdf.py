"""render_pdf: storyboard sheets or comic pages, with optional cover, cast and notes.

Rendering runs in two passes. Planning fits every text box (cheap: text
metrics only) so the overflowing text and the notes pages are known, hence
the total page count and the page each "continued" marker points to. Drawing
then goes page by page, loading one image at a time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO, Protocol

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas

from .comic import plan_comic
from .document import ExportBoard, ExportOptions, require_panels
from .drawing import RenderContext, format_date
from .fonts import get_fonts
from .front import CoverPage, plan_cast
from .images import ImageEmbedder
from .layouts import PageGeometry, get_layout, page_size
from .notes import NoteEntry, plan_notes
from .sheet import plan_sheets

ProgressCallback = Callable[[int, int], None]


class _Page(Protocol):
    def draw(self, ctx: RenderContext, page_no: int) -> None: ...


# ReportLab reads its ASCII85 switch from a process-wide setting; the lock
# keeps two exports in one process from flipping it under each other.
_settings_lock = threading.Lock()


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Write streams as binary: ASCII85 would grow every embedded JPEG by a quarter."""
    with _settings_lock:
        saved = rl_config.useA85
        rl_config.useA85 = 0
        try:
            yield
        finally:
            rl_config.useA85 = saved


def render_pdf(
    board: ExportBoard,
    options: ExportOptions,
    out: BinaryIO,
    *,
    progress: ProgressCallback | None = None,
) -> tuple[str, ...]:
    """Write the board as a PDF to out; return the scripts it could not print.

    Text in a script no installed font has (say, Korean without the CJK font
    package) prints as a replacement mark; the names of those scripts come
    back, sorted, so the export can tell people. Raises EmptyBoardError for a
    board without panels and ValueError for an unknown layout.
    progress(done, total) is called after each panel is drawn.
    """
    require_panels(board)
    layout = get_layout(options.layout)
    width, height = page_size(options.paper, options.orientation)
    total_panels = len(board.panels)
    done = 0

    def panel_done() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total_panels)

    with _binary_streams():
        canvas = Canvas(out, pagesize=(width, height), pageCompression=1)
        canvas.setTitle(f"{board.project} \u2014 {board.board}")
        canvas.setSubject(f"{board.kind.capitalize()}, {format_date(board.date)}")
        canvas.setCreator("Castboard")
        ctx = RenderContext(
            canvas=canvas,
            board=board,
            layout=layout,
            geometry=PageGeometry(width, height),
            fonts=get_fonts(),
            embedder=ImageEmbedder(opener=board.opener),
            progress=panel_done,
            review=options.review_status,
        )
        pages = _plan(ctx, options)
        ctx.total_pages = len(pages)
        for page_no, page in enumerate(pages, start=1):
            page.draw(ctx, page_no)
            canvas.showPage()
        canvas.save()
    return tuple(sorted(ctx.missing_scripts))


def _plan(ctx: RenderContext, options: ExportOptions) -> list[_Page]:
    pages: list[_Page] = []
    notes: list[NoteEntry] = []
    if options.cover:
        pages.append(CoverPage())
    if options.cast_sheet:
        cast_pages, cast_notes = plan_cast(ctx, len(pages) + 1)
        pages += cast_pages
        notes += cast_notes
    plan = plan_comic if ctx.layout.style == "comic" else plan_sheets
    body_pages, body_notes = plan(ctx, len(pages) + 1)
    pages += body_pages
    notes += body_notes
    pages += plan_notes(ctx, notes, len(pages) + 1)
    return pages
