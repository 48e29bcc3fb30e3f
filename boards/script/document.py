"""The parsed script as plain data, shared by the Fountain and Final Draft readers."""

from __future__ import annotations

from dataclasses import dataclass, field


class ScriptError(Exception):
    """A script the import cannot read; the message says what and where, for the person."""

    def __init__(self, message: str, where: str = "") -> None:
        self.message = message
        self.where = where
        super().__init__(f"{message} ({where})" if where else message)


@dataclass(frozen=True)
class Speech:
    """One speaker's part of a dialogue block: the cue and the lines, parentheticals kept."""

    cue: str  # as written, without "@" or "^": "MARA (V.O.)"
    parts: tuple[str, ...]  # "(whispering)", "Keep the light on."


@dataclass(frozen=True)
class Element:
    """One block of the script in reading order.

    kind is one of: heading, action, dialogue, shot, transition, section,
    synopsis, page_break. Notes found inside the block ride along.
    """

    kind: str
    text: str = ""
    line: int = 0
    number: str = ""  # a scene heading's number ("12A")
    speeches: tuple[Speech, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class Scene:
    heading: str  # "" for the part before the first heading of a script that has none
    number: str
    line: int
    elements: list[Element] = field(default_factory=list)


@dataclass
class Script:
    title: str
    scenes: list[Scene]
    # True when the file had no scene heading at all: one board named after the file.
    headingless: bool = False


# A 2,000-scene script still imports; past that it is surely not one script.
MAX_SCENES = 2000


def group_scenes(elements: list[Element], title: str, unit: str = "line") -> Script:
    """Cut the elements into scenes at each heading; text before the first heading is its own scene."""
    scenes: list[Scene] = []
    current: Scene | None = None
    for element in elements:
        if element.kind == "heading":
            current = Scene(heading=element.text, number=element.number, line=element.line)
            scenes.append(current)
            if len(scenes) > MAX_SCENES:
                raise ScriptError(
                    f"The script has more than {MAX_SCENES:,} scenes; "
                    "split it into parts and import each.",
                    f"{unit} {element.line}" if element.line else "",
                )
            continue
        if current is None:
            if element.kind not in ("action", "dialogue", "shot"):
                continue  # FADE IN:, sections, synopses before any scene make no panels
            current = Scene(heading="", number="", line=element.line)
            scenes.append(current)
        current.elements.append(element)
    headingless = not any(e.kind == "heading" for e in elements)
    return Script(title=title, scenes=scenes, headingless=headingless)
