"""Fonts for PDF exports, and making any text printable with them.

ReportLab's built-in Helvetica only knows Windows-1252, so the export embeds
TrueType faces: DejaVu Sans when the system has it (it has real bold and
oblique faces), else Noto Sans from the `manimgx-fonts` package. Characters
the main face lacks are drawn with fallback faces that pip installs with the
studio: Noto Sans Arabic, Hebrew, Symbols, Noto Emoji (monochrome) and the
other scripts in `manimgx-fonts`, and Noto Sans SC/JP/KR/TC from
`justmytype-intl-cjk` (TrueType outlines: ReportLab cannot embed the CFF
flavour of Noto CJK). A character no face can draw becomes a visible
replacement mark, and its script is recorded so the export can say what it
could not print.
"""

from __future__ import annotations

import importlib
import struct
import threading
import unicodedata
from dataclasses import dataclass, field
from importlib.resources import files
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
# Fallback faces in the order they are tried: (python package, file inside it).
# Scripts written right to left come first so that Arabic and Hebrew use
# their own faces even where the main face has a few of their letters.
NOTO = "manimgx_fonts"
CJK = "justmytype_intl_cjk"
FALLBACK_FILES: tuple[tuple[str, str], ...] = (
    (NOTO, "NotoSansArabic[wght].ttf"),
    (NOTO, "NotoSansHebrew[wght].ttf"),
    (NOTO, "NotoSans[wght].ttf"),
    (NOTO, "NotoSansSymbols[wght].ttf"),
    (NOTO, "NotoEmoji[wght].ttf"),
    *(
        (NOTO, f"NotoSans{script}[wght].ttf")
        for script in (
            "Devanagari",
            "Bengali",
            "Thai",
            "Tamil",
            "Telugu",
            "Armenian",
            "Georgian",
            "Ethiopic",
            "Gujarati",
            "Gurmukhi",
            "Kannada",
            "Khmer",
            "Lao",
            "Malayalam",
            "Myanmar",
            "Oriya",
            "Sinhala",
        )
    ),
    (CJK, "fonts/ofl/notosanssc/NotoSansSC[wght].ttf"),
    (CJK, "fonts/ofl/notosansjp/NotoSansJP[wght].ttf"),
    (CJK, "fonts/ofl/notosanskr/NotoSansKR[wght].ttf"),
    (CJK, "fonts/ofl/notosanstc/NotoSansTC[wght].ttf"),
)
# Variable faces embed their default design; Noto CJK's is Thin (100). Each
# weight step below Regular (400) is made up with this much outline, in ems,
# so CJK text prints as dark as the text around it.
STROKE_PER_WEIGHT = 0.00015
# Marks that only modify a neighbour (emoji variation selectors, joiners):
# printing a replacement for each would double every unsupported emoji.
_SILENT_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Cc", "Cs"})
# First words of Unicode character names, as a person names the script.
_SCRIPT_WORDS = {
    "CJK": "Chinese/Japanese (CJK)",
    "HIRAGANA": "Japanese",
    "KATAKANA": "Japanese",
    "HANGUL": "Korean",
    "IDEOGRAPHIC": "Chinese/Japanese (CJK)",
    "FULLWIDTH": "Chinese/Japanese (CJK)",
    "ARABIC": "Arabic",
    "HEBREW": "Hebrew",
}


def script_of(ch: str) -> str:
    """The script a person would name for a character ("Arabic", "Emoji", ...)."""
    code = ord(ch)
    if code >= 0x1F000 or unicodedata.category(ch) == "So":
        return "Emoji and symbols"
    word = unicodedata.name(ch, "").split(" ", 1)[0]
    if word in _SCRIPT_WORDS:
        return _SCRIPT_WORDS[word]
    return word.capitalize() or "Unknown"


def default_weight(font: str) -> float:
    """The weight a registered face draws: its variable default, else 400."""
    face = pdfmetrics.getFont(font).face
    if "fvar" not in getattr(face, "table", {}):
        return 400.0
    data = face.get_table("fvar")
    offset, count, size = struct.unpack(">H2xHH", data[4:12])
    for i in range(count):
        tag, _, default = struct.unpack(">4sii", data[offset + i * size : offset + i * size + 12])
        if tag == b"wght":
            return default / 65536
    return 400.0


# Outline width (ems) that brings each registered face up to Regular.
_strokes: dict[str, float] = {}


