"""Writes for script import: a previewed script saved as boards, or applied to the boards it made.

Everything happens in one transaction with bulk inserts, so the number of
queries grows with scenes and new names, not with beats.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from boards.models import Board, CastMember, Panel
from boards.script.breakdown import BoardPlan, PanelPlan
from boards.script.matching import Bible, Person, name_key
from boards.script.selectors import NEW, Preview, bible_for, script_boards
from boards.services import _SHADOW, _renumber
from characters.models import Character, Location
from characters.services import character_create
from studio.models import Project

# Rows per UPDATE statement of a re-import (PostgreSQL takes 65,535 parameters).
_BATCH = 2000

Choice = int | str | None  # a character/location id, NEW, or None for "no one"
# Told (stage, done, total) as an import goes: "matching" beat by beat, then "saving".
Progress = Callable[[str, int, int], None]


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
    """Names of one import to ids, the person's choices first, then the bible.

    `prepare` does the costly part (every beat's text scanned for names)
    before the write transaction opens, so that transaction only writes.
    Characters still to be created stand in with negative ids until
    `_create_missing` has given them theirs.
    """

    def __init__(self, bible: Bible, cues: dict[str, Choice], places: dict[str, Choice]):
        self.bible, self.cues, self.places = bible, cues, places
        self._keys: dict[str, str] = {}  # a cue or place as written -> its name key
        self._mentions: dict[int, list[int]] = {}  # id(beat) -> characters named in its action
        self._stand_ins: dict[int, str] = {}  # negative id -> the cue key to be created

    def _key(self, name: str) -> str:
        key = self._keys.get(name)
        if key is None:
            key = self._keys[name] = name_key(name)
        return key

    def prepare(self, preview: Preview, progress: Progress | None = None) -> None:
        """Scan every beat for the characters it names, reporting beats done."""
        people = list(self.bible.people.values())
        for row in preview.cues:
            if self.cues.get(row.key) == NEW:
                stand_in = -1 - len(self._stand_ins)
                self._stand_ins[stand_in] = row.key
                people.append(Person(stand_in, _display(row.label)))
        scan = Bible(people, list(self.bible.places.values()))
        total = preview.panel_count
        done = 0
        for board in preview.boards:
            for beat in board.panels:
                self._mentions[id(beat)] = scan.mentioned(beat.action)
            done += len(board.panels)
            if progress is not None:
                progress("matching", done, total)

    def _mentioned(self, beat: PanelPlan) -> list[int]:
        found = self._mentions.get(id(beat))
        if found is None:
            return self.bible.mentioned(beat.action)
        ids = []
        for pk in found:
            if pk < 0:  # created since: its cue's choice now holds its id
                chosen = self.cues.get(self._stand_ins[pk])
                if not isinstance(chosen, int):
                    continue
                pk = chosen
            ids.append(pk)
        return ids

    def cast(self, panel: PanelPlan) -> list[int]:
        ids: list[int] = []
        for cue in panel.speakers:
            key = self._key(cue)
            chosen = self.cues[key] if key in self.cues else self.bible.character_for(cue)
            if isinstance(chosen, int) and chosen not in ids:
                ids.append(chosen)
        for pk in self._mentioned(panel):
            if pk not in ids:
                ids.append(pk)
        return ids

    def location(self, panel: PanelPlan) -> int | None:
        if not panel.place:
            return None
        key = self._key(panel.place)
        chosen = self.places[key] if key in self.places else self.bible.location_for(panel.place)
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


_PANEL_COLUMNS = (
    "board_id",
    "position",
    "action",
    "dialogue",
    "notes",
    "shot_type",
    "camera_angle",
    "location_id",
    "continue_previous",
    "script_key",
    "script_text",
    "script_state",
    "scene",
    "created",
    "updated",
)
_CAST_COLUMNS = ("panel_id", "character_id", "placement", "expression", "order")

NewPanel = tuple[int, int, PanelPlan, "int | None"]  # board id, position, beat, location id


def _insert(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """INSERT many rows in one executemany, without building a model instance per row.

    Building and preparing 1,500 Panel instances costs several times the
    parsing of the whole script; the values here are plain strings, ints
    and one timestamp, so they need no per-field preparation. Measured again
    with Django 5.2 (120-page script, same run): bulk_create for panels and
    cast made saving cost 5-9x the parse time against 1.3-2x here, and
    executemany on PostgreSQL (no COPY) a round trip per row, 3x slower.
    """
    if not rows:
        return
    # Every other column gets its field's default, so a field added later needs no change here.
    others = [
        f
        for f in model._meta.concrete_fields
        if not f.primary_key and f.attname not in columns and f.name not in columns
    ]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in others)
    columns = (*columns, *(f.attname for f in others))
    rows = [(*row, *defaults) for row in rows]
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    names = ", ".join(ops.quote_name(model._meta.get_field(c).column) for c in columns)
    marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams the rows: a quarter of the time of one INSERT with an
            # array per column, and far less than a multi-row VALUES. It goes round
            # Django's cursor, so it is logged here to keep query counts honest.
            sql = f"COPY {table} ({names}) FROM STDIN"
            log = getattr(cursor, "debug_sql", None)
            with log(sql) if log is not None else nullcontext(), cursor.cursor.copy(sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return
        # Elsewhere (SQLite) one executemany: in-process, no round trip per row.
        # Table and column names come from the model, quoted; values are parameters.
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES {marks}", rows)  # noqa: S608


def _set_column(model, column: str, values: dict[int, Any]) -> None:
    """Give each row (by pk) its own value of one column, in one statement.

    The ORM's CASE ... WHEN per row takes seconds to build for thousands of
    boards; the values here are plain (timestamps, JSON text).
    """
    if not values:
        return
    ops = connection.ops
    table = ops.quote_name(model._meta.db_table)
    field = model._meta.get_field(column)
    name = ops.quote_name(field.column)
    pk = ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            kind = field.db_type(connection)
            sql = (
                f"UPDATE {table} SET {name} = v.value FROM unnest(%s::bigint[], %s::{kind}[]) "  # noqa: S608
                f"AS v(id, value) WHERE {table}.{pk} = v.id"
            )
            cursor.execute(sql, [list(values), list(values.values())])
            return
        sql = f"UPDATE {table} SET {name} = %s WHERE {pk} = %s"  # noqa: S608
        cursor.executemany(sql, [(value, key) for key, value in values.items()])


def _insert_panels(new: list[NewPanel]) -> list[int]:
    """Insert panels made from beats; their ids, in the same order (one more query)."""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    default_shot = Panel._meta.get_field("shot_type").default
    default_angle = Panel._meta.get_field("camera_angle").default
    rows = [
        (
            board_id,
            position,
            beat.action,
            beat.dialogue,
            beat.notes,
            beat.shot_type or default_shot,
            beat.camera_angle or default_angle,
            location_id,
            False,
            beat.key,
            beat.text,
            Panel.ScriptState.CURRENT.value,
            beat.scene,
            now,
            now,
        )
        for board_id, position, beat, location_id in new
    ]
    _insert(Panel, _PANEL_COLUMNS, rows)
    boards = {board_id for board_id, *_ in new}
    ids = {
        (board_id, position): pk
        for pk, board_id, position in Panel.objects.filter(board_id__in=boards).values_list(
            "pk", "board_id", "position"
        )
    }
    return [ids[(board_id, position)] for board_id, position, *_ in new]


def _insert_cast(panel_ids: list[int], casts: list[list[int]]) -> None:
    _insert(
        CastMember,
        _CAST_COLUMNS,
        [
            (panel_id, character_id, "", "", order)
            for panel_id, ids in zip(panel_ids, casts, strict=True)
            for order, character_id in enumerate(ids)
        ],
    )


def panel_script_seen(*, panel: Panel) -> bool:
    """Take the "script changed" mark off a panel once someone has read the new text.

    Only that mark: "cut from script" stays true until the panel is deleted
    or its beat comes back. `version` does not move, so an edit form open
    meanwhile still saves (the board page's cached card is keyed by the
    state it shows). False when the panel was not marked.
    """
    seen = Panel.objects.filter(pk=panel.pk, script_state=Panel.ScriptState.CHANGED).update(
        script_state=Panel.ScriptState.CURRENT, updated=timezone.now()
    )
    panel.script_state = Panel.ScriptState.CURRENT
    return bool(seen)


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
    progress: Progress | None = None,
) -> ImportResult:
    """Save a previewed script: new boards, or (preview with a diff) the revision of earlier ones.

    `characters` / `locations` map a name key to an id, NEW or None and win
    over the automatic match; `create_missing` creates every unmatched name.
    With `dry_run` everything is done and rolled back, so the report is exact.
    Names are matched before the one transaction that writes everything
    opens; `progress` hears of both stages. An error rolls everything back.
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
    resolver = _Resolver(bible_for(project), cues, places)
    resolver.prepare(preview, progress)
    if progress is not None:
        progress("saving", 0, 1)
    try:
        with transaction.atomic():
            _create_missing(project, preview, cues, places, result)
            # Read again for the report's names, with the characters just created.
            resolver.bible = bible_for(project)
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
    new: list[NewPanel] = []
    casts: list[list[int]] = []
    for board, plan in zip(boards, plans, strict=True):
        for position, beat in enumerate(plan.panels):
            new.append((board.pk, position, beat, resolver.location(beat)))
            casts.append(resolver.cast(beat))
    _insert_cast(_insert_panels(new), casts)
    _report_boards(boards, plans, [n[3] for n in new], casts, resolver, result)
    result.board_ids.extend(b.pk for b in boards)


def _in_script_order(boards: list[Board]) -> None:
    """Space the boards' `updated` a microsecond apart, first scene newest.

    Project pages list boards most recently changed first; one UPDATE makes
    a fresh import read in script order there.
    """
    if len(boards) < 2:
        return
    newest = max(b.updated for b in boards)
    _set_column(
        Board,
        "updated",
        {
            b.pk: connection.ops.adapt_datetimefield_value(newest - timedelta(microseconds=i))
            for i, b in enumerate(boards)
        },
    )


def _tables(resolver: _Resolver) -> tuple[dict[int, str], dict[int, str]]:
    people = {p.id: p.name for p in resolver.bible.people.values()}
    places = {p.id: p.name for p in resolver.bible.places.values()}
    return people, places


def _report_boards(boards, plans, location_ids, casts, resolver, result) -> None:
    people, places = _tables(resolver)
    index = 0
    for board, plan in zip(boards, plans, strict=True):
        cast: list[int] = []
        where: list[int] = []
        for _ in plan.panels:
            for pk in casts[index]:
                if pk not in cast:
                    cast.append(pk)
            loc = location_ids[index]
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


def _apply_step(panel: Panel, step) -> bool:
    """Bring an existing panel in line with its re-import step; True when it changed."""
    fields = ("action", "dialogue", "script_text", "script_key", "script_state", "scene")
    before = tuple(getattr(panel, f) for f in fields)
    if step.beat is not None:
        panel.scene = step.beat.scene  # a renamed or renumbered scene renames its group
    if step.op == "keep":
        panel.script_key = step.beat.key
        if panel.script_state == Panel.ScriptState.GONE:
            panel.script_state = Panel.ScriptState.CURRENT
    elif step.op == "change":
        panel.action, panel.dialogue = step.beat.action, step.beat.dialogue
        panel.script_text, panel.script_key = step.beat.text, step.beat.key
        panel.script_state = Panel.ScriptState.CHANGED
    elif step.op == "gone":
        panel.script_state = Panel.ScriptState.GONE
    return before != tuple(getattr(panel, f) for f in fields)


def _revise(
    project: Project, preview: Preview, file_name: str, resolver: _Resolver, result: ImportResult
) -> None:
    """Apply the preview's diff: keep, update, insert and flag panels of the earlier boards."""
    assert preview.diff is not None
    # The diff was computed at preview time; recompute on fresh rows under lock so
    # edits made since (a panel deleted, one added) are respected.
    from boards.script import reimport

    list(Board.objects.select_for_update().filter(project=project).values_list("pk", flat=True))
    diffs = reimport.diff(script_boards(project), preview.boards)
    existing = Panel.objects.in_bulk(
        [s.panel_id for d in diffs for s in d.steps if s.panel_id is not None]
    )
    people, places = _tables(resolver)
    to_update: list[Panel] = []
    new_rows: list[NewPanel] = []
    new_casts: list[list[int]] = []
    # Per board, its panels in the new order: an existing panel, or the index of a new row.
    orders: dict[int, list[Panel | int]] = {}
    new_boards: list[BoardPlan] = []
    new_orders: list[int] = []
    revised: list[Board] = []  # boards whose scene is still in the script, with its new place
    shadow = 2 * _SHADOW  # new rows wait past any real position until the renumbering
    for order, board_diff in enumerate(diffs):
        if board_diff.board_id is None:
            assert board_diff.plan is not None
            new_boards.append(board_diff.plan)
            new_orders.append(order)
            continue
        line = BoardLine(board_diff.name, 0, [], [], created=False)
        ordered: list[Panel | int] = []
        for step in board_diff.steps:
            if step.op == "new":
                assert step.beat is not None
                location = resolver.location(step.beat)
                ordered.append(len(new_rows))
                new_rows.append((board_diff.board_id, shadow, step.beat, location))
                new_casts.append(resolver.cast(step.beat))
                shadow += 1
                line.new += 1
                continue
            panel = existing[step.panel_id]
            ordered.append(panel)
            if _apply_step(panel, step):
                to_update.append(panel)
            line.kept += step.op == "keep"
            line.changed += step.op == "change"
            line.gone += step.op == "gone"
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
            revised.append(
                Board(
                    pk=board_diff.board_id,
                    script={
                        "source": file_name[-200:],
                        "scene": board_diff.plan.scene_key,
                        "heading": board_diff.plan.heading,
                        "order": order,
                    },
                )
            )
    _set_column(Board, "script", {b.pk: json.dumps(b.script) for b in revised})
    Panel.objects.bulk_update(
        to_update,
        ["action", "dialogue", "script_text", "script_key", "script_state", "scene"],
        batch_size=_BATCH,
    )
    new_ids = _insert_panels(new_rows)
    _insert_cast(new_ids, new_casts)
    for board_id, ordered in orders.items():
        ids = [new_ids[p] if isinstance(p, int) else p.pk for p in ordered]
        positions = [p.position for p in ordered if isinstance(p, Panel)]
        if len(positions) != len(ordered) or positions != sorted(positions):
            _renumber(board_id, ids)
    if new_boards:
        _create_boards(project, new_boards, file_name, resolver, result, orders=new_orders)
