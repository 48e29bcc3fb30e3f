"""The import pages: upload, preview with changeable matches, confirm, re-import diff."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Board, Panel
from boards.tasks import run_script_import
from characters.models import Character, Location
from tests.factories import CharacterFactory, LocationFactory, TakeFactory
from tests.test_script_import import DRAFT_1, DRAFT_2


def _upload(client, project, text, name="keeper.fountain", **options):
    data = text if isinstance(text, bytes) else text.encode()
    return client.post(
        reverse("script_import", args=[project.pk]),
        {"file": SimpleUploadedFile(name, data), **options},
    )


def _preview_url(project):
    return reverse("script_preview", args=[project.pk])


@pytest.fixture
def confirm(monkeypatch, django_capture_on_commit_callbacks):
    """Post the preview's confirm, let the queued import run in-process, and open its status.

    Returns the status page's answer: a redirect to the boards once saved.
    """
    monkeypatch.setattr(run_script_import, "delay", lambda pk: run_script_import(pk))

    def post(client, project, form=None):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(_preview_url(project), {"action": "confirm", **(form or {})})
        assert response.status_code == 302, response
        return client.get(response["Location"])

    return post


def test_project_page_offers_import_to_editors_only(team, editor_client, viewer_client):
    url = reverse("project_detail", args=[team.project.pk])
    assert "Import script" in editor_client.get(url).content.decode()
    assert "Import script" not in viewer_client.get(url).content.decode()


def test_upload_then_preview_shows_boards_matches_and_saves_nothing(team, editor_client):
    CharacterFactory(project=team.project, name="Mara Quinn")
    response = _upload(editor_client, team.project, DRAFT_1)
    assert response.status_code == 302 and response["Location"] == _preview_url(team.project)
    page = editor_client.get(_preview_url(team.project)).content.decode()
    assert "1 INT. LIGHTHOUSE - NIGHT" in page and "2 EXT. BEACH - DAY" in page
    assert "Create character “Tom”" in page
    assert "selected>Mara Quinn</option>" in page
    assert not Board.objects.filter(project=team.project).exists()


def test_bad_file_is_refused_on_the_upload_page_with_what_and_where(team, editor_client):
    response = _upload(
        editor_client,
        team.project,
        b"INT. A\n\nok\n" + "é\n".encode("cp1252") + "ü".encode(),
        "bad.txt",
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "bad.txt, line 4: The file mixes two text encodings" in page
    assert "Nothing was saved" in page
    assert not Board.objects.exists()


def test_confirm_with_changed_matches_creates_everything(team, editor_client, confirm):
    mara = CharacterFactory(project=team.project, name="Mara Quinn")
    _upload(editor_client, team.project, DRAFT_1)
    page = editor_client.get(_preview_url(team.project)).content.decode()
    assert 'name="cue_key_0" value="mara"' in page or 'name="cue_key_1" value="mara"' in page
    form = {
        "cue_key_0": "mara",
        "cue_0": str(mara.pk),
        "cue_key_1": "tom",
        "cue_1": "new",
        "place_key_0": "beach",
        "place_0": "new",
        "place_key_1": "lighthouse",
        "place_1": "",
    }
    response = confirm(editor_client, team.project, form)
    assert response.status_code == 302
    assert Board.objects.filter(project=team.project).count() == 2
    tom = Character.objects.get(project=team.project, name="Tom")
    assert Panel.objects.filter(cast__character=tom).count() == 2
    assert Location.objects.filter(project=team.project, name="Beach").exists()
    assert not Panel.objects.filter(location__name="Lighthouse").exists()
    # The stashed upload is gone with the session entry.
    assert editor_client.get(_preview_url(team.project)).status_code == 302


def test_a_forged_character_id_from_another_project_is_ignored(team, editor_client, confirm):
    other = CharacterFactory(name="Stranger")
    _upload(editor_client, team.project, DRAFT_1)
    confirm(editor_client, team.project, {"cue_key_0": "mara", "cue_0": str(other.pk)})
    assert not Panel.objects.filter(cast__character=other).exists()
    assert Board.objects.filter(project=team.project).count() == 2


def test_options_change_the_preview(team, editor_client):
    _upload(editor_client, team.project, DRAFT_1)
    page = editor_client.post(
        _preview_url(team.project), {"action": "preview", "single_board": "Whole film"}
    ).content.decode()
    assert "1 board," in page and "Whole film" in page


def test_cancel_forgets_the_upload(team, editor_client):
    _upload(editor_client, team.project, DRAFT_1)
    response = editor_client.post(_preview_url(team.project), {"action": "cancel"})
    assert response.status_code == 302
    assert editor_client.get(_preview_url(team.project)).status_code == 302
    assert not Board.objects.exists()


def test_reimport_preview_shows_the_diff_and_confirm_keeps_takes(team, editor_client, confirm):
    LocationFactory(project=team.project, name="Lighthouse")
    _upload(editor_client, team.project, DRAFT_1)
    confirm(editor_client, team.project)
    waits = Panel.objects.get(action__startswith="Tom waits")
    take = TakeFactory(panel=waits)

    _upload(editor_client, team.project, DRAFT_2, name="keeper v2.fountain", revise="on")
    page = editor_client.get(_preview_url(team.project)).content.decode()
    assert "2 kept · 1 changed · 1 new · 0 cut" in page
    assert "<del>Mara climbs the spiral stairs to the lamp room.</del>" in page
    assert "new board" in page
    confirm(editor_client, team.project, {"revise": "on"})
    assert Board.objects.filter(project=team.project).count() == 3
    assert waits.takes.get() == take
    assert Panel.objects.get(action__startswith="Mara climbs").script_state == "changed"


def test_preview_without_an_upload_sends_back_to_the_upload_page(team, editor_client):
    response = editor_client.get(_preview_url(team.project))
    assert response.status_code == 302 and response["Location"] == reverse(
        "script_import", args=[team.project.pk]
    )


@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_viewers_and_outsiders_cannot_upload(team, who):
    response = _upload(team.client(who), team.project, DRAFT_1)
    assert response.status_code == (403 if who == "viewer" else 404)
    assert not Board.objects.exists()


def test_aliases_edited_in_the_character_form_match_cues(team, editor_client, confirm):
    tom = CharacterFactory(project=team.project, name="Thomas Hale")
    response = editor_client.post(
        reverse("character_edit", args=[tom.pk]),
        {"name": "Thomas Hale", "appearance": "", "notes": "", "aliases": " Tom ,  Tommy, Tom"},
    )
    assert response.status_code == 302
    tom.refresh_from_db()
    assert tom.aliases == "Tom, Tommy"
    form_page = editor_client.get(reverse("character_edit", args=[tom.pk])).content.decode()
    assert 'value="Tom, Tommy"' in form_page
    _upload(editor_client, team.project, DRAFT_1)
    confirm(editor_client, team.project)
    assert Panel.objects.filter(dialogue__startswith="TOM:", cast__character=tom).count() == 1


def test_imported_boards_are_listed_in_script_order(team, editor_client, confirm):
    _upload(editor_client, team.project, DRAFT_2)
    response = confirm(editor_client, team.project)
    page = editor_client.get(response["Location"]).content.decode()
    assert "Imported keeper.fountain: 3 boards, 6 panels." in page
    names = ["1 INT. LIGHTHOUSE - NIGHT", "2 EXT. BEACH - DAY", "3 EXT. PIER - NIGHT"]
    assert [page.index(n) for n in names] == sorted(page.index(n) for n in names)


def test_board_page_marks_changed_and_cut_panels(team, editor_client, confirm):
    _upload(editor_client, team.project, DRAFT_1)
    confirm(editor_client, team.project)
    _upload(editor_client, team.project, DRAFT_2, revise="on")
    confirm(editor_client, team.project, {"revise": "on"})
    scene1 = Board.objects.get(project=team.project, name="1 INT. LIGHTHOUSE - NIGHT")
    scene2 = Board.objects.get(project=team.project, name="2 EXT. BEACH - DAY")
    page1 = editor_client.get(reverse("board_detail", args=[scene1.pk])).content.decode()
    page2 = editor_client.get(reverse("board_detail", args=[scene2.pk])).content.decode()
    assert page1.count(">Script changed</span>") == 1 and "Cut from script" not in page1
    assert page2.count(">Cut from script</span>") == 1


def test_upload_over_the_size_limit_is_refused_before_reading(team, editor_client, monkeypatch):
    from boards.script import forms

    monkeypatch.setattr(forms, "MAX_BYTES", 1024 * 1024)
    response = _upload(editor_client, team.project, b"INT. A - DAY\n\n" + b"a" * 1024 * 1024)
    assert "The file is 1.0 MB; scripts up to 1 MB can be imported." in response.content.decode()
    assert editor_client.get(_preview_url(team.project)).status_code == 302


def _changed_and_cut(client, project, confirm):
    _upload(client, project, DRAFT_1)
    confirm(client, project)
    _upload(client, project, DRAFT_2, revise="on")
    confirm(client, project, {"revise": "on"})
    return (
        Panel.objects.get(script_state="changed"),
        Panel.objects.get(script_state="gone"),
    )


def test_mark_as_seen_takes_the_script_changed_mark_away(team, editor_client, confirm):
    changed, _ = _changed_and_cut(editor_client, team.project, confirm)
    take = TakeFactory(panel=changed)
    board_url = reverse("board_detail", args=[changed.board_id])
    assert "Mark as seen" in editor_client.get(board_url).content.decode()
    assert (
        "Mark as seen"
        in editor_client.get(reverse("panel_edit", args=[changed.pk])).content.decode()
    )

    response = editor_client.post(
        reverse("panel_script_seen", args=[changed.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and "Script changed" not in response.content.decode()
    changed.refresh_from_db()
    assert changed.script_state == "" and changed.takes.get() == take
    page = editor_client.get(board_url).content.decode()
    assert "Script changed" not in page and "Mark as seen" not in page


def test_a_cut_panel_keeps_its_mark_when_marked_as_seen(team, editor_client, confirm):
    _, cut = _changed_and_cut(editor_client, team.project, confirm)
    response = editor_client.post(reverse("panel_script_seen", args=[cut.pk]))
    assert response.status_code == 302
    cut.refresh_from_db()
    assert cut.script_state == "gone"


def test_choosing_another_take_leaves_the_script_changed_mark(team, editor_client, confirm):
    # Picking a take says nothing about the new text having been read: it may be
    # one drawn before the revision. Only "Mark as seen" clears the mark.
    changed, _ = _changed_and_cut(editor_client, team.project, confirm)
    TakeFactory(panel=changed)
    newer = TakeFactory(panel=changed)
    response = editor_client.post(reverse("take_select", args=[newer.pk]))
    assert response.status_code in (200, 302)
    changed.refresh_from_db()
    assert changed.selected_take == newer and changed.script_state == "changed"


def test_viewers_see_the_mark_without_the_button(team, viewer_client, editor_client, confirm):
    changed, _ = _changed_and_cut(editor_client, team.project, confirm)
    page = viewer_client.get(reverse("board_detail", args=[changed.board_id])).content.decode()
    assert ">Script changed</span>" in page and "Mark as seen" not in page


def test_a_single_board_import_shows_a_heading_before_each_scene(team, editor_client, confirm):
    _upload(editor_client, team.project, DRAFT_2, single_board="Whole film")
    preview = editor_client.get(_preview_url(team.project)).content.decode()
    assert preview.count('class="script-scene"') == 3
    confirm(editor_client, team.project, {"single_board": "Whole film"})
    board = Board.objects.get(project=team.project)
    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    headings = ["1 INT. LIGHTHOUSE - NIGHT", "2 EXT. BEACH - DAY", "3 EXT. PIER - NIGHT"]
    places = [page.index(f'<h2 class="scene-heading" data-scene>{h}</h2>') for h in headings]
    cards = [page.index(f'id="panel-{p.pk}"') for p in board.panels.order_by("position")]
    assert page.count("data-scene>") == 3
    # Each heading stands right before the first card of its scene: 4, 1 and 1 panels.
    assert places[0] < cards[0] and cards[3] < places[1] < cards[4] < places[2] < cards[5]


def test_scene_headings_cost_the_board_page_no_query(team, editor_client, confirm):
    _upload(editor_client, team.project, DRAFT_2, single_board="Whole film")
    confirm(editor_client, team.project, {"single_board": "Whole film"})
    board = Board.objects.get(project=team.project)
    url = reverse("board_detail", args=[board.pk])
    editor_client.get(url)
    with CaptureQueriesContext(connection) as grouped:
        editor_client.get(url)
    Panel.objects.filter(board=board).update(scene="")
    with CaptureQueriesContext(connection) as plain:
        page = editor_client.get(url).content.decode()
    assert "data-scene>" not in page
    assert len(grouped.captured_queries) == len(plain.captured_queries)
