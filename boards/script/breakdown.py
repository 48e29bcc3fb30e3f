"""A parsed script to the boards and panels it proposes (plain data, no database).

Default: one board per scene named "<number> <heading>", one panel per action
paragraph and one per dialogue block (dual dialogue is one panel). Options:
dialogue merged into the preceding action panel; one board for the whole
script with scenes as groups of panels.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from boards.script.document import Element, Script
from boards.script.matching import cue_label, name_key, split_heading

BOARD_NAME_MAX = 200

# Shot words a script may open a paragraph or a Shot element with; first match wins.
_SHOTS: tuple[tuple[str, str, str], ...] = (
    (r"(?:EXTREME|EXT\.?)\s+CLOSE[\s-]*(?:UP|ON)|ECU|XCU", "ecu", ""),
    (r"MEDIUM\s+CLOSE[\s-]*(?:UP|ON)|MCU", "mcu", ""),
    (r"CLOSE[\s-]*(?:UP|ON)|CU|CLOSER(?:\s+ON)?", "cu", ""),
    (r"EXTREME\s+WIDE(?:\s+SHOT)?|EWS|ESTABLISHING(?:\s+SHOT)?", "ews", ""),
    (r"WIDE(?:\s+(?:SHOT|ON|ANGLE))?|WS|LONG\s+SHOT", "ws", ""),
    (r"FULL\s+SHOT", "fs", ""),
    (r"MEDIUM(?:\s+SHOT)?|MED\.?\s+SHOT|TWO[\s-]+SHOT", "ms", ""),
    (r"INSERT(?:\s+SHOT)?", "insert", ""),
    (r"ANGLE\s+ON", "ms", ""),
    (r"OVER\s+THE\s+SHOULDER|OTS", "", "ots"),
    (r"HIGH\s+ANGLE", "", "high"),
    (r"LOW\s+ANGLE", "", "low"),
    (r"OVERHEAD(?:\s+SHOT)?", "", "overhead"),
)
_SHOT_START = [(re.compile(rf"^(?:{p})\b", re.IGNORECASE), s, a) for p, s, a in _SHOTS]
_POV = re.compile(r"\bP\.?O\.?V\.?(?![\w])")


@dataclass
class PanelPlan:
    action: str = ""
    dialogue: str = ""
    notes: str = ""
    shot_type: str = ""  # "" keeps the panel default
    camera_angle: str = ""
    speakers: list[str] = field(default_factory=list)  # cues as written
    place: str = ""  # the scene heading's place, for the location
    line: int = 0
    key: str = ""
    scene_index: int = 0
    scene: str = ""  # the scene's name when every scene shares one board

    @property
    def text(self) -> str:
        """The beat's text as a re-import compares it."""
        return "\n".join(t for t in (self.action, self.dialogue) if t)


@dataclass
class BoardPlan:
    name: str
    scene_key: str
    heading: str
    line: int
    panels: list[PanelPlan] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    merge_dialogue: bool = False
    single_board: str = ""  # a board name: everything goes on one board


def shot_from(text: str) -> tuple[str, str]:
    """(shot type, camera angle) a paragraph's opening words ask for; "" where silent."""
    first = text.strip().split("\n", 1)[0]
    shot, angle = "", ""
    for pattern, s, a in _SHOT_START:
        if pattern.match(first):
            shot, angle = s, a
            break
    if _POV.search(first.upper()):
        angle = "pov"
    return shot, angle


def _is_shot_line(element: Element) -> bool:
    """A one-line capitalised shot direction ("CLOSE ON THE LAMP.") that frames what follows."""
    if element.kind == "shot":
        return True
    text = element.text.strip()
    return (
        element.kind == "action"
        and "\n" not in text
        and text == text.upper()
        and len(text) <= 80
        and any(shot_from(text))
    )


def dialogue_text(element: Element) -> str:
    """ "NAME: (parenthetical) line" per speaker, one speaker a line."""
    return "\n".join(f"{cue_label(s.cue)}: {' '.join(s.parts)}".rstrip() for s in element.speeches)


def scene_name(number: str, heading: str, fallback: str) -> str:
    name = " ".join(p for p in (number, heading) if p) or fallback
    return name[:BOARD_NAME_MAX]


