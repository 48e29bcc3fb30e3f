"""Pack several reference images into one labelled reference board.

Models that accept a single input image (FLUX.1 Kontext) still need to see
every character and place a panel is about, so the chosen references are laid
out on one board: a grid sized to show them as large as possible with their
aspect ratios kept, each picture with its label printed under it (cast
members by name, e.g. "MARA VOSS — face"), one character's pictures next to
each other.

The output depends only on the references and the size, so the same inputs
give the same bytes on one installation. Font rendering may differ between
FreeType versions, so request fingerprints should hash the references, not
the packed board.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from workers.backends.base import Reference

BACKGROUND = (232, 232, 232)
IMAGE_BACKING = (255, 255, 255)  # behind transparent cut-outs
TEXT_COLOUR = (17, 17, 17)
MAX_LABEL_LINES = 2
MIN_FONT_SIZE = 10
MAX_FONT_SIZE = 28

_FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
_ROLE_NAMES = {
    "edit_source": "image to edit",
    "previous": "previous panel",
    "cast": "character",
    "location": "location",
    "style": "style reference",
}

Box = tuple[int, int, int, int]  # left, top, right, bottom (right/bottom exclusive)


@dataclass(frozen=True)
class Tile:
    """Where one reference goes: its picture (aspect kept) and its label strip below."""

    image_box: Box
    label_box: Box


@dataclass(frozen=True)
class Layout:
    columns: int
    rows: int
    font_size: int
    label_lines: int
    tiles: tuple[Tile, ...]


def pack_references(refs: Sequence[Reference], *, size: tuple[int, int] = (1024, 1024)) -> bytes:
    """Return a PNG of exactly `size` showing every reference with its label.

    Cast references are grouped by character; otherwise the given order (the
    compiler's ranking) is kept, reading left to right, top to bottom.
    Raises ValueError when there is nothing to pack, the size is too small,
    or a reference's bytes are not a readable image.
    """
    if not refs:
        raise ValueError("No references to pack.")
    width, height = size
    if width < 64 or height < 64:
        raise ValueError(f"Board size {width}x{height} is too small; use at least 64x64.")

    ordered = order_references(refs)
    pictures = [_decode(ref) for ref in ordered]
    labels = [label_text(ref) for ref in ordered]
    layout = plan_layout([p.size for p in pictures], labels, size)

    board = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(board)
    font = _font(layout.font_size)
    for picture, label, tile in zip(pictures, labels, layout.tiles, strict=True):
        left, top, right, bottom = tile.image_box
        board.paste(_fit(picture, (right - left, bottom - top)), (left, top))
        _draw_label(draw, label, tile.label_box, font, layout.label_lines)

    out = io.BytesIO()
    board.save(out, "PNG")
    return out.getvalue()


def order_references(refs: Sequence[Reference]) -> list[Reference]:
    """Group cast references by character at the place of that character's first reference.

    Everything else keeps its position; the sort is stable, so the caller's
    ranking decides within a group.
    """
    first_seen: dict[str, int] = {}
    keyed = []
    for index, ref in enumerate(refs):
        if ref.role == "cast" and ref.character:
            group = first_seen.setdefault(ref.character.casefold(), index)
        else:
            group = index
        keyed.append((group, index, ref))
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [ref for _, _, ref in keyed]


def label_text(ref: Reference) -> str:
    """The text printed under a reference.

    A cast member's name comes first in capitals, then what the picture shows
    ("Mara Voss (face)" becomes "MARA VOSS — face"); other roles print their
    label, or the role when the label is empty.
    """
    label = " ".join(ref.label.split())
    if ref.role == "cast" and ref.character:
        name = " ".join(ref.character.split())
        detail = label
        if label.casefold().startswith(name.casefold()):
            detail = label[len(name) :].strip(" -\u2014\u2013:,()[]")
        return f"{name.upper()} — {detail}" if detail else name.upper()
    return label or _ROLE_NAMES.get(ref.role, ref.role)


def plan_layout(
    picture_sizes: Sequence[tuple[int, int]],
    labels: Sequence[str],
    size: tuple[int, int],
) -> Layout:
    """Choose the grid that shows the pictures largest, and place each one.

    Every column count from 1 to n is tried; the winner has the largest total
    picture area (ties go to fewer columns, so the choice is deterministic).
    """
    count = len(picture_sizes)
    width, height = size
    gap = max(4, min(width, height) // 128)
    best: tuple[float, Layout] | None = None
    for columns in range(1, count + 1):
        rows = math.ceil(count / columns)
        cell_w = (width - gap * (columns + 1)) // columns
        cell_h = (height - gap * (rows + 1)) // rows
        if cell_w < 8 or cell_h < 8:
            continue
        font_size = max(MIN_FONT_SIZE, min(MAX_FONT_SIZE, cell_h // 14))
        font = _font(font_size)
        lines = max(len(_wrap(label, font, cell_w, MAX_LABEL_LINES)) for label in labels)
        label_h = _line_height(font) * lines + gap // 2
        picture_h = cell_h - label_h
        if picture_h < 4:
            continue
        tiles = []
        area = 0.0
        for index, (pic_w, pic_h) in enumerate(picture_sizes):
            row, column = divmod(index, columns)
            cell_left = gap + column * (cell_w + gap)
            cell_top = gap + row * (cell_h + gap)
            scale = min(cell_w / pic_w, picture_h / pic_h)
            fit_w = max(1, round(pic_w * scale))
            fit_h = max(1, round(pic_h * scale))
            area += fit_w * fit_h
            # Pictures sit on the label strip so each label is read with its picture.
            left = cell_left + (cell_w - fit_w) // 2
            top = cell_top + picture_h - fit_h
            tiles.append(
                Tile(
                    image_box=(left, top, left + fit_w, top + fit_h),
                    label_box=(
                        cell_left,
                        cell_top + picture_h,
                        cell_left + cell_w,
                        cell_top + cell_h,
                    ),
                )
            )
        layout = Layout(columns, rows, font_size, lines, tuple(tiles))
        if best is None or area > best[0]:
            best = (area, layout)
    if best is None:
        raise ValueError(f"{count} references do not fit on a {width}x{height} board.")
    return best[1]


# --- internals --------------------------------------------------------------


def _decode(ref: Reference) -> Image.Image:
    try:
        img: Image.Image = Image.open(io.BytesIO(ref.data), formats=("PNG", "JPEG", "WEBP"))
        img.load()
    except Exception as exc:
        raise ValueError(f"Reference {label_text(ref)!r} is not a readable image.") from exc
    img = ImageOps.exif_transpose(img)
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        backed = Image.new("RGB", rgba.size, IMAGE_BACKING)
        backed.paste(rgba, mask=rgba.getchannel("A"))
        return backed
    return img.convert("RGB")


def _fit(picture: Image.Image, box_size: tuple[int, int]) -> Image.Image:
    if picture.size == box_size:
        return picture
    return picture.resize(box_size, Image.Resampling.LANCZOS, reducing_gap=3.0)


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if _FONT_PATH.exists():
        return ImageFont.truetype(str(_FONT_PATH), size)
    return ImageFont.load_default(size=size)


def _line_height(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent + 2
    # Pillow built without FreeType: the fixed bitmap font.
    _, top, _, bottom = font.getbbox("Ag")
    return int(bottom - top) + 4


def _text_width(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> float:
    return font.getlength(text)


def _wrap(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int, max_lines: int
) -> list[str]:
    """Greedy word wrap into at most `max_lines`; the last line ends in "…" if cut."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        if _text_width(line, font) > width:
            # A single word wider than the cell: break it where it stops fitting.
            cut = len(line) - 1
            while cut > 1 and _text_width(line[:cut], font) > width:
                cut -= 1
            words.insert(0, line[cut:])
            line = line[:cut]
        while words and _text_width(f"{line} {words[0]}", font) <= width:
            line = f"{line} {words.pop(0)}"
        lines.append(line)
    if words and lines:
        last = lines[-1]
        while last and _text_width(last + "…", font) > width:
            last = last[:-1]
        lines[-1] = last.rstrip() + "…"
    return lines or [""]


def _draw_label(
    draw: ImageDraw.ImageDraw,
    text: str,
    box: Box,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    max_lines: int,
) -> None:
    left, top, right, _ = box
    line_h = _line_height(font)
    centre = (left + right) // 2
    for number, line in enumerate(_wrap(text, font, right - left, max_lines)):
        position = (centre, top + 2 + number * line_h)
        draw.text(position, line, font=font, fill=TEXT_COLOUR, anchor="ma")
