"""The Final Draft reader, and the XML attacks and damage it refuses with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from boards.script import fdx
from boards.script.document import ScriptError
from boards.script.read import read

SCRIPTS = Path(__file__).parent / "scripts"


def _fdx(body: str, version: str = "5") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="no" ?>\n'
        f'<FinalDraft DocumentType="Script" Template="No" Version="{version}">\n'
        f"<Content>{body}</Content></FinalDraft>\n"
    ).encode()


@pytest.fixture(scope="module")
def harbour():
    return fdx.parse((SCRIPTS / "harbour_fd13.fdx").read_bytes(), name="harbour")


def test_scene_headings_keep_their_numbers_and_title_page_gives_the_title(harbour):
    assert harbour.title == "Harbour Lights"
    assert [(s.number, s.heading) for s in harbour.scenes] == [
        ("1", "INT. HARBOUR OFFICE - DAY"),
        ("2A", "EXT. PIER - NIGHT"),
    ]


def test_text_runs_of_a_paragraph_are_joined(harbour):
    assert harbour.scenes[0].elements[0].text == "Mara slams the ledger shut."


def test_character_parenthetical_and_dialogue_form_one_speech(harbour):
    speech = harbour.scenes[0].elements[1].speeches
    assert [(s.cue, s.parts) for s in speech] == [("MARA", ("(to Tom)", "We sail tonight."))]


def test_shot_and_dual_dialogue_and_transition_are_read(harbour):
    kinds = [e.kind for e in harbour.scenes[0].elements]
    assert kinds == ["action", "dialogue", "shot", "action", "dialogue", "transition"]
    dual = harbour.scenes[0].elements[4]
    assert [s.cue for s in dual.speeches] == ["TOM", "OLD JONAS"]


def test_general_paragraphs_read_as_action(harbour):
    assert harbour.scenes[1].elements[0].text == "Fog rolls in."


def test_read_picks_fdx_by_content_even_with_another_extension():
    script = read(
        _fdx('<Paragraph Type="Scene Heading"><Text>INT. A - DAY</Text></Paragraph>'), "x.txt"
    )
    assert script.scenes[0].heading == "INT. A - DAY"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<FinalDraft><Content><Paragraph Type="Action"><Text>&lol3;</Text></Paragraph></Content></FinalDraft>
"""


def test_billion_laughs_is_refused_naming_the_line():
    with pytest.raises(ScriptError) as err:
        read(BILLION_LAUGHS, "laughs.fdx")
    assert "refused" in err.value.message and err.value.where == "line 2"


def test_entity_without_doctype_line_is_refused():
    data = b'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "file:///etc/passwd">\n<FinalDraft/>'
    with pytest.raises(ScriptError) as err:
        read(data, "evil.fdx")
    assert "refused" in err.value.message


def test_malformed_xml_names_line_and_column():
    data = _fdx('<Paragraph Type="Action"><Text>unclosed</Paragraph>')
    with pytest.raises(ScriptError) as err:
        read(data, "broken.fdx")
    assert "damaged" in err.value.message and err.value.where.startswith("line 3, column")


def test_xml_that_is_not_final_draft_is_refused():
    with pytest.raises(ScriptError, match="not a Final Draft script"):
        read(b'<?xml version="1.0"?><html><body/></html>', "page.fdx")


def test_fdx_without_content_or_text_is_refused():
    with pytest.raises(ScriptError, match="no <Content>"):
        read(b'<?xml version="1.0"?><FinalDraft/>', "a.fdx")
    with pytest.raises(ScriptError, match="empty"):
        read(_fdx('<Paragraph Type="Action"><Text>  </Text></Paragraph>'), "a.fdx")


def test_mixed_encodings_in_fdx_name_the_line():
    # "café" in UTF-8, then "naïve" with a Windows-1252 ï: invalid as the UTF-8 it declares.
    data = _fdx('<Paragraph Type="Action"><Text>café and naXve</Text></Paragraph>')
    data = data.replace(b"naXve", b"na\xefve")
    with pytest.raises(ScriptError) as err:
        read(data, "mixed.fdx")
    assert "damaged" in err.value.message and err.value.where.startswith("line 3")


def test_utf16_fdx_is_read():
    data = _fdx('<Paragraph Type="Scene Heading"><Text>INT. CAFÉ - DAY</Text></Paragraph>').decode()
    data = data.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    assert read(data, "a.fdx").scenes[0].heading == "INT. CAFÉ - DAY"
