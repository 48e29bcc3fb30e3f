"""The offline `sketch` backend: a rough storyboard frame built from the references.

No model, no network, no key. The frame is assembled from the request's own
reference images (the location as backdrop, each cast member cut out of
their sheet and staged for the shot type) and drawn over in a pencil-and-tone
look, so a board made offline still shows who is where. The same request and
seed always give the same bytes.

Instruction edits understand a small fixed vocabulary (see `EDIT_VOCABULARY`)
and refuse anything else with a message that lists it.

Everything is Pillow image operations; there are no per-pixel Python loops,
because a frame has to come out in well under 150 ms on a small machine.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import random
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps, UnidentifiedImageError

from . import masks
from .base import (
    Capabilities,
    CastPlacement,
    GenerationRequest,
    InvalidRequest,
    PollResult,
    Reference,
    ResultUnavailable,
    Submission,
    UnsupportedInstruction,
)

_T = TypeVar("_T")
Color = tuple[int, int, int]
Box = tuple[int, int, int, int]

MODEL = "sketch-v1"
PAPER: Color = (244, 239, 227)
_INK: Color = (46, 40, 38)
_MAX_SIDE = 4096
# JPEG: the pencil grain makes frames nearly incompressible as PNG (about
# 300 KB each, and slow to encode, store and re-encode); at this quality the
# JPEG is a third of that and looks the same.
_JPEG_QUALITY = 90
# Height of the copy used to find the background and the figure's bounding box.
_PROBE_HEIGHT = 192
# Max-channel distance from the background colour: below LOW is background,
# above HIGH is figure, in between is a soft edge.
_MASK_LOW, _MASK_HIGH = 18, 48
# A separate shape joins the figure (a head drawn apart from the body) when the
# gap to it is at most this share of the figure so far, and it weighs at least
# this share of the biggest part.
_PART_GAP, _PART_WEIGHT = 0.25, 0.03


@dataclass(frozen=True)
class _Shot:
    share: float  # visible part of a full figure, from the top of the head
    height: float  # visible part's height as a share of the frame height
    baseline: float  # where the visible part ends, as a share of the frame height
    wide: bool  # figures share one ground line and keep their relative heights


_SHOTS: dict[str, _Shot] = {
    "ews": _Shot(1.0, 0.22, 0.80, True),
    "ws": _Shot(1.0, 0.42, 0.86, True),
    "fs": _Shot(1.0, 0.80, 0.95, True),
    "mws": _Shot(0.75, 0.86, 1.0, True),
    "ms": _Shot(0.55, 0.82, 1.0, False),
    "mcu": _Shot(0.38, 0.86, 1.0, False),
    "cu": _Shot(0.22, 0.95, 1.0, False),
    "ecu": _Shot(0.14, 1.15, 1.05, False),
}
# A sheet that already shows head and shoulders needs less cropping.
_BUST_SHARE = {"ecu": 0.7}

# Edit name -> phrases that ask for it (after filler words are dropped).
EDIT_VOCABULARY: dict[str, tuple[str, ...]] = {
    "mirror": ("mirror", "flip", "flip horizontally", "mirror horizontally", "mirrored", "flipped"),
    "night": ("night", "nighttime", "night time", "lights off", "dark", "darker"),
    "day": ("day", "daytime", "day time", "daylight", "lights on", "brighter", "bright"),
    "black and white": (
        "blackandwhite",
        "greyscale",
        "grayscale",
        "monochrome",
        "desaturate",
        "desaturated",
    ),
    "warmer": ("warmer", "warm", "warm up"),
    "cooler": ("cooler", "cool", "colder", "cold", "cool down"),
    "zoom in": ("zoom in", "closer", "push in", "tighter", "crop in"),
    "zoom out": ("zoom out", "wider", "pull back", "pull out"),
}
_PHRASE_TO_EDIT = {phrase: edit for edit, phrases in EDIT_VOCABULARY.items() for phrase in phrases}
# Words that carry no edit of their own: "make it a bit warmer" means "warmer".
_FILLER_WORDS = (
    "make it the image picture frame shot panel please a bit little more turn to into set go "
    "at is be now slightly much lot of this look scene so whole all version"
)
_FILLER = frozenset(_FILLER_WORDS.split())


class SketchBackend:
    """Renders a storyboard frame during `submit`; nothing to poll or download."""

    name: ClassVar[str] = "sketch"
    # Shown while a job runs: the frame is drawn here, nothing is sent or fetched.
    activity: ClassVar[str] = "Drawing"
    # The instructions an edit understands, shown beside the instruction field.
    edit_words: ClassVar[tuple[str, ...]] = tuple(EDIT_VOCABULARY)
    paid: ClassVar[bool] = False
    setting_names: ClassVar[tuple[str, ...]] = ()
    required: ClassVar[tuple[str, ...]] = ()
    model_setting: ClassVar[str] = ""
    models: ClassVar[tuple[str, ...]] = (MODEL,)
    fill_model: ClassVar[str] = ""  # its one model changes only the masked pixels itself

    @classmethod
    def from_settings(cls, model: str = "") -> SketchBackend:
        return cls()

    @classmethod
    def price(cls, model: str, width: int, height: int, references: int) -> float:
        """Nothing: it renders on this machine."""
        return 0.0

    def capabilities(self, model: str = "") -> Capabilities:
        """Declare what the compiler may send: up to 8 references, pixel sizes, edits."""
        return Capabilities(
            max_references=8,
            single_input_image=False,
            instruction_edits=True,
            seeds=True,
            size_mode="pixels",
            max_active=4,
            models=self.models,
            masks=True,
        )

    def submit(self, request: GenerationRequest) -> Submission:
        """Render the frame (or carry out the edit) now and hand back the PNG bytes."""
        return Submission(task_id=request_fingerprint(request), image=render(request), cost=0.0)

    def poll(self, submission: Submission) -> PollResult:
        """Always ready: the image travelled with the submission."""
        return PollResult(state="ready", progress=1.0, raw_status="Ready")

    def fetch(self, url: str) -> bytes:
        """There is never a URL to download from; the image comes back from `submit`."""
        raise ResultUnavailable(
            "The sketch backend returns its image from submit; there is nothing to download."
        )


def request_fingerprint(request: GenerationRequest) -> str:
    """Hex digest of everything that changes the rendered bytes (seed included)."""
    digest = hashlib.sha256()
    head = {
        "prompt": request.prompt,
        "width": request.width,
        "height": request.height,
        "aspect_ratio": request.aspect_ratio,
        "seed": request.seed,
        "model": request.model,
        "instruction": request.instruction,
        "scene": dataclasses.asdict(request.scene),
        "renderer": MODEL,
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    for ref in request.references:
        # Hash the bytes themselves: the frame depends on them, not on a stored label.
        digest.update(f"|{ref.role}|{ref.label}|".encode())
        digest.update(hashlib.sha256(ref.data).digest())
    if request.mask:
        digest.update(b"|mask|" + hashlib.sha256(request.mask).digest())
    return digest.hexdigest()


def render(request: GenerationRequest) -> bytes:
    """Return the PNG for a request: an instruction edit, or a new frame."""
    width, height = request.width, request.height
    if not (16 <= width <= _MAX_SIDE and 16 <= height <= _MAX_SIDE):
        raise InvalidRequest(f"Frame size {width}x{height} is outside 16..{_MAX_SIDE} pixels.")
    if request.instruction.strip():
        image = _apply_edits(request)
    else:
        image = _render_frame(request, random.Random(request_fingerprint(request)))
    buf = io.BytesIO()
    if request.mask:
        # PNG: JPEG blocks across the mask's edge would smear the edit into kept pixels.
        image.save(buf, format="PNG")
    else:
        image.save(buf, format="JPEG", quality=_JPEG_QUALITY)
    return buf.getvalue()


# ---------------------------------------------------------------- instruction edits


def parse_instruction(instruction: str) -> tuple[str, ...]:
    """Turn an instruction such as "flip it and make it night" into edit names, in order.

    Raises UnsupportedInstruction, listing the vocabulary, if any part is not understood.
    """
    text = instruction.lower()
    # Protect "black and white" before "and" is used to split clauses.
    text = re.sub(r"\bblack\s*(?:and|&|\+)\s*white\b|\bb\s*[&/]\s*w\b", " blackandwhite ", text)
    edits: list[str] = []
    for clause in re.split(r",|;|&|\+|\band\b|\bthen\b|\bplus\b|\balso\b", text):
        words = [w for w in re.findall(r"[a-z]+", clause) if w not in _FILLER]
        if not words:
            continue
        edit = _PHRASE_TO_EDIT.get(" ".join(words))
        if edit is None:
            raise UnsupportedInstruction(_unsupported_message(instruction))
        edits.append(edit)
    if not edits:
        raise UnsupportedInstruction(_unsupported_message(instruction))
    return tuple(edits)


def _unsupported_message(instruction: str) -> str:
    names = ", ".join(EDIT_VOCABULARY)
    return (
        f"The sketch backend cannot carry out {instruction.strip()!r}. "
        f"It understands only these edits: {names} "
        "(several may be joined with 'and', e.g. 'flip and make it night')."
    )


def _lut(fn: Callable[[int, int], float]) -> list[int]:
    """A 3-band lookup table; fn(band, value) gives the new value."""
    return [max(0, min(255, round(fn(band, v)))) for band in range(3) for v in range(256)]


_EDIT_LUTS = {
    "night": _lut(lambda b, v: v * 0.42 * (0.62, 0.72, 1.0)[b] + (0, 2, 14)[b]),
    "day": _lut(lambda b, v: 34 + v * 0.92 * (1.0, 1.0, 0.96)[b]),
    "warmer": _lut(lambda b, v: v * (1.08, 1.0, 0.82)[b] + (10, 3, 0)[b]),
    "cooler": _lut(lambda b, v: v * (0.84, 0.97, 1.06)[b] + (0, 3, 12)[b]),
}
_ZOOM = 1.3


def _apply_edits(request: GenerationRequest) -> Image.Image:
    edits = parse_instruction(request.instruction)
    if not request.references or request.references[0].role != "edit_source":
        raise InvalidRequest("An instruction edit needs the image to edit as its first reference.")
    source = _decode(request.references[0]).convert("RGB")
    image = source
    for edit in edits:
        image = _apply_edit(image, edit)
    if request.mask:
        # A region edit: the edit shows only inside the mask, the rest is the source's own.
        image = masks.composite(source, image, masks.load(request.mask, source.size))
    size = (request.width, request.height)
    if image.size != size:
        image = ImageOps.fit(image, size, Image.Resampling.BILINEAR)
    return image


def _apply_edit(image: Image.Image, edit: str) -> Image.Image:
    w, h = image.size
    if edit == "mirror":
        return ImageOps.mirror(image)
    if edit == "black and white":
        return image.convert("L").convert("RGB")
    if edit in _EDIT_LUTS:
        return image.point(_EDIT_LUTS[edit])
    if edit == "zoom in":
        cw, ch = round(w / _ZOOM), round(h / _ZOOM)
        box = ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
        return image.resize((w, h), Image.Resampling.BICUBIC, box=box)
    if edit == "zoom out":
        # What lies outside the old frame is unknown: continue its colours, softly.
        surround = image.resize((max(1, w // 16), max(1, h // 16)), Image.Resampling.BOX)
        surround = surround.resize((w, h), Image.Resampling.BILINEAR)
        surround = Image.blend(surround, Image.new("RGB", (w, h), PAPER), 0.35)
        sw, sh = round(w / _ZOOM), round(h / _ZOOM)
        surround.paste(
            image.resize((sw, sh), Image.Resampling.BILINEAR), ((w - sw) // 2, (h - sh) // 2)
        )
        return surround
    raise AssertionError(f"unhandled edit {edit}")  # the vocabulary and this function disagree


# ---------------------------------------------------------------- frame rendering


class _LRUCache:
    """A few decoded references, so the panels of one board do not decode the same sheet again.

    Entries are treated as read-only; callers copy before drawing on them.
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, make: Callable[[], _T]) -> _T:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]  # type: ignore[return-value]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


