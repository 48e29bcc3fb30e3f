"""A Final Draft (.fdx) reader, XML parsed with defusedxml.

Entity declarations, external entities and DTDs are refused: a "billion
laughs" file or one that points at server files never reaches the parser's
expansion. Paragraph types read: Scene Heading (with its Number), Action,
General, Character, Parenthetical, Dialogue, Transition, Shot and
DualDialogue groups, as Final Draft 8 to 13 write them.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element as XmlElement
from xml.etree.ElementTree import ParseError

import defusedxml
from defusedxml import ElementTree as SafeTree

from boards.script.decode import check_size, sniff_binary
from boards.script.document import Element, Script, ScriptError, Speech, group_scenes

_UNIT = "paragraph"
NEWLINE = b"\n"


def looks_like_fdx(data: bytes, name: str = "") -> bool:
    """True for a .fdx name, or an XML file whose root names Final Draft."""
    if name.lower().endswith(".fdx"):
        return True
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<?xml") or head.startswith(b"<FinalDraft")


def _line_of(data: bytes, needle: bytes) -> str:
    index = data.find(needle)
    return f"line {data.count(NEWLINE, 0, index) + 1}" if index >= 0 else ""


def _root(data: bytes) -> XmlElement:
    try:
        return SafeTree.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DTDForbidden:
        raise ScriptError(
            "The Final Draft file declares a DTD (<!DOCTYPE … [ … ]>), which Final Draft never "
            "writes and which can be used to attack a server; it was refused.",
            _line_of(data, b"<!DOCTYPE"),
        ) from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden):
        raise ScriptError(
            "The Final Draft file declares XML entities, which Final Draft never writes and "
            "which can be used to attack a server; it was refused.",
            _line_of(data, b"<!ENTITY"),
        ) from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        reason = str(exc).split(":", 1)[0]
        raise ScriptError(
            f"The Final Draft file is damaged: it is not valid XML ({reason}). Open it in "
            "Final Draft and save it again, or export it as Fountain.",
            f"line {line}, column {column + 1}",
        ) from None
    except (ValueError, RecursionError, LookupError) as exc:
        # Unknown encodings in the XML declaration and similar oddities.
        raise ScriptError(f"The Final Draft file cannot be read ({exc}).") from None


def _text(paragraph: XmlElement) -> str:
    return " ".join("".join(t.text or "" for t in paragraph.findall("Text")).split())


class _Reader:
    def __init__(self) -> None:
        self.out: list[Element] = []
        self.speech: tuple[str, list[str]] | None = None
        self.speeches: list[Speech] = []
        self.speech_line = 0

    def end_dialogue(self) -> None:
        if self.speech is not None:
            self.speeches.append(Speech(self.speech[0], tuple(self.speech[1])))
            self.speech = None
        if self.speeches:
            self.out.append(
                Element("dialogue", line=self.speech_line, speeches=tuple(self.speeches))
            )
            self.speeches = []

    def paragraph(self, paragraph: XmlElement, index: int, *, in_dual: bool = False) -> None:
        kind = paragraph.get("Type", "")
        text = _text(paragraph)
        if kind == "Character":
            if self.speech is not None:
                self.speeches.append(Speech(self.speech[0], tuple(self.speech[1])))
            if not in_dual:
                self.end_dialogue()
            if not self.speeches:
                self.speech_line = index
            self.speech = (text, [])
            return
        if kind in ("Dialogue", "Parenthetical", "Lyrics") and self.speech is not None:
            if text:
                self.speech[1].append(text)
            return
        if in_dual:
            return
        self.end_dialogue()
        if kind == "Scene Heading" and text:
            self.out.append(Element("heading", text, index, number=paragraph.get("Number", "")))
        elif kind in ("Action", "General", "Lyrics", "Dialogue") and text:
            self.out.append(Element("action", text, index))
        elif kind == "Shot" and text:
            self.out.append(Element("shot", text, index))
        elif kind == "Transition" and text:
            self.out.append(Element("transition", text, index))

    def dual(self, group: XmlElement, index: int) -> None:
        self.end_dialogue()
        for paragraph in group.findall("Paragraph"):
            self.paragraph(paragraph, index, in_dual=True)
        self.end_dialogue()


def parse(data: bytes, *, name: str = "") -> Script:
    """Read the bytes of a Final Draft file into scenes of elements."""
    check_size(data)
    sniff_binary(data)
    root = _root(data)
    if root.tag != "FinalDraft":
        raise ScriptError(
            f"This XML file is not a Final Draft script (its root element is <{root.tag}>, "
            "not <FinalDraft>).",
            "line 1",
        )
    content = root.find("Content")
    if content is None:
        raise ScriptError(
            "The Final Draft file has no <Content> element: there is no script in it."
        )
    reader = _Reader()
    for index, paragraph in enumerate(content.findall("Paragraph"), start=1):
        group = paragraph.find("DualDialogue")
        if group is not None:
            reader.dual(group, index)
        else:
            reader.paragraph(paragraph, index)
    reader.end_dialogue()
    title = ""
    title_page = root.find("TitlePage")
    if title_page is not None:
        for paragraph in title_page.iter("Paragraph"):
            if text := _text(paragraph):
                title = text
                break
    script = group_scenes(reader.out, title or name, unit=_UNIT)
    if not script.scenes:
        raise ScriptError("The Final Draft file has no text in its <Content>: the script is empty.")
    return script
