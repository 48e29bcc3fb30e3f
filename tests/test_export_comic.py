"""Comic pages that fill the page, per-panel crops, labels and download names."""

from __future__ import annotations

import datetime
import io
import os
import zipfile
from urllib.parse import unquote

import pypdfium2 as pdfium
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from boards import export_services
from boards.export_adapter import board_snapshot
from boards.exports import ExportBoard, ExportOptions, ExportPanel, render_pdf
from boards.exports.images import crop_box
from boards.exports.layouts import PageGeometry, page_size
from boards.models import Board, Export, Panel
from boards.tasks import run_export
from tests.factories import BoardFactory, PanelFactory, TakeFactory
from tests.test_export_pdf import _drawn_images

DAY = datetime.date(2025, 3, 7)


def two_colour_picture(path, size=(1600, 900)) -> str:
    """Left half red, right half blue: which half a frame shows tells the crop."""
    img = Image.new("RGB", size, (220, 30, 30))
    img.paste((30, 30, 220), (size[0] // 2, 0, size[0], size[1]))
    img.save(path, "JPEG", quality=95)
    return str(path)


def comic(panels, kind="comic", layout="comic-2x3", orientation="portrait"):
    board = ExportBoard("Night Shift", "Act 1", kind, 16 / 9, "16:9", DAY, tuple(panels))
    out = io.BytesIO()
    render_pdf(board, ExportOptions(layout=layout, orientation=orientation), out)
    return out.getvalue()


# --- filling the page ----------------------------------------------------------


@pytest.mark.parametrize("layout", ["comic-2x2", "comic-2x3", "comic-3x3", "comic-wide-first"])
@pytest.mark.parametrize("orientation", ["portrait", "landscape"])
def test_comic_frames_fill_the_live_area(tmp_path, layout, orientation):
    picture = two_colour_picture(tmp_path / "wide.jpg")
    from boards.exports.layouts import LAYOUTS

    count = LAYOUTS[layout].per_page
    pdf = comic(
        [ExportPanel(shot=str(i + 1), position=i, image_name=picture) for i in range(count)],
        layout=layout,
        orientation=orientation,
    )
    body = PageGeometry(*page_size("a4", orientation)).body
    drawn = _drawn_images(PdfReader(io.BytesIO(pdf)).pages[0])
    assert len(drawn) == count
    covered = sum(w * h for w, h, _, _ in drawn)
    assert covered > body.w * body.h * 0.85  # gutters are all that is left
    for w_pt, h_pt, w_px, h_px in drawn:
        # Cropped to the frame's shape, never stretched.
        assert w_px / h_px == pytest.approx(w_pt / h_pt, rel=0.02)


def test_crop_keeps_the_panels_focus_in_view(tmp_path):
    picture = two_colour_picture(tmp_path / "wide.jpg")
    pdf = comic(
        [
            ExportPanel(shot="1", position=0, image_name=picture, focus=(0.0, 0.5)),
            ExportPanel(shot="2", position=1, image_name=picture, focus=(1.0, 0.5)),
        ],
        layout="comic-2x2",
    )
    page = pdfium.PdfDocument(pdf)[0]
    image = page.render(scale=1).to_pil().convert("RGB")
    body = PageGeometry(*page_size("a4", "portrait")).body
    # Sample the middle of each frame in the first row.
    y = int(page.get_height() - (body.top - body.h / 4))
    left = image.getpixel((int(body.x + body.w / 4), y))
    right = image.getpixel((int(body.x + body.w * 3 / 4), y))
    assert left[0] > 150 > left[2]  # focus on the left: red
    assert right[2] > 150 > right[0]  # focus on the right: blue


def test_crop_box_slides_to_stay_inside_the_picture():
    assert crop_box((1600, 900), 1.0, (0.5, 0.5)) == (350, 0, 1250, 900)
    assert crop_box((1600, 900), 1.0, (0.0, 0.5)) == (0, 0, 900, 900)
    assert crop_box((1600, 900), 1.0, (1.0, 0.0)) == (700, 0, 1600, 900)
    assert crop_box((900, 1600), 16 / 9, (0.5, 1.0)) == (0, 1094, 900, 1600)


@pytest.mark.parametrize(("kind", "word"), [("comic", "Panel"), ("storyboard", "Shot")])
def test_panels_are_labelled_as_the_board_calls_them(kind, word):
    panels = [ExportPanel(shot=str(i + 1), position=i) for i in range(2)]
    for layout in ("comic-2x2", "3x2"):
        text = " ".join(
            p.extract_text() for p in PdfReader(io.BytesIO(comic(panels, kind, layout))).pages
        )
        assert f"{word} 2" in text or f"{word.upper()} 2" in text
        other = "Shot" if word == "Panel" else "Panel"
        assert f"{other} 2" not in text and f"{other.upper()} 2" not in text


# --- the crop on the panel page ----------------------------------------------------


@pytest.fixture
def comic_panel(team) -> Panel:
    board = BoardFactory(project=team.project, name="灯台", kind=Board.Kind.COMIC)
    panel = PanelFactory(board=board, position=0)
    return panel


def test_editor_sets_the_crop_on_the_panel_page(editor_client, comic_panel):
    page = editor_client.get(reverse("panel_edit", args=[comic_panel.pk])).content.decode()
    assert "Crop on comic pages" in page
    response = editor_client.post(
        reverse("panel_crop", args=[comic_panel.pk]), {"focus": "100,0"}, follow=True
    )
    comic_panel.refresh_from_db()
    assert (comic_panel.focus_x, comic_panel.focus_y) == (100, 0)
    assert any("Top right" in str(m) for m in response.context["messages"])
    assert board_snapshot(comic_panel.board).panels[0].focus == (1.0, 0.0)


def test_a_crop_point_off_the_list_is_refused_and_changes_nothing(editor_client, comic_panel):
    response = editor_client.post(
        reverse("panel_crop", args=[comic_panel.pk]), {"focus": "500,-3"}, follow=True
    )
    comic_panel.refresh_from_db()
    assert (comic_panel.focus_x, comic_panel.focus_y) == (50, 50)
    assert any("Pick one of the nine points" in str(m) for m in response.context["messages"])


def test_viewer_sees_the_crop_but_cannot_change_it(viewer_client, comic_panel):
    page = viewer_client.get(reverse("panel_edit", args=[comic_panel.pk])).content.decode()
    assert "Kept in view: Centre" in page
    assert reverse("panel_crop", args=[comic_panel.pk]) not in page
    response = viewer_client.post(reverse("panel_crop", args=[comic_panel.pk]), {"focus": "0,0"})
    assert response.status_code == 403


# --- download names ---------------------------------------------------------------


def test_download_keeps_a_non_latin_title_and_names_the_layout(
    editor_client, comic_panel, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(run_export, "delay", lambda export_id: run_export(export_id))
    comic_panel.selected_take = TakeFactory(panel=comic_panel)
    comic_panel.save()
    form = {"format": "pdf", "layout": "comic-2x3", "paper": "a4", "orientation": "portrait"}
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("board_export", args=[comic_panel.board.pk]), form)
    export = Export.objects.get()
    name = export_services.export_download_name(export)
    assert name.startswith("灯台-comic-2x3-") and name.endswith(".pdf")
    status = editor_client.get(reverse("export_status", args=[export.pk]))
    response = editor_client.get(status.context["export"].download_url)
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert unquote(disposition.split("''", 1)[1]) == name
    assert disposition.isascii()


def test_markup_in_a_board_name_never_reaches_the_file_name(team):
    board = BoardFactory(project=team.project, name='<b onclick="x">Léa\'s 灯台</b>')
    export = Export.objects.create(board=board, format="pdf", options={"layout": "3x2"})
    name = export_services.export_download_name(export)
    assert "<" not in name and '"' not in name and "'" not in name
    assert name.startswith("b-onclickxléas-灯台b-3x2-")


# --- scripts no font could print ------------------------------------------------------


def export_now(client, board, monkeypatch, capture) -> Export:
    """Ask for a 3x2 PDF through the page and run the job in-process."""
    monkeypatch.setattr(run_export, "delay", lambda export_id: run_export(export_id))
    form = {"format": "pdf", "layout": "3x2", "paper": "a4", "orientation": "landscape"}
    with capture(execute=True):
        client.post(reverse("board_export", args=[board.pk]), form)
    return Export.objects.get()


def test_export_status_names_the_script_it_could_not_print(
    editor_client, team, monkeypatch, django_capture_on_commit_callbacks
):
    board = BoardFactory(project=team.project)
    PanelFactory(board=board, position=0, dialogue="Runes: \U00012000")
    export = export_now(editor_client, board, monkeypatch, django_capture_on_commit_callbacks)
    assert export.state == Export.State.DONE
    assert export.missing_scripts == ["Cuneiform"]
    for url in (
        reverse("export_status", args=[export.pk]),
        reverse("board_export", args=[board.pk]),
    ):
        page = editor_client.get(url).content.decode()
        assert "could not be printed" in page and "Cuneiform" in page


def test_export_status_says_nothing_when_every_script_printed(
    editor_client, team, monkeypatch, django_capture_on_commit_callbacks
):
    board = BoardFactory(project=team.project)
    PanelFactory(board=board, position=0, dialogue="灯台 مرحبا שלום 😀")
    export = export_now(editor_client, board, monkeypatch, django_capture_on_commit_callbacks)
    assert export.missing_scripts == []
    page = editor_client.get(reverse("export_status", args=[export.pk])).content.decode()
    assert "could not be printed" not in page


def test_take_file_is_cropped_in_a_comic_export(team, tmp_path):
    board = BoardFactory(project=team.project, kind=Board.Kind.COMIC)
    panel = PanelFactory(board=board, position=0, focus_x=0, focus_y=50)
    buf = io.BytesIO()
    Image.open(two_colour_picture(tmp_path / "p.jpg")).save(buf, "PNG")
    take = TakeFactory(
        panel=panel,
        file=ContentFile(buf.getvalue(), name=f"projects/{team.project.pk}/takes/p.png"),
    )
    panel.selected_take = take
    panel.save()
    out = io.BytesIO()
    export_services.export_write(
        board,
        format="pdf",
        options=ExportOptions(layout="comic-2x2", orientation="portrait"),
        out=out,
    )
    page = pdfium.PdfDocument(out.getvalue())[0]
    image = page.render(scale=1).to_pil().convert("RGB")
    body = PageGeometry(*page_size("a4", "portrait")).body
    pixel = image.getpixel(
        (int(body.x + body.w / 4), int(page.get_height() - (body.top - body.h / 4)))
    )
    assert pixel[0] > 150 > pixel[2]


def test_exports_read_images_through_storage_not_local_paths(team, settings):
    # Files kept in memory are nowhere on disk, as in a bucket.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    board = BoardFactory(project=team.project)
    panel = PanelFactory(board=board, position=0)
    panel.selected_take = TakeFactory(panel=panel)
    panel.save()
    assert not os.path.exists(default_storage.path(panel.selected_take.file.name))
    pdf, archive = io.BytesIO(), io.BytesIO()
    export_services.export_write(board, format="pdf", options=ExportOptions("3x2"), out=pdf)
    export_services.export_write(board, format="zip", options=ExportOptions("3x2"), out=archive)
    page = PdfReader(pdf).pages[0]
    assert len(_drawn_images(page)) == 1
    assert "Image file missing" not in page.extract_text()
    with zipfile.ZipFile(archive) as zf, default_storage.open(panel.selected_take.file.name) as fh:
        assert zf.read("shot-001.png") == fh.read()
