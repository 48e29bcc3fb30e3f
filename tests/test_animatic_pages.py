"""The player page, the timeline's duration drag, and animatic exports through the export page."""

from __future__ import annotations

import io
import json
import os
import tempfile
from decimal import Decimal

import av
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from pypdf import PdfReader

from boards import animatic_export, export_services
from boards.models import Board, Export, Panel
from boards.tasks import run_export
from tests.factories import BoardFactory, PanelFactory, TakeFactory

FORM = {
    "format": "mp4",
    "layout": "3x2",
    "paper": "a4",
    "orientation": "landscape",
    "fps": "24",
    "size": "720",
}

OPTIONS = {k: v for k, v in FORM.items() if k != "format"}


@pytest.fixture
def board(team) -> Board:
    board = BoardFactory(project=team.project, name="Night crossing")
    for i, duration in enumerate([Decimal("2"), Decimal("1.5"), None]):
        panel = PanelFactory(board=board, position=i, duration=duration, dialogue=f"Line {i + 1}")
        if i != 2:
            panel.selected_take = TakeFactory(panel=panel)
            panel.save()
    return board


@pytest.fixture
def run_on_commit(monkeypatch):
    monkeypatch.setattr(run_export, "delay", lambda export_id: run_export(export_id))


def play_url(board: Board) -> str:
    return reverse("board_play", kwargs={"pk": board.pk})


def duration_url(panel: Panel) -> str:
    return reverse("panel_duration", kwargs={"pk": panel.pk})


def player_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="animatic-data" type="application/json">') + len(
        '<script id="animatic-data" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


# --- the player page ---------------------------------------------------------------


def test_viewer_plays_the_board_with_its_timing_and_pictures(viewer_client, board):
    response = viewer_client.get(play_url(board))
    assert response.status_code == 200
    data = player_data(response)
    assert [p["seconds"] for p in data["panels"]] == [2.0, 1.5, 2.0]
    assert data["panels"][0]["image"].startswith("/media/projects/")
    assert data["panels"][2]["image"] == ""  # the player draws its placeholder card
    assert data["canEdit"] is False
    # 2 + 1.5 + 2 (no duration written: the default) = 5.5 s.
    assert "0:05.5" in response.content.decode()
    assert "Shot 3 has no duration: played for 2 s." in response.content.decode()


def test_player_query_count_does_not_grow_with_panels(
    viewer_client, board, django_assert_max_num_queries
):
    for i in range(3, 40):
        PanelFactory(board=board, position=i, duration=Decimal("1"))
    with django_assert_max_num_queries(12):
        assert viewer_client.get(play_url(board)).status_code == 200


def test_outsider_gets_404_on_the_player(outsider_client, board):
    assert outsider_client.get(play_url(board)).status_code == 404


def test_empty_board_player_says_there_is_nothing_to_play(editor_client, team):
    board = BoardFactory(project=team.project)
    response = editor_client.get(play_url(board))
    assert "Nothing to play yet" in response.content.decode()


def test_board_page_shows_running_time_and_a_play_link(viewer_client, board):
    html = viewer_client.get(reverse("board_detail", kwargs={"pk": board.pk})).content.decode()
    assert "runs 0:05.5" in html
    assert play_url(board) in html


# --- dragging a duration -------------------------------------------------------------


def test_editor_saves_a_dragged_duration_through_the_panel_service(editor_client, board):
    panel = Panel.objects.get(board=board, position=1)
    response = editor_client.post(duration_url(panel), {"duration": "3.254"})
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] and body["written"] == 3.25
    assert body["runningTime"] == "0:07.3"  # 2 + 3.25 + 2
    panel.refresh_from_db()
    assert panel.duration == Decimal("3.25")


def test_viewer_gets_403_and_outsider_404_on_duration(viewer_client, outsider_client, board):
    panel = Panel.objects.get(board=board, position=0)
    assert viewer_client.post(duration_url(panel), {"duration": "5"}).status_code == 403
    assert outsider_client.post(duration_url(panel), {"duration": "5"}).status_code == 404
    panel.refresh_from_db()
    assert panel.duration == Decimal("2")


@pytest.mark.parametrize("value", ["abc", "", "-1", "5000", "NaN"])
def test_bad_duration_is_refused_with_a_message_and_keeps_the_old_one(editor_client, board, value):
    panel = Panel.objects.get(board=board, position=0)
    response = editor_client.post(duration_url(panel), {"duration": value})
    assert response.status_code == 400
    assert response.json()["error"]
    panel.refresh_from_db()
    assert panel.duration == Decimal("2")


