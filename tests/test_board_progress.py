"""The board progress poll: what it sends, and that it costs the same for any board size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import BoardFactory
from tests.test_board_pages import fill_board
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db

# Session, user, board, membership; every panel's job state, jobs finished lately,
# the cards to send and their jobs; their cast, the sheets with images; the spend.
# (Continuing panels or cast on default sheets add one query each, for any size.)
PROGRESS_QUERIES = 11


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