def _beat_key(text: str, seen: Counter[str]) -> str:
    digest = hashlib.sha256(" ".join(text.split()).casefold().encode()).hexdigest()[:16]
    seen[digest] += 1
    return f"{digest}:{seen[digest]}"[:80]


def _scene_panels(
    elements: list[Element], place: str, time: str, options: Options
) -> list[PanelPlan]:
    panels: list[PanelPlan] = []
    pending_shot: Element | None = None
    for element in elements:
        if element.kind not in ("action", "dialogue", "shot"):
            continue
        if _is_shot_line(element):
            if pending_shot is not None:
                panels.append(_action_panel(pending_shot, None))
            pending_shot = element
            continue
        notes = list(element.notes)
        if element.kind == "action":
            panel = _action_panel(element, pending_shot)
        else:
            last = panels[-1] if panels else None
            if (
                options.merge_dialogue
                and pending_shot is None
                and last is not None
                and last.action
                and not last.dialogue
            ):
                last.dialogue = dialogue_text(element)
                last.speakers = [s.cue for s in element.speeches]
                last.notes = "\n".join(filter(None, [last.notes, *notes]))
                continue
            panel = PanelPlan(
                dialogue=dialogue_text(element),
                speakers=[s.cue for s in element.speeches],
                line=element.line,
            )
            if pending_shot is not None:
                panel.action = pending_shot.text.strip()
                panel.shot_type, panel.camera_angle = shot_from(pending_shot.text)
            panel.notes = "\n".join(notes)
        pending_shot = None
        panels.append(panel)
    if pending_shot is not None:
        panels.append(_action_panel(pending_shot, None))
    for panel in panels:
        panel.place = place
        if time:
            panel.notes = "\n".join(filter(None, [f"Time of day: {time}", panel.notes]))
    return panels


def _action_panel(element: Element, shot: Element | None) -> PanelPlan:
    text = element.text.strip()
    if shot is not None:
        text = f"{shot.text.strip()}\n{text}"
    shot_type, angle = shot_from(text)
    return PanelPlan(
        action=text,
        shot_type=shot_type,
        camera_angle=angle,
        notes="\n".join(element.notes),
        line=element.line,
    )


def scene_keys(script: Script) -> list[str]:
    """A key per scene that survives revisions: its number, else its heading and occurrence."""
    seen: Counter[str] = Counter()
    keys = []
    for scene in script.scenes:
        base = f"#{scene.number}" if scene.number else name_key(scene.heading) or "(opening)"
        seen[base] += 1
        keys.append(base if seen[base] == 1 else f"{base}@{seen[base]}")
    return keys


def plan(
    script: Script,
    *,
    file_name: str,
    options: Options = Options(),
    progress: Callable[[int, int], None] | None = None,
) -> list[BoardPlan]:
    """The boards (with panels) the script makes under these options; `progress` hears
    (scenes done, scenes) as it goes."""
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "Script"
    boards: list[BoardPlan] = []
    for index, (scene, key) in enumerate(zip(script.scenes, scene_keys(script), strict=True)):
        place, time = split_heading(scene.heading) if scene.heading else ("", "")
        fallback = stem if script.headingless else f"{stem}: opening"
        name = scene_name(scene.number, scene.heading, fallback)
        panels = _scene_panels(scene.elements, place, time, options)
        for panel in panels:
            panel.scene_index = index
        boards.append(
            BoardPlan(
                name=name, scene_key=key, heading=scene.heading, line=scene.line, panels=panels
            )
        )
        if progress is not None:
            progress(index + 1, len(script.scenes))
    if options.single_board:
        boards = [_single(boards, options.single_board)]
    for board in boards:
        seen: Counter[str] = Counter()
        for panel in board.panels:
            panel.key = _beat_key(panel.text, seen)
    return boards


def _single(boards: list[BoardPlan], name: str) -> BoardPlan:
    """All scenes on one board, each panel naming its scene (the board's panel groups)."""
    single = BoardPlan(name=name.strip()[:BOARD_NAME_MAX], scene_key="*", heading="", line=1)
    for board in boards:
        for panel in board.panels:
            panel.scene = board.name
        single.panels.extend(board.panels)
    return single
