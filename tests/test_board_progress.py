"""The board progress poll: what it sends, and that it costs the same for any board size."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import BoardFactory
from tests.test_board_pages import fill_board
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db

# Session, user, board, membership; every panel's job row, the spend: all an
# unchanged poll reads.
UNCHANGED_QUERIES = 6
# Then jobs finished lately (when the version shown is not known), the cards to
# send and their jobs, their cast and the sheets with images. (Continuing
# panels or cast on default sheets add one query each, for any size.)
PROGRESS_QUERIES = UNCHANGED_QUERIES + 5


def generating_board(team, name: str, panels: int):
    """A board whose every panel has a job under way: the poll's heaviest answer."""
    board = BoardFactory(project=team.project, name=name)
    fill_board(board, panels)
    GenerationJob.objects.bulk_create(
        GenerationJob(
            project=team.project,
            panel=panel,
            state=GenerationJob.State.POLLING,
            backend="sketch",
            progress=0.5,
        )
        for panel in board.panels.all()
    )
    return board


@pytest.mark.parametrize("panels", [10, 200])
def test_progress_poll_answers_in_a_fixed_number_of_queries(team, editor_client, panels):
    board = generating_board(team, f"Board of {panels}", panels)
    url = reverse("board_progress", args=[board.pk])

    with CaptureQueriesContext(connection) as ctx:
        response = editor_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('class="gen-status"') == panels  # every card under way is sent
    assert f"0 of {panels} panels done" in html
    assert len(ctx.captured_queries) == PROGRESS_QUERIES, "\n".join(q["sql"][:150] for q in ctx)


def test_viewer_poll_shows_progress_without_controls(team, viewer_client):
    board = generating_board(team, "Watched", 3)
    html = viewer_client.get(reverse("board_progress", args=[board.pk])).content.decode()
    assert html.count('class="gen-status"') == 3
    assert "Cancel" not in html and "csrfmiddlewaretoken" not in html


def poll_url(html: str) -> str:
    """The URL the page's (or the last answer's) progress bar polls next."""
    found = re.search(r'id="board-progress"[^>]* hx-get="([^"]+)"', html)
    assert found, "the bar polls while something is under way"
    return found.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("panels", [10, 200])
def test_unchanged_poll_answers_an_empty_204(team, editor_client, panels):
    board = generating_board(team, f"Board of {panels}", panels)
    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()

    with CaptureQueriesContext(connection) as ctx:
        response = editor_client.get(poll_url(page))

    assert response.status_code == 204
    assert response.content == b""
    assert len(ctx.captured_queries) == UNCHANGED_QUERIES, "\n".join(q["sql"][:150] for q in ctx)


def test_poll_sends_only_the_cards_that_changed(team, editor_client):
    board = generating_board(team, "Busy", 200)
    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    moved = board.panels.order_by("position")[7]
    GenerationJob.objects.filter(panel=moved).update(progress=0.9)

    with CaptureQueriesContext(connection) as ctx:
        response = editor_client.get(poll_url(page))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="gen-status"') == 1
    assert f'id="gen-{moved.pk}"' in html and "90%" in html
    assert len(ctx.captured_queries) == PROGRESS_QUERIES - 1  # no "finished lately"
    # The answer names what it shows: asked again, nothing new.
    assert editor_client.get(poll_url(html)).status_code == 204


def test_poll_of_a_finished_job_sends_its_card_and_stops_when_all_are_done(team, editor_client):
    board = generating_board(team, "Ending", 3)
    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    GenerationJob.objects.filter(panel__board=board).update(state="succeeded")

    html = editor_client.get(poll_url(page)).content.decode()

    assert html.count('class="gen-status"') == 3
    assert "Generated" in html
    assert "hx-get" not in html  # nothing under way: the bar stops polling


def test_spend_change_alone_updates_the_bar_without_cards(team, editor_client):
    board = generating_board(team, "Costly", 5)
    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    GenerationJob.objects.filter(panel__board=board).update(estimated_cost=2)

    html = editor_client.get(poll_url(page)).content.decode()

    assert "Spent so far: 10.00 credits" in html
    assert 'class="gen-status"' not in html


def test_a_version_not_known_here_sends_every_card_under_way(team, editor_client):
    board = generating_board(team, "Elsewhere", 4)
    url = reverse("board_progress", args=[board.pk])

    for shown in ("0" * 24, "not-a-version"):
        html = editor_client.get(url, {"v": shown}).content.decode()
        assert html.count('class="gen-status"') == 4


def test_spend_counts_known_costs_and_estimates_of_work_under_way_only(team):
    from decimal import Decimal

    from tests.factories import ProjectFactory
    from workers.selectors import project_spend

    board = BoardFactory(project=team.project)
    fill_board(board, 6)
    panels = list(board.panels.order_by("position"))
    other = ProjectFactory()  # its jobs never count here

    def job(panel, state, cost=None, estimate="0.10", project=team.project):
        GenerationJob.objects.create(
            project=project,
            panel=panel,
            backend="sketch",
            state=state,
            cost=None if cost is None else Decimal(cost),
            estimated_cost=Decimal(estimate),
        )

    assert project_spend(team.project) == Decimal("0")
    job(panels[0], "succeeded", cost="0.05")  # billed: its cost
    job(panels[1], "failed", cost="0.03")  # billed before it failed: its cost
    job(panels[2], "polling", estimate="0.07")  # under way: its estimate
    job(panels[3], "needs_review", estimate="0.11")  # may have been billed: its estimate
    job(panels[4], "failed", estimate="0.50")  # never billed: nothing
    job(panels[5], "cancelled", estimate="0.40")  # never billed: nothing
    job(panels[0], "succeeded", cost="9.99", project=other)
    spend = project_spend(team.project)
    assert spend == Decimal("0.26") and str(spend) == "0.26"  # to the cent, as stored
