"""Front matter: the cover and one cast page per character."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PIL import Image

from . import typeset
from .document import ExportCastMember
from .drawing import (
    INK,
    MUTED,
    RenderContext,
    draw_chrome,
    draw_fitted,
    draw_lines,
    draw_picture,
    draw_placeholder,
    format_date,
    hrule,
)
from .layouts import Rect, fit_aspect
from .notes import NoteEntry
from .textfit import ASCENT, FittedText, Line, fit_text, wrap

MAX_CAST_IMAGES = 12


@dataclass
class CoverPage:
    """Title page: project, board, date and the first panel that has a picture."""

    def draw(self, ctx: RenderContext, page_no: int) -> None:
        c, board, f = ctx.canvas, ctx.board, ctx.fonts
        g = ctx.geometry
        area = Rect(g.body.x, g.footer.y, g.body.w, g.header.top - g.footer.y)
        y = area.top - 20
        for text, font, size, color in (
            (board.project, f.bold, 26.0, INK),
            (board.board, f.regular, 16.0, MUTED),
        ):
            role = "bold" if font == f.bold else "regular"
            for line in wrap(ctx.clean(text, role), font, size, area.w)[:3]:
                c.setFillColorRGB(*color)
                typeset.draw(c, line, font, size, area.x, y - size * 0.8)
                y -= size * 1.2
            y -= 4
        count = len(board.panels)
        meta = " \u00b7 ".join(
            (
                board.kind.capitalize(),
                ctx.clean(board.aspect_label, "regular"),
                f"{count} panel{'s' if count != 1 else ''}",
                format_date(board.date),
            )
        )
        c.setFillColorRGB(*MUTED)
        typeset.draw(c, meta, f.regular, 10, area.x, y - 10)
        y -= 24
        hrule(c, area.x, area.right, y, width=0.75)
        picture_box = Rect(area.x, area.y + 10, area.w, y - 20 - area.y - 10)
        frame = fit_aspect(picture_box, board.aspect_ratio)
        first = next((p for p in board.panels if p.image_name), None)
        if first is None:
            draw_placeholder(ctx, frame, "No panel has been generated yet")
        else:
            draw_picture(ctx, frame, first.image_name, first.image_sha256, border=0.5)


@dataclass
class CastPage:
    """A character: name, appearance text and the reference images."""

    member: ExportCastMember
    appearance: FittedText
    note: NoteEntry | None

    def draw(self, ctx: RenderContext, page_no: int) -> None:
        draw_chrome(ctx, page_no)
        c, f = ctx.canvas, ctx.fonts
        text_box, images_box = _cast_boxes(ctx)
        title = ctx.clean(self.member.name, "bold")
        draw_lines(c, [_title_line(ctx, title)], text_box.x, ctx.geometry.body.top)
        c.setFillColorRGB(*MUTED)
        typeset.draw(c, "APPEARANCE", f.bold, 7, text_box.x, text_box.top + 4)
        page = self.note.notes_page if self.note else 0
        draw_fitted(c, self.appearance, text_box.x, text_box.top - 2, text_box.w, page)
        if images_box.x == text_box.x:
            # Portrait: pictures start right under the text actually printed.
            top = text_box.top - self.appearance.height - 16
            images_box = Rect(images_box.x, images_box.y, images_box.w, top - images_box.y)
        paths = self.member.image_names
        if not paths:
            draw_placeholder(ctx, images_box, "No reference images yet")
            return
        shown = paths[:MAX_CAST_IMAGES]
        cells = _image_cells(images_box, len(shown), _first_aspect(ctx, shown))
        for path, cell in zip(shown, cells, strict=True):
            draw_picture(ctx, cell, path, None, border=0.5, snug=True)
        if len(paths) > len(shown):
            c.setFillColorRGB(*MUTED)
            more = len(paths) - len(shown)
            typeset.draw(
                c, f"+ {more} more reference images", f.italic, 8, images_box.x, images_box.y - 10
            )


def _title_line(ctx: RenderContext, title: str) -> Line:
    return Line(title, ctx.fonts.bold, 18, INK, 18 * ASCENT)


def _cast_boxes(ctx: RenderContext) -> tuple[Rect, Rect]:
    """Appearance text beside the pictures in landscape, above them in portrait."""
    body = ctx.geometry.body
    below_title = body.h - 40
    if body.w > body.h:
        text_w = body.w * 0.34
        text = Rect(body.x, body.y, text_w, below_title - 12)
        images = Rect(body.x + text_w + 20, body.y + 12, body.w - text_w - 20, below_title)
    else:
        text_h = below_title * 0.3
        text = Rect(body.x, body.y + below_title - text_h, body.w, text_h - 12)
        images = Rect(body.x, body.y + 12, body.w, below_title - text_h - 16)
    return text, images


def _image_cells(box: Rect, n: int, aspect: float) -> list[Rect]:
    """The grid, filled from the top, that shows n images of this aspect largest."""
    gap = 10.0
    best: tuple[float, int] = (0.0, 1)
    for cols in range(1, n + 1):
        rows = math.ceil(n / cols)
        cell_w = (box.w - gap * (cols - 1)) / cols
        cell_h = (box.h - gap * (rows - 1)) / rows
        best = max(best, (min(cell_w, cell_h * aspect), cols))
    width, cols = best
    cell_w = (box.w - gap * (cols - 1)) / cols
    height = width / aspect
    cells = []
    for i in range(n):
        row, col = divmod(i, cols)
        top = box.top - row * (height + gap)
        cells.append(Rect(box.x + col * (cell_w + gap), top - height, cell_w, height))
    return cells


def _first_aspect(ctx: RenderContext, paths: tuple[str, ...]) -> float:
    """The shape of the first readable reference image (reads the header only)."""
    for path in paths:
        try:
            with ctx.board.opener(path) as fh, Image.open(fh) as img:
                return img.width / img.height
        except (OSError, ValueError):
            continue
    return 1.0


def plan_cast(ctx: RenderContext, first_page_no: int) -> tuple[list[CastPage], list[NoteEntry]]:
    """One page per cast member, appearance text fitted, overflows collected."""
    pages: list[CastPage] = []
    notes: list[NoteEntry] = []
    text_box, _ = _cast_boxes(ctx)
    for member in ctx.board.cast:
        fitted = fit_text(
            [ctx.block(member.appearance or "No appearance text yet.", "regular")],
            text_box.w,
            text_box.h,
            max_size=10.0,
            marker_font=ctx.fonts.italic,
        )
        note = None
        if fitted.overflow:
            note = NoteEntry(
                f"Cast: {member.name}",
                first_page_no + len(pages),
                (("Appearance", member.appearance),),
            )
            notes.append(note)
        pages.append(CastPage(member, fitted, note))
    return pages, notes
