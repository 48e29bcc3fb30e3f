"""Animatic frames: each panel as one still at video size, and the plan that times them.

The MP4 writer (video.py) and the editor timelines (timeline.py) share what
is here: which frames each panel covers, the still shown for it (the
selected take letterboxed on black, or a placeholder card), the burned-in
captions and the SRT. Images arrive as bytes through a loader the caller
passes in, so the renderers never touch a storage path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

from .document import ExportBoard, ExportPanel, Opener, require_panels
from .fonts import FACE_FILES, find_font_dir, get_fonts
from .images import _flatten
from .timing import (
    FPS_CHOICES,
    HEIGHT_CHOICES,
    PanelTiming,
    frame_counts,
    panel_timing,
    srt_time,
)

NO_TAKES_MESSAGE = (
    "No panel on this board has a picture yet, so there is nothing to play. "
    "Generate the board, or upload a take for some panels, then export again."
)
# Boards wider than 4:1 or taller than 1:4 are framed at that limit (with bars)
# rather than asking the encoder for a picture players refuse.
MAX_RATIO = 4.0
BLACK = (0, 0, 0)
CARD = (236, 236, 240)
CARD_EDGE = (160, 160, 168)
CARD_INK = (60, 60, 66)
CAPTION_BOX = (0, 0, 0, 170)


class NoTakesError(ValueError):
    """Raised when a board has panels but none has a selected take."""

    def __init__(self, message: str = NO_TAKES_MESSAGE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class AnimaticOptions:
    """What the person asked for: frame rate, frame height, captions burned in or not."""

    fps: int = 24
    height: int = 1080
    captions: bool = False

    def __post_init__(self) -> None:
        if self.fps not in FPS_CHOICES:
            raise ValueError(f"Unknown frame rate {self.fps}: use 24, 25 or 30.")
        if self.height not in HEIGHT_CHOICES:
            raise ValueError(f"Unknown frame size {self.height}: use 720 or 1080.")


@dataclass(frozen=True)
class Shot:
    """One panel on the timeline: where it starts and how many frames it holds."""

    panel: ExportPanel
    timing: PanelTiming
    start: int
    frames: int

    @property
    def end(self) -> int:
        return self.start + self.frames


@dataclass(frozen=True)
class AnimaticPlan:
    """The board as a timeline at one frame rate, with what was changed to make it play."""

    shots: tuple[Shot, ...]
    fps: int
    size: tuple[int, int]
    notes: tuple[str, ...]

    @property
    def total_frames(self) -> int:
        return self.shots[-1].end if self.shots else 0


def frame_size(aspect_ratio: float, height: int) -> tuple[int, int]:
    """Width and height of the video: the board's shape at this height, both even.

    yuv420p halves the colour planes, so odd sides are refused by the encoder.
    """
    ratio = min(MAX_RATIO, max(1 / MAX_RATIO, aspect_ratio))
    width = 2 * max(1, round(height * ratio / 2))
    return width, height - height % 2


def plan_animatic(board: ExportBoard, options: AnimaticOptions) -> AnimaticPlan:
    """Time every panel at the options' frame rate; refuse a board with nothing to show."""
    require_panels(board)
    if not any(p.image_name for p in board.panels):
        raise NoTakesError()
    timings = [panel_timing(p.shot, p.duration_s) for p in board.panels]
    counts = frame_counts(timings, options.fps)
    shots, start = [], 0
    for panel, timing, frames in zip(board.panels, timings, counts, strict=True):
        shots.append(Shot(panel, timing, start, frames))
        start += frames
    notes = [t.note for t in timings if t.note]
    if aspect_clamped(board.aspect_ratio):
        notes.append(
            f"The board's shape ({board.aspect_label}) is wider or taller than video players "
            "accept: the frame is 4:1 at most, with bars."
        )
    return AnimaticPlan(
        shots=tuple(shots),
        fps=options.fps,
        size=frame_size(board.aspect_ratio, options.height),
        notes=tuple(notes),
    )


def aspect_clamped(ratio: float) -> bool:
    return not (1 / MAX_RATIO <= ratio <= MAX_RATIO)