# About 3 MB per decoded sheet; enough for the cast and places of a typical board.
_CACHE = _LRUCache(12)


def clear_cache() -> None:
    """Forget decoded references (benchmarks use it to time cold renders)."""
    _CACHE.clear()


def _digest(ref: Reference) -> bytes:
    return hashlib.sha256(ref.data).digest()


@dataclass(frozen=True)
class _Figure:
    """A cast member's reference, decoded, with where the figure is in it."""

    image: Image.Image  # RGB, full resolution
    box: Box  # the figure's bounding box in `image`
    background: Color | None  # None: no plain background, use the soft ellipse
    bust: bool  # the sheet shows head and shoulders, not the whole body

    @property
    def rel_height(self) -> float:
        return (self.box[3] - self.box[1]) / self.image.height


def _decode(ref: Reference, at_least: tuple[int, int] | None = None) -> Image.Image:
    """The reference as RGB; a JPEG much bigger than `at_least` is decoded at 1/2, 1/4 or 1/8
    scale (still covering `at_least`), which costs a fraction of a full decode."""
    try:
        image: Image.Image = Image.open(io.BytesIO(ref.data))
        if at_least is not None and image.format == "JPEG":
            image.draft("RGB", at_least)
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidRequest(
            f"Reference {ref.label or ref.role!r} is not a readable image."
        ) from exc
    if image.mode != "RGB":
        image = _flatten(image)
    return image


