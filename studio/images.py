"""Validate and normalise image bytes before they are stored.

Everything that becomes a stored image (an upload, a backend's result) goes
through `process_upload` or `process_generated`. Both decide the format by
decoding with Pillow restricted to an allow-list (JPEG, PNG, WebP), never by
file name or Content-Type, refuse oversized, damaged and animated files, apply
the EXIF orientation, convert colour to plain 8-bit RGB/RGBA (through sRGB
when the file carries an ICC profile) and re-encode, which drops every piece
of metadata (EXIF with its GPS position, ICC, XMP, PNG text chunks) and any
bytes smuggled after the image data.

Animated images are refused rather than cut to their first frame: a
reference sheet must show what the artist chose, and the first frame of an
animation is often blank or a fade-in.

Pure functions: no models, no database. Limits default to the Django
settings when Django is configured and to the same figures otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO, Literal

from PIL import Image, ImageCms, ImageOps

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
# Backend results are trusted a little more (they come from a provider we
# pay), but are still decoded under limits: a result is a download too.
GENERATED_MAX_BYTES = 50 * 1024 * 1024
GENERATED_MAX_PIXELS = 40_000_000

# Half of the 1024 px frames most models make (a quarter of 2048): a JPEG
# decoded at 1/2 or 1/4 scale is then the thumbnail itself, with no resampling
# pass (which costs several times the scaled decode).
THUMBNAIL_SIDE = 512
JPEG_QUALITY = 90
THUMBNAIL_QUALITY = 85
WEBP_QUALITY = 90

ImageFormat = Literal["jpeg", "png", "webp"]

# Pillow format name -> (our format, extension, content type). MPO is what
# Pillow calls a JPEG carrying extra "multi-picture" frames (many phone
# cameras write them); the primary image is an ordinary JPEG.
_FORMATS: dict[str, tuple[ImageFormat, str, str]] = {
    "JPEG": ("jpeg", "jpg", "image/jpeg"),
    "MPO": ("jpeg", "jpg", "image/jpeg"),
    "PNG": ("png", "png", "image/png"),
    "WEBP": ("webp", "webp", "image/webp"),
}
# The only decoders Pillow may try; MPO files are opened by the JPEG decoder.
_ALLOWED_DECODERS = ("JPEG", "PNG", "WEBP")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_THUMBNAIL_BACKGROUND = (255, 255, 255)


class ImageRejected(ValueError):
    """An image was refused. `reason` completes a sentence that starts with the file's name.

    `code` is stable and machine-readable: "empty", "too_large", "format",
    "too_many_pixels", "damaged", "animated".
    """

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class ProcessedImage:
    """A re-encoded image with no metadata, ready to store.

    `extension` has no leading dot. `sha256` is the hex digest of `data`, so
    the same input always yields the same digest.
    """

    data: bytes
    format: ImageFormat
    extension: str
    content_type: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    thumbnail_content_type: str


def process_upload(
    fileobj_or_bytes: bytes | bytearray | memoryview | IO[bytes],
    *,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> ProcessedImage:
    """Validate and normalise an uploaded image, or raise `ImageRejected`.

    A file object is read from its current position and at most
    `max_bytes + 1` bytes are read, so a huge stream is refused without being
    read in full. Limits default to settings.STUDIO_UPLOAD_MAX_BYTES and
    STUDIO_UPLOAD_MAX_PIXELS (20 MB and 40 megapixels without Django).
    """
    if max_bytes is None:
        max_bytes = _setting("STUDIO_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    if max_pixels is None:
        max_pixels = _setting("STUDIO_UPLOAD_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    data = _read_limited(fileobj_or_bytes, max_bytes)
    return _process(data, max_pixels=max_pixels)


def upload_limits() -> str:
    """The limits process_upload applies, as a page states them beside an upload control."""
    max_bytes = _setting("STUDIO_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)
    max_pixels = _setting("STUDIO_UPLOAD_MAX_PIXELS", DEFAULT_MAX_PIXELS)
    return (
        f"JPEG, PNG or WebP, up to {_human_bytes(max_bytes)} and "
        f"{_human_pixels(max_pixels)} per image"
    )


def process_generated(
    data: bytes,
    *,
    max_bytes: int = GENERATED_MAX_BYTES,
    max_pixels: int = GENERATED_MAX_PIXELS,
) -> ProcessedImage:
    """Normalise a backend's result exactly like an upload, with its own limits.

    Raises `ImageRejected` when the provider sent something that is not a
    still JPEG, PNG or WebP image within the limits.
    """
    raw = _read_limited(data, max_bytes)
    return _plain_jpeg(raw, max_pixels=max_pixels) or _process(raw, max_pixels=max_pixels)


def header_pixels(fileobj: IO[bytes]) -> int | None:
    """Width times height as the file's header states it, without decoding; None if unreadable.

    The file is left at the position it had, for the real processing to read it again.
    """
    start = fileobj.tell()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fileobj) as img:
                width, height = img.size
        return width * height
    except Exception:  # anything unreadable is refused later, with its reason
        return None
    finally:
        fileobj.seek(start)


def make_thumbnail(img: Image.Image) -> bytes:
    """Return a JPEG at most THUMBNAIL_SIDE px on its longest side, transparency on white.

    Smaller images are not enlarged. The input image is not modified.
    """
    thumb = _to_display_mode(img)
    if thumb is img:
        thumb = img.copy()
    # Bicubic is indistinguishable from Lanczos at preview size and costs half.
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BICUBIC)
    if thumb.mode == "RGBA":
        backing = Image.new("RGB", thumb.size, _THUMBNAIL_BACKGROUND)
        backing.paste(thumb, mask=thumb.getchannel("A"))
        thumb = backing
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=THUMBNAIL_QUALITY)
    return out.getvalue()


def safe_display_name(name: str) -> str:
    """Make a user-supplied file name safe to show in a message.

    Keeps only the last path component, removes NUL, control and invisible
    formatting characters (e.g. right-to-left overrides that disguise an
    extension), collapses whitespace and trims to 100 characters. HTML
    escaping is still the template's job.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp"):
            continue
        kept.append(" " if category == "Zs" else char)
    name = " ".join("".join(kept).split())
    if len(name) > 100:
        name = name[:99].rstrip() + "…"
    return name or "unnamed file"


