"""Writes for script import: a previewed script saved as boards, or applied to the boards it made.

Everything happens in one transaction with bulk inserts, so the number of
queries grows with scenes and new names, not with beats.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Case, DateTimeField, Value, When

from boards.models import Board, CastMember, Panel
from boards.script.breakdown import BoardPlan, PanelPlan
from boards.script.matching import Bible, name_key
from boards.script.selectors import NEW, Preview, bible_for, script_boards
from boards.services import _SHADOW, _renumber
from characters.models import Character, Location
from characters.services import character_create
from studio.models import Project

# Rows per INSERT: PostgreSQL takes 65,535 parameters a statement (a panel has 17).
# SQLite's 999-parameter cap makes Django cut smaller batches there anyway.
_BATCH = 2000

Choice = int | str | None  # a character/location id, NEW, or None for "no one"


@dataclass
class BoardLine:
    """One board as the import reports it."""

    name: str
    panels: int
    cast: list[str]
    locations: list[str]
    kept: int = 0
    changed: int = 0
    new: int = 0
    gone: int = 0
    created: bool = True


@dataclass
class ImportResult:
    boards: list[BoardLine] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)  # names that found a character/location
    unmatched: list[str] = field(default_factory=list)
    created_characters: list[str] = field(default_factory=list)
    created_locations: list[str] = field(default_factory=list)
    board_ids: list[int] = field(default_factory=list)

    @property
    def panel_count(self) -> int:
        return sum(b.panels for b in self.boards)


def _display(name: str) -> str:
    """A character or location name from a script's capitals: "MARA" -> "Mara"."""
    return string.capwords(name) if name == name.upper() else name


class _Resolver:
    """Names of one import to ids, the person's choices first, then the bible."""

    def __init__(self, bible: Bible, cues: dict[str, Choice], places: dict[str, Choice]):
        self.bible, self.cues, self.places = bible, cues, places

    def cast(self, panel: PanelPlan) -> list[int]:
        ids: list[int] = []
        for cue in panel.speakers:
            key = name_key(cue)
            chosen = self.cues.get(key, self.bible.character_for(cue))
            if isinstance(chosen, int) and chosen not in ids:
                ids.append(chosen)
        for pk in self.bible.mentioned(panel.action):
            if pk not in ids:
                ids.append(pk)
        return ids

    def location(self, panel: PanelPlan) -> int | None:
        if not panel.place:
            return None
        chosen = self.places.get(name_key(panel.place), self.bible.location_for(panel.place))
        return chosen if isinstance(chosen, int) else None


def _create_missing(
    project: Project,
    preview: Preview,
    cues: dict[str, Choice],
    places: dict[str, Choice],
    result: ImportResult,
) -> None:
    """Create the characters and locations chosen as "create", pointing the choices at them."""
    names = {c.name.casefold(): c.pk for c in Character.objects.filter(project=project)}
    for row in preview.cues:
        if cues.get(row.key) == NEW:
            label = _display(row.label)
            pk = names.get(label.casefold())
            if pk is None:
                pk = character_create(project=project, name=label).pk
                result.created_characters.append(label)
            cues[row.key] = pk
    places_by_name = {
        loc.name.casefold(): loc.pk for loc in Location.objects.filter(project=project)
    }
    for row in preview.places:
        if places.get(row.key) == NEW:
            label = _display(row.label)[:120]
            pk = places_by_name.get(label.casefold())
            if pk is None:
                pk = Location.objects.create(project=project, name=label).pk
                result.created_locations.append(label)
            places[row.key] = pk


def _panel(board_id: int, position: int, beat: PanelPlan, location_id: int | None) -> Panel:
    panel = Panel(
        board_id=board_id,
        position=position,
        action=beat.action,
        dialogue=beat.dialogue,
        notes=beat.notes,
        location_id=location_id,
        script_key=beat.key,
        script_text=beat.text,
    )
    if beat.shot_type:
        panel.shot_type = beat.shot_type
    if beat.camera_angle:
        panel.camera_angle = beat.camera_angle
    return panel


def _names(ids: list[int], table: dict[int, str]) -> list[str]:
    return [table[i] for i in ids if i in table]