def _flatten(image: Image.Image) -> Image.Image:
    """RGB on paper: transparent sheets become a plain background the cut-out can remove."""
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        base = Image.new("RGB", image.size, PAPER)
        base.paste(rgba, (0, 0), rgba)
        return base
    return image.convert("RGB")


def _render_frame(request: GenerationRequest, rng: random.Random) -> Image.Image:
    size = (request.width, request.height)
    scene = request.scene
    location = _reference_at(request, scene.location_index)
    if location is not None:
        key = ("backdrop", _digest(location), size)
        frame = _CACHE.get(key, lambda: _fill(_decode(location, size), size)).copy()
    else:
        frame = _prompt_backdrop(request.prompt, size, rng)
    shot = scene.shot_type if scene.shot_type in _SHOTS or scene.shot_type == "insert" else "ms"
    figures = [(member, _reference_at(request, member.reference_index)) for member in scene.cast]
    staged = [
        (
            m,
            _CACHE.get(
                ("figure", _digest(ref), ref.label, size), functools.partial(_analyse, ref, size)
            ),
        )
        for m, ref in figures
        if ref is not None
    ]
    if shot == "insert":
        _stage_insert(frame, staged)
    else:
        _stage_cast(frame, staged, shot)
    return _pencil(frame, rng)


