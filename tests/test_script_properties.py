"""Property tests: whatever bytes arrive, reading a script raises nothing but ScriptError."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from boards.script import fountain
from boards.script.breakdown import Options, plan
from boards.script.document import ScriptError
from boards.script.read import read

# Lines built from Fountain's own marks, so the reader's branches are all reached.
_PIECES = st.sampled_from(
    [
        "",
        "  ",
        "INT. HOUSE - DAY",
        "EXT. SEA #1A#",
        ".FORCED",
        "..",
        "MARA",
        "MARA (V.O.)",
        "TOM ^",
        "@mc",
        "(beat)",
        "Hello there.",
        "CUT TO:",
        ">FORCED",
        "> centred <",
        "~la la",
        "# Act",
        "= synopsis",
        "===",
        "[[note",
        "note]]",
        "/*",
        "*/",
        "!LOUD",
        "*bold* _u_ \\*",
        "Title: X",
        "    indented",
        "CLOSE ON X.",
        "\t",
        "é ü ñ",
        "POV",
        "#12#",
    ]
)
_SCRIPTS = st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=40).map("\n".join)


def _read_and_plan(data: bytes, name: str, **options) -> None:
    try:
        script = read(data, name)
    except ScriptError as exc:
        assert exc.message  # every refusal says something
        return
    for board in plan(script, file_name=name, options=Options(**options)):
        assert board.name
        for panel in board.panels:
            assert panel.key and (panel.action or panel.dialogue)


@settings(max_examples=150, deadline=None)
@given(_SCRIPTS, st.booleans())
def test_fountain_text_never_raises_anything_else(text, merge):
    _read_and_plan(text.encode("utf-8", "surrogatepass"), "a.fountain", merge_dialogue=merge)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_never_raise_anything_else(data):
    _read_and_plan(data, "a.fountain")
    _read_and_plan(data, "a.fdx")


_XML_PIECES = st.sampled_from(
    [
        '<Paragraph Type="Scene Heading" Number="3">',
        '<Paragraph Type="Action">',
        '<Paragraph Type="Character">',
        '<Paragraph Type="Dialogue">',
        '<Paragraph Type="Shot">',
        '<Paragraph Type="Transition">',
        "<Paragraph>",
        "<DualDialogue>",
        "</DualDialogue>",
        "</Paragraph>",
        "<Text>",
        "</Text>",
        "INT. A - DAY",
        "MARA",
        "Hi &amp; bye",
        "&lol;",
        "<![CDATA[x]]>",
        "<!-- c -->",
        "<Content>",
        "</Content>",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_XML_PIECES, max_size=30))
def test_fdx_like_input_never_raises_anything_else(pieces):
    body = "".join(pieces)
    data = f'<?xml version="1.0"?><FinalDraft><Content>{body}</Content></FinalDraft>'.encode()
    _read_and_plan(data, "a.fdx")


@settings(max_examples=100, deadline=None)
@given(_SCRIPTS)
def test_parsing_is_deterministic_and_keeps_line_numbers_in_the_file(text):
    first = fountain.parse(text)
    again = fountain.parse(text)
    assert first == again
    lines = text.count("\n") + 1
    assert all(0 < e.line <= lines for s in first.scenes for e in s.elements)
