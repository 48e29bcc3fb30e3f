"""Storyboard sheets: a grid of panels, each with its shot, timing and text."""

from __future__ import annotations

from dataclasses import dataclass

from .document import ExportPanel
from .drawing import (
    INK,
    MUTED,
    REVIEW_COLORS,
    RenderContext,
    draw_chrome,
    draw_fitted,
    draw_picture,
    draw_single_line,
    format_duration,
    hrule,
    image_frame,
)
from .layouts import Rect, grid_cells
from .notes import NoteEntry
from .textfit import LEADING, FittedText, fit_text

GUTTER_X = 16.0
GUTTER_Y = 14.0
SHOT_LINE = 12.0  # height of the "SHOT 1A ... 3 s" line
TEXT_GAP_RIGHT = 12.0
MIN_TEXT_LINES = 6


@dataclass(frozen=True)
class _CellGeometry:
    frame: Rect  # the board-aspect image frame
    shot_baseline: float
    text: Rect  # where dialogue, action and notes go


def _cell_geometry(ctx: RenderContext, cell: Rect) -> _CellGeometry:
    aspect = ctx.board.aspect_ratio
    if ctx.layout.text == "right":
        frame = image_frame(Rect(cell.x, cell.y, cell.w * 0.45, cell.h), aspect, "topleft")
        x = frame.right + TEXT_GAP_RIGHT
        shot_baseline = cell.top - 8
        text_top = shot_baseline - 7
        text = Rect(x, cell.y, cell.right - x, text_top - cell.y)
        return _CellGeometry(frame, shot_baseline, text)
    single = ctx.layout.per_page == 1
    # Pictures get at least 60% of the cell, and more while the text below
    # still has room for MIN_TEXT_LINES: bigger pictures are what people want
    # from a sheet, and a frame that is a little wider than the source at
    # 300 dpi lets its JPEG be embedded as is instead of resampled.
    text_room = SHOT_LINE + 5 + MIN_TEXT_LINES * ctx.layout.text_size * LEADING
    image_h = max(cell.h * (0.74 if single else 0.6), cell.h - text_room)
    box = Rect(cell.x, cell.top - image_h, cell.w, image_h)
    # A lone panel is centred like a book page; in a grid, a frame narrower than
    # its cell sits left so the text below can use the whole cell width.
    frame = image_frame(box, aspect, "top" if single else "topleft")
    shot_baseline = frame.y - ctx.layout.text_size - 1.5
    text_top = shot_baseline - 7
    text_x, text_w = (frame.x, frame.w) if single else (cell.x, cell.w)
    return _CellGeometry(
        frame, shot_baseline, Rect(text_x, cell.y, text_w, max(text_top - cell.y, 0.0))
    )


def _meta(panel: ExportPanel) -> str:
    return " \u00b7 ".join(p for p in (panel.shot_type, panel.camera_angle, panel.location) if p)


@dataclass
class _Cell:
    panel: ExportPanel
    rect: Rect
    geometry: _CellGeometry
    fitted: FittedText
    note: NoteEntry | None


@dataclass
class SheetPage:
    """One storyboard sheet, planned: every cell's text is already fitted."""

    cells: list[_Cell]

    def draw(self, ctx: RenderContext, page_no: int) -> None:
        draw_chrome(ctx, page_no)
        c = ctx.canvas
        for index, cell in enumerate(self.cells):
            g, panel = cell.geometry, cell.panel
            draw_picture(ctx, g.frame, panel.image_name, panel.image_sha256)
            left = g.text.x
            width = g.text.w
            duration = format_duration(panel.duration_s)
            dur_w = 50.0 if duration else 0.0
            draw_single_line(
                c,
                f"{ctx.board.panel_word.upper()} {ctx.clean(panel.shot, 'bold')}",
                ctx.fonts.bold,
                ctx.layout.text_size,
                left,
                g.shot_baseline,
                width - dur_w,
                color=INK,
            )
            if duration:
                draw_single_line(
                    c,
                    duration,
                    ctx.fonts.regular,
                    8,
                    left + width - dur_w,
                    g.shot_baseline,
                    dur_w,
                    color=MUTED,
                    align="right",
                )
            hrule(c, left, left + width, g.shot_baseline - 3.5)
            notes_page = cell.note.notes_page if cell.note else 0
            draw_fitted(c, cell.fitted, left, g.text.top, width, notes_page)
            if ctx.layout.text == "right" and index < len(self.cells) - 1:
                hrule(c, cell.rect.x, cell.rect.right, cell.rect.y - GUTTER_Y / 2)
            ctx.progress()


def plan_sheets(ctx: RenderContext, first_page_no: int) -> tuple[list[SheetPage], list[NoteEntry]]:
    """Cut the panels into sheets and fit every cell's text, collecting overflows."""
    cells = grid_cells(ctx.geometry.body, ctx.layout.rows, GUTTER_X, GUTTER_Y)
    geometries = [_cell_geometry(ctx, cell) for cell in cells]
    panels = ctx.board.panels
    per_page = ctx.layout.per_page
    pages: list[SheetPage] = []
    notes: list[NoteEntry] = []
    for start in range(0, len(panels), per_page):
        page_no = first_page_no + len(pages)
        planned = []
        chunk = panels[start : start + per_page]
        for panel, rect, g in zip(chunk, cells, geometries, strict=False):
            fitted = _fit_cell(ctx, panel, g.text)
            note = None
            if fitted.overflow:
                note = NoteEntry(
                    f"{ctx.board.panel_word} {panel.shot}",
                    page_no,
                    (
                        ("Review", panel.review_line if ctx.review else ""),
                        ("Shot", _meta(panel)),
                        ("Dialogue", panel.dialogue),
                        ("Action", panel.action),
                        ("Notes", panel.notes),
                    ),
                )
                notes.append(note)
            planned.append(_Cell(panel, rect, g, fitted, note))
        pages.append(SheetPage(planned))
    return pages, notes


def _fit_cell(ctx: RenderContext, panel: ExportPanel, box: Rect) -> FittedText:
    blocks = []
    if ctx.review:
        color = REVIEW_COLORS.get(panel.review_status, MUTED)
        blocks.append(ctx.block(panel.review_line, "bold", color=color, scale=0.88))
    blocks += [
        ctx.block(_meta(panel), "regular", color=MUTED, scale=0.88),
        ctx.block(panel.dialogue, "bold"),
        ctx.block(panel.action, "regular"),
        ctx.block(panel.notes, "italic", color=MUTED),
    ]
    return fit_text(
        blocks, box.w, box.h, max_size=ctx.layout.text_size, marker_font=ctx.fonts.italic
    )
