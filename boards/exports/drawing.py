"""Shared drawing vocabulary: palette, text lines, image frames, placeholders, page chrome."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from reportlab.pdfgen.canvas import Canvas

from . import typeset
from .document import ExportBoard
from .fonts import FontSet
from .images import ImageEmbedder
from .layouts import Layout, PageGeometry, Rect, fit_aspect
from .textfit import MIN_SIZE, Block, FittedText, Line, text_width
from .timing import format_running_time

INK = (0.1, 0.1, 0.11)
MUTED = (0.42, 0.42, 0.45)
FAINT = (0.62, 0.62, 0.65)
RULE = (0.8, 0.8, 0.82)
FRAME = (0.2, 0.2, 0.22)
PAPER_TINT = (0.95, 0.95, 0.96)
CAPTION_FILL = (1.0, 0.97, 0.86)
# Approval statuses in print: dark enough to read on paper, told apart in grey too.
REVIEW_COLORS = {
    "approved": (0.1, 0.45, 0.22),
    "changes": (0.7, 0.22, 0.1),
    "in_review": (0.12, 0.32, 0.62),
    "draft": MUTED,
}


@dataclass
class RenderContext:
    """Everything page drawers share for one export."""

    canvas: Canvas
    board: ExportBoard
    layout: Layout
    geometry: PageGeometry
    fonts: FontSet
    embedder: ImageEmbedder
    total_pages: int = 0
    progress: Callable[[], None] = field(default=lambda: None)
    # Scripts some text was written in that no installed font can print.
    missing_scripts: set[str] = field(default_factory=set)
    # Print approval status and open comments (the export's review_status option).
    review: bool = False

    def block(self, text: str, role: str, **kwargs: object) -> Block:
        """A text block in a face, with characters no face can draw replaced."""
        font = self.fonts.face(role)
        return Block(self.clean(text, role), font, **kwargs)  # type: ignore[arg-type]

    def clean(self, text: str, role: str) -> str:
        """Text ready for a face: what no face can draw is replaced and noted."""
        return self.fonts.clean(text, self.fonts.face(role), self.missing_scripts)


def format_date(day: datetime.date) -> str:
    """A date a person reads without thinking: 7 March 2025."""
    return f"{day.day} {day:%B %Y}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds:g} s"


def draw_lines(
    c: Canvas,
    lines: tuple[Line, ...] | list[Line],
    x: float,
    top: float,
    width: float | None = None,
) -> None:
    """Draw laid-out lines whose baselines are measured down from top.

    Given the box width, a line that reads right to left sits at its right edge.
    """
    for line in lines:
        c.setFillColorRGB(*line.color)
        y = top - line.baseline
        if width is not None and typeset.reads_right_to_left(line.text):
            typeset.draw(c, line.text, line.font, line.size, x + width, y, "right")
        else:
            typeset.draw(c, line.text, line.font, line.size, x, y)


def draw_fitted(
    c: Canvas, fitted: FittedText, x: float, top: float, width: float, notes_page: int
) -> None:
    """Draw fitted text and, if it overflowed, the marker pointing at the notes page."""
    draw_lines(c, fitted.lines, x, top, width)
    marker = fitted.marker(notes_page, width)
    if marker is not None:
        draw_lines(c, [marker], x, top)


def draw_single_line(
    c: Canvas,
    text: str,
    font: str,
    size: float,
    x: float,
    y: float,
    width: float,
    *,
    color: tuple[float, float, float] = INK,
    align: str = "left",
) -> None:
    """One line that must not spill: shrink to the minimum, then end with an ellipsis.

    Only used for labels printed in full elsewhere (titles, names), never for
    panel text, which goes through the fitter and the notes section.
    """
    while size > MIN_SIZE and text_width(text, font) * size > width:
        size = max(MIN_SIZE, size - 0.5)
    if text_width(text, font) * size > width:
        while text and text_width(text + "\u2026", font) * size > width:
            text = text[:-1]
        text += "\u2026"
    c.setFillColorRGB(*color)
    if align == "right":
        typeset.draw(c, text, font, size, x + width, y, "right")
    elif align == "center":
        typeset.draw(c, text, font, size, x + width / 2, y, "center")
    else:
        typeset.draw(c, text, font, size, x, y)


def draw_placeholder(ctx: RenderContext, frame: Rect, message: str) -> None:
    """A dashed, tinted box that says clearly why there is no picture."""
    c = ctx.canvas
    c.saveState()
    c.setFillColorRGB(*PAPER_TINT)
    c.setStrokeColorRGB(*FAINT)
    c.setLineWidth(0.6)
    c.setDash(3, 2)
    c.rect(frame.x, frame.y, frame.w, frame.h, stroke=1, fill=1)
    c.setDash()
    size = max(MIN_SIZE, min(10.0, frame.w / 14))
    font = ctx.fonts.face("italic")
    draw_single_line(
        c,
        message,
        font,
        size,
        frame.x + 4,
        frame.y + frame.h / 2 - size * 0.35,
        frame.w - 8,
        color=MUTED,
        align="center",
    )
    c.restoreState()


def draw_picture(
    ctx: RenderContext,
    frame: Rect,
    path: str | None,
    sha256: str | None,
    *,
    border: float = 0.75,
    missing: str = "Not generated yet",
    snug: bool = False,
    focus: tuple[float, float] | None = None,
) -> None:
    """An image letterboxed in its frame with a border, or a placeholder.

    snug draws the border around the picture itself rather than the frame,
    for images whose shape is not the board's (reference sheets). focus fills
    the frame, cropping the picture around that point (comic frames).
    """
    c = ctx.canvas
    placed = ctx.embedder.place(path, frame, sha256=sha256, focus=focus) if path else None
    if placed is None:
        draw_placeholder(ctx, frame, missing if not path else "Image file missing")
        return
    c.saveState()
    r = placed.rect
    outline = r if snug else frame
    if outline != r:
        c.setFillColorRGB(*PAPER_TINT)
        c.rect(frame.x, frame.y, frame.w, frame.h, stroke=0, fill=1)
    c.drawImage(placed.reader, r.x, r.y, r.w, r.h)
    c.setStrokeColorRGB(*FRAME)
    c.setLineWidth(border)
    c.rect(outline.x, outline.y, outline.w, outline.h, stroke=1, fill=0)
    c.restoreState()


def image_frame(box: Rect, aspect: float, anchor: str = "top") -> Rect:
    """The board-aspect frame a panel image is letterboxed into."""
    return fit_aspect(box, aspect, anchor)


def hrule(c: Canvas, x1: float, x2: float, y: float, *, width: float = 0.5) -> None:
    c.saveState()
    c.setStrokeColorRGB(*RULE)
    c.setLineWidth(width)
    c.line(x1, y, x2, y)
    c.restoreState()


def draw_chrome(ctx: RenderContext, page_no: int) -> None:
    """Header (project, board, date) and footer (page n of N) with light rules."""
    c, g, board = ctx.canvas, ctx.geometry, ctx.board
    header, footer = g.header, g.footer
    bold, regular = ctx.fonts.face("bold"), ctx.fonts.face("regular")
    right_w = min(200.0, header.w * 0.35)
    left_w = header.w - right_w - 12
    draw_single_line(
        c, ctx.clean(board.project, "bold"), bold, 11, header.x, header.top - 11, left_w
    )
    draw_single_line(
        c,
        ctx.clean(board.board, "regular"),
        regular,
        9,
        header.x,
        header.top - 24,
        left_w,
        color=MUTED,
    )
    meta = " \u00b7 ".join(
        (
            board.kind.capitalize(),
            ctx.clean(board.aspect_label, "regular"),
            f"runs {format_running_time(board.running_time)}",
            *((board.approval_line,) if ctx.review else ()),
        )
    )
    draw_single_line(
        c,
        format_date(board.date),
        regular,
        9,
        header.right - right_w,
        header.top - 11,
        right_w,
        color=MUTED,
        align="right",
    )
    draw_single_line(
        c,
        meta,
        regular,
        8,
        header.right - right_w,
        header.top - 24,
        right_w,
        color=FAINT,
        align="right",
    )
    hrule(c, header.x, header.right, header.y)
    hrule(c, footer.x, footer.right, footer.top - 4)
    draw_single_line(
        c,
        f"Page {page_no} of {ctx.total_pages}",
        regular,
        8,
        footer.right - 120,
        footer.y + 4,
        120,
        color=MUTED,
        align="right",
    )
    draw_single_line(
        c, ctx.layout.label, regular, 7.5, footer.x, footer.y + 4, footer.w - 140, color=FAINT
    )
