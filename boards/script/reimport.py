"""A revised script against the boards an earlier import made (plain data, no database).

Scenes find their board by scene key (number, else heading), then by
heading. Inside a board, panels find their beat by exact text where the
order agrees, then by similarity within the stretch between two exact
matches: unchanged panels are kept, similar ones are updated ("script
changed"), beats without a panel become new panels in place, and panels
whose beat is gone are flagged, never deleted. Panels typed by hand (no
script text) stay where they are.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from boards.script.breakdown import BoardPlan, PanelPlan
from boards.script.matching import name_key

# How alike a revised beat and an old panel must be to count as the same beat, changed.
SIMILAR = 0.6


@dataclass(frozen=True)
class OldPanel:
    id: int
    text: str  # the beat text it was made from; "" for a panel typed by hand


@dataclass(frozen=True)
class OldBoard:
    id: int
    name: str
    scene_key: str
    heading: str
    panels: tuple[OldPanel, ...]


@dataclass
class Step:
    """One slot of a board's new order: an old panel (kept/changed/gone/manual) or a new beat."""

    op: str  # "keep", "change", "new", "gone", "manual"
    panel_id: int | None = None
    beat: PanelPlan | None = None
    old_text: str = ""

    @property
    def label(self) -> str:
        return _LABELS[self.op]


_LABELS = {
    "keep": "kept",
    "change": "script changed",
    "new": "new",
    "gone": "cut",
    "manual": "drawn by hand",
}


@dataclass
class BoardDiff:
    plan: BoardPlan | None  # None: the scene is gone from the script
    board_id: int | None  # None: a new board
    name: str
    steps: list[Step] = field(default_factory=list)

    def count(self, op: str) -> int:
        return sum(1 for s in self.steps if s.op == op)

    # For the preview template, which cannot pass arguments.
    @property
    def kept(self) -> int:
        return self.count("keep")

    @property
    def changed(self) -> int:
        return self.count("change")

    @property
    def added(self) -> int:
        return self.count("new")

    @property
    def gone(self) -> int:
        return self.count("gone")

    @property
    def count_changes(self) -> int:
        return self.changed + self.added + self.gone


def _pair_scenes(old: list[OldBoard], new: list[BoardPlan]) -> dict[int, OldBoard]:
    """New scene index -> the old board it revises."""
    by_key = {b.scene_key: b for b in old}
    pairs: dict[int, OldBoard] = {}
    used: set[int] = set()
    for i, plan in enumerate(new):
        board = by_key.get(plan.scene_key)
        if board is not None and board.id not in used:
            pairs[i] = board
            used.add(board.id)
    for i, plan in enumerate(new):
        if i in pairs:
            continue
        heading = name_key(plan.heading)
        for board in old:
            if board.id not in used and heading and name_key(board.heading) == heading:
                pairs[i] = board
                used.add(board.id)
                break
    return pairs


def _similar(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < SIMILAR or matcher.quick_ratio() < SIMILAR:
        return 0.0
    return matcher.ratio()


def _align(old: list[OldPanel], beats: list[PanelPlan]) -> list[Step]:
    """Old script panels against the revised beats, in the revised order."""
    scripted = [p for p in old if p.text]
    matcher = difflib.SequenceMatcher(
        None, [p.text for p in scripted], [b.text for b in beats], autojunk=False
    )
    matched: dict[int, Step] = {}  # old panel id -> its step
    steps: list[Step] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for o, b in zip(scripted[i1:i2], beats[j1:j2], strict=True):
                step = Step("keep", o.id, b)
                matched[o.id] = step
                steps.append(step)
            continue
        candidates = scripted[i1:i2]
        floor = 0  # pairs keep their order
        for beat in beats[j1:j2]:
            best, best_score = None, SIMILAR
            for k in range(floor, len(candidates)):
                score = _similar(candidates[k].text, beat.text)
                if score >= best_score:
                    best, best_score = k, score
            if best is None:
                steps.append(Step("new", None, beat))
                continue
            chosen = candidates[best]
            step = Step("change", chosen.id, beat, old_text=chosen.text)
            matched[chosen.id] = step
            steps.append(step)
            floor = best + 1
    # Panels without a beat stay right after the old panel they followed.
    after: dict[int | None, list[Step]] = {}
    anchor: int | None = None
    for panel in old:
        if panel.id in matched:
            anchor = panel.id
            continue
        step = Step("gone" if panel.text else "manual", panel.id, old_text=panel.text)
        after.setdefault(anchor, []).append(step)
    ordered = list(after.get(None, []))
    for step in steps:
        ordered.append(step)
        if step.panel_id is not None:
            ordered.extend(after.get(step.panel_id, []))
    return ordered


def diff(old: list[OldBoard], new: list[BoardPlan]) -> list[BoardDiff]:
    """What a re-import does, board by board, in the revised script's order."""
    pairs = _pair_scenes(old, new)
    result: list[BoardDiff] = []
    for i, plan in enumerate(new):
        board = pairs.get(i)
        if board is None:
            steps = [Step("new", None, beat) for beat in plan.panels]
            result.append(BoardDiff(plan, None, plan.name, steps))
        else:
            result.append(
                BoardDiff(plan, board.id, board.name, _align(list(board.panels), plan.panels))
            )
    paired = {b.id for b in pairs.values()}
    for board in old:
        if board.id not in paired:
            steps = [
                Step("gone" if p.text else "manual", p.id, old_text=p.text) for p in board.panels
            ]
            result.append(BoardDiff(None, board.id, board.name, steps))
    return result
