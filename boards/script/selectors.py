"""Reads for script import: the project's bible for matching, the boards a script made, the preview."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from boards.models import Board, Panel
from boards.script import breakdown, reimport
from boards.script.breakdown import BoardPlan, Options
from boards.script.document import Script
from boards.script.matching import Bible, Person, Place, cue_label, name_key
from boards.script.read import read
from characters.models import Character, Location
from studio.models import Project

NEW = "new"  # a choice: create this character or location on import


def bible_for(project: Project) -> Bible:
    """The project's characters (with aliases) and locations, indexed for matching."""
    people = [
        Person(pk, name, tuple(a.strip() for a in aliases.split(",") if a.strip()))
        for pk, name, aliases in Character.objects.filter(project=project).values_list(
            "pk", "name", "aliases"
        )
    ]
    places = [
        Place(pk, name)
        for pk, name in Location.objects.filter(project=project).values_list("pk", "name")
    ]
    return Bible(people, places)


def script_boards(project: Project) -> list[reimport.OldBoard]:
    """Boards an earlier import made, with their panels in order (two queries)."""
    boards = [
        (pk, name, script)
        for pk, name, script in Board.objects.filter(project=project).values_list(
            "pk", "name", "script"
        )
        if script
    ]
    boards.sort(key=lambda b: (b[2].get("order", 0), b[0]))
    panels: dict[int, list[reimport.OldPanel]] = {pk: [] for pk, _, _ in boards}
    rows = (
        Panel.objects.filter(board__project=project)
        .order_by("board_id", "position")
        .values_list("pk", "board_id", "script_text")
    )
    for pk, board_id, text in rows:
        if board_id in panels:
            panels[board_id].append(reimport.OldPanel(pk, text))
    return [
        reimport.OldBoard(
            pk,
            name,
            str(script.get("scene", "")),
            str(script.get("heading", "")),
            tuple(panels[pk]),
        )
        for pk, name, script in boards
    ]


@dataclass
class NameRow:
    """One cue or place in the preview: how the script writes it and what it matched."""

    key: str
    label: str
    count: int
    match: int | None
    choice: str = ""  # what the preview's select shows: an id, NEW, or "" for none


@dataclass
class Preview:
    script: Script
    boards: list[BoardPlan]
    options: Options
    cues: list[NameRow]
    places: list[NameRow]
    diff: list[reimport.BoardDiff] | None = None  # set when revising earlier boards
    panel_count: int = 0
    extra: dict = field(default_factory=dict)


def script_preview(
    *,
    project: Project,
    data: bytes,
    name: str,
    options: Options,
    revise: bool,
    progress: Callable[[str, int, int], None] | None = None,
) -> Preview:
    """What importing this file would make, with every name's match; saves nothing.

    Raises ScriptError for a file it cannot read. `progress` hears
    ("breakdown", scenes done, scenes) once the file is read.
    """
    script = read(data, name)
    step = None if progress is None else partial(progress, "breakdown")
    boards = breakdown.plan(script, file_name=name, options=options, progress=step)
    bible = bible_for(project)
    cue_counts: Counter[str] = Counter()
    cue_labels: dict[str, str] = {}
    place_counts: Counter[str] = Counter()
    place_labels: dict[str, str] = {}
    for board in boards:
        for panel in board.panels:
            for cue in panel.speakers:
                key = name_key(cue)
                if key:
                    cue_counts[key] += 1
                    cue_labels.setdefault(key, name_key_label(cue))
            if panel.place:
                key = name_key(panel.place)
                place_counts[key] += 1
                place_labels.setdefault(key, panel.place)
    cues = [
        NameRow(k, cue_labels[k], n, bible.character_for(cue_labels[k]))
        for k, n in sorted(cue_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    places = [
        NameRow(k, place_labels[k], n, bible.location_for(place_labels[k]))
        for k, n in sorted(place_counts.items(), key=lambda kv: kv[0])
    ]
    preview = Preview(script, boards, options, cues, places)
    preview.panel_count = sum(len(b.panels) for b in boards)
    if revise:
        preview.diff = reimport.diff(script_boards(project), boards)
    return preview


def name_key_label(cue: str) -> str:
    """A cue as the preview lists it: the name without extensions ("MARA" for "MARA (V.O.)")."""
    label = cue_label(cue).split("(", 1)[0].strip()
    return label or cue
