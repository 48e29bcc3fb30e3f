"""The default breakdown, its options, shot types from text, and name matching (no database)."""

from __future__ import annotations

import pytest

from boards.script import fountain
from boards.script.breakdown import Options, plan, shot_from
from boards.script.matching import Bible, Person, Place, name_key, split_heading

SCENE = """INT. LIGHTHOUSE - NIGHT #12A#

Mara climbs the stairs. [[lamp prop]]

MARA
(whispering)
Keep the light on.

TOM
Why?

EXT. BEACH - DAY

Waves.
"""


def _plan(text: str, **options):
    return plan(fountain.parse(text), file_name="keeper.fountain", options=Options(**options))


def test_one_board_per_scene_named_number_and_heading_in_script_order():
    assert [b.name for b in _plan(SCENE)] == ["12A INT. LIGHTHOUSE - NIGHT", "EXT. BEACH - DAY"]


def test_one_panel_per_action_paragraph_and_per_dialogue_block():
    panels = _plan(SCENE)[0].panels
    assert [(p.action, p.dialogue) for p in panels] == [
        ("Mara climbs the stairs.", ""),
        ("", "MARA: (whispering) Keep the light on."),
        ("", "TOM: Why?"),
    ]


def test_time_of_day_and_inline_notes_go_to_panel_notes():
    first = _plan(SCENE)[0].panels[0]
    assert first.notes == "Time of day: NIGHT\nlamp prop"


def test_merge_dialogue_puts_the_first_speech_into_the_action_panel():
    panels = _plan(SCENE, merge_dialogue=True)[0].panels
    assert [(p.action, p.dialogue, p.speakers) for p in panels] == [
        ("Mara climbs the stairs.", "MARA: (whispering) Keep the light on.", ["MARA"]),
        ("", "TOM: Why?", ["TOM"]),
    ]


def test_single_board_holds_every_scene_and_groups_panels_by_scene():
    (board,) = _plan(SCENE, single_board="Whole film")
    assert board.name == "Whole film" and len(board.panels) == 4
    assert [p.scene for p in board.panels] == ["12A INT. LIGHTHOUSE - NIGHT"] * 3 + [
        "EXT. BEACH - DAY"
    ]
    assert not board.panels[3].notes.startswith("Scene:")
    assert board.panels[3].place == "BEACH"
    assert all(p.scene == "" for p in _plan(SCENE)[0].panels)  # one board a scene: no groups


def test_dual_dialogue_is_one_panel_and_contd_is_dropped():
    text = "INT. A - DAY\n\nMARA (CONT'D)\nGo.\n\nTOM (O.S.) ^\nStay.\n"
    (panel,) = _plan(text)[0].panels
    assert panel.dialogue == "MARA: Go.\nTOM (O.S.): Stay."
    assert panel.speakers == ["MARA (CONT'D)", "TOM (O.S.)"]


def test_headingless_script_is_one_board_named_after_the_file():
    (board,) = _plan("Just a note.\n\nAnother.\n")
    assert board.name == "keeper" and len(board.panels) == 2


@pytest.mark.parametrize(
    ("text", "shot", "angle"),
    [
        ("CLOSE ON the lamp.", "cu", ""),
        ("Close up: her eyes.", "cu", ""),
        ("ECU - the key.", "ecu", ""),
        ("WIDE on the bay.", "ws", ""),
        ("INSERT - the letter.", "insert", ""),
        ("ANGLE ON the door.", "ms", ""),
        ("MARA'S POV - the sea.", "", "pov"),
        ("She walks in.", "", ""),
        ("Widely known.", "", ""),
    ],
)
def test_shot_type_from_the_opening_words(text, shot, angle):
    assert shot_from(text) == (shot, angle)


def test_a_shot_line_frames_the_next_paragraph_instead_of_making_its_own_panel():
    panels = _plan("INT. A - DAY\n\nCLOSE ON MARA'S HANDS.\n\nThey shake.\n")[0].panels
    assert [(p.action, p.shot_type) for p in panels] == [
        ("CLOSE ON MARA'S HANDS.\nThey shake.", "cu")
    ]


def test_fdx_shot_element_sets_the_shot(tmp_path):
    from boards.script.fdx import parse as parse_fdx

    data = (
        b'<?xml version="1.0"?><FinalDraft><Content>'
        b'<Paragraph Type="Scene Heading"><Text>INT. A - DAY</Text></Paragraph>'
        b'<Paragraph Type="Shot"><Text>EXTREME CLOSE UP</Text></Paragraph>'
        b'<Paragraph Type="Action"><Text>An eye opens.</Text></Paragraph>'
        b"</Content></FinalDraft>"
    )
    (panel,) = plan(parse_fdx(data), file_name="a.fdx")[0].panels
    assert panel.shot_type == "ecu" and panel.action == "EXTREME CLOSE UP\nAn eye opens."


def test_beat_keys_are_stable_and_tell_repeated_beats_apart():
    once = [p.key for p in _plan(SCENE)[0].panels]
    again = [p.key for p in _plan("Title: x\n\n" + SCENE)[0].panels]
    assert once == again
    twice = _plan("INT. A - DAY\n\nBang.\n\nBang.\n")[0].panels
    assert twice[0].key != twice[1].key


BIBLE = Bible(
    [
        Person(1, "Mara Quinn", ("The Keeper",)),
        Person(2, "Tom Hale"),
        Person(3, "Tom Price"),
        Person(4, "Will"),
    ],
    [Place(10, "Lighthouse"), Place(11, "Lighthouse - Lamp Room")],
)


@pytest.mark.parametrize(
    ("cue", "expected"),
    [
        ("MARA QUINN", 1),
        ("MARA", 1),  # unique first name
        ("mara (V.O.)", 1),
        ("@MARA^", 1),
        ("THE KEEPER", 1),  # alias
        ("MARA'S", 1),
        ("TOM", None),  # two Toms: the first name alone is not enough
        ("TOM HALE", 2),
        ("STRANGER", None),
    ],
)
def test_cue_matching(cue, expected):
    assert BIBLE.character_for(cue) == expected


def test_action_names_every_bible_character_but_not_lower_case_words():
    assert BIBLE.mentioned("MARA'S hands shake as Tom Hale watches; she will go.") == [1, 2]
    assert BIBLE.mentioned("Will waits.") == [4]


@pytest.mark.parametrize(
    ("heading", "place", "expected"),
    [
        ("INT. LIGHTHOUSE - NIGHT", "LIGHTHOUSE", 10),
        ("INT./EXT. LIGHTHOUSE - LAMP ROOM - DAY", "LIGHTHOUSE - LAMP ROOM", 11),
        ("EXT. LIGHTHOUSE - GALLERY - DAY", "LIGHTHOUSE - GALLERY", 10),
        ("I/E LIGHTHOUSE", "LIGHTHOUSE", 10),
        ("EXT. BEACH - DAY", "BEACH", None),
    ],
)
def test_heading_matches_a_location_ignoring_int_ext_and_time(heading, place, expected):
    assert split_heading(heading)[0] == place
    assert BIBLE.location_for(place) == expected


def test_name_key_ignores_case_extensions_and_possessives():
    assert name_key("Mara's") == name_key("MARA (CONT'D)") == name_key("@mara") == "mara"