# --- internals --------------------------------------------------------------


def _setting(name: str, fallback: int) -> int:
    try:
        from django.conf import settings

        if settings.configured:
            return int(getattr(settings, name, fallback))
    except ImportError:  # pragma: no cover - Django is a dependency
        pass
    return fallback


def _read_limited(source: bytes | bytearray | memoryview | IO[bytes], max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source[: max_bytes + 1])
    else:
        # read(n) may return less than n before the end (sockets, chunked
        # uploads), so keep reading until the limit is passed or EOF.
        parts: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = source.read(remaining)
            if not chunk:
                break
            parts.append(chunk)
            remaining -= len(chunk)
        data = b"".join(parts)
    if not data:
        raise ImageRejected("is empty", code="empty")
    if len(data) > max_bytes:
        raise ImageRejected(f"is larger than {_human_bytes(max_bytes)}", code="too_large")
    return data


def _process(data: bytes, *, max_pixels: int) -> ProcessedImage:
    img, pillow_format = _decode(data, max_pixels=max_pixels)
    fmt, extension, content_type = _FORMATS[pillow_format]
    lossless_webp = fmt == "webp" and _webp_is_lossless(data)

    img = _apply_orientation(img)
    img = _to_display_mode(img, icc_profile=img.info.get("icc_profile"))
    # Savers fall back to im.info for some metadata (PNG copies the ICC
    # profile from it), so empty it: nothing of the source travels on.
    img.info = {}

    out = io.BytesIO()
    if fmt == "jpeg":
        img.save(out, "JPEG", quality=JPEG_QUALITY)
    elif fmt == "png":
        img.save(out, "PNG")
    elif lossless_webp:
        img.save(out, "WEBP", lossless=True)
    else:
        img.save(out, "WEBP", quality=WEBP_QUALITY)
    encoded = out.getvalue()
    return ProcessedImage(
        data=encoded,
        format=fmt,
        extension=extension,
        content_type=content_type,
        width=img.width,
        height=img.height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        thumbnail=make_thumbnail(img),
        thumbnail_content_type="image/jpeg",
    )


def _decode(data: bytes, *, max_pixels: int) -> tuple[Image.Image, str]:
    """Open with the allow-listed decoders, check the header, then decode fully."""
    damaged = ImageRejected("could not be read: the file is damaged or incomplete", code="damaged")
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS (89 MP) and twice that;
        # a bomb is a refusal, not a log line. catch_warnings is process-wide
        # state, but with max_pixels under 89 MP it is only a backstop: such
        # headers fail our own size check below anyway.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=_ALLOWED_DECODERS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        except Image.UnidentifiedImageError:
            # Starts like an allowed format but no decoder accepts it: a
            # damaged file (or a polyglot), not a wrong format.
            if _looks_allowed(data):
                raise damaged from None
            raise ImageRejected("is not a JPEG, PNG or WebP image", code="format") from None
        except Exception:
            # Malformed headers surface as many exception types (SyntaxError,
            # struct.error, ValueError, ...); all mean the same to a person.
            raise damaged from None

        pillow_format = img.format or ""
        if pillow_format not in _FORMATS:  # pragma: no cover - formats= forbids it
            raise ImageRejected("is not a JPEG, PNG or WebP image", code="format")
        # The header gives the size before any pixel is decoded.
        width, height = img.size
        if width <= 0 or height <= 0:
            raise damaged
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        # MPO extra frames are depth maps or previews, not an animation.
        if pillow_format != "MPO" and getattr(img, "n_frames", 1) > 1:
            raise ImageRejected("is animated; upload a single still image instead", code="animated")
        try:
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        except Exception:
            raise damaged from None
    return img, pillow_format