# --- exports through the page ---------------------------------------------------------


def test_mp4_export_runs_in_the_background_with_an_srt_beside_it(
    viewer_client, board, run_on_commit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = viewer_client.post(reverse("board_export", kwargs={"pk": board.pk}), FORM)
    assert response.status_code == 302
    export = Export.objects.get()
    assert export.state == Export.State.DONE, export.error
    assert export.options == {"fps": 24, "size": 720, "captions": False}
    assert "Shot 3 has no duration" in export.notes
    status = viewer_client.get(reverse("export_status", kwargs={"pk": export.pk}))
    page = status.content.decode()
    assert "Download SRT" in page and "Shot 3 has no duration" in page
    video = viewer_client.get(status.context["export"].download_url)
    assert video["Content-Type"] == "video/mp4"
    assert video["Content-Disposition"].endswith('.mp4"')
    with tempfile.NamedTemporaryFile(suffix=".mp4") as fh:
        fh.write(b"".join(video.streaming_content))
        fh.flush()
        with av.open(fh.name) as container:
            assert container.streams.video[0].frames == 48 + 36 + 48
    srt = viewer_client.get(status.context["export"].subtitles_url)
    assert b"00:00:02,000 --> 00:00:03,500\r\nLine 2" in b"".join(srt.streaming_content).replace(
        b"\n", b"\r\n"
    )


def test_edl_export_downloads_as_a_named_zip(
    editor_client, board, run_on_commit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(
            reverse("board_export", kwargs={"pk": board.pk}), {**FORM, "format": "edl"}
        )
    export = Export.objects.get()
    assert export.state == Export.State.DONE, export.error
    url = (
        editor_client.get(reverse("export_status", kwargs={"pk": export.pk}))
        .context["export"]
        .download_url
    )
    response = editor_client.get(url)
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith('-edl.zip"')


def test_video_of_a_board_without_takes_is_refused_on_the_page(editor_client, team):
    board = BoardFactory(project=team.project)
    PanelFactory(board=board, position=0)
    response = editor_client.post(
        reverse("board_export", kwargs={"pk": board.pk}), FORM, follow=True
    )
    assert "No panel on this board has a picture yet" in response.content.decode()
    assert not Export.objects.exists()


def test_export_cancelled_midway_keeps_no_file_and_frees_the_worker(
    editor_client, board, monkeypatch, tmp_path
):
    for i in range(3, 12):
        panel = PanelFactory(board=board, position=i, duration=Decimal("1"))
        panel.selected_take = TakeFactory(panel=panel)
        panel.save()
    monkeypatch.setattr(export_services, "CANCEL_CHECK_S", 0)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    export = export_services.export_request(board=board, user=None, format="mp4", **OPTIONS)
    opened = []
    real_open = animatic_export.open_stored

    def open_and_cancel(name):
        opened.append(name)
        if len(opened) == 4:  # a person presses "Cancel export" while panel 4 is drawn
            response = editor_client.post(reverse("export_cancel", kwargs={"pk": export.pk}))
            assert response.status_code == 302
        return real_open(name)

    monkeypatch.setattr(animatic_export, "open_stored", open_and_cancel)
    export_services.export_run(export.pk)
    export.refresh_from_db()
    assert export.state == Export.State.CANCELLED
    assert len(opened) == 4, "the renderer stopped at the next panel"
    assert not export.file and not export.subtitles
    folder = f"projects/{board.project_id}/exports/"
    assert not default_storage.exists(folder) or default_storage.listdir(folder) == ([], [])
    assert not [n for n in os.listdir(tmp_path) if n.startswith("castboard-export-")]
    # The same worker takes the next export at once.
    monkeypatch.setattr(animatic_export, "open_stored", real_open)
    second = export_services.export_request(board=board, user=None, format="edl", **OPTIONS)
    assert export_services.export_run(second.pk).state == Export.State.DONE


def test_viewer_cannot_cancel_someone_elses_export(viewer_client, team, board):
    export = export_services.export_request(board=board, user=team.editor, format="mp4", **OPTIONS)
    response = viewer_client.post(reverse("export_cancel", kwargs={"pk": export.pk}))
    assert response.status_code == 403
    export.refresh_from_db()
    assert export.state == Export.State.QUEUED


def test_pdf_header_prints_the_running_time(board, tmp_path):
    out = tmp_path / "board.pdf"
    call_command(
        "export_board", str(board.pk), "--format", "pdf", "--out", str(out), stdout=io.StringIO()
    )
    assert "runs 0:05.5" in PdfReader(out).pages[0].extract_text()
