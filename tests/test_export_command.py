"""export_board: the operator's way to write a board as a PDF or ZIP."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from boards.models import Board, Panel
from reviews.services import comment_create, panel_status_set
from tests.factories import (
    BoardFactory,
    CastMemberFactory,
    CharacterFactory,
    PanelFactory,
    ProjectFactory,
    ReferenceImageFactory,
    ReferenceSheetFactory,
    TakeFactory,
)

PANELS = 7
UNGENERATED = 4  # position of the one panel without a take


@pytest.fixture
def board(db) -> Board:
    """Seven panels with short texts; every panel but one has a selected take."""
    board = BoardFactory(project=ProjectFactory(name="Harbour Lights"), name="Dark lamp")
    for i in range(PANELS):
        panel = PanelFactory(
            board=board, position=i, action=f"Action {i + 1}.", dialogue=f"Line {i + 1} spoken"
        )
        if i != UNGENERATED:
            panel.selected_take = TakeFactory(panel=panel)
            panel.save()
    return board


def run(board_id, *args, out) -> str:
    stdout = io.StringIO()
    call_command("export_board", str(board_id), *args, "--out", str(out), stdout=stdout)
    return stdout.getvalue()


def pdf_pages(path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_pdf_has_one_page_per_six_panels_with_every_shot_and_line(board, tmp_path):
    out = tmp_path / "board.pdf"
    message = run(board.pk, "--format", "pdf", "--layout", "3x2", out=out)
    pages = pdf_pages(out)
    assert len(pages) == 2  # 7 panels, 6 to a page
    text = "\n".join(pages)
    for number in range(1, PANELS + 1):
        assert f"SHOT {number}" in text
        assert f"Line {number} spoken" in text
    assert str(out) in message


def test_one_panel_per_page_layout_prints_a_page_per_panel(board, tmp_path):
    out = tmp_path / "board.pdf"
    run(board.pk, "--format", "pdf", "--layout", "1x1", "--paper", "letter", out=out)
    reader = PdfReader(out)
    assert len(reader.pages) == PANELS
    # Letter landscape is 792 points wide (A4 would be 842).
    assert round(float(reader.pages[0].mediabox.width)) == 792


def test_panel_without_a_take_prints_a_not_generated_placeholder(board, tmp_path):
    out = tmp_path / "board.pdf"
    run(board.pk, "--format", "pdf", "--layout", "1x1", out=out)
    pages = pdf_pages(out)
    assert "not generated yet" in pages[UNGENERATED].lower()
    assert "not generated yet" not in pages[0].lower()


def test_cover_and_cast_sheet_add_their_pages(board, tmp_path):
    character = CharacterFactory(project=board.project, name="Mara Voss")
    ReferenceImageFactory(sheet=ReferenceSheetFactory(character=character, is_default=True))
    CastMemberFactory(panel=Panel.objects.get(board=board, position=0), character=character)
    out = tmp_path / "board.pdf"
    run(board.pk, "--format", "pdf", "--cover", "--cast", out=out)
    pages = pdf_pages(out)
    assert len(pages) == 1 + 1 + 2  # cover, one cast page, two sheets
    assert "Mara Voss" in pages[1]


@pytest.mark.parametrize("layout", ["3x2", "comic-2x3"])
def test_review_status_option_prints_status_and_open_comments(board, tmp_path, layout):
    panels = list(Panel.objects.filter(board=board).order_by("position"))
    panel_status_set(panel=panels[0], status="approved", guest_name="Carla")
    panel_status_set(panel=panels[2], status="in_review", guest_name="Carla")
    comment_create(board=board, panel=panels[2], guest_name="Carla", body="Later")
    out = tmp_path / "board.pdf"
    run(board.pk, "--format", "pdf", "--layout", layout, "--review-status", out=out)
    first = pdf_pages(out)[0]
    lines = [line.strip() for line in first.splitlines()]
    assert "1 of 7 approved" in first
    assert "Approved · no open comments" in lines
    assert "Draft · no open comments" in lines
    assert "In review · 1 open comment" in lines
    # The existing options go on working beside it, and without it nothing is printed.
    run(board.pk, "--format", "pdf", "--layout", layout, "--cover", out=out)
    pages = pdf_pages(out)
    assert len(pages) == 3 and "open comment" not in "".join(pages)


def test_portrait_orientation_is_taller_than_wide(board, tmp_path):
    out = tmp_path / "board.pdf"
    run(board.pk, "--format", "pdf", "--orientation", "portrait", out=out)
    box = PdfReader(out).pages[0].mediabox
    assert float(box.height) > float(box.width)


def test_zip_holds_each_selected_take_named_by_shot_and_a_manifest(board, tmp_path):
    out = tmp_path / "board.zip"
    run(board.pk, "--format", "zip", out=out)
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
    expected = {f"shot-{n:03d}.png" for n in range(1, PANELS + 1) if n - 1 != UNGENERATED}
    assert names == expected | {"manifest.json", "manifest.csv"}
    assert [p["shot"] for p in manifest["panels"]] == [str(n) for n in range(1, PANELS + 1)]
    assert manifest["panels"][UNGENERATED]["file"] == ""
    assert manifest["board"] == "Dark lamp"


def test_unknown_board_fails_with_a_clear_message(db, tmp_path):
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match="No board with id 999999"):
        run(999999, "--format", "pdf", out=out)
    assert not out.exists()


def test_empty_board_is_refused_and_writes_nothing(db, tmp_path):
    board = BoardFactory(name="Blank")
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match="no panels"):
        run(board.pk, "--format", "pdf", out=out)
    assert list(tmp_path.iterdir()) == []


def test_bad_layout_is_refused_naming_the_valid_ones(board, tmp_path):
    out = tmp_path / "x.pdf"
    with pytest.raises(CommandError, match=r"Unknown layout.*3x2"):
        run(board.pk, "--format", "pdf", "--layout", "5x9", out=out)
    assert not out.exists()


def test_bad_format_is_refused(board, tmp_path):
    # argparse choices: call_command turns the usage error into a CommandError.
    with pytest.raises(CommandError, match="format"):
        run(board.pk, "--format", "docx", out=tmp_path / "x.docx")


def test_comic_board_defaults_to_comic_pages(db, tmp_path):
    board = BoardFactory(kind=Board.Kind.COMIC)
    for i in range(6):
        PanelFactory(board=board, position=i, dialogue=f"Balloon {i + 1}")
    out = tmp_path / "comic.pdf"
    run(board.pk, "--format", "pdf", out=out)
    # comic-2x3: six panels make one page.
    assert len(PdfReader(out).pages) == 1


def test_text_no_font_covers_is_named_on_stderr(db, tmp_path):
    board = BoardFactory(name="Runes")
    PanelFactory(board=board, position=0, dialogue="\U00012000")
    stderr = io.StringIO()
    call_command(
        "export_board",
        str(board.pk),
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "r.pdf"),
        stdout=io.StringIO(),
        stderr=stderr,
    )
    assert "No installed font covers Cuneiform" in stderr.getvalue()
    assert (tmp_path / "r.pdf").stat().st_size > 0
