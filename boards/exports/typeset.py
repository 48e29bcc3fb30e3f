"""Setting one line of text: a face per character, right-to-left order, shaping.

Text in the main face with no right-to-left or joining script is drawn as it
is (the common case, and the fast one). Anything else is cut into runs: each
character goes to the first face that has it (fonts.FontSet.fallback_for),
the Unicode bidi algorithm (python-bidi) orders the runs as they are read,
and HarfBuzz (uharfbuzz) shapes each run, which joins Arabic letters, places
marks and picks emoji sequences. Shaped glyphs are drawn by glyph, so the
PDF's text layer maps each one back to the characters it stands for.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import uharfbuzz as hb
from bidi import algorithm as bidi_algorithm
from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfgen.canvas import Canvas

from .fonts import FontSet, cjk_preference, fontset_of, weight_stroke

_STRONG_RTL = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI"})
# Scripts whose letters change shape with their neighbours, or reorder.
_SHAPED_PREFIXES = (
    "ARABIC",
    "HEBREW",
    "DEVANAGARI",
    "BENGALI",
    "TAMIL",
    "TELUGU",
    "THAI",
    "KHMER",
    "MYANMAR",
    "SINHALA",
    "GUJARATI",
    "GURMUKHI",
    "KANNADA",
    "MALAYALAM",
    "ORIYA",
    "LAO",
)
FAUX_BOLD_STROKE = 0.03  # outline width in ems for faces without a bold design


@dataclass(frozen=True)
class Glyph:
    """One positioned glyph; offsets and advance at 1 pt."""

    key: str
    advance: float
    dx: float = 0.0
    dy: float = 0.0


@dataclass(frozen=True)
class Run:
    """Text in one face, in drawing order; glyphs is None for text drawn as is."""

    font: str
    text: str
    width: float
    glyphs: tuple[Glyph, ...] | None = None
    stroke: float = 0.0  # outline width in ems, for weight the face lacks


def width(text: str, font: str) -> float:
    """Width of a line at 1 pt, fallbacks and shaping included."""
    return sum(run.width for run in runs(text, font))


def reads_right_to_left(text: str) -> bool:
    """Whether a line's first strong character is Arabic or Hebrew (rule P2)."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return True
        if kind == "L":
            return False
    return False


def draw(
    c: Canvas, text: str, font: str, size: float, x: float, y: float, align: str = "left"
) -> None:
    """Draw one line with its baseline at y; align is left, right or center of x."""
    laid = runs(text, font)
    total = sum(run.width for run in laid) * size
    if align == "right":
        x -= total
    elif align == "center":
        x -= total / 2
    for run in laid:
        _draw_run(c, run, size, x, y)
        x += run.width * size


def _draw_run(c: Canvas, run: Run, size: float, x: float, y: float) -> None:
    c.setFont(run.font, size)
    if run.stroke:
        c.saveState()
        c.setStrokeColor(c._fillColorObj)
        c.setLineWidth(size * run.stroke)
    if run.glyphs is None and not run.stroke:
        c.drawString(x, y, run.text)
    else:
        text = c.beginText(x, y)
        if run.stroke:
            text.setTextRenderMode(2)  # fill and outline
        if run.glyphs is None:
            text.textOut(run.text)
        else:
            _glyphs_out(text, run, size, x, y)
        c.drawText(text)
    if run.stroke:
        c.restoreState()


def _glyphs_out(text, run: Run, size: float, x: float, y: float) -> None:
    """Write shaped glyphs, moving the pen only where shaping moved a glyph.

    Glyphs that sit where the font would put them anyway go out as one
    string: one positioning operator per glyph would double the work.
    """
    widths = pdfmetrics.getFont(run.font).face.charWidths
    pen = x
    batch = ""
    for glyph in run.glyphs or ():
        natural = widths.get(ord(glyph.key), 0) / 1000
        if glyph.dx or glyph.dy or abs(glyph.advance - natural) > 1e-4:
            if batch:
                text.textOut(batch)
                batch = ""
            text.setTextOrigin(pen + glyph.dx * size, y + glyph.dy * size)
            text.textOut(glyph.key)
            text.setTextOrigin(pen + glyph.advance * size, y)
        else:
            batch += glyph.key
        pen += glyph.advance * size
    if batch:
        text.textOut(batch)


