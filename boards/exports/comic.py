"""Comic pages: panel frames on a grid with gutters, captions and dialogue in boxes."""

from __future__ import annotations

from dataclasses import dataclass

from .document import ExportPanel
from .drawing import (
    CAPTION_FILL,
    FRAME,
    MUTED,
    REVIEW_COLORS,
    RenderContext,
    draw_chrome,
    draw_fitted,
    draw_picture,
    draw_single_line,
)
from .layouts import Rect, grid_cells
from .notes import NoteEntry
from .textfit import FittedText, fit_text, text_width

GUTTER = 12.0
BOX_INSET = 6.0
BOX_PAD = 4.0
BOX_MAX_SHARE = 0.4  # a box may cover at most this much of the frame's height
TAG_W = 42.0
REVIEW_TAG_SIZE = 6.5
REVIEW_TAG_DROP = 22.0  # the review tag's bottom edge, below the frame's top, plus a gap


def comic_frames(body: Rect, rows: tuple[int, ...]) -> list[Rect]:
    """Frames in reading order that fill the page's live area, with even gutters.

    Pictures are cropped to their frame (around each panel's focus point)
    rather than letterboxed, so a 16:9 board fills a portrait page too.
    """
    return grid_cells(body, rows, GUTTER, GUTTER)


@dataclass
class _Frame:
    panel: ExportPanel
    rect: Rect
    caption: _Box | None
    dialogue: _Box | None
    note: NoteEntry | None


@dataclass
class ComicPage:
    """One comic page, planned."""

    frames: list[_Frame]

    def draw(self, ctx: RenderContext, page_no: int) -> None:
        draw_chrome(ctx, page_no)
        for frame in self.frames:
            panel, r = frame.panel, frame.rect
            draw_picture(
                ctx, r, panel.image_name, panel.image_sha256, border=1.4, focus=panel.focus
            )
            page = frame.note.notes_page if frame.note else 0
            self._tag(ctx, frame)
            if ctx.review:
                self._review_tag(ctx, frame)
            if frame.caption is not None:
                x, top = r.x + BOX_INSET, r.top - BOX_INSET - _caption_drop(ctx)
                _draw_box(ctx, frame.caption, x, top, page, caption=True)
            if frame.dialogue is not None:
                box = frame.dialogue
                x = r.x + (r.w - box.width(page)) / 2
                _draw_box(ctx, box, x, r.y + BOX_INSET + box.height, page, caption=False)
            ctx.progress()

    def _tag(self, ctx: RenderContext, frame: _Frame) -> None:
        text = f"{ctx.board.panel_word} {ctx.clean(frame.panel.shot, 'bold')}"
        _white_tag(ctx, frame.rect, text, TAG_W, 13, 6.5, MUTED)

    def _review_tag(self, ctx: RenderContext, frame: _Frame) -> None:
        """The approval status and open comments in a white tag under the panel tag."""
        panel = frame.panel
        _white_tag(
            ctx,
            frame.rect,
            ctx.clean(panel.review_line, "bold"),
            _review_tag_width(ctx, panel, frame.rect),
            25,
            REVIEW_TAG_SIZE,
            REVIEW_COLORS.get(panel.review_status, MUTED),
        )


def _white_tag(
    ctx: RenderContext, r: Rect, text: str, width: float, drop: float, size: float, color
) -> None:
    """A one-line white tag at the frame's top right corner, `drop` points below its top."""
    c = ctx.canvas
    c.saveState()
    c.setFillColorRGB(1, 1, 1)
    c.setStrokeColorRGB(*FRAME)
    c.setLineWidth(0.5)
    c.rect(r.right - width - 3, r.top - drop, width, 10, stroke=1, fill=1)
    draw_single_line(
        c,
        text,
        ctx.fonts.bold,
        size,
        r.right - width - 2,
        r.top - drop + 2.5,
        width - 2,
        color=color,
        align="center",
    )
    c.restoreState()


def _review_tag_width(ctx: RenderContext, panel: ExportPanel, r: Rect) -> float:
    """The review tag's width: its text, within the frame."""
    text = ctx.clean(panel.review_line, "bold")
    return min(text_width(text, ctx.fonts.bold) * REVIEW_TAG_SIZE + 6, r.w - 2 * BOX_INSET)


def _caption_drop(ctx: RenderContext) -> float:
    """How far the caption box sits below its usual place: under the review tag, if printed."""
    return REVIEW_TAG_DROP if ctx.review else 0.0


@dataclass(frozen=True)
class _Box:
    """Fitted text plus the width it was fitted to; the box shrinks to its text."""

    fitted: FittedText
    max_w: float

    def width(self, page: int) -> float:
        widest = self.fitted.widest
        marker = self.fitted.marker(page, self.max_w)
        if marker is not None:
            widest = max(widest, text_width(marker.text, marker.font) * marker.size)
        return min(widest, self.max_w) + 2 * BOX_PAD

    @property
    def height(self) -> float:
        return self.fitted.height + 2 * BOX_PAD


def _draw_box(
    ctx: RenderContext, box: _Box, x: float, top: float, page: int, *, caption: bool
) -> None:
    c = ctx.canvas
    w, h = box.width(page), box.height
    c.saveState()
    c.setFillColorRGB(*(CAPTION_FILL if caption else (1, 1, 1)))
    c.setStrokeColorRGB(*FRAME)
    c.setLineWidth(0.6)
    if caption:
        c.rect(x, top - h, w, h, stroke=1, fill=1)
    else:
        c.roundRect(x, top - h, w, h, 4, stroke=1, fill=1)
    c.restoreState()
    draw_fitted(c, box.fitted, x + BOX_PAD, top - BOX_PAD, w - 2 * BOX_PAD, page)


def _fit_box(ctx: RenderContext, text: str, role: str, width: float, height: float) -> _Box:
    fitted = fit_text(
        [ctx.block(text, role)],
        width,
        height,
        max_size=ctx.layout.text_size,
        marker_font=ctx.fonts.italic,
    )
    return _Box(fitted, width)


def plan_comic(ctx: RenderContext, first_page_no: int) -> tuple[list[ComicPage], list[NoteEntry]]:
    """Cut the panels into comic pages and fit every caption and dialogue box."""
    rects = comic_frames(ctx.geometry.body, ctx.layout.rows)
    panels = ctx.board.panels
    per_page = ctx.layout.per_page
    pages: list[ComicPage] = []
    notes: list[NoteEntry] = []
    for start in range(0, len(panels), per_page):
        page_no = first_page_no + len(pages)
        frames = []
        for panel, r in zip(panels[start : start + per_page], rects, strict=False):
            max_w = r.w - 2 * BOX_INSET - 2 * BOX_PAD
            box_h = r.h * BOX_MAX_SHARE - 2 * BOX_PAD
            caption = dialogue = None
            if panel.notes.strip():
                # Leave the corner free for the shot tag; the review tag, as wide as
                # its text, pushes the caption down below it instead.
                caption = _fit_box(
                    ctx, panel.notes, "italic", max_w - TAG_W - 4, box_h - _caption_drop(ctx)
                )
            if panel.dialogue.strip():
                dialogue = _fit_box(ctx, panel.dialogue, "bold", max_w, box_h)
            note = None
            if any(b is not None and b.fitted.overflow for b in (caption, dialogue)):
                note = NoteEntry(
                    f"{ctx.board.panel_word} {panel.shot}",
                    page_no,
                    (("Caption", panel.notes), ("Dialogue", panel.dialogue)),
                )
                notes.append(note)
            frames.append(_Frame(panel, r, caption, dialogue, note))
        pages.append(ComicPage(frames))
    return pages, notes
