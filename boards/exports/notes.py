"""The notes section: text that did not fit where it belongs, printed in full."""

from __future__ import annotations

from dataclasses import dataclass, field

from .drawing import INK, MUTED, RenderContext, draw_chrome, draw_lines
from .layouts import Rect
from .textfit import ASCENT, LEADING, Line, wrap

TEXT_SIZE = 9.0
LABEL_SIZE = 7.0
HEADING_SIZE = 10.0
COLUMN_GAP = 24.0


@dataclass
class NoteEntry:
    """One overflowing item: where it came from and every field of it, in full."""

    title: str
    source_page: int
    fields: tuple[tuple[str, str], ...]
    notes_page: int = 0


@dataclass
class _Row:
    line: Line
    height: float
    keep_with_next: bool = False
    entry: NoteEntry | None = None  # set on an entry's first row


@dataclass
class NotesPage:
    """A notes page: columns of rows, ready to draw."""

    columns: list[list[_Row]] = field(default_factory=list)
    first: bool = False

    def draw(self, ctx: RenderContext, page_no: int) -> None:
        draw_chrome(ctx, page_no)
        body, cols = _body_and_columns(ctx)
        c = ctx.canvas
        top = body.top
        if self.first:
            title = Line("Notes", ctx.fonts.bold, 14, INK, 14 * ASCENT)
            sub = Line(
                "Text that did not fit in its panel, printed in full.",
                ctx.fonts.italic,
                8.5,
                MUTED,
                14 * LEADING + 8.5 * ASCENT,
            )
            draw_lines(c, [title, sub], body.x, top)
            top -= _title_height()
        for col, rows in zip(cols, self.columns, strict=False):
            y = top
            for row in rows:
                draw_lines(c, [row.line], col.x, y, col.w)
                y -= row.height


def _title_height() -> float:
    return 14 * LEADING + 8.5 * LEADING + 10


def _body_and_columns(ctx: RenderContext) -> tuple[Rect, list[Rect]]:
    body = ctx.geometry.body
    count = 2 if body.w > 600 else 1
    w = (body.w - COLUMN_GAP * (count - 1)) / count
    return body, [Rect(body.x + i * (w + COLUMN_GAP), body.y, w, body.h) for i in range(count)]


def _rows(ctx: RenderContext, entry: NoteEntry, width: float) -> list[_Row]:
    f = ctx.fonts
    heading = f"{entry.title} \u2014 page {entry.source_page}"
    rows = [
        _Row(
            Line(ctx.clean(heading, "bold"), f.bold, HEADING_SIZE, INK, HEADING_SIZE * ASCENT),
            HEADING_SIZE * LEADING + 2,
            keep_with_next=True,
            entry=entry,
        )
    ]
    for label, text in entry.fields:
        if not text.strip():
            continue
        rows.append(
            _Row(
                Line(label.upper(), f.bold, LABEL_SIZE, MUTED, LABEL_SIZE * ASCENT + 2),
                LABEL_SIZE * LEADING + 2,
                keep_with_next=True,
            )
        )
        for text_line in wrap(ctx.clean(text, "regular"), f.regular, TEXT_SIZE, width):
            rows.append(
                _Row(
                    Line(text_line, f.regular, TEXT_SIZE, INK, TEXT_SIZE * ASCENT),
                    TEXT_SIZE * LEADING,
                )
            )
    rows[-1].height += 10  # air between entries
    return rows


def plan_notes(ctx: RenderContext, entries: list[NoteEntry], first_page_no: int) -> list[NotesPage]:
    """Flow entries into columns and pages, recording each entry's notes page."""
    if not entries:
        return []
    body, cols = _body_and_columns(ctx)
    rows = [row for entry in entries for row in _rows(ctx, entry, cols[0].w)]
    pages: list[NotesPage] = [NotesPage(first=True)]
    available = body.h - _title_height()
    column: list[_Row] = []
    used = 0.0
    i = 0
    while i < len(rows):
        # A heading or label moves with the rows it introduces.
        j = i
        group = rows[i].height
        while rows[j].keep_with_next and j + 1 < len(rows):
            j += 1
            group += rows[j].height
        if used + group > available and column:
            pages[-1].columns.append(column)
            column, used = [], 0.0
            if len(pages[-1].columns) == len(cols):
                pages.append(NotesPage())
                available = body.h
            continue
        for row in rows[i : j + 1]:
            if row.entry is not None:
                row.entry.notes_page = first_page_no + len(pages) - 1
            column.append(row)
            used += row.height
        i = j + 1
    pages[-1].columns.append(column)
    return pages
