"""Small things a new user hit on the board pages: card text, generate buttons, shapes, errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from boards import services
from boards.models import Board
from tests.factories import BoardFactory, CharacterFactory
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def board(team) -> Board:
    return BoardFactory(project=team.project, name="Opening")


def _generate_form(html: str) -> str:
    """The opening tag of the board's generate form."""
    start = html.index('id="generate-form"')
    return html[html.rindex("<form", 0, start) : html.index(">", start) + 1]


def test_card_keeps_the_line_breaks_of_dialogue(board, viewer_client):
    services.panel_create(board=board, dialogue="Wait!\nWait for me!")
    body = viewer_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "Wait!<br>Wait for me!" in body


def test_card_shows_the_camera_angle(board, viewer_client):
    services.panel_create(board=board, shot_type="mcu", camera_angle="low")
    body = viewer_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "Low angle" in body and "Medium close-up" in body


def test_first_panel_added_with_htmx_brings_the_generate_buttons(board, editor_client):
    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "hidden" in _generate_form(page)  # an empty board has nothing to generate

    added = editor_client.post(reverse("panel_create", args=[board.pk]), **HTMX).content.decode()

    buttons = _generate_form(added)
    assert 'hx-swap-oob="true"' in buttons and "hidden" not in buttons
    assert "Generate board" in added


def test_deleting_the_last_panel_with_htmx_hides_the_generate_buttons(board, editor_client):
    first, second = (services.panel_create(board=board) for _ in range(2))
    kept = editor_client.post(reverse("panel_delete", args=[first.pk]), **HTMX).content.decode()
    assert "hidden" not in _generate_form(kept)
    gone = editor_client.post(reverse("panel_delete", args=[second.pk]), **HTMX).content.decode()
    assert 'hx-swap-oob="true"' in _generate_form(gone) and "hidden" in _generate_form(gone)


def test_panel_editor_refreshes_itself_while_its_job_runs(team, board, editor_client):
    panel = services.panel_create(board=board)
    url = reverse("panel_edit", args=[panel.pk])
    assert 'hx-trigger="every 2s"' not in editor_client.get(url).content.decode()
    job = GenerationJob.objects.create(project=team.project, panel=panel, backend="sketch")

    running = editor_client.get(url).content.decode()
    assert 'id="editor-live"' in running and 'hx-trigger="every 2s"' in running

    GenerationJob.objects.filter(pk=job.pk).update(state="succeeded")
    assert 'hx-trigger="every 2s"' not in editor_client.get(url).content.decode()


@pytest.mark.parametrize(("width", "height"), [(1000, 1), (5, 1), (1, 5)])
def test_custom_aspect_beyond_4_to_1_is_refused_with_the_range(team, editor_client, width, height):
    url = reverse("board_create", args=[team.project.pk])
    data = {"name": "Odd", "kind": "storyboard", "aspect": "custom"}
    response = editor_client.post(url, {**data, "custom_width": width, "custom_height": height})
    assert "from 1:4 (tall) to 4:1 (wide)" in response.content.decode()
    assert not Board.objects.filter(name="Odd").exists()


@pytest.mark.parametrize(("width", "height"), [(4, 1), (1, 4), (21, 9)])
def test_custom_aspect_within_range_is_kept(team, editor_client, width, height):
    url = reverse("board_create", args=[team.project.pk])
    data = {"name": "Odd", "kind": "storyboard", "aspect": "custom"}
    editor_client.post(url, {**data, "custom_width": width, "custom_height": height})
    assert Board.objects.get(name="Odd").ratio == width / height


def test_every_error_of_a_form_is_shown_at_once(team, editor_client):
    url = reverse("board_create", args=[team.project.pk])
    response = editor_client.post(url, {"name": "", "kind": "saga", "aspect": "custom"})
    body = response.content.decode()
    assert "This field is required." in body  # the name
    assert "Select a valid choice. saga is not one of the available choices." in body
    assert body.count("A custom aspect needs a width and a height above 0.") == 2
    # The browser must not stop at its first complaint: the server lists them all.
    assert "novalidate" in body[body.index('<form method="post" class="card stack"') :][:200]


def test_upload_controls_state_the_limits_before_any_upload(team, board, editor_client):
    panel = services.panel_create(board=board)
    editor = editor_client.get(reverse("panel_edit", args=[panel.pk])).content.decode()
    style = editor_client.get(reverse("style_detail", args=[team.project.pk])).content.decode()
    for page in (editor, style):
        assert "JPEG, PNG or WebP, up to 20 MB and 40 megapixels per image" in page


@pytest.mark.parametrize("with_boards", [False, True])
def test_project_page_offers_one_way_to_start_a_board(team, board, editor_client, with_boards):
    if not with_boards:
        board.delete()
    page = editor_client.get(reverse("project_detail", args=[team.project.pk])).content.decode()
    assert page.count(reverse("board_create", args=[team.project.pk])) == 1


def test_generate_buttons_sent_after_a_delete_keep_the_missing_reference_warning(
    team, board, editor_client
):
    mara = CharacterFactory(project=team.project, name="Mara")  # her sheet has no images
    kept, doomed = (services.panel_create(board=board) for _ in range(2))
    services.panel_set_cast(panel=kept, entries=[services.CastEntry(mara.pk)])
    sent = editor_client.post(reverse("panel_delete", args=[doomed.pk]), **HTMX).content.decode()
    assert "Mara" in _generate_form(sent) and "data-confirm" in _generate_form(sent)


def test_project_page_names_a_custom_aspect_by_its_shape(team, editor_client):
    BoardFactory(project=team.project, aspect="custom", custom_width=21, custom_height=9)
    page = editor_client.get(reverse("project_detail", args=[team.project.pk])).content.decode()
    assert "21:9" in page