def weight_stroke(font: str) -> float:
    """Extra outline, in ems, that makes a light default design print as Regular."""
    if font not in _strokes:
        try:
            weight = default_weight(font)
        except (KeyError, struct.error):
            weight = 400.0
        _strokes[font] = max(0.0, 400.0 - weight) * STROKE_PER_WEIGHT
    return _strokes[font]


@dataclass
class Face:
    """A fallback face, registered with ReportLab the first time it is needed."""

    name: str
    path: Path | None
    _coverage: frozenset[int] | None = field(default=None, repr=False)

    @property
    def coverage(self) -> frozenset[int]:
        if self._coverage is None:
            if self.path is None:
                self._coverage = frozenset()
            else:
                if self.name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont(self.name, str(self.path)))
                self._coverage = frozenset(pdfmetrics.getFont(self.name).face.charToGlyph)
        return self._coverage


@dataclass
class FontSet:
    """The three faces an export uses, plus per-face knowledge of what they can draw."""

    regular: str
    bold: str
    italic: str
    embedded: bool
    _coverage: dict[str, frozenset[int] | None] = field(default_factory=dict, repr=False)
    fallbacks: tuple[Face, ...] = ()
    # Faces registered under a bold name without a bold design: drawn with a
    # thin outline so bold text still reads as bold.
    faux_bold: frozenset[str] = frozenset()
    _chosen: dict[tuple[str, tuple[str, ...]], Face | None] = field(
        default_factory=dict, repr=False
    )

    def face(self, role: str) -> str:
        """The registered font name for a role: regular, bold or italic."""
        return getattr(self, role)

    def covers(self, font: str, ch: str) -> bool:
        covered = self._coverage.get(font)
        return covered is not None and ord(ch) in covered

    def fallback_for(self, ch: str, cjk_first: tuple[str, ...] = ()) -> Face | None:
        """The first fallback face that can draw ch, trying its script's faces first.

        Loading a face reads its whole character map (about 0.1 s each), so
        a Chinese character goes straight to the CJK faces instead of
        loading twenty others on the way. cjk_first names the CJK face to
        try first (a Japanese line wants its kanji in Japanese forms).
        """
        with _lock:
            if (ch, cjk_first) in self._chosen:
                return self._chosen[(ch, cjk_first)]
            code = ord(ch)
            likely = _likely_stems(ch)
            if cjk_first and set(likely) & set(_CJK_STEMS):
                likely = cjk_first + likely
            ordered = sorted(
                self.fallbacks,
                key=lambda face: next(
                    (i for i, stem in enumerate(likely) if stem in face.name), len(likely)
                ),
            )
            found = next((face for face in ordered if code in face.coverage), None)
            self._chosen[(ch, cjk_first)] = found
            return found

    def clean(self, text: str, font: str, missing: set[str] | None = None) -> str:
        """Return text with every character no face can draw replaced.

        Tabs become spaces and other control characters are dropped; an
        unsupported visible character becomes U+FFFD (or '?' if even that is
        missing) so a reader can see that something was there, and its script
        is added to missing.
        """
        covered = self._coverage.get(font)
        if covered is None:
            return _clean_winansi(text, missing)
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
                # Joiners and variation selectors stay with their neighbour:
                # the shaper uses them to pick an emoji or a joining form.
                if _is_ignorable(ch) and out:
                    out.append(ch)
            elif self.fallback_for(ch) is not None:
                out.append(ch)
            else:
                if missing is not None:
                    missing.add(script_of(ch))
                out.append(replacement)
        return "".join(out)


# Face names to try first for a character, by the first word of its Unicode name.
_CJK_STEMS = ("SansSC", "SansJP", "SansKR", "SansTC")
_STEMS_BY_WORD = {
    "CJK": _CJK_STEMS,
    "IDEOGRAPHIC": _CJK_STEMS,
    "FULLWIDTH": _CJK_STEMS,
    "HALFWIDTH": ("SansJP", "SansKR", *_CJK_STEMS),
    "HIRAGANA": ("SansJP",),
    "KATAKANA": ("SansJP",),
    "BOPOMOFO": ("SansTC", "SansSC"),
    "HANGUL": ("SansKR",),
}