def _reference_at(request: GenerationRequest, index: int | None) -> Reference | None:
    if index is None or not 0 <= index < len(request.references):
        return None
    return request.references[index]


def _fill(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop to cover `size`; reduce first, which is far cheaper for big images."""
    w, h = size
    factor = min(image.width // w, image.height // h)
    if factor >= 2:
        image = image.reduce(factor)
    # Box: under the pencil pass it looks the same as bilinear and costs a third less.
    return ImageOps.fit(image, size, Image.Resampling.BOX)


_MOODS: tuple[tuple[tuple[str, ...], Color, Color, Color], ...] = (
    # keywords, sky top, sky at horizon, ground
    (("night", "midnight", "dark", "moon"), (18, 22, 52), (52, 60, 104), (26, 30, 40)),
    (("dusk", "sunset", "evening", "dawn"), (80, 58, 120), (240, 150, 90), (60, 52, 70)),
    (
        ("interior", "room", "inside", "kitchen", "office", "hall"),
        (196, 184, 164),
        (220, 210, 190),
        (120, 90, 64),
    ),
    (
        ("sea", "harbour", "harbor", "beach", "ocean", "boat"),
        (110, 164, 214),
        (190, 220, 236),
        (50, 100, 150),
    ),
    (
        ("forest", "wood", "park", "garden", "field"),
        (140, 190, 220),
        (210, 230, 220),
        (70, 112, 60),
    ),
)


def _prompt_backdrop(prompt: str, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """A gradient sky, a horizon and a few shapes, chosen from the prompt's words and hash."""
    w, h = size
    words = set(re.findall(r"[a-z]+", prompt.lower()))
    digest = hashlib.sha256(prompt.encode()).digest()
    top, low, ground = next(
        ((t, lo, g) for keys, t, lo, g in _MOODS if words & set(keys)),
        (
            (digest[0] // 3 + 90, digest[1] // 3 + 120, digest[2] // 4 + 170),
            (digest[3] // 5 + 200, digest[4] // 5 + 200, digest[5] // 6 + 210),
            (digest[6] // 3 + 70, digest[7] // 3 + 80, digest[8] // 4 + 60),
        ),
    )
    horizon = round(h * (0.45 + digest[9] / 255 * 0.2))
    gradient = Image.linear_gradient("L").resize((w, horizon), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", size, ground)
    frame.paste(
        Image.composite(
            Image.new("RGB", (w, horizon), low), Image.new("RGB", (w, horizon), top), gradient
        )
    )
    draw = ImageDraw.Draw(frame)
    far = tuple((a + b) // 2 for a, b in zip(low, ground, strict=True))
    # A skyline of blocks or hills along the horizon, then a darker foreground band.
    x = 0
    while x < w:
        bw = rng.randint(w // 14, w // 5)
        bh = rng.randint(h // 30, h // 7)
        if digest[10] % 2:
            draw.rectangle((x, horizon - bh, x + bw, horizon), fill=far)
        else:
            draw.ellipse((x - bw // 3, horizon - bh, x + bw, horizon + bh), fill=far)
        x += bw
    near = tuple(max(0, c - 22) for c in ground)
    draw.polygon(
        [(0, h * 0.82), (w, h * (0.78 + digest[11] / 255 * 0.1)), (w, h), (0, h)], fill=near
    )
    return frame


def _analyse(ref: Reference, frame: tuple[int, int]) -> _Figure:
    """Find the background colour and the figure's box on a small copy of the sheet.

    A big JPEG sheet is decoded at a reduced scale, still as tall as the
    frame: a close-up then enlarges part of it a little more, which a sketch
    does not show.
    """
    image = _decode(ref, (1, frame[1]))  # as tall as the frame; the width follows
    factor = max(1, image.height // _PROBE_HEIGHT)
    probe = image.reduce(factor) if factor > 1 else image
    background = _border_colour(probe)
    bust_label = any(word in ref.label.lower() for word in ("face", "head", "portrait", "bust"))
    if background is None:
        return _Figure(image, (0, 0, image.width, image.height), None, bust_label)
    box = _figure_box(_mask(probe, background))
    if box is None:
        return _Figure(image, (0, 0, image.width, image.height), None, bust_label)
    x0, y0, x1, y1 = box
    full_box = (
        max(0, x0 * factor - factor),
        max(0, y0 * factor - factor),
        min(image.width, x1 * factor + factor),
        min(image.height, y1 * factor + factor),
    )
    bust = bust_label or (y1 - y0) < 1.45 * (x1 - x0)
    return _Figure(image, full_box, background, bust)


def _border_colour(probe: Image.Image) -> Color | None:
    """Median colour of the outer ring of pixels, or None when the ring is not near-uniform."""
    w, h = probe.size
    # Lay the four sides end to end in one strip so Pillow can do the counting.
    sides = [probe.crop((0, 0, w, 1)), probe.crop((0, h - 1, w, h))]
    sides += [probe.crop((x, 0, x + 1, h)).transpose(Image.Transpose.ROTATE_90) for x in (0, w - 1)]
    ring = Image.new("RGB", (2 * w + 2 * h, 1))
    x = 0
    for side in sides:
        ring.paste(side, (x, 0))
        x += side.width
    median = tuple(_median(band.histogram()) for band in ring.split())
    distance = _max_channel(ImageChops.difference(ring, Image.new("RGB", ring.size, median)))
    near = sum(distance.histogram()[:24])
    if near < 0.8 * ring.width:
        return None
    return median  # type: ignore[return-value]


def _median(histogram: list[int]) -> int:
    half = sum(histogram) / 2
    total = 0
    for value, count in enumerate(histogram):
        total += count
        if total >= half:
            return value
    return 255


def _max_channel(image: Image.Image) -> Image.Image:
    r, g, b = image.split()
    return ImageChops.lighter(ImageChops.lighter(r, g), b)


_MASK_LUT = [
    max(0, min(255, (v - _MASK_LOW) * 255 // (_MASK_HIGH - _MASK_LOW))) for v in range(256)
]


_SOLID_LUT = [255 if v > 200 else 0 for v in range(256)]
_CLEAN_LUT = [max(0, min(255, (v - 64) * 2)) for v in range(256)]


def _mask(image: Image.Image, background: Color) -> Image.Image:
    """Soft mask of pixels that differ from the background colour (max over the channels)."""
    diff = ImageChops.difference(image, Image.new("RGB", image.size, background))
    return _max_channel(diff).point(_MASK_LUT)


def _figure_box(mask: Image.Image) -> Box | None:
    """Bounding box of the figure: the heaviest band of rows and the parts that belong to it.

    A figure drawn as separate shapes (a head above a gap, then the body)
    comes in several bands of rows; a band joins the figure when it lies
    close above or below it and overlaps it sideways. A caption or a
    signature is mostly thin anti-aliased text, which the erosion below
    removes, and what survives of it is small and narrow, so it stays out.
    """
    w, h = mask.size
    # Blur then a high threshold: an erosion that removes anti-aliased caption text.
    solid = mask.filter(ImageFilter.BoxBlur(1)).point(_SOLID_LUT)
    rows = list(solid.resize((1, h), Image.Resampling.BOX).getdata())
    bands: list[tuple[int, int, int]] = []  # (weight, start, end)
    start = None
    for y, value in enumerate([*rows, 0]):
        if value > 0 and start is None:
            start = y
        elif value == 0 and start is not None:
            bands.append((sum(rows[start:y]), start, y))
            start = None
    if not bands:
        return None
    main = max(range(len(bands)), key=lambda i: bands[i][0])
    if bands[main][0] < 2:
        return None
    heaviest = bands[main][0]
    top, bottom = bands[main][1], bands[main][2]
    box = solid.crop((0, top, w, bottom)).getbbox()
    if box is None:
        return None
    left, right = box[0], box[2]
    above, below = main - 1, main + 1
    while True:
        grown = False
        for i, before in ((above, True), (below, False)):
            if not 0 <= i < len(bands):
                continue
            weight, b_top, b_bottom = bands[i]
            gap = top - b_bottom if before else b_top - bottom
            part = solid.crop((0, b_top, w, b_bottom)).getbbox()
            if (
                part is None
                or gap > _PART_GAP * (bottom - top)
                or weight < _PART_WEIGHT * heaviest
                or part[2] <= left
                or part[0] >= right
            ):
                continue
            top, bottom = min(top, b_top), max(bottom, b_bottom)
            left, right = min(left, part[0]), max(right, part[2])
            if before:
                above -= 1
            else:
                below += 1
            grown = True
        if not grown:
            return (left, top, right, bottom)


def _placement(text: str, index: int, count: int) -> tuple[float, float]:
    """(x as a share of the width, depth) from free staging text such as "far left, background"."""
    words = text.lower()
    x = (index + 1) / (count + 1)
    for pattern, value in (
        (r"\bfar left\b", 0.14),
        (r"\bfar right\b", 0.86),
        (r"\bleft\b", 0.27),
        (r"\bright\b", 0.73),
        (r"\bcent(?:er|re)\b|\bmiddle\b", 0.5),
    ):
        if re.search(pattern, words):
            x = value
            break
    depth = 1.0
    if re.search(r"\bbackground\b|\bbehind\b|\bdistance\b|\bdistant\b", words):
        depth = 0.62
    elif re.search(r"\bforeground\b|\bnear camera\b", words):
        depth = 1.2
    return x, depth


def _stage_cast(
    frame: Image.Image, staged: list[tuple[CastPlacement, _Figure]], shot_type: str
) -> None:
    w, h = frame.size
    shot = _SHOTS[shot_type]
    tallest = max((fig.rel_height for _, fig in staged if not fig.bust), default=1.0) or 1.0
    plan = []
    for i, (member, fig) in enumerate(staged):
        x_share, depth = _placement(member.placement, i, len(staged))
        plan.append((depth, i, x_share, fig))
    # Far figures first so nearer ones overlap them.
    for depth, _, x_share, fig in sorted(plan, key=lambda item: (item[0], item[1])):
        fx0, fy0, fx1, fy1 = fig.box
        box_h = fy1 - fy0
        if shot.wide and not fig.bust:
            # One ground line for everyone, so a child stays shorter than the adults.
            full = shot.height * h / shot.share * depth
            scale = full * fig.rel_height / tallest / box_h
            ground = shot.baseline * h + (1 - shot.share) * full
            if depth != 1.0:
                ground = h * 0.5 + (ground - h * 0.5) * (0.55 if depth < 1 else 1.1)
            top = ground - box_h * scale
        else:
            share = _BUST_SHARE.get(shot_type, 1.0) if fig.bust else shot.share
            share = min(share, 1.0)
            visible = shot.height * h * depth
            if not fig.bust:
                # Framed one by one, but a child should still read as smaller than
                # the adults; the square root keeps the child's face in the frame.
                visible *= (fig.rel_height / tallest) ** 0.5
            scale = visible / (share * box_h)
            top = shot.baseline * h - visible
        left = x_share * w - (fx1 - fx0) * scale / 2
        _paste_figure(frame, fig, scale, left, top)


def _stage_insert(frame: Image.Image, staged: list[tuple[CastPlacement, _Figure]]) -> None:
    """An insert is a detail: the middle of the first figure (hands, props) filling the frame."""
    w, h = frame.size
    if not staged:
        detail = frame.resize(
            (w, h), Image.Resampling.BILINEAR, box=(w / 4, h / 4, w * 3 / 4, h * 3 / 4)
        )
        frame.paste(detail)
        return
    fig = staged[0][1]
    fx0, fy0, fx1, fy1 = fig.box
    box_h = fy1 - fy0
    region_h = box_h * (0.3 if not fig.bust else 0.45)
    scale = h * 1.05 / region_h
    region_top = fy0 + box_h * (0.38 if not fig.bust else 0.3)
    top = -((region_top - fy0) * scale) - h * 0.025
    left = w / 2 - (fx1 - fx0) * scale / 2
    _paste_figure(frame, fig, scale, left, top)


def _paste_figure(frame: Image.Image, fig: _Figure, scale: float, left: float, top: float) -> None:
    """Paste the part of the figure box that lands inside the frame, scaled, through its mask."""
    w, h = frame.size
    fx0, fy0, fx1, fy1 = fig.box
    # Frame rectangle the figure box covers, clipped to the frame.
    dx0, dy0 = max(0, round(left)), max(0, round(top))
    dx1 = min(w, round(left + (fx1 - fx0) * scale))
    dy1 = min(h, round(top + (fy1 - fy0) * scale))
    if dx1 - dx0 < 2 or dy1 - dy0 < 2:
        return
    # The same rectangle in the source sheet: only this part is resampled.
    iw, ih = fig.image.size
    src = (
        max(0.0, fx0 + (dx0 - left) / scale),
        max(0.0, fy0 + (dy0 - top) / scale),
        min(iw, fx0 + (dx1 - left) / scale),
        min(ih, fy0 + (dy1 - top) / scale),
    )
    out_size = (dx1 - dx0, dy1 - dy0)
    source = fig.image
    factor = int(1 / scale) if scale < 1 else 1
    if factor >= 2:
        # Box-reduce big sheets first: resampling from 4x the output size is wasted work.
        source = source.reduce(factor)
        src = tuple(v / factor for v in src)  # type: ignore[assignment]
    if fig.background is not None and scale > 1:
        # Enlarged (close shots): cut the figure out at the sheet's size, where there
        # are fewer pixels, and enlarge the one-band mask with it; a mask worked out on
        # the enlarged RGB piece costs several times more and looks the same.
        crop = (int(src[0]), int(src[1]), math.ceil(src[2]), math.ceil(src[3]))
        region = source.crop(crop)
        inner = (src[0] - crop[0], src[1] - crop[1], src[2] - crop[0], src[3] - crop[1])
        piece = region.resize(out_size, Image.Resampling.BILINEAR, box=inner)
        mask = _clean_mask(region, fig.background).resize(
            out_size, Image.Resampling.BILINEAR, box=inner
        )
    else:
        piece = source.resize(out_size, Image.Resampling.BILINEAR, box=src)
        if fig.background is None:
            mask = _ellipse_mask(out_size)
        else:
            mask = _clean_mask(piece, fig.background)
    frame.paste(piece, (dx0, dy0), mask)


def _clean_mask(image: Image.Image, background: Color) -> Image.Image:
    # Averaging then re-thresholding fills pinholes and drops specks, and leaves
    # a one-pixel soft edge; rank filters would do it better at ten times the cost.
    return _mask(image, background).filter(ImageFilter.BoxBlur(1)).point(_CLEAN_LUT)


def _ellipse_mask(size: tuple[int, int]) -> Image.Image:
    w, h = size
    small = Image.new("L", (max(4, w // 4), max(4, h // 4)), 0)
    sw, sh = small.size
    ImageDraw.Draw(small).ellipse((sw * 0.06, sh * 0.04, sw * 0.94, sh * 0.98), fill=255)
    return small.filter(ImageFilter.GaussianBlur(max(1, sw // 20))).resize(
        size, Image.Resampling.BILINEAR
    )


# ---------------------------------------------------------------- pencil-and-tone look

_PAPER_LUT = _lut(lambda b, v: v * PAPER[b] / 255)
# Edge strength -> pencil darkness (255 = no line).
_LINE_LUT = [max(60, 255 - v * 3) for v in range(256)]
_SHADOW_LUT = [0 if v < 92 else 255 for v in range(256)]


def _pencil(frame: Image.Image, rng: random.Random) -> Image.Image:
    """Muted colour tones on tinted paper, pencil edge lines, hatching in the shadows, a border."""
    w, h = frame.size
    grey = frame.convert("L")
    # Edges found at half size read as soft pencil strokes and cost a quarter.
    half = grey.reduce(2)
    lines = (
        half.filter(ImageFilter.FIND_EDGES)
        .point(_LINE_LUT)
        .resize((w, h), Image.Resampling.BILINEAR)
    )
    shadow_free = grey.point(_SHADOW_LUT)
    hatch = ImageChops.lighter(_hatch((w, h), rng), shadow_free)
    shade = ImageChops.multiply(lines, hatch)
    _fibres(shade, rng)
    # Half-way to grey: still reads as pencil, but who wears red stays visible.
    tone = Image.blend(grey.convert("RGB"), frame, 0.5).point(_PAPER_LUT)
    out = ImageChops.multiply(tone, shade.convert("RGB"))
    border = max(2, round(min(w, h) / 220))
    ImageDraw.Draw(out).rectangle((0, 0, w - 1, h - 1), outline=_INK, width=border)
    return out


def _fibres(layer: Image.Image, rng: random.Random) -> None:
    """Short faint strokes for paper texture; per-pixel noise would triple the PNG size."""
    w, h = layer.size
    draw = ImageDraw.Draw(layer)
    for _ in range(w * h // 4000):
        x, y = rng.randrange(w), rng.randrange(h)
        length = rng.randint(3, 12)
        draw.line((x, y, x + length, y + rng.randint(-3, 3)), fill=rng.randint(200, 232), width=1)


def _hatch(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Diagonal hatching on white; spacing and offset vary with the seed."""
    w, h = size
    layer = Image.new("L", size, 255)
    draw = ImageDraw.Draw(layer)
    spacing = rng.randint(6, 9) * max(1, round(h / 576))
    x = -h + rng.randint(0, spacing)
    while x < w:
        jitter = rng.randint(-2, 2)
        draw.line((x, h, x + h + jitter, 0), fill=rng.randint(150, 185), width=1)
        x += spacing
    return layer
