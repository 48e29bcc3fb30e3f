"""Names in a script to the project's characters and locations.

A cue or a name matches a character by full name, by an alias, or by first
name when no other character shares it; case, cue extensions ("(V.O.)") and
possessives ("MARA'S") are ignored. A scene heading matches a location by
name once "INT./EXT." and the time of day after " - " are set aside.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_EXTENSION = re.compile(r"\s*\([^)]*\)\s*")
_POSSESSIVE = re.compile(r"['\u2019]S$", re.IGNORECASE)
_PREFIX = re.compile(
    r"^(?:INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|INT|EXT|EST|I\s*/\s*E|E\s*/\s*I)\.?\s+", re.IGNORECASE
)
_CONTD = re.compile(r"\s*\(\s*CONT['\u2019]?D\s*\)", re.IGNORECASE)
_DASH = re.compile(r"\s+(?:-{1,2}|\u2013|\u2014)\s+")


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Place:
    id: int
    name: str


def name_key(name: str) -> str:
    """The form names are compared in: "Mara (V.O.)", "@MARA^" and "MARA'S" all give "mara"."""
    name = _EXTENSION.sub(" ", name.replace("@", " ").replace("^", " "))
    name = " ".join(name.split()).strip(" .,:;!?\"'")
    return _POSSESSIVE.sub("", name).casefold().strip()


def cue_label(cue: str) -> str:
    """How a speaker is written in a panel's dialogue: extensions kept but CONT'D, which
    only says the speech goes on after a page break or action."""
    label = _CONTD.sub("", cue)
    return " ".join(label.split())


def split_heading(heading: str) -> tuple[str, str]:
    """("LIGHTHOUSE - LAMP ROOM", "NIGHT") from "INT. LIGHTHOUSE - LAMP ROOM - NIGHT"."""
    rest = _PREFIX.sub("", heading.strip())
    parts = _DASH.split(rest)
    if len(parts) > 1:
        return " - ".join(parts[:-1]).strip(), parts[-1].strip()
    return rest.strip(), ""


class Bible:
    """The project's characters and locations, indexed the ways a script names them."""

    def __init__(self, people: list[Person], places: list[Place]) -> None:
        self.people = {p.id: p for p in people}
        self.places = {p.id: p for p in places}
        self._names: dict[str, int] = {}
        for person in people:
            for name in (person.name, *person.aliases):
                if key := name_key(name):
                    self._names.setdefault(key, person.id)
        firsts = Counter(name_key(p.name).split(" ")[0] for p in people if name_key(p.name))
        for person in people:
            key = name_key(person.name)
            first = key.split(" ")[0] if key else ""
            if first and firsts[first] == 1 and first not in self._names:
                self._names[first] = person.id
        self._places = {name_key(p.name): p.id for p in places}
        self._pattern: re.Pattern[str] | None = None
        if self._names:
            words = sorted(self._names, key=len, reverse=True)
            alternatives = "|".join(re.escape(w) for w in words)
            self._pattern = re.compile(
                rf"(?<![\w'\u2019])({alternatives})(?:['\u2019]s)?(?![\w'\u2019])", re.IGNORECASE
            )

    def character_for(self, cue: str) -> int | None:
        return self._names.get(name_key(cue))

    def mentioned(self, text: str) -> list[int]:
        """Characters named in action text, in order of first mention.

        A mention must start with a capital ("Mara", "MARA"), so a character
        called Will is not found in "she will".
        """
        if self._pattern is None:
            return []
        found: list[int] = []
        for match in self._pattern.finditer(text):
            if not match.group(1)[0].isupper():
                continue
            person = self._names.get(match.group(1).casefold())
            if person is not None and person not in found:
                found.append(person)
        return found

    def location_for(self, place: str) -> int | None:
        """The location a heading's place names: the whole place, else its first part."""
        key = name_key(place)
        if key in self._places:
            return self._places[key]
        first = name_key(_DASH.split(place)[0]) if place else ""
        return self._places.get(first)