@lru_cache(maxsize=65536)
def runs(text: str, font: str) -> tuple[Run, ...]:
    """The runs a line is drawn as, left to right."""
    fontset = fontset_of(font)
    faux = fontset is not None and font in fontset.faux_bold
    bold_stroke = FAUX_BOLD_STROKE if faux else 0.0
    if fontset is None or not fontset.embedded or _plain(fontset, font, text):
        return (Run(font, text, pdfmetrics.stringWidth(text, font, 1.0), stroke=bold_stroke),)
    faces = _faces(fontset, font, text)
    levels = _levels(text)
    out = []
    for start, end, level in _visual_pieces(faces, levels):
        face = faces[start]
        stroke = bold_stroke
        if face != font:
            # Fallback faces have no bold design: boldness becomes an outline.
            stroke = weight_stroke(face) + (FAUX_BOLD_STROKE if font == fontset.bold else 0.0)
        out.append(_shape(text[start:end], face, rtl=level % 2 == 1, stroke=stroke))
    return tuple(out)


def _plain(fontset: FontSet, font: str, text: str) -> bool:
    for ch in text:
        if not fontset.covers(font, ch) or unicodedata.bidirectional(ch) in _STRONG_RTL:
            return False
        if ord(ch) >= 0x0590 and unicodedata.name(ch, "").startswith(_SHAPED_PREFIXES):
            return False
    return True


def _faces(fontset: FontSet, font: str, text: str) -> list[str]:
    faces: list[str] = []
    cjk_first = cjk_preference(text)
    for ch in text:
        category = unicodedata.category(ch)
        if faces and (category in ("Mn", "Me", "Sk") or category == "Cf"):
            # Marks, joiners and skin tones belong with the character before them.
            faces.append(faces[-1])
            continue
        rtl = unicodedata.bidirectional(ch) in ("R", "AL")
        if fontset.covers(font, ch) and not rtl:
            faces.append(font)
            continue
        fallback = fontset.fallback_for(ch, cjk_first)
        faces.append(fallback.name if fallback is not None else font)
    return faces


def _levels(text: str) -> list[int]:
    """Embedding levels per character (rules P2 to I2 of the bidi algorithm)."""
    if not any(unicodedata.bidirectional(ch) in _STRONG_RTL for ch in text):
        return [0] * len(text)
    storage = bidi_algorithm.get_empty_storage()
    base = bidi_algorithm.get_base_level(text)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    bidi_algorithm.get_embedding_levels(text, storage)
    for index, ch in enumerate(storage["chars"]):
        ch["index"] = index
    bidi_algorithm.explicit_embed_and_overrides(storage)
    bidi_algorithm.resolve_weak_types(storage)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    levels: list[int | None] = [None] * len(text)
    for ch in storage["chars"]:
        levels[ch["index"]] = ch["level"]
    # Characters the algorithm sets aside (joiners, embedding marks) take
    # the level of the character before them.
    previous = base
    resolved = []
    for level in levels:
        previous = previous if level is None else level
        resolved.append(previous)
    # L1: trailing white space goes back to the paragraph level.
    i = len(text)
    while i > 0 and text[i - 1].isspace():
        i -= 1
        resolved[i] = base
    return resolved


def _visual_pieces(faces: list[str], levels: list[int]) -> list[tuple[int, int, int]]:
    """Logical slices (start, end, level), one face and level each, in visual order."""
    pieces: list[tuple[int, int, int]] = []
    start = 0
    for i in range(1, len(faces) + 1):
        if i == len(faces) or faces[i] != faces[start] or levels[i] != levels[start]:
            pieces.append((start, i, levels[start]))
            start = i
    # L2: from the highest level down to the lowest odd one, reverse every
    # sequence of pieces at that level or above.
    top = max(levels, default=0)
    lowest_odd = min((lv for lv in levels if lv % 2), default=top + 1)
    for level in range(top, lowest_odd - 1, -1):
        i = 0
        while i < len(pieces):
            if pieces[i][2] >= level:
                j = i
                while j < len(pieces) and pieces[j][2] >= level:
                    j += 1
                pieces[i:j] = reversed(pieces[i:j])
                i = j
            else:
                i += 1
    return pieces


