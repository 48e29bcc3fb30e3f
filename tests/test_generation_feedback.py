"""What the pages say about generation: missing references, failed edits, the backend's words."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from boards.models import Panel, Take
from boards.services import CastEntry, panel_set_cast
from characters.services import character_create
from tests.generation import make_board
from workers.models import GenerationJob
from workers.services import job_request_edit, jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State


def panels_of(board):
    return list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )


@pytest.fixture
def mara_board(team):
    """One panel casting Hero 0 (with reference images) and Mara (none saved)."""
    board = make_board(team.project, panels=1, cast_per_panel=1)
    hero = board.panels.get().cast.get().character
    mara = character_create(project=team.project, name="Mara", appearance="red coat")
    panel_set_cast(panel=board.panels.get(), entries=[CastEntry(hero.pk), CastEntry(mara.pk)])
    return board


def page(client, name, pk) -> str:
    response = client.get(reverse(name, args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_generate_actions_warn_before_queuing_about_cast_without_references(
    mara_board, editor_client
):
    board_page = page(editor_client, "board_detail", mara_board.pk)
    panel_page = page(editor_client, "panel_edit", mara_board.panels.get().pk)
    for html in (board_page, panel_page):
        assert "Mara has no reference images" in html
        assert "Hero 0 has no" not in html
    # The buttons ask before sending: the board's form and the panel's generate form.
    assert 'data-confirm="Mara has no reference images' in board_page
    assert 'data-confirm="Mara: no reference images' in board_page


def test_take_made_without_references_says_so_on_the_take_and_the_card(
    team, mara_board, editor_client, driver
):
    outcome = jobs_request(panels=panels_of(mara_board), user=team.editor)
    assert "Mara has no reference images" in outcome.summary()
    driver.run()

    take = Take.objects.get()
    assert take.request["without_references"] == ["Mara"]
    board_page = page(editor_client, "board_detail", mara_board.pk)
    assert "Made without references for Mara" in board_page
    assert ">Generated<" not in board_page
    panel_page = page(editor_client, "panel_edit", take.panel_id)
    assert "Made without references for Mara" in panel_page


def test_edit_of_a_take_made_without_references_keeps_the_mark(team, mara_board, driver):
    jobs_request(panels=panels_of(mara_board), user=team.editor)
    driver.run()
    job = job_request_edit(take=Take.objects.get(), instruction="mirror", user=team.editor)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert job.take.request["without_references"] == ["Mara"]


@pytest.fixture
def generated(team, driver):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    jobs_request(panels=panels_of(board), user=team.editor)
    driver.run()
    return board, Take.objects.get()


def test_failed_edit_is_reported_on_its_take_and_not_as_the_panels_state(
    team, generated, editor_client, driver
):
    board, take = generated
    job = job_request_edit(take=take, instruction="make her smile", user=team.editor)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.FAILED

    board_page = page(editor_client, "board_detail", board.pk)
    assert "Failed" not in board_page and "gen-error" not in board_page
    assert "Generated" in board_page  # the panel as it is: its selected take is fine
    panel_page = page(editor_client, "panel_edit", take.panel_id)
    assert "Edit failed" in panel_page and "make her smile" in panel_page
    assert "cannot carry out" in panel_page  # the backend's reason, beside the take


def test_sketch_edit_words_are_shown_beside_the_instruction_field(generated, editor_client):
    _, take = generated
    html = page(editor_client, "panel_edit", take.panel_id)
    assert "Understands: mirror, night, day, black and white, warmer, cooler" in html
    assert f'aria-describedby="edit-words-{take.pk}"' in html


@pytest.mark.parametrize("state", ["submitting", "polling", "downloading"])
def test_sketch_job_under_way_says_drawing(team, editor_client, driver, state):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    job = jobs_request(panels=panels_of(board), user=team.editor).jobs[0]
    GenerationJob.objects.filter(pk=job.pk).update(state=state)

    html = page(editor_client, "board_detail", board.pk)

    assert "Drawing…" in html
    assert "Submitting" not in html and "Downloading" not in html


def test_card_showing_an_edit_under_way_updates_when_the_edit_fails(team, generated, editor_client):
    board, take = generated
    job = job_request_edit(take=take, instruction="make her smile", user=team.editor)
    url = reverse("board_progress", args=[board.pk])
    assert "Drawing…" not in editor_client.get(url).content.decode()  # queued, not drawing yet
    GenerationJob.objects.filter(pk=job.pk).update(state=State.SUBMITTING)
    assert "Drawing…" in editor_client.get(url).content.decode()

    GenerationJob.objects.filter(pk=job.pk).update(
        state=State.FAILED, error_message="cannot carry out", finished=timezone.now()
    )

    html = editor_client.get(url).content.decode()
    assert f'id="gen-{take.panel_id}"' in html  # the card is sent again...
    assert "Drawing…" not in html and "Failed" not in html  # ...as the panel stands
