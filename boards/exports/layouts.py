"""Page sizes, the layout presets and the geometry of a page's cells.

Coordinates are PDF points with the origin at the bottom left, as ReportLab
draws them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reportlab.lib.pagesizes import A4, LETTER, landscape, portrait

MARGIN = 36.0  # half an inch all round: safe on office printers
HEADER_H = 30.0
FOOTER_H = 22.0


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle; y is the bottom edge."""

    x: float
    y: float
    w: float
    h: float

    @property
    def top(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w

    def inset(self, dx: float, dy: float | None = None) -> Rect:
        dy = dx if dy is None else dy
        return Rect(self.x + dx, self.y + dy, max(self.w - 2 * dx, 0.0), max(self.h - 2 * dy, 0.0))


def fit_aspect(box: Rect, aspect: float, anchor: str = "center") -> Rect:
    """The largest rectangle of the given aspect (w/h) inside box, never stretched.

    anchor is "center", "top" (centred horizontally) or "topleft".
    """
    w = min(box.w, box.h * aspect)
    h = w / aspect
    x = box.x if anchor == "topleft" else box.x + (box.w - w) / 2
    y = box.y + (box.h - h) / 2 if anchor == "center" else box.top - h
    return Rect(x, y, w, h)


@dataclass(frozen=True)
class Layout:
    """A grid preset: how many cells in each row of a page, and where text goes.

    style "sheet" prints storyboard cells (text below or beside the image);
    style "comic" prints panel frames with caption boxes over the art.
    """

    name: str
    label: str
    style: Literal["sheet", "comic"]
    rows: tuple[int, ...]
    text: Literal["below", "right", "overlay"] = "below"
    text_size: float = 8.5

    @property
    def per_page(self) -> int:
        return sum(self.rows)


LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout("3x2", "3 \u00d7 2 storyboard", "sheet", (3, 3)),
        Layout("2x3", "2 \u00d7 3 storyboard (portrait)", "sheet", (2, 2, 2)),
        Layout("4x2", "4 \u00d7 2 storyboard", "sheet", (4, 4), text_size=8.0),
        Layout("3x3", "3 \u00d7 3 storyboard", "sheet", (3, 3, 3), text_size=8.0),
        Layout("1x1", "One panel per page", "sheet", (1,), text_size=10.5),
        Layout("2x5", "Five per page, text beside", "sheet", (1,) * 5, text="right"),
        Layout("comic-2x2", "Comic, 2 \u00d7 2", "comic", (2, 2), text="overlay", text_size=9.0),
        Layout("comic-2x3", "Comic, 2 \u00d7 3", "comic", (2, 2, 2), text="overlay"),
        Layout("comic-3x3", "Comic, 3 \u00d7 3", "comic", (3, 3, 3), text="overlay", text_size=8.0),
        Layout(
            "comic-wide-first",
            "Comic, wide first panel then 2 per row",
            "comic",
            (1, 2, 2),
            text="overlay",
        ),
    )
}
DEFAULT_LAYOUT = {"storyboard": "3x2", "comic": "comic-2x3"}


def get_layout(name: str) -> Layout:
    """The preset called name, or a ValueError listing the valid names."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"Unknown layout {name!r}: choose one of {', '.join(LAYOUTS)}.") from None


def page_size(paper: str, orientation: str) -> tuple[float, float]:
    """Width and height in points for a paper name and orientation."""
    size = {"a4": A4, "letter": LETTER}[paper]
    return landscape(size) if orientation == "landscape" else portrait(size)


@dataclass(frozen=True)
class PageGeometry:
    """The fixed regions of every page of one export."""

    width: float
    height: float

    @property
    def header(self) -> Rect:
        return Rect(MARGIN, self.height - MARGIN - HEADER_H, self.width - 2 * MARGIN, HEADER_H)

    @property
    def footer(self) -> Rect:
        return Rect(MARGIN, MARGIN, self.width - 2 * MARGIN, FOOTER_H)

    @property
    def body(self) -> Rect:
        """Between header and footer: what cells, cover and notes may use."""
        top = self.header.y - 8
        bottom = self.footer.top + 6
        return Rect(MARGIN, bottom, self.width - 2 * MARGIN, top - bottom)


def grid_cells(body: Rect, rows: tuple[int, ...], gutter_x: float, gutter_y: float) -> list[Rect]:
    """Cells in reading order; rows share the height evenly, cells share their row."""
    cells = []
    row_h = (body.h - gutter_y * (len(rows) - 1)) / len(rows)
    for r, count in enumerate(rows):
        y = body.top - (r + 1) * row_h - r * gutter_y
        cell_w = (body.w - gutter_x * (count - 1)) / count
        for c in range(count):
            cells.append(Rect(body.x + c * (cell_w + gutter_x), y, cell_w, row_h))
    return cells
