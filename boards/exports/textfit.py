"""Wrapping and shrinking text into a fixed box without ever losing any of it.

A box is filled with blocks (dialogue, action, notes...). The fitter tries the
preferred size, then smaller sizes down to a legible minimum; if the text still
does not fit, it keeps what fits, reserves the last line for a "continued"
marker, and reports the overflow so the whole text can be printed in the notes
section. Word widths are measured once at 1 pt and scaled, because
stringWidth is the hot path when hundreds of panels are tried at several sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from . import typeset

MIN_SIZE = 6.5
LEADING = 1.22
ASCENT = 0.78
DESCENT = 0.24
MARKER_TEMPLATES = (
    "\u2026 (continued in notes, p. {page})",
    "\u2026 (see notes, p. {page})",
    "\u2026 (p. {page})",
)
Color = tuple[float, float, float]


@dataclass(frozen=True)
class Block:
    """A run of text in one face. scale is relative to the box's font size."""

    text: str
    font: str
    color: Color = (0.1, 0.1, 0.1)
    scale: float = 1.0
    gap_before: float = 0.35  # in ems, only between blocks


@dataclass(frozen=True)
class Line:
    """A laid-out line: baseline is measured downwards from the top of the box."""

    text: str
    font: str
    size: float
    color: Color
    baseline: float


@dataclass(frozen=True)
class FittedText:
    """The outcome of fitting blocks into a box."""

    lines: tuple[Line, ...]
    size: float
    height: float
    overflow: bool
    marker_font: str = ""
    marker_baseline: float = 0.0

    @property
    def widest(self) -> float:
        """Width of the longest line, for boxes that shrink-wrap their text."""
        widths = (text_width(line.text, line.font) * line.size for line in self.lines)
        return max(widths, default=0.0)

    def marker(self, page: int, width: float) -> Line | None:
        """The "continued in notes" line pointing at page, or None if nothing overflowed."""
        if not self.overflow:
            return None
        text = marker_text(page, self.marker_font, self.size, width)
        return Line(text, self.marker_font, self.size, (0.55, 0.12, 0.1), self.marker_baseline)


@lru_cache(maxsize=65536)
def text_width(text: str, font: str) -> float:
    """Width of text at 1 pt; multiply by the font size."""
    return typeset.width(text, font)


def marker_text(page: int, font: str, size: float, width: float) -> str:
    """The longest marker wording that fits the width (the last one regardless)."""
    for template in MARKER_TEMPLATES:
        text = template.format(page=page)
        if text_width(text, font) * size <= width:
            return text
    return text


def wrap(text: str, font: str, size: float, width: float) -> list[str]:
    """Greedy word wrap; words longer than the width are split between characters."""
    limit = width / size
    space = text_width(" ", font)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        if not words:
            # Keep single blank lines between paragraphs, not leading/trailing runs.
            if lines and lines[-1] != "":
                lines.append("")
            continue
        current: list[str] = []
        used = 0.0
        for word in words:
            w = text_width(word, font)
            if w > limit:
                if current:
                    lines.append(" ".join(current))
                    current, used = [], 0.0
                pieces = _split_word(word, font, limit)
                lines.extend(pieces[:-1])
                current, used = [pieces[-1]], text_width(pieces[-1], font)
                continue
            needed = w if not current else used + space + w
            if needed <= limit:
                current.append(word)
                used = needed
            else:
                lines.append(" ".join(current))
                current, used = [word], w
        if current:
            lines.append(" ".join(current))
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _split_word(word: str, font: str, limit: float) -> list[str]:
    pieces, start, used = [], 0, 0.0
    for i, ch in enumerate(word):
        w = text_width(ch, font)
        if used + w > limit and i > start:
            pieces.append(word[start:i])
            start, used = i, 0.0
        used += w
    pieces.append(word[start:])
    return pieces


def _layout(blocks: list[Block], width: float, size: float) -> tuple[list[Line], float]:
    lines: list[Line] = []
    cursor = 0.0  # bottom of the previous line, downwards from the top
    for block in blocks:
        block_size = size * block.scale
        wrapped = wrap(block.text, block.font, block_size, width)
        if not wrapped:
            continue
        if lines:
            cursor += block.gap_before * size
        for text in wrapped:
            baseline = cursor + block_size * ASCENT
            lines.append(Line(text, block.font, block_size, block.color, baseline))
            cursor = baseline + block_size * (LEADING - ASCENT)
    height = lines[-1].baseline + lines[-1].size * DESCENT if lines else 0.0
    return lines, height


def fit_text(
    blocks: list[Block],
    width: float,
    height: float,
    *,
    max_size: float,
    min_size: float = MIN_SIZE,
    marker_font: str,
    step: float = 0.5,
) -> FittedText:
    """Lay blocks out in a width x height box, shrinking before truncating.

    Scaled blocks (e.g. a smaller metadata line) never go below min_size.
    """
    blocks = [b for b in blocks if b.text.strip()]
    size = max(max_size, min_size)
    while True:
        floor_blocks = [_floored(b, size, min_size) for b in blocks]
        lines, used = _layout(floor_blocks, width, size)
        if used <= height + 0.01:
            return FittedText(tuple(lines), size, used, overflow=False)
        if size <= min_size:
            break
        size = max(min_size, size - step)
    # Truncate: keep whole lines above the reserved marker line.
    marker_room = size * LEADING
    kept = [line for line in lines if line.baseline + line.size * DESCENT <= height - marker_room]
    bottom = kept[-1].baseline + kept[-1].size * (LEADING - ASCENT) if kept else 0.0
    marker_baseline = bottom + size * ASCENT
    return FittedText(
        tuple(kept),
        size,
        marker_baseline + size * DESCENT,
        overflow=True,
        marker_font=marker_font,
        marker_baseline=marker_baseline,
    )


def _floored(block: Block, size: float, min_size: float) -> Block:
    if block.scale < 1.0 and size * block.scale < min_size:
        return Block(block.text, block.font, block.color, min_size / size, block.gap_before)
    return block