def _plain_jpeg(data: bytes, *, max_pixels: int) -> ProcessedImage | None:
    """A provider's ordinary sRGB JPEG, kept as sent minus its metadata segments.

    Generated frames are JPEGs that need neither rotating nor colour
    conversion; decoding and re-encoding them only costs time and quality.
    Dropping the metadata segments strips them just as well. Anything else
    (rotation, an ICC profile, CMYK, damage) returns None for the full path.
    """
    if not data.startswith(b"\xff\xd8\xff"):
        return None
    try:
        original = Image.open(io.BytesIO(data), formats=("JPEG",))
        if (
            original.format != "JPEG"
            or original.mode not in ("RGB", "L")
            or "icc_profile" in original.info
            or original.getexif().get(_ORIENTATION, 1) != 1
        ):
            return None
        width, height = original.size
        if not 0 < width * height <= max_pixels:
            return None
        stripped = _strip_jpeg_metadata(data)
        img = Image.open(io.BytesIO(stripped), formats=("JPEG",))
        # Decoding at a reduced scale still reads every byte of image data,
        # so a damaged file fails here too, at a fraction of the cost.
        img.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        img.load()
    except Exception:
        return None
    return ProcessedImage(
        data=stripped,
        format="jpeg",
        extension="jpg",
        content_type="image/jpeg",
        width=width,
        height=height,
        sha256=hashlib.sha256(stripped).hexdigest(),
        thumbnail=make_thumbnail(img),
        thumbnail_content_type="image/jpeg",
    )


_ORIENTATION = 0x0112
# APP1..APP15 (EXIF, XMP, ICC, maker notes, ...) except APP14, which says how
# the colour channels are coded and so is part of the image; and comments.
_METADATA_MARKERS = frozenset({*range(0xE1, 0xEE), 0xEF, 0xFE})


def _strip_jpeg_metadata(data: bytes) -> bytes:
    """The same JPEG without metadata segments or bytes after its end (lossless)."""
    out = [data[:2]]
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise ValueError("not a JPEG segment")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xDA:  # start of scan: image data up to the end marker
            # Entropy-coded data escapes 0xFF bytes, so the first FFD9 is the end.
            end = data.find(b"\xff\xd9", i)
            if end < i:
                raise ValueError("no end of image")
            out.append(data[i : end + 2])
            return b"".join(out)
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if length < 2:
            raise ValueError("bad segment length")
        if marker not in _METADATA_MARKERS:
            out.append(data[i : i + 2 + length])
        i += 2 + length
    raise ValueError("no image data")


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(f"has more than {_human_pixels(max_pixels)}", code="too_many_pixels")


def _looks_allowed(data: bytes) -> bool:
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(_PNG_SIGNATURE)
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    )


def _webp_is_lossless(data: bytes) -> bool:
    """True when the WebP file holds a VP8L (lossless) bitstream."""
    offset = 12
    while offset + 8 <= len(data):
        fourcc = data[offset : offset + 4]
        if fourcc == b"VP8L":
            return True
        if fourcc == b"VP8 ":
            return False
        size = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + size + (size & 1)
    return False


def _apply_orientation(img: Image.Image) -> Image.Image:
    # A broken EXIF block must not cost the person their image; the metadata
    # is dropped anyway, only the rotation hint is lost.
    with contextlib.suppress(Exception):
        # In place: a 40-megapixel image should not be copied just to learn
        # that it needs no rotation.
        ImageOps.exif_transpose(img, in_place=True)
    return img


def _to_display_mode(img: Image.Image, icc_profile: bytes | None = None) -> Image.Image:
    """Return an 8-bit RGB or RGBA version of `img` (the same object if already so)."""
    if icc_profile and img.mode in ("RGB", "RGBA", "CMYK"):
        converted = _to_srgb(img, icc_profile)
        if converted is not None:
            return converted
    if img.mode in ("RGB", "RGBA"):
        return img
    if img.mode.startswith("I") or img.mode == "F":
        # 16-bit greyscale would clip to white in a plain convert(); scale
        # 0..65535 down to 0..255 first.
        return img.convert("I").point(lambda value: value * (1 / 256)).convert("L").convert("RGB")
    has_alpha = (
        img.mode in ("LA", "La", "PA", "RGBa")
        or (img.mode == "P" and "transparency" in img.info)
        or (img.mode in ("L", "RGB") and "transparency" in img.info)
    )
    return img.convert("RGBA" if has_alpha else "RGB")


def _to_srgb(img: Image.Image, icc_profile: bytes) -> Image.Image | None:
    out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.profileToProfile(img, source, srgb, outputMode=out_mode)
    except Exception:
        # Broken or unusual profiles are common in the wild; the plain
        # conversion is a fair fallback.
        return None


def _human_bytes(count: int) -> str:
    mb = 1024 * 1024
    if count >= mb:
        return f"{count / mb:.4g} MB"
    if count >= 1024:
        return f"{count / 1024:.4g} KB"
    return f"{count} bytes"


def _human_pixels(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.4g} megapixels"
    return f"{count:,} pixels"
