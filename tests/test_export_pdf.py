"""PDF export: layouts, text that never goes missing, images at print resolution."""

from __future__ import annotations

import datetime
import io
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw
from pypdf import PdfReader
from pypdf.generic import ContentStream

from boards.exports import (
    LAYOUTS,
    EmptyBoardError,
    ExportBoard,
    ExportCastMember,
    ExportOptions,
    ExportPanel,
    render_pdf,
)
from boards.exports.fonts import _register
from boards.exports.textfit import Block, fit_text, wrap
from tests.pdf_render import render_page

DAY = datetime.date(2025, 3, 7)


def make_image(path, size=(640, 360), seed=0, fmt=None):
    """A busy picture (gradient and shapes) so JPEG sizes are realistic."""
    rnd = random.Random(seed)
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for y in range(0, size[1], 4):
        draw.rectangle([0, y, size[0], y + 4], fill=(y * 255 // size[1], seed * 37 % 256, 120))
    for _ in range(15):
        x, y, r = rnd.randrange(size[0]), rnd.randrange(size[1]), rnd.randrange(10, size[0] // 4)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rnd.randrange(256) for _ in "rgb"))
    img.save(path, fmt)
    return str(path)


def panel(i, image=None, **kwargs):
    fields = {
        "shot": str(i + 1),
        "position": i,
        "action": f"Action of panel {i + 1}.",
        "dialogue": f"Line number {i + 1}",
        "shot_type": "Close-up",
        "camera_angle": "Eye level",
        "duration_s": 2.5,
        "image_name": image,
    }
    fields.update(kwargs)
    return ExportPanel(**fields)


def board(panels, kind="storyboard", cast=(), aspect=16 / 9):
    return ExportBoard("Night Shift", "Act 1", kind, aspect, "16:9", DAY, tuple(panels), cast)


def render(b, **options):
    opts = {"layout": "comic-2x3" if b.kind == "comic" else "3x2"}
    opts.update(options)
    out = io.BytesIO()
    render_pdf(b, ExportOptions(**opts), out)
    out.seek(0)
    return out


def text_of(pdf, pages=None):
    reader = PdfReader(pdf)
    chosen = reader.pages if pages is None else [reader.pages[i] for i in pages]
    return " ".join(" ".join(p.extract_text().split()) for p in chosen)


def page_images(page):
    xobjects = page["/Resources"].get("/XObject", {})
    return [name for name, ref in xobjects.items() if ref.get_object()["/Subtype"] == "/Image"]


@pytest.fixture
def images(tmp_path):
    def make(n, size=(640, 360)):
        return [make_image(tmp_path / f"img{i}.png", size, seed=i) for i in range(n)]

    return make


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_page_count_follows_layout(name):
    layout = LAYOUTS[name]
    kind = "comic" if layout.style == "comic" else "storyboard"
    pdf = render(board([panel(i) for i in range(13)], kind=kind), layout=name)
    assert len(PdfReader(pdf).pages) == math.ceil(13 / layout.per_page)


def test_thirteen_panels_in_3x2_with_cover_and_cast_make_six_pages(images):
    paths = images(2)
    cast = (ExportCastMember("Anna", "Short dark hair.", tuple(paths)), ExportCastMember("Ben"))
    pdf = render(board([panel(i) for i in range(13)], cast=cast), cover=True, cast_sheet=True)
    reader = PdfReader(pdf)
    assert len(reader.pages) == 1 + 2 + 3
    assert "Anna" in text_of(pdf, [1]) and "Short dark hair." in text_of(pdf, [1])
    assert "Page 6 of 6" in text_of(pdf, [5])


@pytest.mark.parametrize("kind", ["storyboard", "comic"])
def test_every_shot_and_dialogue_is_printed(kind):
    panels = [panel(i, shot=f"{i + 1}B", dialogue=f"Say thing {i + 1}") for i in range(8)]
    text = text_of(render(board(panels, kind=kind)))
    for p in panels:
        assert p.shot in text
        assert p.dialogue in text


def test_each_sheet_embeds_one_image_per_panel(images):
    paths = images(7)
    pdf = render(board([panel(i, image=p) for i, p in enumerate(paths)]))
    reader = PdfReader(pdf)
    assert [len(page_images(p)) for p in reader.pages] == [6, 1]


def test_same_image_used_twice_is_embedded_once(images):
    (path,) = images(1)
    pdf = render(board([panel(0, image=path), panel(1, image=path)]))
    assert len(page_images(PdfReader(pdf).pages[0])) == 1


def test_rendered_page_is_not_blank(images):
    paths = images(6)
    pdf = render(board([panel(i, image=p) for i, p in enumerate(paths)])).read()
    grey = render_page(pdf, 0, dpi=50).convert("L")
    dark = sum(grey.histogram()[:200])
    assert dark > grey.width * grey.height * 0.15


def test_long_text_is_marked_and_printed_in_full_in_notes():
    long_action = " ".join(f"word{i}" for i in range(600)) + " THE-END-SENTINEL"
    panels = [panel(0, action=long_action), panel(1)]
    pdf = render(board(panels))
    reader = PdfReader(pdf)
    sheet = text_of(pdf, [0])
    assert "continued in notes, p. 2" in sheet
    assert "THE-END-SENTINEL" not in sheet
    notes = text_of(pdf, range(1, len(reader.pages)))
    assert notes.startswith("Night Shift")
    assert "Shot 1 \u2014 page 1" in notes
    # The notes run over two pages; drop the page chrome between them.
    printed = [w for w in notes.split() if w.startswith("word") or w == "THE-END-SENTINEL"]
    assert printed == long_action.split()


def test_long_comic_dialogue_is_continued_in_notes():
    long_line = "Listen to me. " * 120 + "LAST-WORDS"
    pdf = render(board([panel(0, dialogue=long_line)], kind="comic"))
    reader = PdfReader(pdf)
    assert "continued in notes" in text_of(pdf, [0]) or "see notes" in text_of(pdf, [0])
    assert " ".join(long_line.split()) in text_of(pdf, range(1, len(reader.pages)))


def test_short_text_is_not_sent_to_notes():
    pdf = render(board([panel(0), panel(1)]))
    assert len(PdfReader(pdf).pages) == 1
    assert "continued" not in text_of(pdf)


def test_non_ascii_text_round_trips():
    words = "Café déjà vu, \u201cquoted\u201d \u2014 Ωμέγα Привет"
    pdf = render(board([panel(0, dialogue=words, action="Élodie\u2019s naïve plan")]))
    text = text_of(pdf)
    assert words in text
    assert "Élodie\u2019s naïve plan" in text


def test_emoji_and_cjk_print_as_themselves():
    pdf = render(board([panel(0, dialogue="Hi 😀👍 there 你好")]))
    text = text_of(pdf)
    assert "Hi 😀👍 there 你好" in text
    assert "\ufffd" not in text


def test_script_no_font_has_leaves_a_visible_mark_and_is_reported():
    out = io.BytesIO()
    missing = render_pdf(
        board([panel(0, dialogue="Hi \U00012000 there")]), ExportOptions(layout="3x2"), out
    )
    out.seek(0)
    text = text_of(out)
    assert "Hi \ufffd there" in text
    assert missing == ("Cuneiform",)


def test_helvetica_fallback_replaces_what_it_cannot_show():
    fonts = _register(None, use_packaged=False)
    assert fonts.clean("Café \u2014 Привет 😀", fonts.regular) == "Café \u2014 ?????? ?"


def test_panel_without_image_prints_placeholder(tmp_path):
    pdf = render(board([panel(0), panel(1, image=str(tmp_path / "gone.png"))]))
    text = text_of(pdf)
    assert "Not generated yet" in text
    assert "Image file missing" in text
    assert page_images(PdfReader(pdf).pages[0]) == []


def test_empty_board_raises():
    with pytest.raises(EmptyBoardError, match="This board has no panels yet"):
        render(board([]))


def test_unknown_layout_is_refused():
    with pytest.raises(ValueError, match="Unknown layout"):
        render(board([panel(0)]), layout="7x7")


@pytest.mark.parametrize(
    ("paper", "orientation", "size"),
    [
        ("a4", "portrait", (595, 842)),
        ("a4", "landscape", (842, 595)),
        ("letter", "portrait", (612, 792)),
        ("letter", "landscape", (792, 612)),
    ],
)
def test_paper_and_orientation_set_page_box(paper, orientation, size):
    pdf = render(board([panel(0)]), paper=paper, orientation=orientation)
    box = PdfReader(pdf).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == size


def _drawn_images(page):
    """(width_pt, height_pt, width_px, height_px) for each image drawn on the page."""
    xobjects = page["/Resources"]["/XObject"]
    ops = ContentStream(page.get_contents(), page.pdf).operations
    stack, ctm, found = [], [1, 0, 0, 1, 0, 0], []
    for operands, op in ops:
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop()
        elif op == b"cm":
            a, b, c, d, e, f = (float(x) for x in operands)
            A, B, C, D, E, F = ctm
            ctm = [a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D,
                   e * A + f * C + E, e * B + f * D + F]  # fmt: skip
        elif op == b"Do":
            image = xobjects[operands[0]].get_object()
            found.append((abs(ctm[0]), abs(ctm[3]), image["/Width"], image["/Height"]))
    return found


def test_large_images_are_capped_at_300_dpi(tmp_path):
    big = make_image(tmp_path / "big.jpg", (6000, 4000), seed=3)
    pdf = render(board([panel(0, image=big)], aspect=1.5), layout="3x3", orientation="portrait")
    ((w_pt, h_pt, w_px, h_px),) = _drawn_images(PdfReader(pdf).pages[0])
    assert w_px <= math.ceil(w_pt / 72 * 300) and h_px <= math.ceil(h_pt / 72 * 300)
    assert w_px >= w_pt / 72 * 300 - 2  # and not needlessly small
    assert abs(w_px / h_px - 1.5) < 0.01  # never stretched


def test_png_is_embedded_as_jpeg(images):
    (path,) = images(1, size=(800, 450))
    page = PdfReader(render(board([panel(0, image=path)]))).pages[0]
    (name,) = page_images(page)
    # JPEG bytes as they are: no Flate re-encoding, no ASCII85 inflation.
    assert list(page["/Resources"]["/XObject"][name].get_object()["/Filter"]) == ["/DCTDecode"]


def test_image_keeps_aspect_ratio_inside_its_frame(tmp_path):
    square = make_image(tmp_path / "square.png", (500, 500))
    page = PdfReader(render(board([panel(0, image=square)]))).pages[0]
    ((w_pt, h_pt, _, _),) = _drawn_images(page)
    assert w_pt == pytest.approx(h_pt, abs=0.01)


def test_file_size_grows_linearly_with_panels(images):
    paths = images(24)
    small = len(render(board([panel(i, image=p) for i, p in enumerate(paths[:12])])).getvalue())
    large = len(render(board([panel(i, image=p) for i, p in enumerate(paths)])).getvalue())
    assert 1.7 < large / small < 2.3


def test_progress_is_reported_per_panel():
    calls = []
    b = board([panel(i) for i in range(5)])
    render_pdf(b, ExportOptions(layout="2x3"), io.BytesIO(), progress=lambda *a: calls.append(a))
    assert calls == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300))
def test_wrapping_never_drops_words(text):
    fonts = _register(None)
    clean = fonts.clean(text, fonts.regular)
    lines = wrap(clean, fonts.regular, 9, 80)
    assert "".join("".join(lines).split()) == "".join(clean.split())


def test_fitter_shrinks_before_it_truncates():
    fonts = _register(None)
    block = [Block("Some words that need a few lines in a narrow box.", fonts.regular)]
    roomy = fit_text(block, 100, 200, max_size=9, marker_font=fonts.italic)
    tight = fit_text(block, 100, 30, max_size=9, marker_font=fonts.italic)
    assert roomy.size == 9 and not roomy.overflow
    assert tight.size < 9