def script_import(
    *,
    project: Project,
    preview: Preview,
    file_name: str,
    characters: dict[str, Choice] | None = None,
    locations: dict[str, Choice] | None = None,
    create_missing: bool = False,
    dry_run: bool = False,
) -> ImportResult:
    """Save a previewed script: new boards, or (preview with a diff) the revision of earlier ones.

    `characters` / `locations` map a name key to an id, NEW or None and win
    over the automatic match; `create_missing` creates every unmatched name.
    With `dry_run` everything is done and rolled back, so the report is exact.
    """
    cues = dict(characters or {})
    places = dict(locations or {})
    if create_missing:
        for row in preview.cues:
            if row.key not in cues and row.match is None:
                cues[row.key] = NEW
        for row in preview.places:
            if row.key not in places and row.match is None:
                places[row.key] = NEW
    result = ImportResult()
    try:
        with transaction.atomic():
            _create_missing(project, preview, cues, places, result)
            bible = bible_for(project)
            resolver = _Resolver(bible, cues, places)
            if preview.diff is None:
                _create_boards(project, preview.boards, file_name, resolver, result)
            else:
                _revise(project, preview, file_name, resolver, result)
            _count_names(preview, resolver, result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result


class _DryRun(Exception):
    """Rolls a dry run's transaction back."""


def _count_names(preview: Preview, resolver: _Resolver, result: ImportResult) -> None:
    for row in preview.cues:
        found = resolver.cues.get(row.key, resolver.bible.character_for(row.label))
        (result.matched if isinstance(found, int) else result.unmatched).append(row.label)
    for row in preview.places:
        found = resolver.places.get(row.key, resolver.bible.location_for(row.label))
        (result.matched if isinstance(found, int) else result.unmatched).append(row.label)


def _create_boards(
    project: Project,
    plans: list[BoardPlan],
    file_name: str,
    resolver: _Resolver,
    result: ImportResult,
    orders: list[int] | None = None,
) -> None:
    boards = [
        Board(
            project=project,
            name=plan.name,
            script={
                "source": file_name[-200:],
                "scene": plan.scene_key,
                "heading": plan.heading,
                "order": orders[i] if orders else i,
            },
        )
        for i, plan in enumerate(plans)
    ]
    Board.objects.bulk_create(boards)
    _in_script_order(boards)
    panels: list[Panel] = []
    casts: list[list[int]] = []
    for board, plan in zip(boards, plans, strict=True):
        for position, beat in enumerate(plan.panels):
            panels.append(_panel(board.pk, position, beat, resolver.location(beat)))
            casts.append(resolver.cast(beat))
    Panel.objects.bulk_create(panels, batch_size=_BATCH)
    _bulk_cast(panels, casts)
    _report_boards(boards, plans, panels, casts, resolver, result)
    result.board_ids.extend(b.pk for b in boards)


def _in_script_order(boards: list[Board]) -> None:
    """Space the boards' `updated` a microsecond apart, first scene newest.

    Project pages list boards most recently changed first; one UPDATE makes
    a fresh import read in script order there.
    """
    if len(boards) < 2:
        return
    newest = max(b.updated for b in boards)
    Board.objects.filter(pk__in=[b.pk for b in boards]).update(
        updated=Case(
            *[
                When(pk=b.pk, then=Value(newest - timedelta(microseconds=i)))
                for i, b in enumerate(boards)
            ],
            output_field=DateTimeField(),
        )
    )


def _bulk_cast(panels: list[Panel], casts: list[list[int]]) -> None:
    CastMember.objects.bulk_create(
        [
            CastMember(panel_id=panel.pk, character_id=pk, order=order)
            for panel, ids in zip(panels, casts, strict=True)
            for order, pk in enumerate(ids)
        ],
        batch_size=_BATCH,
    )


def _tables(resolver: _Resolver) -> tuple[dict[int, str], dict[int, str]]:
    people = {p.id: p.name for p in resolver.bible.people.values()}
    places = {p.id: p.name for p in resolver.bible.places.values()}
    return people, places


def _report_boards(boards, plans, panels, casts, resolver, result) -> None:
    people, places = _tables(resolver)
    index = 0
    for board, plan in zip(boards, plans, strict=True):
        cast: list[int] = []
        where: list[int] = []
        for _ in plan.panels:
            for pk in casts[index]:
                if pk not in cast:
                    cast.append(pk)
            loc = panels[index].location_id
            if loc is not None and loc not in where:
                where.append(loc)
            index += 1
        result.boards.append(
            BoardLine(
                board.name,
                len(plan.panels),
                _names(cast, people),
                _names(where, places),
                new=len(plan.panels),
            )
        )


def _revise(
    project: Project, preview: Preview, file_name: str, resolver: _Resolver, result: ImportResult
) -> None:
    """Apply the preview's diff: keep, update, insert and flag panels of the earlier boards."""
    assert preview.diff is not None
    # The diff was computed at preview time; recompute on fresh rows under lock so
    # edits made since (a panel deleted, one added) are respected.
    from boards.script import reimport

    ids = [b.id for b in script_boards(project)]
    list(Board.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
    diffs = reimport.diff(script_boards(project), preview.boards)
    existing = Panel.objects.in_bulk(
        [s.panel_id for d in diffs for s in d.steps if s.panel_id is not None]
    )
    people, places = _tables(resolver)
    to_update: list[Panel] = []
    new_panels: list[Panel] = []
    new_casts: list[list[int]] = []
    orders: dict[int, list[Panel]] = {}
    new_boards: list[BoardPlan] = []
    new_orders: list[int] = []
    shadow = 2 * _SHADOW
    for order, board_diff in enumerate(diffs):
        if board_diff.board_id is None:
            assert board_diff.plan is not None
            new_boards.append(board_diff.plan)
            new_orders.append(order)
            continue
        line = BoardLine(board_diff.name, 0, [], [], created=False)
        ordered: list[Panel] = []
        for step in board_diff.steps:
            if step.op == "new":
                assert step.beat is not None
                panel = _panel(board_diff.board_id, shadow, step.beat, resolver.location(step.beat))
                shadow += 1
                new_panels.append(panel)
                new_casts.append(resolver.cast(step.beat))
                line.new += 1
            else:
                panel = existing[step.panel_id]
                if step.op == "keep":
                    panel.script_key = step.beat.key if step.beat else panel.script_key
                    if panel.script_state == Panel.ScriptState.GONE:
                        panel.script_state = Panel.ScriptState.CURRENT
                    line.kept += 1
                elif step.op == "change":
                    assert step.beat is not None
                    panel.action, panel.dialogue = step.beat.action, step.beat.dialogue
                    panel.script_text, panel.script_key = step.beat.text, step.beat.key
                    panel.script_state = Panel.ScriptState.CHANGED
                    line.changed += 1
                elif step.op == "gone":
                    panel.script_state = Panel.ScriptState.GONE
                    line.gone += 1
                if step.op != "manual":
                    to_update.append(panel)
            ordered.append(panel)
        line.panels = len(ordered)
        for step in board_diff.steps:
            if step.beat is not None:
                line.cast += [
                    people[i] for i in resolver.cast(step.beat) if people[i] not in line.cast
                ]
                loc = resolver.location(step.beat)
                if loc is not None and places[loc] not in line.locations:
                    line.locations.append(places[loc])
        orders[board_diff.board_id] = ordered
        result.boards.append(line)
        result.board_ids.append(board_diff.board_id)
        if board_diff.plan is not None:
            Board.objects.filter(pk=board_diff.board_id).update(
                script={
                    "source": file_name[-200:],
                    "scene": board_diff.plan.scene_key,
                    "heading": board_diff.plan.heading,
                    "order": order,
                }
            )
    Panel.objects.bulk_update(
        to_update,
        ["action", "dialogue", "script_text", "script_key", "script_state"],
        batch_size=_BATCH,
    )
    Panel.objects.bulk_create(new_panels, batch_size=_BATCH)
    _bulk_cast(new_panels, new_casts)
    for board_id, ordered in orders.items():
        if any(p.position >= _SHADOW for p in ordered) or [p.position for p in ordered] != sorted(
            p.position for p in ordered
        ):
            _renumber(board_id, [p.pk for p in ordered])
    if new_boards:
        _create_boards(project, new_boards, file_name, resolver, result, orders=new_orders)
