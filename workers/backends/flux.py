"""Facts of the FLUX model family that hold whichever provider serves it.

Sizes (multiples of 16, at most about 4 MP), the ratio strings Kontext
takes, the megapixel price formula of FLUX.2, and images as `data:` URIs.
Backends import this and their base only.
"""

from __future__ import annotations

import base64
import math
from fractions import Fraction

# "4 MP" is not defined more precisely, so stay under the smaller reading of it.
MAX_OUTPUT_PIXELS = 4_000_000
KONTEXT_OUTPUT_PIXELS = 1024 * 1024  # "about 1 MP", whatever ratio is asked
MIN_SIDE = 64
SIDE_STEP = 16
_MEGAPIXEL = 1024 * 1024


def megapixel_price(first: float, extra: float, width: int, height: int, n_refs: int) -> float:
    """Credits for a FLUX.2 request: a first megapixel, then each further one of output and input.

    Input images count as one megapixel each (providers scale large inputs down).
    """
    megapixels = math.ceil(max(1, width * height) / _MEGAPIXEL) + max(0, n_refs)
    return round(first + extra * (megapixels - 1), 2)


def fit_pixels(width: int, height: int) -> tuple[int, int]:
    """Width and height the provider accepts: multiples of 16, >= 64, <= 4 MP, ratio kept."""
    w, h = max(1, width), max(1, height)
    scale = min(1.0, math.sqrt(MAX_OUTPUT_PIXELS / (w * h)))
    # Half up, not Python's half-to-even: 1000 -> 1008 like a person would expect.
    w = max(MIN_SIDE, math.floor(w * scale / SIDE_STEP + 0.5) * SIDE_STEP)
    h = max(MIN_SIDE, math.floor(h * scale / SIDE_STEP + 0.5) * SIDE_STEP)
    # Rounding to the grid may push the area just over the cap.
    while w * h > MAX_OUTPUT_PIXELS:
        if w >= h:
            w -= SIDE_STEP
        else:
            h -= SIDE_STEP
    return w, h


def kontext_aspect_ratio(aspect_ratio: str, width: int, height: int) -> str:
    """An "a:b" string within Kontext's 21:9 .. 9:21 range.

    Board ratios such as "2.39:1" or "1.85:1" become small whole numbers
    ("21:9", "37:20"); without a usable ratio the width and height decide.
    """
    ratio: Fraction | None = None
    try:
        a, b = (Fraction(part.strip()) for part in aspect_ratio.split(":"))
        if a > 0 and b > 0:
            ratio = a / b
    except (ValueError, ZeroDivisionError):
        ratio = None
    if ratio is None:
        ratio = Fraction(max(1, width), max(1, height))
    if ratio >= Fraction(21, 9):
        return "21:9"
    if ratio <= Fraction(9, 21):
        return "9:21"
    ratio = ratio.limit_denominator(20)
    return f"{ratio.numerator}:{ratio.denominator}"


def nearest_ratio(aspect_ratio: str, width: int, height: int, choices: tuple[str, ...]) -> str:
    """The ratio among `choices` ("16:9", ...) closest to the asked one, for fixed-list APIs."""
    wanted = Fraction(kontext_aspect_ratio(aspect_ratio, width, height).replace(":", "/"))

    def distance(choice: str) -> float:
        a, b = (int(x) for x in choice.split(":"))
        return abs(math.log(a / b) - math.log(float(wanted)))

    return min(choices, key=distance)


def image_mime(data: bytes) -> str:
    """The type of stored image bytes (PNG, WebP or JPEG), read from their first bytes."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def data_uri(data: bytes) -> str:
    """An image as a `data:` URI."""
    return f"data:{image_mime(data)};base64,{base64.b64encode(data).decode('ascii')}"
