"""Flat Pillow drawings for the demo project: character sheets, locations, a style sample.

Everything here is drawn from code so the demo works offline and gives the
same bytes on every run. Character sheets use a plain, near-uniform light
background on purpose: the `sketch` backend cuts figures out by removing the
background colour, so a busy backdrop would defeat it.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont

Color = tuple[int, int, int]

VIEWS: tuple[str, ...] = ("front", "side", "back", "three_quarter", "face", "full_body")

SHEET_BACKGROUND: Color = (243, 241, 236)
_CAPTION_INK: Color = (120, 116, 110)
_OUTLINE: Color = (52, 44, 40)
# Drawn at twice the size and scaled down: the cheapest way to get smooth edges.
_SUPERSAMPLE = 2

DEMO_STYLE = (
    "Loose storyboard style: clean ink outlines, flat muted colours, soft dusk light, "
    "wide cinematic framing, paper texture."
)


@dataclass(frozen=True)
class DemoVariant:
    """One reference sheet of a demo character: a name and the colours it changes."""

    name: str
    description: str
    coat: Color
    trousers: Color
    boots: Color
    hair: Color
    accent: Color  # scarf, collar or cuffs
    hood_up: bool = False
    hat: Color | None = None

    @property
    def slug(self) -> str:
        return _slug(self.name)


@dataclass(frozen=True)
class DemoCharacter:
    """A demo character: bible text plus the body shape the drawings are made from."""

    name: str
    appearance: str
    notes: str
    variants: tuple[DemoVariant, ...]
    height: float  # relative to the tallest figure
    build: float  # shoulder width multiplier
    head_ratio: float  # head height as a share of body height
    skin: Color
    hair_style: str  # "ponytail" | "bald" | "bob"
    beard: bool
    coat_hem: float  # hem height as a share of body height (0 = floor)
    hem_flare: float  # hem width relative to shoulders
    eye: Color = (40, 34, 32)


@dataclass(frozen=True)
class DemoLocation:
    """A demo location: name and description for the bible."""

    name: str
    description: str


DEMO_CHARACTERS: tuple[DemoCharacter, ...] = (
    DemoCharacter(
        name="Mara Voss",
        appearance=(
            "Tall, slim woman in her thirties. Long red wool coat to the knees, black "
            "trousers, brown boots. Dark hair pulled back in a high ponytail."
        ),
        notes="Harbour pilot. Walks fast, hands in pockets; never takes the coat off.",
        variants=(
            DemoVariant(
                name="Default",
                description="Red coat, black trousers, brown boots.",
                coat=(196, 48, 44),
                trousers=(44, 42, 48),
                boots=(110, 70, 42),
                hair=(38, 30, 30),
                accent=(150, 30, 32),
            ),
            DemoVariant(
                name="Winter outfit",
                description="Charcoal-blue padded coat, mustard scarf and knit hat.",
                coat=(64, 82, 112),
                trousers=(52, 48, 56),
                boots=(70, 50, 40),
                hair=(38, 30, 30),
                accent=(214, 160, 40),
                hat=(214, 160, 40),
            ),
        ),
        height=1.0,
        build=0.95,
        head_ratio=1 / 7.4,
        skin=(232, 190, 160),
        hair_style="ponytail",
        beard=False,
        coat_hem=0.25,
        hem_flare=1.25,
    ),
    DemoCharacter(
        name="Tobias Kern",
        appearance=(
            "Broad, stocky man in his fifties. Bald head, full brown beard. Short olive-green "
            "work jacket, brown canvas trousers, heavy dark boots."
        ),
        notes="Lighthouse keeper. Slow to speak, fixes everything himself.",
        variants=(
            DemoVariant(
                name="Default",
                description="Green jacket, brown trousers, dark boots; brown beard.",
                coat=(70, 118, 62),
                trousers=(120, 90, 60),
                boots=(50, 40, 36),
                hair=(104, 66, 40),
                accent=(52, 88, 46),
            ),
            DemoVariant(
                name="Ten years older",
                description="Dark bottle-green wool jacket, grey trousers, grey beard.",
                coat=(34, 64, 46),
                trousers=(118, 118, 122),
                boots=(58, 50, 46),
                hair=(160, 156, 150),
                accent=(92, 104, 78),
            ),
        ),
        height=0.9,
        build=1.55,
        head_ratio=1 / 6.6,
        skin=(214, 160, 124),
        hair_style="bald",
        beard=True,
        coat_hem=0.44,
        hem_flare=1.02,
    ),
    DemoCharacter(
        name="Pip",
        appearance=(
            "Small round child of about seven. Bright yellow raincoat, blue rubber boots, "
            "light brown bob of hair, rosy cheeks."
        ),
        notes="Tobias's grandchild. Always splashing in puddles.",
        variants=(
            DemoVariant(
                name="Default",
                description="Yellow raincoat with the hood down, blue boots.",
                coat=(242, 196, 36),
                trousers=(70, 90, 140),
                boots=(44, 104, 196),
                hair=(150, 100, 60),
                accent=(220, 170, 20),
            ),
            DemoVariant(
                name="Rain gear",
                description="Hood up, navy rain trousers, red boots.",
                coat=(242, 196, 36),
                trousers=(40, 52, 96),
                boots=(196, 52, 48),
                hair=(150, 100, 60),
                accent=(220, 170, 20),
                hood_up=True,
            ),
        ),
        height=0.55,
        build=1.25,
        head_ratio=1 / 4.0,
        skin=(240, 200, 170),
        hair_style="bob",
        beard=False,
        coat_hem=0.3,
        hem_flare=1.45,
    ),
)

DEMO_LOCATIONS: tuple[DemoLocation, ...] = (
    DemoLocation(
        "Harbour at dusk",
        "Stone quay and wooden pier, fishing boats, orange sky fading to violet, "
        "lighthouse on the far headland.",
    ),
    DemoLocation(
        "Lighthouse interior",
        "Round whitewashed stone room at the top of the tower: iron spiral stair, "
        "arched window on the sea, oil lamp on a wooden table.",
    ),
    DemoLocation(
        "Cliff path",
        "Grassy cliff-top path above the sea on a bright day, a fence of posts, gulls.",
    ),
)


def _slug(text: str) -> str:
    return "_".join(text.lower().replace("-", " ").split())


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _find_character(character: str) -> DemoCharacter:
    key = character.strip().lower()
    for char in DEMO_CHARACTERS:
        if key in (char.name.lower(), char.name.split()[0].lower()):
            return char
    names = ", ".join(c.name for c in DEMO_CHARACTERS)
    raise ValueError(f"Unknown demo character {character!r}; known: {names}")


def _find_variant(char: DemoCharacter, variant: str) -> DemoVariant:
    key = _slug(variant)
    for var in char.variants:
        if var.slug == key:
            return var
    names = ", ".join(v.name for v in char.variants)
    raise ValueError(f"{char.name} has no variant {variant!r}; known: {names}")


def _shade(color: Color, factor: float) -> Color:
    return tuple(max(0, min(255, round(c * factor))) for c in color)  # type: ignore[return-value]


class _Painter:
    """Draws in figure units: x right of the body axis, y up from the ground, body height 1."""

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, ground: float, scale: float):
        self.draw = draw
        self.cx = cx
        self.ground = ground
        self.scale = scale
        self.line_w = max(1, round(scale * 0.006))

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.cx + x * self.scale, self.ground - y * self.scale)

    def poly(self, points: Sequence[tuple[float, float]], fill: Color, outline: bool = True):
        self.draw.polygon(
            [self.pt(x, y) for x, y in points],
            fill=fill,
            outline=_OUTLINE if outline else None,
            width=self.line_w if outline else 1,
        )

    def ellipse(self, x: float, y: float, rx: float, ry: float, fill: Color, outline=True):
        (x0, y1), (x1, y0) = self.pt(x - rx, y - ry), self.pt(x + rx, y + ry)
        self.draw.ellipse(
            (x0, y0, x1, y1),
            fill=fill,
            outline=_OUTLINE if outline else None,
            width=self.line_w if outline else 1,
        )

    def pieslice(self, x, y, rx, ry, start, end, fill: Color, outline=True):
        (x0, y1), (x1, y0) = self.pt(x - rx, y - ry), self.pt(x + rx, y + ry)
        self.draw.pieslice(
            (x0, y0, x1, y1),
            start,
            end,
            fill=fill,
            outline=_OUTLINE if outline else None,
            width=self.line_w if outline else 1,
        )

    def limb(self, x0, y0, x1, y1, width: float, fill: Color):
        """A straight limb with rounded ends, drawn as a quad plus two caps."""
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length * width / 2, dx / length * width / 2
        self.poly(
            [(x0 + nx, y0 + ny), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny), (x0 - nx, y0 - ny)], fill
        )
        self.ellipse(x1, y1, width / 2, width / 2, fill)

    def line(self, points: Sequence[tuple[float, float]], width_units: float, fill: Color):
        width = max(1, round(width_units * self.scale))
        self.draw.line([self.pt(x, y) for x, y in points], fill=fill, width=width, joint="curve")


def _draw_figure(p: _Painter, char: DemoCharacter, var: DemoVariant, view: str) -> None:
    """Draw one figure facing the camera (front/back), right (side) or half-right."""
    head_r = char.head_ratio / 2
    head_y = 1 - head_r
    shoulder_y = 1 - char.head_ratio - 0.035
    hip_y = 0.47 if char.hair_style != "bob" else 0.38
    boot_h = 0.07 if char.hair_style != "bob" else 0.1
    sw = 0.12 * char.build  # half shoulder width
    turn = {"side": 0.55, "three_quarter": 0.82}.get(view, 1.0)
    body_w = sw * turn
    hem_w = body_w * char.hem_flare
    arm_w = 0.055 * char.build**0.5
    leg_w = 0.05 * char.build**0.6
    back = view == "back"
    spread = 0.09 if view == "full_body" else 0.03
    face_dx = {"side": head_r * 0.45, "three_quarter": head_r * 0.25}.get(view, 0.0)

    # Ponytail and hood sit behind the body, so they go first.
    if char.hair_style == "ponytail" and view in ("side", "three_quarter"):
        p.poly(
            [
                (-head_r * 0.6, head_y + head_r * 0.5),
                (-head_r * 1.9, head_y - head_r * 1.7),
                (-head_r * 1.2, head_y - head_r * 1.9),
                (-head_r * 0.3, head_y),
            ],
            var.hair,
        )
    if char.hair_style == "bob" and not var.hood_up and not back:
        p.ellipse(0, shoulder_y - 0.01, body_w * 0.9, 0.05, var.accent)  # hood resting down

    # Legs and boots.
    leg_xs = (-sw * 0.45, sw * 0.45) if turn > 0.6 else (-0.02, 0.03)
    for i, lx in enumerate(leg_xs):
        lean = (spread if i else -spread) * 0.6 if view == "full_body" else 0.0
        p.limb(lx, hip_y, lx + lean, boot_h, leg_w, var.trousers)
        toe = 0.03 if view in ("side", "three_quarter") else 0.0
        p.poly(
            [
                (lx + lean - leg_w * 0.6, boot_h + 0.01),
                (lx + lean + leg_w * 0.6, boot_h + 0.01),
                (lx + lean + leg_w * 0.6 + toe, 0),
                (lx + lean - leg_w * 0.6, 0),
            ],
            var.boots,
        )

    # Arms behind the coat in side view; beside it otherwise.
    def arms() -> None:
        if view == "side":
            p.limb(0.0, shoulder_y - 0.03, 0.04, hip_y - 0.02, arm_w, _shade(var.coat, 0.85))
            p.ellipse(0.045, hip_y - 0.04, arm_w * 0.55, arm_w * 0.55, char.skin)
            return
        for side in (-1, 1):
            sx = side * (body_w - arm_w * 0.35)
            hx = side * (body_w + spread + (0.01 if char.build > 1.2 else 0))
            p.limb(sx, shoulder_y - 0.02, hx, hip_y, arm_w, _shade(var.coat, 0.9))
            p.ellipse(hx, hip_y - arm_w * 0.4, arm_w * 0.55, arm_w * 0.55, char.skin)

    # Coat: shoulders to hem, with a belly for the stocky build.
    hem_y = char.coat_hem
    p.poly([(-body_w, shoulder_y), (body_w, shoulder_y), (hem_w, hem_y), (-hem_w, hem_y)], var.coat)
    p.ellipse(-body_w + 0.02, shoulder_y - 0.02, 0.03, 0.025, var.coat, outline=False)
    p.ellipse(body_w - 0.02, shoulder_y - 0.02, 0.03, 0.025, var.coat, outline=False)
    if char.build > 1.4:
        belly_x = 0.03 if view == "side" else 0.0
        p.ellipse(belly_x, (shoulder_y + hem_y) / 2, body_w * 1.02, 0.17, var.coat)
    if char.hair_style == "bob":
        p.ellipse(0, hem_y + 0.12, hem_w * 0.95, 0.16, var.coat)  # round raincoat body
    if not back and view != "side":
        p.line([(face_dx * 0.5, shoulder_y - 0.02), (face_dx * 0.5, hem_y + 0.01)], 0.004, _OUTLINE)
        for by in (0.75, 0.62, 0.5):
            if hem_y < by < shoulder_y:
                p.ellipse(face_dx * 0.5 + 0.012, by, 0.007, 0.007, var.accent, outline=False)
    if back:
        p.line([(0, shoulder_y - 0.05), (0, hem_y + 0.01)], 0.003, _shade(var.coat, 0.7))
    arms()
    # Scarf / collar.
    p.ellipse(face_dx * 0.4, shoulder_y, body_w * 0.55, 0.025, var.accent)

    # Neck and head.
    p.limb(face_dx * 0.3, shoulder_y, face_dx * 0.3, head_y - head_r * 0.6, head_r * 0.7, char.skin)
    if var.hood_up:
        p.ellipse(face_dx * 0.3, head_y, head_r * 1.35, head_r * 1.3, var.coat)
    if char.hair_style == "bob" and not var.hood_up:
        p.ellipse(face_dx * 0.2, head_y - head_r * 0.15, head_r * 1.18, head_r * 1.0, var.hair)
    p.ellipse(face_dx * 0.3, head_y, head_r, head_r * 1.06, char.skin)
    if char.hair_style == "bald" and view not in ("side",):
        p.ellipse(-head_r * 0.97, head_y - head_r * 0.1, head_r * 0.2, head_r * 0.28, char.skin)
        p.ellipse(head_r * 0.97, head_y - head_r * 0.1, head_r * 0.2, head_r * 0.28, char.skin)
    _draw_hair(p, char, var, view, head_y, head_r, face_dx)
    if not back:
        _draw_face(p, char, var, view, head_y, head_r, face_dx)
    if var.hat is not None:
        p.pieslice(
            face_dx * 0.3, head_y + head_r * 0.32, head_r * 1.08, head_r * 0.85, 180, 360, var.hat
        )


def _draw_hair(p, char, var, view, head_y, head_r, face_dx) -> None:
    cx = face_dx * 0.3
    if char.hair_style == "ponytail":
        if view == "back":
            p.ellipse(cx, head_y, head_r * 1.02, head_r * 1.08, var.hair)
            p.poly(
                [
                    (-head_r * 0.25, head_y + head_r * 0.3),
                    (head_r * 0.25, head_y + head_r * 0.3),
                    (head_r * 0.12, head_y - head_r * 2.4),
                    (-head_r * 0.12, head_y - head_r * 2.4),
                ],
                var.hair,
            )
        else:
            p.pieslice(
                cx - face_dx * 0.4,
                head_y + head_r * 0.05,
                head_r * 1.04,
                head_r * 1.1,
                180,
                360,
                var.hair,
            )
            p.ellipse(
                cx - head_r * 0.1 - face_dx * 0.6,
                head_y + head_r * 1.0,
                head_r * 0.35,
                head_r * 0.3,
                var.hair,
            )
    elif char.hair_style == "bob" and not var.hood_up:
        if view == "back":
            p.ellipse(cx, head_y - head_r * 0.05, head_r * 1.12, head_r * 1.08, var.hair)
        else:
            p.pieslice(cx, head_y + head_r * 0.1, head_r * 1.08, head_r * 1.0, 180, 360, var.hair)
    if char.beard and view != "back":
        beard_x = cx + face_dx * 0.6
        p.pieslice(beard_x, head_y - head_r * 0.05, head_r * 0.92, head_r * 1.08, 0, 180, var.hair)
        p.ellipse(
            beard_x + face_dx * 0.3,
            head_y - head_r * 0.35,
            head_r * 0.3,
            head_r * 0.1,
            char.skin,
            outline=False,
        )


def _draw_face(p, char, var, view, head_y, head_r, face_dx) -> None:
    cx = face_dx * 0.3 + face_dx * 0.9
    eye_y = head_y + head_r * 0.05
    eye_r = head_r * 0.11
    spacing = head_r * (0.38 if view != "side" else 0.0)
    xs = (cx + head_r * 0.15,) if view == "side" else (cx - spacing, cx + spacing * 0.85)
    for ex in xs:
        p.ellipse(ex, eye_y, eye_r, eye_r * 1.2, char.eye, outline=False)
        brow = var.hair if char.hair_style != "bald" else _shade(var.hair, 0.8)
        p.line(
            [(ex - eye_r * 1.6, eye_y + eye_r * 2.4), (ex + eye_r * 1.6, eye_y + eye_r * 2.6)],
            head_r * 0.06,
            brow,
        )
    if view == "side":
        p.poly(
            [
                (cx + head_r * 0.55, head_y),
                (cx + head_r * 0.8, head_y - head_r * 0.2),
                (cx + head_r * 0.55, head_y - head_r * 0.25),
            ],
            char.skin,
        )
    if char.hair_style == "bob":
        for ex in xs:
            p.ellipse(
                ex,
                eye_y - head_r * 0.35,
                head_r * 0.16,
                head_r * 0.1,
                (236, 150, 140),
                outline=False,
            )
    if not char.beard:
        mx = cx + (head_r * 0.2 if view == "side" else 0)
        p.line(
            [
                (mx - head_r * 0.18, head_y - head_r * 0.48),
                (mx, head_y - head_r * 0.55),
                (mx + head_r * 0.18, head_y - head_r * 0.48),
            ],
            head_r * 0.05,
            (150, 60, 60),
        )


def _canvas(
    size: tuple[int, int], color: Color = SHEET_BACKGROUND
) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    big = Image.new("RGB", (size[0] * _SUPERSAMPLE, size[1] * _SUPERSAMPLE), color)
    return big, ImageDraw.Draw(big)


def _finish(big: Image.Image, size: tuple[int, int]) -> Image.Image:
    return big.resize(size, Image.Resampling.LANCZOS)


def character_sheet_image(
    character: str, view: str, *, variant: str = "default", size: tuple[int, int] = (768, 1024)
) -> bytes:
    """Draw one reference view of a demo character as PNG bytes.

    `character` is a full or first name ("Mara Voss", "pip"); `view` one of VIEWS;
    `variant` a sheet name or slug ("Winter outfit", "winter_outfit").
    """
    char = _find_character(character)
    var = _find_variant(char, variant)
    if view not in VIEWS:
        raise ValueError(f"Unknown view {view!r}; known: {', '.join(VIEWS)}")
    w, h = size
    big, draw = _canvas(size)
    s = _SUPERSAMPLE
    caption_h = max(18, round(h * 0.05))
    if view == "face":
        # Head and shoulders: the head spans up to 42% of the width, less for broad
        # shoulders, which must stay clear of the edges for the cut-out to work.
        span = 2 * (0.12 * char.build + 0.07)
        scale = w * s * min(0.42 / char.head_ratio, 0.94 / span)
        ground = h * s * 0.36 + (1 - char.head_ratio / 2) * scale
    else:
        # Same scale for every character so the sheets show their relative heights.
        scale = (h - caption_h) * s * 0.86 * char.height
        ground = (h - caption_h) * s * 0.95
        shadow_w = 0.2 * char.build * scale * 0.9
        draw.ellipse(
            (
                w * s / 2 - shadow_w,
                ground - scale * 0.012,
                w * s / 2 + shadow_w,
                ground + scale * 0.012,
            ),
            fill=_shade(SHEET_BACKGROUND, 0.96),
        )
    _draw_figure(_Painter(draw, w * s / 2, ground, scale), char, var, view)
    image = _finish(big, size)
    # Caption on a clean strip so it stays legible over the face view's shoulders.
    cap = ImageDraw.Draw(image)
    cap.rectangle((0, h - caption_h, w, h), fill=SHEET_BACKGROUND)
    label = f"{char.name} - {view.replace('_', ' ')}"
    if var.slug != "default":
        label += f" ({var.name})"
    cap.text(
        (w / 2, h - caption_h / 2),
        label,
        fill=_CAPTION_INK,
        font=_font(round(caption_h * 0.55)),
        anchor="mm",
    )
    return _png(image)


def _gradient(size: tuple[int, int], top: Color, bottom: Color) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


def _harbour(w: int, h: int) -> Image.Image:
    horizon = int(h * 0.56)
    image = _gradient((w, horizon), (70, 52, 110), (244, 146, 76))
    sea = _gradient((w, h - horizon), (64, 70, 120), (24, 30, 60))
    image = image.crop((0, 0, w, h))
    image.paste(sea, (0, horizon))
    d = ImageDraw.Draw(image)
    sun_r = h * 0.09
    d.pieslice(
        (w * 0.32 - sun_r, horizon - sun_r, w * 0.32 + sun_r, horizon + sun_r),
        180,
        360,
        fill=(252, 196, 110),
    )
    rng = random.Random(7)
    for _ in range(40):  # glints on the water
        y = rng.uniform(horizon + 4, h * 0.8)
        x = w * 0.32 + rng.gauss(0, w * 0.05)
        half = rng.uniform(8, 30) * w / 1280
        d.line((x - half, y, x + half, y), fill=(230, 150, 100), width=max(1, round(h / 360)))
    # Far headland with the lighthouse.
    d.polygon(
        [(w * 0.7, horizon), (w * 0.82, horizon - h * 0.06), (w, horizon - h * 0.08), (w, horizon)],
        fill=(40, 34, 64),
    )
    lx = w * 0.88
    d.polygon(
        [
            (lx - w * 0.012, horizon - h * 0.07),
            (lx + w * 0.012, horizon - h * 0.07),
            (lx + w * 0.007, horizon - h * 0.2),
            (lx - w * 0.007, horizon - h * 0.2),
        ],
        fill=(230, 220, 210),
    )
    d.ellipse(
        (lx - w * 0.012, horizon - h * 0.225, lx + w * 0.012, horizon - h * 0.19),
        fill=(255, 230, 140),
    )
    # Quay in the foreground and a wooden pier.
    d.polygon([(0, h * 0.78), (w * 0.55, h * 0.82), (w * 0.6, h), (0, h)], fill=(92, 84, 92))
    for i in range(9):
        x = w * 0.06 * i
        d.line((x, h * 0.78 + i * 2, x + w * 0.03, h), fill=(74, 66, 76), width=max(1, w // 640))
    d.rectangle((w * 0.52, h * 0.66, w * 0.98, h * 0.69), fill=(110, 72, 48))
    for i in range(7):
        x = w * (0.54 + i * 0.07)
        d.rectangle((x, h * 0.69, x + w * 0.008, h * 0.8), fill=(80, 52, 36))
    # Two boats.
    for bx, scale, hull in ((0.18, 1.0, (150, 46, 40)), (0.6, 0.7, (40, 80, 110))):
        bw, bh, by = w * 0.14 * scale, h * 0.05 * scale, h * (0.64 if scale < 1 else 0.7)
        x0 = w * bx
        d.polygon(
            [(x0, by), (x0 + bw, by), (x0 + bw * 0.85, by + bh), (x0 + bw * 0.12, by + bh)],
            fill=hull,
        )
        d.rectangle((x0 + bw * 0.3, by - bh * 0.8, x0 + bw * 0.6, by), fill=(226, 214, 196))
        d.line(
            (x0 + bw * 0.45, by - bh * 0.8, x0 + bw * 0.45, by - bh * 4),
            fill=(60, 50, 50),
            width=max(1, w // 500),
        )
    # Lamp posts with a warm glow.
    for lxp in (0.08, 0.42):
        x = w * lxp
        d.ellipse((x - h * 0.035, h * 0.52, x + h * 0.035, h * 0.59), fill=(255, 214, 140))
        d.rectangle((x - w * 0.003, h * 0.55, x + w * 0.003, h * 0.8), fill=(40, 36, 44))
    return image


def _lighthouse_interior(w: int, h: int) -> Image.Image:
    image = _gradient((w, h), (214, 206, 190), (168, 156, 138))
    d = ImageDraw.Draw(image)
    floor = int(h * 0.74)
    d.rectangle((0, floor, w, h), fill=(120, 84, 56))
    for i in range(12):
        x = i * w / 11
        d.line((w / 2 + (x - w / 2) * 0.6, floor, x, h), fill=(96, 66, 44), width=max(1, w // 640))
    # Curved stone courses to suggest a round room.
    for i in range(1, 8):
        y = floor * i / 8
        d.arc(
            (-w * 0.2, y - h * 0.1, w * 1.2, y + h * 0.1),
            0,
            180,
            fill=(190, 180, 164),
            width=max(1, h // 360),
        )
    # Arched window on the sea.
    wx0, wx1, wy0, wy1 = w * 0.38, w * 0.62, h * 0.14, h * 0.5
    d.rectangle((wx0, wy0 + (wx1 - wx0) / 2, wx1, wy1), fill=(120, 170, 210))
    d.pieslice((wx0, wy0, wx1, wy0 + (wx1 - wx0)), 180, 360, fill=(150, 190, 222))
    d.rectangle((wx0, wy1 - h * 0.1, wx1, wy1), fill=(50, 90, 140))
    d.line(((wx0 + wx1) / 2, wy0, (wx0 + wx1) / 2, wy1), fill=(70, 60, 56), width=max(2, w // 320))
    d.line(
        (wx0, (wy0 + wy1) / 2 + h * 0.04, wx1, (wy0 + wy1) / 2 + h * 0.04),
        fill=(70, 60, 56),
        width=max(2, w // 320),
    )
    # Iron spiral stair on the left.
    sx = w * 0.14
    d.rectangle((sx - w * 0.006, 0, sx + w * 0.006, floor), fill=(46, 44, 48))
    for i in range(12):
        y = floor - i * h * 0.065
        side = -1 if i % 2 else 1
        d.polygon(
            [
                (sx, y),
                (sx + side * w * 0.1, y - h * 0.02),
                (sx + side * w * 0.1, y - h * 0.035),
                (sx, y - h * 0.02),
            ],
            fill=(62, 60, 66),
        )
    # Table with an oil lamp and its glow.
    tx = w * 0.74
    glow = Image.new("L", (w, h), 0)
    ImageDraw.Draw(glow).ellipse((tx - h * 0.22, h * 0.3, tx + h * 0.22, h * 0.74), fill=110)
    glow = glow.filter(ImageFilter.GaussianBlur(h * 0.06))
    image.paste((255, 214, 120), (0, 0), glow)
    d = ImageDraw.Draw(image)
    d.rectangle((tx - w * 0.11, h * 0.6, tx + w * 0.11, h * 0.63), fill=(110, 70, 40))
    for lx in (tx - w * 0.1, tx + w * 0.09):
        d.rectangle((lx, h * 0.63, lx + w * 0.01, floor + h * 0.03), fill=(92, 58, 34))
    d.ellipse(
        (tx - h * 0.03, h * 0.5, tx + h * 0.03, h * 0.6),
        fill=(255, 226, 140),
        outline=(80, 60, 40),
        width=2,
    )
    # A sea chart on the wall.
    d.rectangle(
        (w * 0.78, h * 0.18, w * 0.92, h * 0.38),
        fill=(226, 212, 170),
        outline=(110, 90, 60),
        width=2,
    )
    d.line((w * 0.8, h * 0.33, w * 0.85, h * 0.24, w * 0.9, h * 0.28), fill=(90, 120, 150), width=2)
    return image


def _cliff_path(w: int, h: int) -> Image.Image:
    image = _gradient((w, h), (120, 178, 230), (200, 228, 246))
    d = ImageDraw.Draw(image)
    horizon = h * 0.5
    d.rectangle((0, horizon, w, h), fill=(46, 110, 160))
    d.polygon(
        [(0, h * 0.42), (w * 0.45, h * 0.46), (w * 0.7, h * 0.62), (w * 0.62, h), (0, h)],
        fill=(96, 150, 70),
    )
    d.polygon([(w * 0.7, h * 0.62), (w * 0.62, h), (w * 0.68, h)], fill=(150, 130, 110))
    d.polygon(
        [(w * 0.05, h), (w * 0.2, h * 0.46), (w * 0.26, h * 0.46), (w * 0.45, h)],
        fill=(196, 178, 140),
    )
    for i in range(6):
        x = w * (0.5 - i * 0.06)
        d.rectangle(
            (x, h * (0.55 + i * 0.06), x + w * 0.008, h * (0.62 + i * 0.08)), fill=(110, 84, 60)
        )
    for gx, gy in ((0.6, 0.2), (0.66, 0.17), (0.8, 0.26)):
        x, y, s = w * gx, h * gy, w * 0.015
        d.line((x - s, y, x, y + s * 0.5, x + s, y), fill=(60, 60, 70), width=max(1, w // 500))
    return image


_LOCATION_PAINTERS = {
    "harbour_at_dusk": _harbour,
    "lighthouse_interior": _lighthouse_interior,
    "cliff_path": _cliff_path,
}


def location_image(name: str, size: tuple[int, int] = (1280, 720)) -> bytes:
    """Paint one of DEMO_LOCATIONS (matched by name, any case) as PNG bytes."""
    painter = _LOCATION_PAINTERS.get(_slug(name))
    if painter is None:
        names = ", ".join(loc.name for loc in DEMO_LOCATIONS)
        raise ValueError(f"Unknown demo location {name!r}; known: {names}")
    return _png(painter(*size))


def style_image(size: tuple[int, int] = (768, 768)) -> bytes:
    """A style reference for the demo project: palette swatches and an inked vignette."""
    w, h = size
    image = Image.new("RGB", size, (238, 230, 214))
    d = ImageDraw.Draw(image)
    rng = random.Random(11)
    palette = [
        (196, 48, 44),
        (70, 118, 62),
        (242, 196, 36),
        (44, 104, 196),
        (70, 52, 110),
        (244, 146, 76),
    ]
    # Loose brush bands across the top.
    for i, color in enumerate(palette):
        y = h * (0.05 + i * 0.045)
        pts = [(w * 0.06 + k * w * 0.11, y + rng.uniform(-4, 4) * h / 768) for k in range(9)]
        d.line(pts, fill=color, width=max(4, round(h * 0.03)), joint="curve")
    # An inked vignette: dusk sky, sea, a small figure on a quay.
    box = (w * 0.08, h * 0.36, w * 0.92, h * 0.92)
    bw, bh = int(box[2] - box[0]), int(box[3] - box[1])
    scene = _harbour(bw, bh)
    image.paste(scene, (int(box[0]), int(box[1])))
    d.rectangle(box, outline=(40, 34, 32), width=max(2, w // 200))
    fx, fy, fs = box[0] + bw * 0.3, box[1] + bh * 0.9, bh * 0.35
    d.polygon(
        [
            (fx - fs * 0.1, fy - fs * 0.75),
            (fx + fs * 0.1, fy - fs * 0.75),
            (fx + fs * 0.13, fy - fs * 0.25),
            (fx - fs * 0.13, fy - fs * 0.25),
        ],
        fill=(196, 48, 44),
        outline=(40, 34, 32),
    )
    d.ellipse(
        (fx - fs * 0.07, fy - fs * 0.95, fx + fs * 0.07, fy - fs * 0.78),
        fill=(232, 190, 160),
        outline=(40, 34, 32),
    )
    d.line(
        (fx - fs * 0.05, fy - fs * 0.25, fx - fs * 0.05, fy),
        fill=(44, 42, 48),
        width=max(2, round(fs * 0.05)),
    )
    d.line(
        (fx + fs * 0.05, fy - fs * 0.25, fx + fs * 0.05, fy),
        fill=(44, 42, 48),
        width=max(2, round(fs * 0.05)),
    )
    return _png(image)
