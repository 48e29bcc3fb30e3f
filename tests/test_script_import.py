"""Saving an import, revising it with a new draft, and the import_script command."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from boards.models import Board, Panel
from boards.script.breakdown import Options
from boards.script.document import ScriptError
from boards.script.selectors import NEW, script_preview
from boards.script.services import script_import
from characters.models import Character, Location
from tests.factories import CharacterFactory, LocationFactory, PanelFactory, TakeFactory

SCRIPTS = Path(__file__).parent / "scripts"

DRAFT_1 = """INT. LIGHTHOUSE - NIGHT #1#

Mara climbs the spiral stairs to the lamp room.

MARA
Keep the light on.

Tom waits at the bottom, holding a lantern.

EXT. BEACH - DAY #2#

The tide goes out slowly over the rocks.

TOM
She never comes down.
"""

# Scene 1: one beat reworded, one beat inserted; scene 2: a beat gone; scene 3 is new.
DRAFT_2 = """INT. LIGHTHOUSE - NIGHT #1#

Mara climbs the spiral stairs to the old lamp room.

MARA
Keep the light on.

A gull hits the window.

Tom waits at the bottom, holding a lantern.

EXT. BEACH - DAY #2#

TOM
She never comes down.

EXT. PIER - NIGHT #3#

Fog.
"""


def _import(project, text, *, name="keeper.fountain", revise=False, **kwargs):
    preview = script_preview(
        project=project,
        data=text.encode(),
        name=name,
        options=Options(**kwargs.pop("options", {})),
        revise=revise,
    )
    return preview, script_import(project=project, preview=preview, file_name=name, **kwargs)


def _board_texts(board):
    return [
        (p.action or p.dialogue, p.script_state)
        for p in Panel.objects.filter(board=board).order_by("position")
    ]


@pytest.fixture
def bible(team):
    mara = CharacterFactory(project=team.project, name="Mara Quinn")
    tom = CharacterFactory(project=team.project, name="Tom Hale", aliases="Tommy, The Keeper")
    lighthouse = LocationFactory(project=team.project, name="Lighthouse")
    return mara, tom, lighthouse


def test_import_creates_boards_panels_cast_and_locations(team, bible):
    mara, tom, lighthouse = bible
    _, result = _import(team.project, DRAFT_1)
    boards = list(Board.objects.filter(project=team.project).order_by("pk"))
    assert [b.name for b in boards] == ["1 INT. LIGHTHOUSE - NIGHT", "2 EXT. BEACH - DAY"]
    panels = list(Panel.objects.filter(board=boards[0]).order_by("position"))
    assert [p.dialogue for p in panels] == ["", "MARA: Keep the light on.", ""]
    assert [[c.character for c in p.cast.all()] for p in panels] == [[mara], [mara], [tom]]
    assert {p.location for p in panels} == {lighthouse}
    assert all(p.script_key and p.script_text for p in panels)
    assert result.panel_count == 5 and "BEACH" in result.unmatched


def test_choices_override_the_match_and_create_characters_and_locations(team, bible):

    preview = script_preview(
        project=team.project,
        data=DRAFT_1.encode(),
        name="k.fountain",
        options=Options(),
        revise=False,
    )
    script_import(
        project=team.project,
        preview=preview,
        file_name="k.fountain",
        characters={"mara": None, "tom": NEW},
        locations={"beach": NEW},
    )
    new_tom = Character.objects.get(project=team.project, name="Tom")
    beach = Location.objects.get(project=team.project, name="Beach")
    said = Panel.objects.get(dialogue="MARA: Keep the light on.")
    assert list(said.cast.all()) == []
    tom_line = Panel.objects.get(dialogue="TOM: She never comes down.")
    assert [c.character for c in tom_line.cast.all()] == [new_tom]
    assert tom_line.location == beach
    assert new_tom.sheets.filter(is_default=True).exists()


def test_create_missing_creates_every_unmatched_name(team):
    _, result = _import(team.project, DRAFT_1, create_missing=True)
    assert sorted(result.created_characters) == ["Mara", "Tom"]
    assert sorted(result.created_locations) == ["Beach", "Lighthouse"]
    assert result.unmatched == []


def test_saving_queries_do_not_grow_per_beat(team, bible):
    def queries(beats_per_scene: int) -> int:
        text = "".join(
            f"INT. ROOM {s} - DAY\n\n"
            + "".join(
                f"Beat {b} of scene {s}.\n\nMARA\nLine {b}.\n\n" for b in range(beats_per_scene)
            )
            for s in range(4)
        )
        preview = script_preview(
            project=team.project,
            data=text.encode(),
            name="q.fountain",
            options=Options(),
            revise=False,
        )
        with CaptureQueriesContext(connection) as ctx:
            script_import(project=team.project, preview=preview, file_name="q.fountain")
        return len(ctx.captured_queries)

    # 4 scenes, 2 panels a beat: 40 panels, then 400. Inserts are batched (SQLite
    # caps a statement at 999 values, so ~60 panels each); no query per panel.
    few, many = queries(5), queries(50)
    assert many - few <= (400 - 40) // 25


def test_dry_run_saves_nothing_but_reports_the_same(team, bible):
    _, dry = _import(team.project, DRAFT_1, dry_run=True, create_missing=True)
    assert not Board.objects.filter(project=team.project).exists()
    assert not Character.objects.filter(project=team.project, name="Tom").exists()
    _, real = _import(team.project, DRAFT_1, create_missing=True)
    assert [(b.name, b.panels, b.cast) for b in dry.boards] == [
        (b.name, b.panels, b.cast) for b in real.boards
    ]


def test_reimport_keeps_takes_updates_changed_inserts_new_and_flags_gone(team, bible):
    _import(team.project, DRAFT_1)
    scene1, scene2 = Board.objects.filter(project=team.project).order_by("pk")
    climbs, _says, waits = Panel.objects.filter(board=scene1).order_by("position")
    take = TakeFactory(panel=waits)
    waits.selected_take = take
    waits.shot_type = "ws"  # the artist's choice survives
    waits.save()
    hand_made = PanelFactory(board=scene1, action="An extra panel the artist drew.")

    preview, result = _import(team.project, DRAFT_2, revise=True)

    assert [
        (d.count("keep"), d.count("change"), d.count("new"), d.count("gone")) for d in preview.diff
    ] == [
        (2, 1, 1, 0),
        (1, 0, 0, 1),
        (0, 0, 1, 0),
    ]
    assert _board_texts(scene1) == [
        ("Mara climbs the spiral stairs to the old lamp room.", "changed"),
        ("MARA: Keep the light on.", ""),
        ("A gull hits the window.", ""),
        ("Tom waits at the bottom, holding a lantern.", ""),
        ("An extra panel the artist drew.", ""),
    ]
    waits.refresh_from_db()
    assert waits.selected_take == take and waits.shot_type == "ws" and waits.takes.count() == 1
    climbs.refresh_from_db()
    assert climbs.pk and climbs.script_state == "changed"
    assert _board_texts(scene2) == [
        ("The tide goes out slowly over the rocks.", "gone"),
        ("TOM: She never comes down.", ""),
    ]
    pier = Board.objects.get(project=team.project, name="3 EXT. PIER - NIGHT")
    assert pier.script["order"] == 2
    assert Panel.objects.filter(pk=hand_made.pk).exists()
    assert [b.name for b in result.boards][:2] == [scene1.name, scene2.name]


def test_reimport_of_the_same_file_changes_nothing(team, bible):
    _import(team.project, DRAFT_1)
    before = list(
        Panel.objects.order_by("pk").values_list("pk", "board_id", "position", "script_state")
    )
    preview, _ = _import(team.project, DRAFT_1, revise=True)
    assert all(d.count("keep") == len(d.steps) for d in preview.diff)
    after = list(
        Panel.objects.order_by("pk").values_list("pk", "board_id", "position", "script_state")
    )
    assert before == after


def test_a_scene_dropped_from_the_script_keeps_its_board_with_panels_flagged(team, bible):
    _import(team.project, DRAFT_1)
    _import(team.project, DRAFT_1.split("EXT. BEACH")[0], revise=True)
    beach = Board.objects.get(name="2 EXT. BEACH - DAY")
    assert [s for _, s in _board_texts(beach)] == ["gone", "gone"]


def test_a_beat_that_comes_back_loses_its_gone_flag(team, bible):
    _import(team.project, DRAFT_1)
    _import(team.project, DRAFT_2, revise=True)
    _import(team.project, DRAFT_1, revise=True)
    beach = Board.objects.get(name="2 EXT. BEACH - DAY")
    assert [s for _, s in _board_texts(beach)] == ["", ""]


def test_single_board_import_and_reimport(team, bible):
    _import(team.project, DRAFT_1, options={"single_board": "Whole film"})
    board = Board.objects.get(project=team.project)
    assert board.name == "Whole film" and board.panels.count() == 5
    _import(team.project, DRAFT_2, revise=True, options={"single_board": "Whole film"})
    assert Board.objects.filter(project=team.project).count() == 1
    assert board.panels.count() == 7  # two new beats, one gone panel kept


def _scenes(board):
    return [(p.scene, p.script_state) for p in board.panels.order_by("position")]


def test_single_board_groups_panels_by_scene_and_keeps_the_groups_on_reimport(team, bible):
    _import(team.project, DRAFT_1, options={"single_board": "Whole film"})
    board = Board.objects.get(project=team.project)
    lighthouse, beach = "1 INT. LIGHTHOUSE - NIGHT", "2 EXT. BEACH - DAY"
    assert _scenes(board) == [(lighthouse, "")] * 3 + [(beach, "")] * 2
    _import(team.project, DRAFT_2, revise=True, options={"single_board": "Whole film"})
    # The gull is new in scene 1, the beach's tide is cut, the pier is a new scene.
    assert _scenes(board) == [
        (lighthouse, "changed"),
        (lighthouse, ""),
        (lighthouse, ""),
        (lighthouse, ""),
        (beach, "gone"),
        (beach, ""),
        ("3 EXT. PIER - NIGHT", ""),
    ]


def test_a_renumbered_scene_renames_its_group(team, bible):
    _import(team.project, DRAFT_1, options={"single_board": "Whole film"})
    _import(
        team.project,
        DRAFT_1.replace("#2#", "#2A#"),
        revise=True,
        options={"single_board": "Whole film"},
    )
    board = Board.objects.get(project=team.project)
    assert [s for s, _ in _scenes(board)][-2:] == ["2A EXT. BEACH - DAY"] * 2


def test_bad_file_saves_nothing(team):
    with pytest.raises(ScriptError):
        script_preview(
            project=team.project, data=b"%PDF-1.4", name="x.pdf", options=Options(), revise=False
        )
    assert not Board.objects.exists()


def test_command_prints_a_line_per_board_and_a_summary(team, bible, tmp_path):
    path = tmp_path / "keeper.fountain"
    path.write_text(DRAFT_1)
    out = StringIO()
    call_command("import_script", str(team.project.pk), str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        "1 INT. LIGHTHOUSE - NIGHT | 3 panels | cast: Mara Quinn, Tom Hale | location: Lighthouse",
        "2 EXT. BEACH - DAY | 2 panels | cast: Tom Hale | location: no location",
        "imported: 2 boards, 5 panels, 3 names matched, 1 unmatched (BEACH)",
    ]


def test_command_dry_run_saves_nothing(team, bible, tmp_path):
    path = tmp_path / "keeper.fountain"
    path.write_text(DRAFT_1)
    out = StringIO()
    call_command(
        "import_script",
        str(team.project.pk),
        str(path),
        "--dry-run",
        "--create-missing",
        stdout=out,
    )
    assert "nothing saved" in out.getvalue() and "0 unmatched" in out.getvalue()
    assert not Board.objects.exists() and not Location.objects.filter(name="Beach").exists()


def test_command_options_merge_dialogue_and_single_board(team, bible, tmp_path):
    path = tmp_path / "keeper.fountain"
    path.write_text(DRAFT_1)
    out = StringIO()
    call_command(
        "import_script",
        str(team.project.pk),
        str(path),
        "--merge-dialogue",
        "--single-board",
        "All",
        stdout=out,
    )
    assert out.getvalue().splitlines()[0].startswith("All | 3 panels |")


def test_command_rerun_with_a_revised_file_updates(team, bible, tmp_path):
    path = tmp_path / "keeper.fountain"
    path.write_text(DRAFT_1)
    call_command("import_script", str(team.project.pk), str(path), stdout=StringIO())
    path.write_text(DRAFT_2)
    out = StringIO()
    call_command("import_script", str(team.project.pk), str(path), stdout=out)
    assert "kept 2, changed 1, new 1, gone 0" in out.getvalue()
    assert out.getvalue().splitlines()[-1].startswith("updated: 3 boards, 7 panels")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read"),
        (b"\x89PNG\r\n\x1a\nxxxx", "PNG image"),
        (b"", "empty"),
        (b'<?xml version="1.0"?><FinalDraft><Content><Paragraph>', "line 1, column"),
    ],
)
def test_command_exits_1_with_a_clear_message_on_a_file_it_cannot_read(
    team, tmp_path, content, message
):
    path = tmp_path / "script.fdx"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as err:
        call_command("import_script", str(team.project.pk), str(path))
    assert err.value.returncode == 1
    assert not Board.objects.exists()


def test_a_two_thousand_scene_script_imports_and_reimports(team):
    text = "".join(f"INT. ROOM {i} - DAY #{i}#\n\nAction {i}.\n\n" for i in range(2000))
    _, result = _import(team.project, text)
    assert len(result.boards) == 2000 and result.panel_count == 2000
    revised = text.replace("Action 1999.", "Action 1999, revised.")
    preview, _ = _import(team.project, revised, revise=True)
    assert sum(d.changed for d in preview.diff) == 1
    assert Panel.objects.filter(board__project=team.project, script_state="changed").count() == 1
