"""The Fountain reader: every element of the syntax, on scripts written for these tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from boards.script import fountain
from boards.script.document import ScriptError

SCRIPTS = Path(__file__).parent / "scripts"


def _kinds(text: str) -> list[tuple[str, str]]:
    script = fountain.parse(text, name="t")
    out = []
    for scene in script.scenes:
        out.append(("scene", f"{scene.number} {scene.heading}".strip()))
        for e in scene.elements:
            if e.kind == "dialogue":
                out.append(
                    ("dialogue", " / ".join(f"{s.cue}: {' '.join(s.parts)}" for s in e.speeches))
                )
            else:
                out.append((e.kind, e.text))
    return out


@pytest.fixture(scope="module")
def lighthouse():
    return fountain.parse((SCRIPTS / "lighthouse.fountain").read_text(), name="lighthouse")


def test_title_page_gives_the_title_and_makes_no_elements(lighthouse):
    assert lighthouse.title == "The Keeper"
    assert all("Ada Brook" not in e.text for s in lighthouse.scenes for e in s.elements)


def test_scene_numbers_are_read_from_the_heading(lighthouse):
    assert [(s.number, s.heading) for s in lighthouse.scenes] == [
        ("12A", "INT. LIGHTHOUSE - NIGHT"),
        ("13", "EXT. BEACH - DAY"),
        ("", "FLASHBACK - A KITCHEN"),
    ]


def test_boneyard_hides_a_whole_scene(lighthouse):
    assert not any("CELLAR" in s.heading for s in lighthouse.scenes)


def test_note_inside_a_paragraph_rides_with_it_and_leaves_the_text(lighthouse):
    action = lighthouse.scenes[0].elements[0]
    assert action.text == "Mara climbs the spiral stairs.\nTom follows, out of breath."
    assert action.notes == ("Check the lamp prop",)


def test_dual_dialogue_is_one_block_with_both_speakers(lighthouse):
    dialogue = lighthouse.scenes[0].elements[1]
    assert [(s.cue, s.parts) for s in dialogue.speeches] == [
        ("MARA (V.O.)", ("(whispering)", "Keep the light on.")),
        ("TOM", ("No.",)),
    ]


def test_forced_cue_and_two_space_line_keep_a_speech_together(lighthouse):
    beach = [
        (e.kind, e.speeches[0].cue if e.speeches else e.text) for e in lighthouse.scenes[1].elements
    ]
    assert ("dialogue", "McCLANE") in beach
    mara = next(
        e
        for e in lighthouse.scenes[1].elements
        if e.speeches and e.speeches[0].cue.startswith("MARA")
    )
    assert mara.speeches[0].parts == ("Who's there? Show yourself.",)


def test_sections_synopses_transitions_and_page_breaks_are_recognised(lighthouse):
    kinds = [e.kind for s in lighthouse.scenes for e in s.elements]
    assert {"section", "synopsis", "transition", "page_break"} <= set(kinds)
    texts = [e.text for s in lighthouse.scenes for e in s.elements if e.kind == "transition"]
    assert texts == ["CUT TO:", "SMASH CUT TO:"]


def test_lyrics_centred_and_forced_action_read_as_action(lighthouse):
    actions = [e.text for s in lighthouse.scenes for e in s.elements if e.kind == "action"]
    assert "Row, row, row your boat" in actions
    assert "THE END" in actions
    assert "SILENCE." in actions


def test_emphasis_marks_are_dropped_and_escapes_kept():
    (scene,) = fountain.parse("INT. A - DAY\n\nShe *really* **does** _not_ \\*care\\*.\n").scenes
    assert scene.elements[0].text == "She really does not *care*."


@pytest.mark.parametrize(
    "heading",
    [
        "INT. HOUSE - DAY",
        "EXT. HOUSE - DAY",
        "EST. CITY",
        "INT./EXT. CAR - MOVING",
        "I/E CAR",
        "int house - day",
        "INT/EXT CAR",
    ],
)
def test_every_heading_prefix_starts_a_scene(heading):
    script = fountain.parse(f"{heading}\n\nSomething happens.\n")
    assert len(script.scenes) == 1 and not script.headingless


def test_a_capitalised_line_without_speech_after_it_is_action_not_a_cue():
    assert _kinds("INT. A - DAY\n\nBOOM!\n\nThe wall falls.\n")[1:] == [
        ("action", "BOOM!"),
        ("action", "The wall falls."),
    ]


def test_a_cue_needs_an_empty_line_before_it():
    assert _kinds("INT. A - DAY\n\nShe turns.\nMARA\nHello.\n")[1] == (
        "action",
        "She turns.\nMARA\nHello.",
    )


def test_cue_extension_may_be_lower_case():
    assert _kinds("INT. A - DAY\n\nHANS (on the radio)\nHello?\n")[1] == (
        "dialogue",
        "HANS (on the radio): Hello?",
    )


def test_text_before_the_first_heading_is_its_own_scene_and_fade_in_makes_nothing():
    script = fountain.parse("FADE IN:\n\nA black screen.\n\nINT. A - DAY\n\nLight.\n")
    assert [s.heading for s in script.scenes] == ["", "INT. A - DAY"]
    assert [e.text for e in script.scenes[0].elements] == ["A black screen."]


def test_no_heading_at_all_is_one_headingless_scene():
    script = fountain.parse("Just some action.\n\nMARA\nHi.\n", name="notes")
    assert script.headingless and len(script.scenes) == 1 and script.title == "notes"


def test_unclosed_boneyard_and_note_are_kept_as_text():
    assert _kinds("INT. A - DAY\n\nA /* b\n\nC [[ d\n")[1:] == [
        ("action", "A /* b"),
        ("action", "C [[ d"),
    ]


def test_a_standalone_note_makes_nothing_and_does_not_split_a_paragraph():
    assert _kinds("INT. A - DAY\n\nOne.\n[[a note\non two lines]]\nTwo.\n")[1] == (
        "action",
        "One.\nTwo.",
    )


def test_more_than_the_scene_limit_is_refused_with_the_line():
    text = "".join(f"INT. ROOM {i} - DAY\n\nAction {i}.\n\n" for i in range(2001))
    with pytest.raises(ScriptError) as err:
        fountain.parse(text)
    assert "2,000 scenes" in err.value.message and err.value.where == "line 8001"


def test_two_thousand_scenes_are_read():
    text = "".join(f"INT. ROOM {i} - DAY\n\nAction {i}.\n\n" for i in range(2000))
    assert len(fountain.parse(text).scenes) == 2000