_shaper_lock = threading.Lock()
_hb_fonts: dict[str, tuple[hb.Font, int]] = {}
# Glyphs with no character of their own (joined forms, ligatures, emoji
# sequences) are drawn through private code points; this maps each back to
# the text it stands for, for the PDF's text layer.
_private_text: dict[int, str] = {}
_private_keys: dict[tuple[str, int, str], str] = {}
_next_private = [0xF0000]


def _hb_font(font: str) -> tuple[hb.Font, int]:
    if font not in _hb_fonts:
        ttf = pdfmetrics.getFont(font)
        face = hb.Face(hb.Blob(ttf.face._ttf_data))
        _hb_fonts[font] = (hb.Font(face), face.upem)
    return _hb_fonts[font]


def _shape(text: str, font: str, *, rtl: bool, stroke: float) -> Run:
    with _shaper_lock:
        hb_font, upem = _hb_font(font)
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        buf.direction = "rtl" if rtl else "ltr"
        hb.shape(hb_font, buf, {"kern": True, "liga": True})
        ttf_face = pdfmetrics.getFont(font).face
        infos, positions = buf.glyph_infos, buf.glyph_positions
        clusters = [*sorted({info.cluster for info in infos}), len(text)]
        glyphs = []
        seen: set[int] = set()
        for info, pos in zip(infos, positions, strict=True):
            gid = info.codepoint
            if gid == 0:
                continue  # nothing to draw; the text was checked before
            # The cluster's text goes with its first glyph only, so a letter
            # drawn as a base and a separate dot is read back once.
            source = ""
            if info.cluster not in seen:
                seen.add(info.cluster)
                cluster_end = clusters[clusters.index(info.cluster) + 1]
                source = text[info.cluster : cluster_end]
            key = _key_for(ttf_face, font, gid, source, round(pos.x_advance * 1000 / upem))
            glyphs.append(
                Glyph(key, pos.x_advance / upem, pos.x_offset / upem, pos.y_offset / upem)
            )
    total = sum(g.advance for g in glyphs)
    keys = "".join(g.key for g in glyphs)
    return Run(font, keys, total, tuple(glyphs), stroke)


def _key_for(ttf_face, font: str, gid: int, source: str, advance: int) -> str:
    """The character that draws glyph gid: its own, or a private one standing for source."""
    chars = [c for c in ttf_face.glyphToChar.get(gid, ()) if c not in _private_text]
    wanted = unicodedata.normalize("NFKC", source)
    same = [c for c in chars if unicodedata.normalize("NFKC", chr(c)) == wanted]
    if same:
        return chr(same[0])
    if chars and not source:
        return chr(chars[0])
    known = _private_keys.get((font, gid, source))
    if known is not None:
        return known
    code = _next_private[0]
    _next_private[0] += 1
    ttf_face.charToGlyph[code] = gid
    ttf_face.glyphToChar.setdefault(gid, []).append(code)
    ttf_face.charWidths[code] = advance
    _private_text[code] = source
    _private_keys[(font, gid, source)] = chr(code)
    return chr(code)


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def _to_unicode_cmap(fontname: str, subset: list[int]) -> str:
    """ReportLab's ToUnicode CMap, written as UTF-16 so readers accept it.

    ReportLab 4 writes code points above U+FFFF (emoji) as five hex digits,
    which PDF readers reject, and knows nothing of our private glyph keys.
    """
    # A second glyph of one character (a separate dot) maps to no text.
    mapped = [(i, _private_text.get(code, chr(code))) for i, code in enumerate(subset)]
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        f"<00> <{len(subset) - 1:02X}>",
        "endcodespacerange",
        f"{len(mapped)} beginbfchar",
        *(f"<{i:02X}> <{_utf16_hex(text)}>" for i, text in mapped),
        "endbfchar",
        "endcmap",
        "CMapName currentdict /CMap defineresource pop",
        "end",
        "end",
    ]
    return "\n".join(lines)


ttfonts.makeToUnicodeCMap = _to_unicode_cmap
