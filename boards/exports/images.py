"""Preparing panel images for the PDF: at most 300 dpi, JPEG-compressed once.

Each image is opened, placed (letterboxed) in its box, downscaled to what
300 dpi needs at the printed size and encoded once as JPEG. A JPEG that is
already small enough and needs no rotation is embedded byte for byte. Only one
decoded image is alive at a time; the compressed bytes go straight into the
PDF, and an image printed twice at the same size is embedded once.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps
from reportlab.lib.utils import ImageReader

from .document import Opener, open_local
from .layouts import Rect, fit_aspect

MAX_DPI = 300
JPEG_QUALITY = 85
_EXIF_ORIENTATION = 0x0112


class _EncodedJpeg(ImageReader):
    """An ImageReader over JPEG bytes that never decodes them.

    Canvas.drawImage names an XObject by hashing getRGBData(), which for a
    stock ImageReader means decoding every image just to name it. We name it
    by a fingerprint instead, which also lets a repeat use skip loading: when
    the name is already registered, ReportLab never asks for the bytes.
    """

    def __init__(self, fingerprint: bytes, size: tuple[int, int], data: bytes | None) -> None:
        # Deliberately not calling ImageReader.__init__: it would open the bytes with PIL.
        self._fingerprint = fingerprint
        self._size = size
        self._bytes = data
        self._dataA = None
        self.fileName = f"castboard-{fingerprint.hex()[:16]}"

    def getRGBData(self) -> bytes:
        return self._fingerprint

    def getSize(self) -> tuple[int, int]:
        return self._size

    def jpeg_fh(self) -> io.BytesIO:
        if self._bytes is None:
            raise RuntimeError("Image bytes requested for an image that was not loaded.")
        return io.BytesIO(self._bytes)

    def getTransparent(self) -> None:
        return None


@dataclass(frozen=True)
class PlacedImage:
    """An image ready to draw: where it goes and the reader holding its bytes."""

    reader: ImageReader
    rect: Rect
    pixels: tuple[int, int]


def target_pixels(src: tuple[int, int], rect: Rect, dpi: int = MAX_DPI) -> tuple[int, int]:
    """The pixel size to embed: the source size, capped by dpi at the printed size."""
    cap_w = math.ceil(rect.w / 72 * dpi)
    cap_h = math.ceil(rect.h / 72 * dpi)
    scale = min(1.0, cap_w / src[0], cap_h / src[1])
    if scale >= 1.0:
        return src
    return max(1, math.floor(src[0] * scale)), max(1, math.floor(src[1] * scale))


class ImageEmbedder:
    """Places images for one document, remembering which ones are already embedded."""

    def __init__(
        self, *, dpi: int = MAX_DPI, quality: int = JPEG_QUALITY, opener: Opener = open_local
    ) -> None:
        self.dpi = dpi
        self.quality = quality
        self.opener = opener
        self._embedded: set[bytes] = set()

    def place(
        self,
        path: str,
        box: Rect,
        *,
        sha256: str | None = None,
        focus: tuple[float, float] | None = None,
    ) -> PlacedImage | None:
        """Fit the image named path into box; None if the file is missing or unreadable.

        Without focus the whole picture is letterboxed; with a focus point
        (fractions of width and height) it fills the box, cropped around it.
        """
        try:
            with self.opener(path) as fh, Image.open(fh) as img:
                return self._place(img, fh, path, box, sha256, focus)
        except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
            return None

    def _place(
        self,
        img: Image.Image,
        fh: BinaryIO,
        path: str,
        box: Rect,
        sha256: str | None,
        focus: tuple[float, float] | None,
    ) -> PlacedImage:
        orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
        src = img.size if orientation not in (5, 6, 7, 8) else (img.size[1], img.size[0])
        crop = None if focus is None else crop_box(src, box.w / box.h, focus)
        if crop is None or crop == (0, 0, *src):
            crop = None
            rect = fit_aspect(box, src[0] / src[1]) if focus is None else box
            shown = src
        else:
            rect = box
            shown = (crop[2] - crop[0], crop[3] - crop[1])
        pixels = target_pixels(shown, rect, self.dpi)
        fingerprint = self._fingerprint(path, sha256, pixels, crop)
        if fingerprint in self._embedded:
            return PlacedImage(_EncodedJpeg(fingerprint, pixels, None), rect, pixels)
        if crop is None and _can_pass_through(img, orientation, src, pixels):
            fh.seek(0)
            data = fh.read()
        else:
            data = self._encode(img, pixels, crop, src)
        self._embedded.add(fingerprint)
        return PlacedImage(_EncodedJpeg(fingerprint, pixels, data), rect, pixels)

    def _fingerprint(
        self,
        path: str,
        sha256: str | None,
        pixels: tuple[int, int],
        crop: tuple[int, int, int, int] | None = None,
    ) -> bytes:
        # Within one document a name always means the same file.
        source = sha256 or f"name:{path}"
        return hashlib.sha256(f"{source}@{pixels[0]}x{pixels[1]}/{crop}".encode()).digest()

    def _encode(
        self,
        img: Image.Image,
        pixels: tuple[int, int],
        crop: tuple[int, int, int, int] | None = None,
        src: tuple[int, int] | None = None,
    ) -> bytes:
        if img.format == "JPEG":
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale: far less memory and
            # time. A crop needs the whole picture at the crop's resolution.
            need = pixels
            if crop is not None and src is not None:
                scale = max(pixels[0] / (crop[2] - crop[0]), pixels[1] / (crop[3] - crop[1]))
                need = (math.ceil(src[0] * scale), math.ceil(src[1] * scale))
            img.draft("RGB", _unrotated(need, img))
        img = ImageOps.exif_transpose(img)
        img = _flatten(img)
        if crop is not None and src is not None:
            # Drafting may have shrunk the picture: scale the crop box with it.
            sx, sy = img.size[0] / src[0], img.size[1] / src[1]
            img = img.crop(
                (round(crop[0] * sx), round(crop[1] * sy), round(crop[2] * sx), round(crop[3] * sy))
            )
        if img.size != pixels:
            # Bicubic is visually on par with Lanczos at print size and twice as
            # fast; reducing_gap box-reduces very large sources first.
            img = img.resize(pixels, Image.Resampling.BICUBIC, reducing_gap=2.0)
        out = io.BytesIO()
        img.save(out, "JPEG", quality=self.quality, optimize=True)
        return out.getvalue()


def crop_box(
    src: tuple[int, int], aspect: float, focus: tuple[float, float]
) -> tuple[int, int, int, int]:
    """The largest box of the given aspect (w/h) inside src, centred on focus where it can be.

    focus is (x, y) as fractions of the width and height; the box slides to
    stay inside the picture, so a focus at an edge keeps that edge in view.
    """
    w, h = src
    if w / h > aspect:
        cw, ch = max(1, round(h * aspect)), h
    else:
        cw, ch = w, max(1, round(w / aspect))
    fx = min(max(focus[0], 0.0), 1.0)
    fy = min(max(focus[1], 0.0), 1.0)
    x0 = min(max(round(fx * w - cw / 2), 0), w - cw)
    y0 = min(max(round(fy * h - ch / 2), 0), h - ch)
    return (x0, y0, x0 + cw, y0 + ch)


def _unrotated(pixels: tuple[int, int], img: Image.Image) -> tuple[int, int]:
    orientation = img.getexif().get(_EXIF_ORIENTATION, 1)
    return (pixels[1], pixels[0]) if orientation in (5, 6, 7, 8) else pixels


def _can_pass_through(
    img: Image.Image, orientation: int, src: tuple[int, int], pixels: tuple[int, int]
) -> bool:
    # PDF viewers ignore EXIF rotation and handle CMYK JPEGs inconsistently.
    return img.format == "JPEG" and img.mode in ("RGB", "L") and orientation == 1 and src == pixels


def _flatten(img: Image.Image) -> Image.Image:
    """RGB or greyscale on white: JPEG has no transparency."""
    if img.mode in ("RGB", "L"):
        return img
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I", "F"):
        return ImageOps.autocontrast(img.convert("L"))
    return img.convert("RGB")
