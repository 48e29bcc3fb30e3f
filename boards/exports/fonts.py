"""Fonts for PDF exports, and making any text printable with them.

ReportLab's built-in Helvetica only knows Windows-1252, so Greek, Cyrillic and
most typographic punctuation would come out as garbage. DejaVu Sans covers
them; when it is not installed we fall back to Helvetica and replace what it
cannot show. Characters no font here can draw (emoji, CJK) become a visible
replacement mark instead of crashing the export or vanishing silently.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu
    "/usr/share/fonts/dejavu",  # Fedora, Alpine
    "/usr/share/fonts/TTF",  # Arch
    "/usr/share/fonts/dejavu-sans-fonts",  # newer Fedora
    "/usr/local/share/fonts",
    "/Library/Fonts",
    str(Path.home() / "Library" / "Fonts"),
)
FACE_FILES = {
    "regular": "DejaVuSans.ttf",
    "bold": "DejaVuSans-Bold.ttf",
    "italic": "DejaVuSans-Oblique.ttf",
}
BASE14 = {"regular": "Helvetica", "bold": "Helvetica-Bold", "italic": "Helvetica-Oblique"}
# Marks that only modify a neighbour (emoji variation selectors, joiners):
# printing a replacement for each would double every unsupported emoji.
_SILENT_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc", "Cs"})


@dataclass
class FontSet:
    """The three faces an export uses, plus per-face knowledge of what they can draw."""

    regular: str
    bold: str
    italic: str
    embedded: bool
    _coverage: dict[str, frozenset[int] | None] = field(default_factory=dict, repr=False)

    def face(self, role: str) -> str:
        """The registered font name for a role: regular, bold or italic."""
        return getattr(self, role)

    def clean(self, text: str, font: str) -> str:
        """Return text with every character the font cannot draw replaced.

        Tabs become spaces and other control characters are dropped; an
        unsupported visible character becomes U+FFFD (or '?' if even that is
        missing) so a reader can see that something was there.
        """
        covered = self._coverage.get(font)
        if covered is None:
            return _clean_winansi(text)
        if all(ord(ch) in covered or ch == "\n" for ch in text):
            return text
        replacement = "\ufffd" if 0xFFFD in covered else "?"
        out = []
        for ch in text:
            if ch == "\n" or ord(ch) in covered:
                out.append(ch)
            elif ch == "\t":
                out.append(" ")
            elif unicodedata.category(ch) in _SILENT_CATEGORIES:
                continue
            else:
                out.append(replacement)
        return "".join(out)


def _clean_winansi(text: str) -> str:
    out = []
    for ch in text:
        if ch == "\t":
            out.append(" ")
        elif ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) in _SILENT_CATEGORIES:
            continue
        else:
            try:
                ch.encode("cp1252")
            except UnicodeEncodeError:
                ch = "?"
            out.append(ch)
    return "".join(out)


def find_font_dir(dirs: tuple[str, ...] = FONT_DIRS) -> Path | None:
    """The first directory holding all three DejaVu Sans faces, if any."""
    for d in dirs:
        path = Path(d)
        if all((path / name).is_file() for name in FACE_FILES.values()):
            return path
    return None


_lock = threading.Lock()
_cached: FontSet | None = None


def get_fonts() -> FontSet:
    """Register the export fonts once per process and return them."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _register(find_font_dir())
        return _cached


def _register(font_dir: Path | None) -> FontSet:
    if font_dir is None:
        return FontSet(**BASE14, embedded=False, _coverage={})
    names = {}
    coverage: dict[str, frozenset[int] | None] = {}
    for role, filename in FACE_FILES.items():
        name = f"CastboardSans-{role}"
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(name, str(font_dir / filename)))
        font = pdfmetrics.getFont(name)
        coverage[name] = frozenset(font.face.charToGlyph)
        names[role] = name
    return FontSet(**names, embedded=True, _coverage=coverage)
