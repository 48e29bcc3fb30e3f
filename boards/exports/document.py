"""Plain input types for board exports.

The renderers never touch Django models: an adapter builds these frozen
records from the database, which keeps rendering testable without one and
lets a background task hand a finished snapshot to the renderer.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO, Literal

from .timing import panel_timing, running_time

BoardKind = Literal["storyboard", "comic"]
Paper = Literal["a4", "letter"]
Orientation = Literal["portrait", "landscape"]

# Opens an image named in a record for reading. Files are read as bytes
# through this, never by path, so they may live in object storage.
Opener = Callable[[str], BinaryIO]


def open_local(name: str) -> BinaryIO:
    """The opener for records whose image names are local file paths."""
    return open(name, "rb")


EMPTY_BOARD_MESSAGE = "This board has no panels yet: add panels before exporting."


class EmptyBoardError(ValueError):
    """Raised when a board without panels is exported."""

    def __init__(self, message: str = EMPTY_BOARD_MESSAGE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class ExportPanel:
    """One panel as printed: texts, display labels and the selected take's image file."""

    shot: str
    position: int
    action: str = ""
    dialogue: str = ""
    notes: str = ""
    shot_type: str = ""
    camera_angle: str = ""
    duration_s: float | None = None
    location: str = ""
    cast: tuple[str, ...] = ()
    # The take's storage name, read through the board's opener (bytes, never a path).
    image_name: str | None = None
    image_sha256: str | None = None
    # The point of the picture (fractions of width and height) that stays in
    # view when a comic frame crops it.
    focus: tuple[float, float] = (0.5, 0.5)
    # Anything else the manifest should carry (take id, seed, backend...).
    extra: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    # The approval status (draft, in_review, changes, approved), its label as
    # people read it, and the open threads; filled only when the export asked
    # to print them.
    review_status: str = ""
    review_label: str = ""
    open_comments: int = 0

    @property
    def review_line(self) -> str:
        """ "Approved · 2 open comments", as printed with the panel ("" if not gathered)."""
        if not self.review_label:
            return ""
        n = self.open_comments
        comments = f"{n} open comment{'s' if n != 1 else ''}" if n else "no open comments"
        return f"{self.review_label} \u00b7 {comments}"


@dataclass(frozen=True)
class ExportCastMember:
    """A character for the cast sheet: canonical appearance text and reference images."""

    name: str
    appearance: str = ""
    image_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExportBoard:
    """A snapshot of a board, its panels in order and the cast that appears in it."""

    project: str
    board: str
    kind: BoardKind
    aspect_ratio: float
    aspect_label: str
    date: datetime.date
    panels: tuple[ExportPanel, ...]
    cast: tuple[ExportCastMember, ...] = ()
    opener: Opener = field(default=open_local, compare=False, repr=False)

    @property
    def running_time(self) -> Decimal:
        """Seconds the board plays as an animatic (durations clamped as the player does)."""
        return running_time([panel_timing(p.shot, p.duration_s) for p in self.panels])

    @property
    def approval_line(self) -> str:
        """ "7 of 10 approved", as the board page's review bar says it."""
        approved = sum(1 for p in self.panels if p.review_status == "approved")
        return f"{approved} of {len(self.panels)} approved"

    @property
    def panel_word(self) -> str:
        """What the board calls a panel: "Panel" on comics, "Shot" on storyboards."""
        return "Panel" if self.kind == "comic" else "Shot"

    def __post_init__(self) -> None:
        if self.kind not in ("storyboard", "comic"):
            raise ValueError(f"Unknown board kind {self.kind!r}.")
        if not self.aspect_ratio > 0:
            raise ValueError("The aspect ratio must be a positive number (width / height).")


@dataclass(frozen=True)
class ExportOptions:
    """What the person asked for on the export form."""

    layout: str = "3x2"
    paper: Paper = "a4"
    orientation: Orientation = "landscape"
    cover: bool = False
    cast_sheet: bool = False
    # Print each panel's approval status and open-comment count, and the
    # board's "n of N approved" in the header.
    review_status: bool = False

    def __post_init__(self) -> None:
        if self.paper not in ("a4", "letter"):
            raise ValueError(f"Unknown paper size {self.paper!r}: use 'a4' or 'letter'.")
        if self.orientation not in ("portrait", "landscape"):
            raise ValueError(
                f"Unknown orientation {self.orientation!r}: use 'portrait' or 'landscape'."
            )


def require_panels(board: ExportBoard) -> None:
    """Refuse to export a board that has nothing to print."""
    if not board.panels:
        raise EmptyBoardError()