def fit_box(src: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """x, y, width, height of src scaled to fit inside size, centred; never stretched."""
    scale = min(size[0] / src[0], size[1] / src[1])
    w = max(1, min(size[0], round(src[0] * scale)))
    h = max(1, min(size[1], round(src[1] * scale)))
    return (size[0] - w) // 2, (size[1] - h) // 2, w, h


class FrameRenderer:
    """Draws the still for each panel at one video size, captions optional."""

    def __init__(self, size: tuple[int, int], load: Opener) -> None:
        self.size = size
        self.load = load
        self.fonts = get_fonts()
        self._faces: dict[tuple[str, int], ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}
        self.missing: list[str] = []
        self._card: Image.Image | None = None

    def still(self, panel: ExportPanel, *, captions: bool) -> Image.Image:
        """The RGB frame for a panel: its take letterboxed on black, or a placeholder card."""
        frame = self._picture(panel) if panel.image_name else None
        if frame is None:
            frame = self._placeholder(panel)
        if captions:
            self._captions(frame, panel)
        return frame

    def _picture(self, panel: ExportPanel) -> Image.Image | None:
        assert panel.image_name
        try:
            with self.load(panel.image_name) as fh:
                data = fh.read()
            with Image.open(io.BytesIO(data)) as img:
                if img.format == "JPEG":
                    # Decode at 1/2, 1/4 or 1/8 scale when the frame is that much smaller.
                    img.draft("RGB", self.size)
                picture = _flatten(ImageOps.exif_transpose(img))
                picture = picture.convert("RGB")
        except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
            self.missing.append(panel.shot)
            return None
        x, y, w, h = fit_box(picture.size, self.size)
        if picture.size != (w, h):
            picture = picture.resize((w, h), Image.Resampling.BICUBIC, reducing_gap=2.0)
        if picture.size == self.size:
            return picture
        frame = Image.new("RGB", self.size, BLACK)
        frame.paste(picture, (x, y))
        return frame

    def _placeholder(self, panel: ExportPanel) -> Image.Image:
        if self._card is None:
            self._card = self._blank_card()
        w, h = self.size
        frame = self._card.copy()
        draw = ImageDraw.Draw(frame)
        title = self._face("bold", h // 12)
        body = self._face("regular", h // 28)
        label = "Image missing" if panel.shot in self.missing else "Not generated yet"
        shot = self.fonts.clean(panel.shot, self.fonts.bold)
        draw.text((w / 2, h / 2 - h // 24), f"Shot {shot}", fill=CARD_INK, font=title, anchor="ms")
        draw.text((w / 2, h / 2 + h // 24), label, fill=CARD_INK, font=body, anchor="mt")
        return frame

    def _blank_card(self) -> Image.Image:
        """The placeholder's tinted card with its dashed edge, drawn once per export."""
        w, h = self.size
        frame = Image.new("RGB", self.size, CARD)
        draw = ImageDraw.Draw(frame)
        inset = max(4, h // 30)
        dash, gap = max(6, h // 60), max(4, h // 90)
        edge = max(2, h // 360)
        for x in range(inset, w - inset, dash + gap):
            x2 = min(x + dash, w - inset)
            draw.line([(x, inset), (x2, inset)], fill=CARD_EDGE, width=edge)
            draw.line([(x, h - inset), (x2, h - inset)], fill=CARD_EDGE, width=edge)
        for y in range(inset, h - inset, dash + gap):
            y2 = min(y + dash, h - inset)
            draw.line([(inset, y), (inset, y2)], fill=CARD_EDGE, width=edge)
            draw.line([(w - inset, y), (w - inset, y2)], fill=CARD_EDGE, width=edge)
        return frame

    def _captions(self, frame: Image.Image, panel: ExportPanel) -> None:
        w, h = frame.size
        overlay = Image.new("RGBA", frame.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        pad = max(6, h // 60)
        shot_font = self._face("bold", max(12, h // 24))
        label = f"SHOT {self.fonts.clean(panel.shot, self.fonts.bold)}"
        corner = (pad * 3, pad * 3)
        box = draw.textbbox(corner, label, font=shot_font)
        draw.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), fill=CAPTION_BOX)
        draw.text(corner, label, fill=(255, 255, 255, 255), font=shot_font)
        if panel.dialogue.strip():
            self._dialogue(draw, panel.dialogue, w, h, pad)
        frame.paste(Image.alpha_composite(frame.convert("RGBA"), overlay).convert("RGB"))

    def _dialogue(self, draw: ImageDraw.ImageDraw, text: str, w: int, h: int, pad: int) -> None:
        text = " ".join(self.fonts.clean(text, self.fonts.regular).split())
        max_width = w * 0.84
        size = max(12, h // 18)
        lines = _wrap(draw, text, self._face("regular", size), max_width)
        # Long speeches shrink to a readable minimum, then show their first lines.
        while len(lines) > 3 and size > max(10, h // 32):
            size -= 2
            lines = _wrap(draw, text, self._face("regular", size), max_width)
        font = self._face("regular", size)
        if len(lines) > 4:
            lines = [*lines[:3], _ellipsis(draw, lines[3], font, max_width)]
        line_h = round(size * 1.25)
        top = h - pad * 3 - line_h * len(lines)
        widest = max(draw.textlength(line, font=font) for line in lines)
        draw.rectangle(
            ((w - widest) / 2 - pad * 2, top - pad, (w + widest) / 2 + pad * 2, h - pad * 2),
            fill=CAPTION_BOX,
        )
        for i, line in enumerate(lines):
            draw.text(
                (w / 2, top + i * line_h), line, fill=(255, 255, 255, 255), font=font, anchor="ma"
            )

    def _face(self, role: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        key = (role, size)
        if key not in self._faces:
            folder = find_font_dir()
            if folder is not None:
                self._faces[key] = ImageFont.truetype(str(folder / FACE_FILES[role]), size)
            else:
                self._faces[key] = ImageFont.load_default(size)
        return self._faces[key]


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines or [""]


def _ellipsis(draw: ImageDraw.ImageDraw, line: str, font, max_width: float) -> str:
    while line and draw.textlength(line + "\u2026", font=font) > max_width:
        line = line[:-1]
    return line + "\u2026"


def render_srt(plan: AnimaticPlan) -> str:
    """SubRip captions: each panel's dialogue from its first frame to its last."""
    cues: list[str] = []
    for shot in plan.shots:
        # A blank line ends a cue in SRT, so paragraphs inside one line of dialogue join up.
        lines = [line.strip() for line in shot.panel.dialogue.splitlines() if line.strip()]
        if not lines:
            continue
        times = f"{srt_time(shot.start, plan.fps)} --> {srt_time(shot.end, plan.fps)}"
        cues.append(f"{len(cues) + 1}\n{times}\n" + "\n".join(lines) + "\n")
    return "\n".join(cues)