def cjk_preference(text: str) -> tuple[str, ...]:
    """The CJK face a line's Han characters should use: Japanese beside kana, Korean beside Hangul."""
    for ch in text:
        if 0x3040 <= ord(ch) <= 0x30FF:
            return ("SansJP",)
        if 0xAC00 <= ord(ch) <= 0xD7A3 or 0x1100 <= ord(ch) <= 0x11FF:
            return ("SansKR",)
    return ()


def _likely_stems(ch: str) -> tuple[str, ...]:
    if ord(ch) >= 0x1F000 or unicodedata.category(ch) == "So":
        return ("Emoji", "Symbols")
    word = unicodedata.name(ch, "").split(" ", 1)[0]
    if word in _STEMS_BY_WORD:
        return _STEMS_BY_WORD[word]
    # Noto names its faces after the script: NotoSansArabic, NotoSansThai...
    return (f"Sans{word.capitalize()}",) if word else ()


def _is_ignorable(ch: str) -> bool:
    code = ord(ch)
    return code in (0x200C, 0x200D) or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def _clean_winansi(text: str, missing: set[str] | None = None) -> str:
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
                if missing is not None:
                    missing.add(script_of(ch))
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


def packaged_font(package: str, name: str) -> Path | None:
    """A font file shipped inside an installed Python package, or None."""
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    path = Path(str(files(module) / name))
    return path if path.is_file() else None


_lock = threading.RLock()
_cached: FontSet | None = None
# Every FontSet made, by the names of its faces, so that measuring and
# drawing (which only get a font name) find the right fallbacks.
_sets: dict[str, FontSet] = {}


def get_fonts() -> FontSet:
    """Register the export fonts once per process and return them."""
    global _cached
    with _lock:
        if _cached is None:
            _cached = _register(find_font_dir())
        return _cached


def fontset_of(font: str) -> FontSet | None:
    """The FontSet a registered main face belongs to."""
    return _sets.get(font)


def _fallbacks(fallback_files: tuple[tuple[str, str], ...]) -> tuple[Face, ...]:
    faces = []
    for package, filename in fallback_files:
        path = packaged_font(package, filename)
        if path is not None:
            stem = filename.rsplit("/", 1)[-1].split("[", 1)[0].split(".", 1)[0]
            faces.append(Face(f"Castboard-{stem}", path))
    return tuple(faces)


def _register(
    font_dir: Path | None,
    *,
    fallback_files: tuple[tuple[str, str], ...] = FALLBACK_FILES,
    use_packaged: bool = True,
    prefix: str | None = None,
) -> FontSet:
    """A FontSet from DejaVu in font_dir, else Noto Sans from pip, else Helvetica.

    prefix names the registered faces; a set made with other fallbacks needs
    its own, since measuring and drawing find a set by its faces' names.
    """
    files_by_role: dict[str, Path] = {}
    faux: set[str] = set()
    prefix = prefix or "CastboardSans"
    if font_dir is not None:
        files_by_role = {role: font_dir / name for role, name in FACE_FILES.items()}
    elif use_packaged:
        regular = packaged_font(NOTO, "NotoSans[wght].ttf")
        italic = packaged_font(NOTO, "NotoSans-Italic[wght].ttf")
        if regular is not None and italic is not None:
            prefix = prefix.replace("Sans", "Noto")
            files_by_role = {"regular": regular, "bold": regular, "italic": italic}
            faux.add(f"{prefix}-bold")
    fallbacks = _fallbacks(fallback_files)
    if not files_by_role:
        fontset = FontSet(
            BASE14["regular"], BASE14["bold"], BASE14["italic"], embedded=False, _coverage={}
        )
    else:
        names: dict[str, str] = {}
        coverage: dict[str, frozenset[int] | None] = {}
        for role, path in files_by_role.items():
            name = f"{prefix}-{role}"
            with _lock:
                if name not in pdfmetrics.getRegisteredFontNames():
                    pdfmetrics.registerFont(TTFont(name, str(path)))
            font = pdfmetrics.getFont(name)
            coverage[name] = frozenset(font.face.charToGlyph)
            names[role] = name
        fontset = FontSet(
            names["regular"],
            names["bold"],
            names["italic"],
            embedded=True,
            _coverage=coverage,
            fallbacks=fallbacks,
            faux_bold=frozenset(faux),
        )
    for role in ("regular", "bold", "italic"):
        _sets[fontset.face(role)] = fontset
    return fontset
