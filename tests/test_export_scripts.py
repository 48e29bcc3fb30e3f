"""PDFs in every language: text read back from the PDF and pictures of the glyphs.

Rendering goes through pypdfium2 (PDFium from pip), so these run on a machine
with nothing but Python.
"""

from __future__ import annotations

import datetime
import io
import unicodedata

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops
from pypdf import PdfReader

from boards.exports import ExportBoard, ExportOptions, ExportPanel, render_pdf
from boards.exports import pdf as pdf_module
from boards.exports.fonts import CJK, FALLBACK_FILES, _register, find_font_dir

DAY = datetime.date(2025, 3, 7)
SCALE = 4  # pixels per point when rendering


def render(panels, *, kind="storyboard", layout="1x1", project="Night Shift", name="Act 1"):
    board = ExportBoard(project, name, kind, 16 / 9, "16:9", DAY, tuple(panels))
    out = io.BytesIO()
    missing = render_pdf(board, ExportOptions(layout=layout), out)
    return out.getvalue(), missing


def panel(**fields):
    return ExportPanel(shot="1", position=0, **fields)


def extracted(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def squashed(text: str) -> str:
    """Text compared as a reader sees it: compatibility forms folded, no spacing."""
    return "".join(unicodedata.normalize("NFKC", text).split())


class Page:
    """A rendered page and PDFium's view of the characters on it."""

    def __init__(self, pdf: bytes, index: int = 0) -> None:
        doc = pdfium.PdfDocument(pdf)
        page = doc[index]
        self.height = page.get_height()
        self.image = page.render(scale=SCALE).to_pil().convert("L")
        text = page.get_textpage()
        self.chars = []
        count = text.count_chars()
        i = 0
        while i < count:
            ch = text.get_text_range(i, 1, errors="surrogatepass")
            box = text.get_charbox(i)
            if ch and 0xD800 <= ord(ch[0]) <= 0xDBFF and i + 1 < count:
                # A character beyond U+FFFF comes as two halves.
                pair = ch + text.get_text_range(i + 1, 1, errors="surrogatepass")
                ch = pair.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
                i += 1
            if ch.strip():
                self.chars.append((ch, box))
            i += 1

    def boxes(self, ch: str) -> list[tuple[float, float, float, float]]:
        """Boxes of every glyph read back as ch (compatibility forms folded)."""
        return [box for c, box in self.chars if unicodedata.normalize("NFKC", c) == ch]

    def crop(self, box: tuple[float, float, float, float]) -> Image.Image:
        left, bottom, right, top = box
        return self.image.crop(
            (
                int(left * SCALE),
                int((self.height - top) * SCALE),
                int(right * SCALE) + 1,
                int((self.height - bottom) * SCALE) + 1,
            )
        )


def ink(img: Image.Image) -> float:
    """Share of clearly dark pixels."""
    dark = sum(img.histogram()[:128])
    return dark / max(1, img.width * img.height)


def test_arabic_is_joined_and_reads_right_to_left():
    words = "سلام عليكم"
    pdf, missing = render([panel(dialogue=words)])
    text = extracted(pdf)
    # Joined letters are drawn with their initial, medial and final forms.
    assert any(0xFE70 <= ord(ch) <= 0xFEFF for ch in text)
    for word in words.split():
        assert squashed(word) in squashed(text)
    page = Page(pdf)
    (seen,) = page.boxes("س")  # the first letter read
    (alef,) = page.boxes("\u0627")  # the third
    (ain,) = page.boxes("ع")  # the first of the second word
    assert seen[0] > alef[0] > ain[0]  # read from the right
    assert missing == ()


def test_hebrew_reads_right_to_left_inside_latin_text():
    pdf, _ = render([panel(dialogue="She wrote שלום on the wall")])
    assert squashed("שלום") in squashed(extracted(pdf)) or "םולש" in squashed(extracted(pdf))
    page = Page(pdf)
    shin, mem = page.boxes("ש")[0], page.boxes("ם")[0]
    wrote, wall = page.boxes("e")[0], page.boxes("l")[-1]
    assert shin[0] > mem[0]  # the Hebrew word runs right to left
    assert wrote[0] < mem[0] and shin[2] < wall[0]  # and sits where it was written


def test_arabic_paragraph_is_set_from_the_right_edge_of_its_box():
    pdf, _ = render([panel(dialogue="مرحبا", action="Hello")])
    page = Page(pdf)
    alef = page.boxes("\u0627")[-1]  # the last letter read, at the left end of the word
    hello = page.boxes("H")[0]
    assert alef[0] > hello[0] + 200  # nearer the right edge than the left


def test_cjk_and_emoji_are_drawn_not_boxed():
    chars = "灯台你好😀👍"
    pdf, missing = render([panel(dialogue=" ".join(chars))], project="灯台の光")
    text = extracted(pdf)
    assert "\ufffd" not in text
    for ch in chars:
        assert ch in text
    assert "灯台の光" in text
    page = Page(pdf)
    crops = [page.crop(page.boxes(ch)[0]) for ch in chars]
    for ch, crop in zip(chars, crops, strict=True):
        assert ink(crop) > 0.03, f"{ch} rendered blank"
    # A missing glyph draws the same box for every character: real glyphs differ.
    for i, a in enumerate(crops):
        for b in crops[i + 1 :]:
            size = (min(a.width, b.width), min(a.height, b.height))
            diff = ImageChops.difference(a.resize(size), b.resize(size))
            assert sum(diff.histogram()[64:]) > size[0] * size[1] * 0.02
    assert missing == ()


def test_text_in_every_script_survives_the_notes_pages():
    long = "灯台 " * 400 + "مرحبا " * 50 + "END"
    pdf, _ = render([panel(dialogue=long)], layout="3x2")
    text = squashed(extracted(pdf))
    assert squashed("灯台" * 400) in text
    assert "END" in text


def test_without_the_cjk_font_the_export_still_succeeds_and_names_the_script(monkeypatch):
    without_cjk = tuple(f for f in FALLBACK_FILES if f[0] != CJK)
    fonts = _register(find_font_dir(), fallback_files=without_cjk, prefix="TestNoCjk")
    monkeypatch.setattr(pdf_module, "get_fonts", lambda: fonts)
    pdf, missing = render([panel(dialogue="Hi 灯台 مرحبا")])
    text = extracted(pdf)
    assert "Hi \ufffd\ufffd" in text
    assert squashed("مرحبا") in squashed(text)
    assert missing == ("Chinese/Japanese (CJK)",)


@pytest.mark.parametrize("bold", [False, True])
def test_fallback_faces_print_in_bold_and_regular_roles(bold):
    # Dialogue is set bold, action regular: both must reach the fallback faces.
    fields = {"dialogue": "你好"} if bold else {"action": "你好"}
    pdf, _ = render([panel(**fields)])
    assert "你好" in extracted(pdf)


def test_a_machine_without_system_fonts_prints_every_script_from_pip_fonts(monkeypatch):
    # A fresh machine has no DejaVu: Noto Sans from pip becomes the main face.
    fonts = _register(None, prefix="TestFresh")
    assert fonts.embedded and fonts.regular.startswith("TestFresh")
    monkeypatch.setattr(pdf_module, "get_fonts", lambda: fonts)
    pdf, missing = render([panel(dialogue="KEEP 灯台 😀", action="Ωμέγα Привет שלום سلام")])
    text = squashed(extracted(pdf))
    for word in ("KEEP", "灯台", "😀", "ΩμέγαПривет", "שלום", "سلام"):
        assert word in text
    assert missing == ()


@pytest.mark.parametrize(
    ("line", "face"),
    [("灯台", "NotoSansSC"), ("灯台の光", "NotoSansJP"), ("灯台 등대", "NotoSansKR")],
)
def test_han_characters_take_the_forms_of_the_language_around_them(line, face):
    from boards.exports import typeset
    from boards.exports.fonts import get_fonts

    first = typeset.runs(line, get_fonts().regular)[0]  # the run that draws 灯台
    assert first.font.endswith(face)
