"""Encodings, line endings and files that are not scripts at all."""

from __future__ import annotations

import codecs

import pytest

from boards.script import decode
from boards.script.document import ScriptError
from boards.script.read import read

TEXT = "INT. CAFÉ \u2013 NIGHT\n\nZoë orders a crème brûlée.\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),  # with its byte-order mark
        TEXT.encode("utf-16-le"),
        TEXT.encode("utf-16-be"),
        TEXT.encode("cp1252"),
    ],
    ids=["utf8", "utf8-bom", "utf16-bom", "utf16le", "utf16be", "windows-1252"],
)
def test_each_encoding_reads_the_same_text(data):
    assert decode.decode(data) == TEXT


@pytest.mark.parametrize("ending", ["\r\n", "\r", "\n"])
def test_any_line_ending_gives_the_same_scenes(ending):
    script = read(TEXT.replace("\n", ending).encode(), "a.fountain")
    assert script.scenes[0].elements[0].text == "Zoë orders a crème brûlée."


def test_mixed_utf8_and_windows_1252_is_refused_naming_the_line():
    data = "INT. CAFÉ - DAY\n\nFine.\n".encode() + "Naïve.\n".encode("cp1252")
    with pytest.raises(ScriptError) as err:
        decode.decode(data)
    assert "mixes two text encodings" in err.value.message and err.value.where == "line 4"


def test_byte_undefined_in_windows_1252_is_refused():
    with pytest.raises(ScriptError) as err:
        decode.decode(b"INT. A - DAY\n\nBad \x81 byte.\n")
    assert "0x81" in err.value.message and err.value.where == "line 3"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"%PDF-1.7\n...", "PDF"),
        (b"PK\x03\x04rest", "ZIP"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"INT. A\x00\x01\x02\x03 binary" * 3 + b"\x00" * 3, "not a text file"),
        (b"INT. A - DAY\n\nA bell \x07 rings.\n", "control characters"),
    ],
)
def test_binary_files_are_refused_by_name(data, words):
    with pytest.raises(ScriptError, match=words):
        read(data, "upload.fountain")


def test_binary_refusal_says_where():
    with pytest.raises(ScriptError) as err:
        decode.decode(b"INT. A - DAY\n\nA bell \x07 rings.\n")
    assert err.value.where == "line 3"


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t", codecs.BOM_UTF8, codecs.BOM_UTF16_LE])
def test_empty_files_are_refused(data):
    with pytest.raises(ScriptError, match="empty"):
        read(data, "empty.fountain")


def test_files_over_ten_megabytes_are_refused_before_reading():
    with pytest.raises(ScriptError, match="up to 10 MB"):
        read(b"a" * (10 * 1024 * 1024 + 1), "big.fountain")
