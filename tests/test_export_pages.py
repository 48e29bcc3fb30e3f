"""The export page, the background export job and the download of its file."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from boards import export_services
from boards.export_adapter import board_snapshot
from boards.models import Board, Export, Panel
from boards.tasks import run_export
from reviews.services import comment_create, comment_resolve, panel_status_set
from tests.factories import (
    BoardFactory,
    CastMemberFactory,
    CharacterFactory,
    LocationFactory,
    PanelFactory,
    ReferenceImageFactory,
    ReferenceSheetFactory,
    TakeFactory,
)

PDF_FORM = {
    "format": "pdf",
    "layout": "2x3",
    "paper": "letter",
    "orientation": "portrait",
    "cover": "on",
}


def add_panels(board: Board, count: int, *, takes: bool = True) -> list[Panel]:
    panels = []
    for i in range(count):
        panel = PanelFactory(board=board, position=i, dialogue=f"Line {i + 1}")
        if takes:
            panel.selected_take = TakeFactory(panel=panel)
            panel.save()
        panels.append(panel)
    return panels


@pytest.fixture
def board(team) -> Board:
    board = BoardFactory(project=team.project, name="Scene 1: The dark lamp")
    add_panels(board, 3)
    return board


@pytest.fixture
def run_on_commit(monkeypatch):
    """Make the queued task run in-process when the transaction commits."""
    monkeypatch.setattr(run_export, "delay", lambda export_id: run_export(export_id))


def export_url(board: Board) -> str:
    return reverse("board_export", kwargs={"pk": board.pk})


def status_url(export: Export) -> str:
    return reverse("export_status", kwargs={"pk": export.pk})


# --- the export page -------------------------------------------------------------


def test_viewer_sees_the_form_with_the_board_kind_defaults(viewer_client, board):
    response = viewer_client.get(export_url(board))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["format"].value() == "pdf"
    assert form["layout"].value() == "3x2"
    assert form["paper"].value() == "a4"


def test_comic_board_defaults_to_a_comic_layout(viewer_client, team):
    comic = BoardFactory(project=team.project, kind=Board.Kind.COMIC)
    response = viewer_client.get(export_url(comic))
    assert response.context["form"]["layout"].value() == "comic-2x3"


def test_layouts_are_grouped_into_storyboard_and_comic(viewer_client, board):
    choices = viewer_client.get(export_url(board)).context["form"].fields["layout"].choices
    groups = dict(choices)
    assert set(groups) == {"Storyboard sheets", "Comic pages"}
    assert all(name.startswith("comic") for name, _ in groups["Comic pages"])


def test_outsider_gets_404_on_the_export_page(outsider_client, board):
    assert outsider_client.get(export_url(board)).status_code == 404
    assert outsider_client.post(export_url(board), PDF_FORM).status_code == 404
    assert not Export.objects.exists()


def test_anonymous_visitor_is_sent_to_login(client, board):
    response = client.get(export_url(board))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_board_page_links_to_export_for_viewers(viewer_client, board):
    page = viewer_client.get(reverse("board_detail", kwargs={"pk": board.pk}))
    assert export_url(board) in page.content.decode()


# --- asking for an export ------------------------------------------------------


def test_viewer_can_export_and_is_sent_to_the_status(
    viewer_client, board, team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = viewer_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    assert response.status_code == 302
    assert response["Location"] == status_url(export)
    assert export.state == Export.State.QUEUED
    assert export.requested_by == team.viewer
    assert export.options["layout"] == "2x3"
    # The job is sent only once the row is committed.
    assert len(callbacks) == 1


def test_editors_settings_are_remembered_per_board(editor_client, viewer_client, board, team):
    other = BoardFactory(project=team.project)
    add_panels(other, 1, takes=False)
    editor_client.post(export_url(board), PDF_FORM)
    form = viewer_client.get(export_url(board)).context["form"]
    assert [form[k].value() for k in ("layout", "paper", "orientation", "cover")] == [
        "2x3",
        "letter",
        "portrait",
        True,
    ]
    untouched = viewer_client.get(export_url(other)).context["form"]
    assert untouched["layout"].value() == "3x2"
    assert untouched["cover"].value() is False


def test_viewers_export_does_not_change_the_boards_defaults(viewer_client, editor_client, board):
    editor_client.post(export_url(board), {**PDF_FORM, "layout": "4x2", "cover": ""})
    response = viewer_client.post(export_url(board), PDF_FORM, follow=True)
    assert Export.objects.filter(options__layout="2x3").exists()  # the viewer got theirs
    assert Board.objects.get(pk=board.pk).export_settings["layout"] == "4x2"
    form = editor_client.get(export_url(board)).context["form"]
    assert (form["layout"].value(), form["cover"].value()) == ("4x2", False)
    assert not any("settings are saved" in str(m) for m in response.context["messages"])
    page = viewer_client.get(export_url(board)).content.decode()
    assert "editors set the board" in page


def test_remembering_settings_does_not_mark_the_board_updated(editor_client, board):
    before = Board.objects.get(pk=board.pk).updated
    editor_client.post(export_url(board), PDF_FORM)
    assert Board.objects.get(pk=board.pk).updated == before


def test_double_submit_while_running_queues_one_export(viewer_client, board):
    viewer_client.post(export_url(board), PDF_FORM)
    viewer_client.post(export_url(board), PDF_FORM)
    assert Export.objects.count() == 1


def test_empty_board_says_so_and_refuses_the_form(editor_client, team):
    empty = BoardFactory(project=team.project)
    page = editor_client.get(export_url(empty))
    assert page.context["has_panels"] is False
    assert "no panels" in page.content.decode()
    response = editor_client.post(export_url(empty), PDF_FORM, follow=True)
    assert not Export.objects.exists()
    assert any("no panels" in str(m) for m in response.context["messages"])
    assert not default_storage.exists(f"projects/{team.project.pk}/exports")


def test_unknown_layout_is_refused_with_the_form_again(editor_client, board):
    response = editor_client.post(export_url(board), {**PDF_FORM, "layout": "9x9"})
    assert response.status_code == 400
    assert response.context["form"].errors["layout"]
    assert not Export.objects.exists()


# --- the job and the download ------------------------------------------------


def test_the_job_writes_the_pdf_and_members_download_it(
    viewer_client, outsider_client, board, run_on_commit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        viewer_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    assert export.state == Export.State.DONE
    assert export.progress == 100
    assert export.file.name.startswith(f"projects/{board.project_id}/exports/")

    status = viewer_client.get(status_url(export))
    download = status.context["export"].download_url
    assert download.startswith(export.file.url + "?as=")

    response = viewer_client.get(download)
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="scene-1-the-dark-lamp-2x3-' in disposition
    assert disposition.endswith('.pdf"')
    body = b"".join(response.streaming_content)
    pages = PdfReader(io.BytesIO(body)).pages
    assert len(pages) == 1 + 1  # cover and one 2x3 sheet
    assert outsider_client.get(download).status_code == 404


def _review_some(board: Board, reviewer) -> None:
    """Panel 1 approved with two open threads (and one resolved), panel 2 changes, 3 untouched."""
    first, second, _ = Panel.objects.filter(board=board).order_by("position")
    panel_status_set(panel=first, status="approved", user=reviewer)
    panel_status_set(panel=second, status="changes", user=reviewer)
    for body in ("Warmer", "Wider", "Done already"):
        comment = comment_create(board=board, panel=first, author=reviewer, body=body)
    comment_resolve(comment=comment, user=reviewer, resolved=True)
    comment_create(board=board, panel=first, author=reviewer, body="A reply", parent=comment)
    comment_create(board=board, author=reviewer, body="About the whole board")


def test_the_pdf_prints_review_status_and_open_comments_when_asked(
    editor_client, team, board, run_on_commit, django_capture_on_commit_callbacks
):
    _review_some(board, team.editor)
    page = editor_client.get(export_url(board)).content.decode()
    assert 'name="review_status"' in page and "Approval status and open comments" in page
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(export_url(board), {**PDF_FORM, "review_status": "on"})
    export = Export.objects.get()
    assert export.state == Export.State.DONE and export.options["review_status"] is True
    text = PdfReader(default_storage.open(export.file.name)).pages[1].extract_text()
    assert "1 of 3 approved" in text
    lines = [line.strip() for line in text.splitlines()]
    assert "Approved · 2 open comments" in lines
    assert "Changes requested · no open comments" in lines
    assert "Draft · no open comments" in lines
    # Remembered for the board, and shown in the list of recent exports.
    again = editor_client.get(export_url(board))
    assert again.context["form"].initial["review_status"] is True
    assert "review status" in again.content.decode()


def test_the_pdf_prints_no_review_status_unless_asked(
    editor_client, team, board, run_on_commit, django_capture_on_commit_callbacks
):
    _review_some(board, team.editor)
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    text = PdfReader(default_storage.open(export.file.name)).pages[1].extract_text()
    assert "Line 1" in text
    assert "approved" not in text.lower() and "open comment" not in text


def test_zip_export_is_served_as_a_zip_attachment(
    editor_client, board, run_on_commit, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(export_url(board), {**PDF_FORM, "format": "zip"})
    export = Export.objects.get()
    response = editor_client.get(
        editor_client.get(status_url(export)).context["export"].download_url
    )
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].endswith(
        "-images-" + f'{timezone.localdate():%Y-%m-%d}.zip"'
    )


def test_finished_file_is_kept_for_the_configured_time(
    settings, editor_client, board, run_on_commit, django_capture_on_commit_callbacks
):
    settings.STUDIO_EXPORT_TTL_HOURS = 3
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    assert export.expires - export.finished == timedelta(hours=3)


def test_status_polls_while_running_and_stops_when_done(viewer_client, board):
    viewer_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    running = viewer_client.get(status_url(export), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in running
    assert "<progress" in running
    assert "<html" not in running  # a fragment for htmx

    run_export(export.pk)
    done = viewer_client.get(status_url(export), HTTP_HX_REQUEST="true").content.decode()
    assert "hx-trigger" not in done
    assert "Download" in done


def test_outsider_gets_404_on_the_export_status(outsider_client, viewer_client, board):
    viewer_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    assert outsider_client.get(status_url(export)).status_code == 404
    assert outsider_client.get(reverse("export_status", kwargs={"pk": 999999})).status_code == 404


def test_a_second_delivery_of_the_task_does_nothing(editor_client, board):
    editor_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    run_export(export.pk)
    first = Export.objects.get().file.name
    assert export_services.export_run(export.pk) is None
    assert Export.objects.get().file.name == first


def test_board_emptied_before_the_job_runs_fails_with_a_message(
    editor_client, viewer_client, board
):
    editor_client.post(export_url(board), PDF_FORM)
    export = Export.objects.get()
    Panel.objects.filter(board=board).delete()
    run_export(export.pk)
    export.refresh_from_db()
    assert export.state == Export.State.FAILED
    assert "no panels" in export.error
    assert not export.file
    shown = viewer_client.get(status_url(export), HTTP_HX_REQUEST="true").content.decode()
    assert "no panels" in shown


# --- cleanup -------------------------------------------------------------------


def test_cleanup_deletes_expired_files_and_keeps_fresh_ones(editor_client, board):
    editor_client.post(export_url(board), PDF_FORM)
    editor_client.post(export_url(board), {**PDF_FORM, "format": "zip"})
    old, fresh = Export.objects.order_by("id")
    for export in (old, fresh):
        run_export(export.pk)
    Export.objects.filter(pk=old.pk).update(expires=timezone.now() - timedelta(minutes=1))
    old_name = Export.objects.get(pk=old.pk).file.name

    assert export_services.exports_cleanup() == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.state == Export.State.EXPIRED and not old.file
    assert not default_storage.exists(old_name)
    assert fresh.state == Export.State.DONE and default_storage.exists(fresh.file.name)


def test_cleanup_fails_exports_that_lost_their_worker(editor_client, board):
    editor_client.post(export_url(board), PDF_FORM)
    Export.objects.update(created=timezone.now() - timedelta(hours=3))
    export_services.exports_cleanup()
    export = Export.objects.get()
    assert export.state == Export.State.FAILED
    assert "Export again" in export.error


# --- the adapter ----------------------------------------------------------------


def _board_with(count: int, project) -> Board:
    board = BoardFactory(project=project)
    location = LocationFactory(project=project)
    characters = [CharacterFactory(project=project) for _ in range(3)]
    for character in characters:
        ReferenceImageFactory(sheet=ReferenceSheetFactory(character=character))
    for i, panel in enumerate(add_panels(board, count)):
        panel.location = location
        panel.save()
        CastMemberFactory(panel=panel, character=characters[i % 3])
    return Board.objects.select_related("project").get(pk=board.pk)


def test_adapter_query_count_does_not_grow_with_panels(team, django_assert_num_queries):
    small, large = _board_with(5, team.project), _board_with(50, team.project)
    with django_assert_num_queries(4):
        assert len(board_snapshot(small).panels) == 5
    with django_assert_num_queries(4):
        snapshot = board_snapshot(large)
    assert len(snapshot.panels) == 50
    assert len(snapshot.cast) == 3
    assert all(member.image_names for member in snapshot.cast)


def test_adapter_review_status_costs_two_queries_whatever_the_panels(
    team, django_assert_num_queries
):
    small, large = _board_with(5, team.project), _board_with(50, team.project)
    for board in (small, large):
        for panel in Panel.objects.filter(board=board):
            panel_status_set(panel=panel, status="in_review", user=team.editor)
            comment_create(board=board, panel=panel, author=team.editor, body="Hm")
    with django_assert_num_queries(2 + 2):
        snapshot = board_snapshot(small, cast_sheet=False, review=True)
    assert {p.review_line for p in snapshot.panels} == {"In review · 1 open comment"}
    with django_assert_num_queries(2 + 2):
        snapshot = board_snapshot(large, cast_sheet=False, review=True)
    assert len(snapshot.panels) == 50
    assert {p.review_line for p in snapshot.panels} == {"In review · 1 open comment"}


def test_adapter_uses_the_selected_take_and_shot_numbers(team):
    board = BoardFactory(project=team.project)
    first, _ = add_panels(board, 2)
    newer = TakeFactory(panel=first)  # newer, but not selected
    snapshot = board_snapshot(Board.objects.select_related("project").get(pk=board.pk))
    printed = snapshot.panels[0]
    assert [p.shot for p in snapshot.panels] == ["1", "2"]
    assert printed.image_sha256 == first.selected_take.sha256 != newer.sha256
    # A storage name, read through the storage API: no local path involved.
    assert printed.image_name == first.selected_take.file.name
    assert printed.extra["take_id"] == str(first.selected_take.pk)
