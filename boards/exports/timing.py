"""How long each panel plays in an animatic, and the clocks that follow from it.

One set of rules for the browser player, the MP4, the SRT and the editor
timelines, so a board runs for the same time everywhere. Plain numbers in,
plain numbers out: no Django here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# A panel with no duration written plays this long: a beat a viewer can read.
DEFAULT_DURATION_S = Decimal("2")
# Shorter than a quarter second is a flash nobody sees; longer than a minute is
# almost always a typo (60 typed for 6). Both are clamped and reported.
MIN_DURATION_S = Decimal("0.25")
MAX_DURATION_S = Decimal("60")
FPS_CHOICES = (24, 25, 30)
HEIGHT_CHOICES = (720, 1080)


@dataclass(frozen=True)
class PanelTiming:
    """One panel's playing time and, when it differs from what was written, why."""

    seconds: Decimal
    note: str = ""


def panel_timing(shot: str, duration: float | Decimal | None) -> PanelTiming:
    """The seconds a panel plays: its duration, clamped to the allowed range."""
    if duration is None:
        return PanelTiming(
            DEFAULT_DURATION_S,
            f"Shot {shot} has no duration: played for {_secs(DEFAULT_DURATION_S)}.",
        )
    value = Decimal(str(duration))
    if value < MIN_DURATION_S:
        return PanelTiming(
            MIN_DURATION_S,
            f"Shot {shot} lasts {_secs(value)}, too short to see: played for {_secs(MIN_DURATION_S)}.",
        )
    if value > MAX_DURATION_S:
        return PanelTiming(
            MAX_DURATION_S,
            f"Shot {shot} lasts {_secs(value)}, longer than the {_secs(MAX_DURATION_S)} "
            f"a panel may hold: played for {_secs(MAX_DURATION_S)}.",
        )
    return PanelTiming(value)


def _secs(value: Decimal) -> str:
    return f"{value.normalize():f} s"


def frames_for(seconds: Decimal, fps: int) -> int:
    """round(seconds x fps), halves rounded up, and never less than one frame."""
    return max(1, int((seconds * fps).to_integral_value(rounding=ROUND_HALF_UP)))


def frame_counts(timings: Sequence[PanelTiming], fps: int) -> list[int]:
    """Frames per panel at fps."""
    return [frames_for(t.seconds, fps) for t in timings]


def running_time(timings: Iterable[PanelTiming]) -> Decimal:
    """Seconds the whole board plays."""
    return sum((t.seconds for t in timings), Decimal(0))


def format_running_time(seconds: float | Decimal) -> str:
    """Clock time as people read it: 0:07, 1:23.5, 1:02:05."""
    tenths = int((Decimal(str(seconds)) * 10).to_integral_value(rounding=ROUND_HALF_UP))
    whole, tenth = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{tenth}" if tenth else text


def timecode(frame: int, fps: int) -> str:
    """Non-drop-frame SMPTE timecode HH:MM:SS:FF for a frame number."""
    secs, ff = divmod(frame, fps)
    mins, ss = divmod(secs, 60)
    hh, mm = divmod(mins, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d}:{ff:02d}"


def srt_time(frame: int, fps: int) -> str:
    """SubRip time HH:MM:SS,mmm of a frame boundary."""
    ms = (frame * 1000 * 2 + fps) // (2 * fps)  # rounded to the nearest millisecond
    secs, milli = divmod(ms, 1000)
    mins, ss = divmod(secs, 60)
    hh, mm = divmod(mins, 60)
    return f"{hh:02d}:{mm:02d}:{ss:02d},{milli:03d}"
