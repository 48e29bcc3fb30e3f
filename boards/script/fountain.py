"""A Fountain reader: text to script elements, in small pure steps.

Follows the Fountain syntax: title page, scene headings (INT, EXT, EST,
INT./EXT, I/E and forced "."), scene numbers "#12A#", character cues with
extensions and forced "@", dual dialogue "^", parentheticals, transitions
(… TO: and forced ">"), centred text, lyrics "~", sections "#", synopses
"=", notes [[ ]], boneyard /* */, page breaks "===" and forced action "!".
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from boards.script.document import Element, Script, Speech, group_scenes

_HEADING = re.compile(r"^(?:INT\.?/EXT|EXT\.?/INT|INT|EXT|EST|I/E|E/I)(?:\.|\s)", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#([A-Za-z0-9.\-]+)#\s*$")
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z ]*):(.*)$")
_PAGE_BREAK = re.compile(r"^={3,}$")
# Boneyard spans anything; a note may wrap lines but not cross an empty one.
_HIDDEN = re.compile(r"/\*.*?\*/|\[\[(?:(?!\n[ \t]*\n).)*?\]\]", re.DOTALL)
_EMPHASIS = re.compile(r"(\*{1,3}|_)(?=\S)(.+?)(?<=\S)\1")
_ESCAPE = re.compile(r"\\([*_\\])")


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, in the file as uploaded
    text: str


def plain(text: str) -> str:
    """Text without Fountain emphasis marks (*italic*, **bold**, _underline_) or escapes."""
    if not any(mark in text for mark in "*_\\"):
        return text
    # Escaped marks are parked on private-use characters while emphasis is taken out.
    text = _ESCAPE.sub(lambda m: chr(0xE000 + ord(m.group(1))), text)
    previous = None
    while previous != text:
        previous, text = text, _EMPHASIS.sub(r"\2", text)
    return "".join(chr(ord(c) - 0xE000) if 0xE000 <= ord(c) < 0xE080 else c for c in text)


def visible_lines(text: str) -> tuple[list[Line], list[tuple[int, str]]]:
    """The lines left once boneyard and notes are taken out, and the notes with their line.

    A line that held only hidden text disappears (it does not end a
    paragraph); line numbers stay those of the file.
    """
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(index: int) -> int:
        return bisect.bisect_right(starts, index)

    touched: set[int] = set()
    notes: list[tuple[int, str]] = []
    pieces: list[str] = []
    last = 0
    for match in _HIDDEN.finditer(text):
        first_line, last_line = line_of(match.start()), line_of(match.end() - 1)
        touched.update(range(first_line, last_line + 1))
        if match.group().startswith("[["):
            note = " ".join(match.group()[2:-2].split())
            if note:
                notes.append((first_line, note))
        pieces.append(text[last : match.start()])
        pieces.append("\n" * match.group().count("\n"))
        last = match.end()
    pieces.append(text[last:])
    cleaned = "".join(pieces).split("\n")
    lines = [
        Line(i, raw.replace("\t", "    ").rstrip("\n"))
        for i, raw in enumerate(cleaned, start=1)
        if not (i in touched and not raw.strip())
    ]
    return lines, notes


def _blank(line: Line) -> bool:
    return not line.text.strip()


def title_page(lines: list[Line]) -> tuple[str, int]:
    """The title (or "") and how many lines the title page takes at the top."""
    if not lines or not _TITLE_KEY.match(lines[0].text.strip()):
        return "", 0
    title_parts: list[str] = []
    key = ""
    count = 0
    for line in lines:
        if _blank(line):
            break
        count += 1
        match = _TITLE_KEY.match(line.text.strip()) if not line.text[:1].isspace() else None
        if match:
            key = match.group(1).strip().lower()
            value = match.group(2).strip()
        else:
            value = line.text.strip()
        if key == "title" and value:
            title_parts.append(plain(value))
    return " ".join(title_parts), count


def is_heading(text: str) -> bool:
    return (text.startswith(".") and not text.startswith("..") and len(text) > 1) or bool(
        _HEADING.match(text)
    )


def split_heading(text: str) -> tuple[str, str]:
    """("INT. LIGHTHOUSE - NIGHT", "12A") from "INT. LIGHTHOUSE - NIGHT #12A#"; a forcing "." dropped."""
    if text.startswith(".") and not text.startswith(".."):
        text = text[1:]
    number = ""
    if match := _SCENE_NUMBER.search(text):
        number = match.group(1)
        text = text[: match.start()]
    return " ".join(plain(text).split()), number


# Not transitions by the letter of the syntax (no "TO:"), but never a picture either.
_FADES = re.compile(r"^(?:FADE (?:IN|OUT)|FADE TO BLACK|CUT TO BLACK)[.:]?$")


def is_transition(text: str) -> bool:
    capitals = text == text.upper() and any(c.isalpha() for c in text)
    return capitals and (text.endswith("TO:") or bool(_FADES.match(text)))


def is_cue(text: str) -> bool:
    """A character cue: forced with "@", or a name in capitals (extensions may be any case)."""
    if text.startswith("@"):
        return len(text) > 1
    if text.startswith(("!", "(", "~", ">", "[", "#", "=")):
        return False
    name = text.rstrip("^").split("(", 1)[0].strip()
    return (
        any(c.isalpha() for c in name)
        and name == name.upper()
        and not name.endswith(":")
        and not is_transition(name)
    )


def _dialogue(lines: list[Line], i: int) -> tuple[Speech, bool, int]:
    """The speech starting with the cue at lines[i], whether it is dual ("^"), and the next index."""
    cue = lines[i].text.strip()
    dual = cue.endswith("^")
    cue = cue.rstrip("^").strip()
    if cue.startswith("@"):
        cue = cue[1:].strip()
    parts: list[str] = []
    j = i + 1
    while j < len(lines):
        raw = lines[j].text
        # Two spaces on an otherwise empty line keep a speech going across it.
        if not raw.strip() and len(raw) < 2:
            break
        text = raw.strip()
        if text.startswith("(") and text.endswith(")"):
            parts.append(text)
        elif text:
            text = plain(text.lstrip("~").strip())
            if parts and not parts[-1].startswith("("):
                parts[-1] = f"{parts[-1]} {text}"
            else:
                parts.append(text)
        j += 1
    return Speech(cue=" ".join(cue.split()), parts=tuple(parts)), dual, j


def _paragraph(lines: list[Line], i: int) -> tuple[str, int]:
    """An action paragraph from lines[i] to the next empty line, forcing "!" marks dropped."""
    texts: list[str] = []
    j = i
    while j < len(lines) and not _blank(lines[j]):
        text = lines[j].text.strip()
        if text.startswith("!"):
            text = text[1:].strip()
        elif text.startswith(">") and text.endswith("<"):
            text = text[1:-1].strip()  # centred text reads as action
        elif text.startswith("~"):
            text = text[1:].strip()  # lyrics
        texts.append(plain(text))
        j += 1
    return "\n".join(t for t in texts if t), j


def elements(lines: list[Line], start: int = 0) -> list[tuple[Element, int]]:
    """The script's elements in order, each with the number of its last line."""
    out: list[tuple[Element, int]] = []
    i = start
    previous_blank = True
    while i < len(lines):
        line = lines[i]
        text = line.text.strip()
        if not text:
            previous_blank = True
            i += 1
            continue
        next_blank = i + 1 >= len(lines) or _blank(lines[i + 1])
        if _PAGE_BREAK.match(text):
            out.append((Element("page_break", line=line.number), line.number))
            i += 1
        elif text.startswith("#"):
            out.append((Element("section", text.lstrip("#").strip(), line.number), line.number))
            i += 1
        elif text.startswith("=") and not text.startswith("=="):
            out.append((Element("synopsis", text[1:].strip(), line.number), line.number))
            i += 1
        elif previous_blank and is_heading(text):
            heading, number = split_heading(text)
            out.append((Element("heading", heading, line.number, number=number), line.number))
            i += 1
        elif text.startswith(">") and not text.endswith("<"):
            out.append((Element("transition", text[1:].strip(), line.number), line.number))
            i += 1
        elif previous_blank and next_blank and is_transition(text):
            out.append((Element("transition", text, line.number), line.number))
            i += 1
        elif previous_blank and not next_blank and is_cue(text):
            speech, dual, j = _dialogue(lines, i)
            last = lines[j - 1].number
            before = out[-1][0] if out else None
            if dual and before is not None and before.kind == "dialogue":
                merged = Element("dialogue", line=before.line, speeches=(*before.speeches, speech))
                out[-1] = (merged, last)
            else:
                out.append((Element("dialogue", line=line.number, speeches=(speech,)), last))
            i = j
        else:
            paragraph, j = _paragraph(lines, i)
            if paragraph:
                out.append((Element("action", paragraph, line.number), lines[j - 1].number))
            i = j
        # Headings, sections, synopses, page breaks and transitions stand on their own
        # line: what follows them starts afresh even without an empty line between.
        previous_blank = out[-1][0].kind not in ("action", "dialogue") if out else True
    return out


def _with_notes(found: list[tuple[Element, int]], notes: list[tuple[int, str]]) -> list[Element]:
    """Attach each note to the panel-making element whose lines it sits within."""
    result = []
    note_lines = [n for n, _ in notes]
    for element, last in found:
        if element.kind in ("action", "dialogue"):
            lo = bisect.bisect_left(note_lines, element.line)
            hi = bisect.bisect_right(note_lines, last)
            inside = tuple(text for _, text in notes[lo:hi])
            if inside:
                element = Element(
                    element.kind,
                    element.text,
                    element.line,
                    element.number,
                    element.speeches,
                    inside,
                )
        result.append(element)
    return result


def parse(text: str, *, name: str = "") -> Script:
    """Read Fountain text (already decoded) into scenes of elements."""
    lines, notes = visible_lines(text)
    title, skip = title_page(lines)
    found = elements(lines, skip)
    return group_scenes(_with_notes(found, notes), title or name)
