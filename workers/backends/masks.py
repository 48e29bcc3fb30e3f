"""Region masks for edits: what a person painted, made ready for a backend.

Pure Pillow functions, no database, no storage. A mask here is a greyscale
("L") image the size of the take it belongs to: 255 where the picture may
change, 0 where it must stay as it was, values in between along a feathered
edge. That is also the fill models' convention (white = change).

`composite` is the one place where "change only inside the mask" is done:
the sketch backend uses it for its own edits, and the pipeline uses it to put
back the untouched pixels of a model that cannot take a mask.
"""

from __future__ import annotations

import io

from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

# A painted mask is a small drawing: this many pixels are plenty for any take.
MAX_MASK_PIXELS = 4096 * 4096
MAX_FEATHER = 64
# Painted strokes are anti-aliased: half-covered pixels count as painted.
_THRESHOLD = 128


class MaskRejected(ValueError):
    """A mask that cannot be used; the message tells the person what to do."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _decode(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_MASK_PIXELS:
            raise MaskRejected("The painted mask is too large; reload the page and paint again.")
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        if isinstance(exc, MaskRejected):
            raise
        raise MaskRejected(
            "The painted mask could not be read; reload the page and paint again."
        ) from exc
    return image


def _coverage(mask: Image.Image) -> Image.Image:
    """The painted part as L: the alpha channel of a drawing, or the brightness of a plain mask."""
    if mask.mode in ("RGBA", "LA", "PA") or "transparency" in mask.info:
        return mask.convert("RGBA").getchannel("A")
    return mask.convert("L")


def prepare_mask(
    data: bytes, size: tuple[int, int], *, feather: int = 0, invert: bool = False
) -> Image.Image:
    """A painted mask (PNG bytes, any size) as a mask for a take of `size`.

    Scaled to the take, made hard-edged, inverted when asked (paint what to
    keep), then feathered by `feather` pixels of the take. A mask that marks
    nothing, or everything, is refused: the first edits nothing, the second
    is a plain edit of the whole take.
    """
    if not 0 <= feather <= MAX_FEATHER:
        raise MaskRejected(f"Feather goes from 0 to {MAX_FEATHER} pixels.")
    painted = _coverage(_decode(data))
    if painted.size != size:
        painted = painted.resize(size, Image.Resampling.BILINEAR)
    hard = painted.point(lambda v: 255 if v >= _THRESHOLD else 0)
    if invert:
        hard = ImageOps.invert(hard)
    low, high = hard.getextrema()
    if high == 0:
        raise MaskRejected(
            "The mask is empty: paint over the part of the picture to change, then send."
        )
    if low == 255:
        raise MaskRejected(
            "The mask covers the whole picture: paint only the part to change, "
            "or use the plain edit field under the take to change all of it."
        )
    return feathered(hard, feather)


def feathered(mask: Image.Image, radius: int) -> Image.Image:
    """Soften a hard mask's edge by `radius` pixels, on both sides of it.

    The painted area stays fully changed in its middle; the edge fades out
    over about `radius` pixels outside it, so the edit blends in.
    """
    if radius <= 0:
        return mask
    # Grow first, so the fade happens around the painted edge rather than eating into it.
    grown = mask.filter(ImageFilter.MaxFilter(2 * (radius // 2) + 1))
    return grown.filter(ImageFilter.GaussianBlur(radius / 2))


def encode(mask: Image.Image) -> bytes:
    """PNG bytes of a mask, as stored and sent."""
    buf = io.BytesIO()
    mask.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def load(data: bytes, size: tuple[int, int] | None = None) -> Image.Image:
    """A stored mask as L, scaled to `size` when given (a backend that works at another size)."""
    mask = _coverage(_decode(data))
    if size is not None and mask.size != size:
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    return mask


def composite(original: Image.Image, edited: Image.Image, mask: Image.Image) -> Image.Image:
    """`edited` inside the mask, `original` outside it, blended along a feathered edge.

    Everything is brought to the original's size: a model may answer at its
    own resolution, but the untouched pixels must be the original's own.
    """
    original = original.convert("RGB")
    edited = edited.convert("RGB")
    if edited.size != original.size:
        edited = edited.resize(original.size, Image.Resampling.LANCZOS)
    if mask.size != original.size:
        mask = mask.resize(original.size, Image.Resampling.BILINEAR)
    return Image.composite(edited, original, mask.convert("L"))


def composite_bytes(original: bytes, edited: bytes, mask: bytes) -> bytes:
    """`composite` on encoded images; the result is a PNG the size of the original.

    PNG, not JPEG: a JPEG block straddling the mask's edge would smear the
    edit a few pixels into the part that must stay as it was.
    """
    out = composite(_decode(original), _decode(edited), load(mask))
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


_ROWS = ("upper", "middle", "lower")
_COLUMNS = ("left", "centre", "right")


def describe_region(mask: Image.Image) -> str:
    """Where the mask is, in words a model without masks can follow.

    E.g. "in the upper left of the picture (about a tenth of it)".
    """
    box = mask.point(lambda v: 255 if v >= _THRESHOLD else 0).getbbox() or mask.getbbox()
    if box is None:
        return ""
    w, h = mask.size
    cx, cy = (box[0] + box[2]) / 2 / w, (box[1] + box[3]) / 2 / h
    row, column = _ROWS[min(2, int(cy * 3))], _COLUMNS[min(2, int(cx * 3))]
    if row == "middle" and column == "centre":
        where = "in the centre"
    elif row == "middle":
        where = f"on the {column}"
    elif column == "centre":
        where = "at the top" if row == "upper" else "at the bottom"
    else:
        where = f"in the {row} {column}"
    histogram = mask.histogram()
    share = sum(histogram[_THRESHOLD:]) / (w * h)
    if share < 0.05:
        size = "a small area"
    elif share < 0.2:
        size = f"about {round(share * 100)}% of it"
    elif share < 0.6:
        size = f"about {round(share * 10) * 10}% of it"
    else:
        size = "most of it"
    return f"{where} of the picture ({size})"
