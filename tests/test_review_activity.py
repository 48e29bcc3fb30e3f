"""The board's activity log: who generated, edited, commented, approved, exported, shared."""

from __future__ import annotations

import pytest
from django.urls import reverse

from boards.models import Panel
from reviews.models import Activity
from reviews.services import comment_create, link_create, panel_status_set
from tests.factories import BoardFactory, PanelFactory
from tests.generation import make_board


@pytest.fixture
def board(team):
    board = BoardFactory(project=team.project, name="Harbour")
    PanelFactory(board=board)
    return board


def verbs(board) -> list[tuple[str, str]]:
    return [
        (a.verb, a.actor_name or a.actor.get_username())
        for a in Activity.objects.filter(board=board).order_by("id")
    ]


def test_people_actions_are_logged_with_who(team, board):
    panel = board.panels.get()
    editor = team.client("editor")
    editor.post(
        reverse("panel_edit", args=[panel.pk]),
        {
            "action": "She runs.",
            "shot_type": "ms",
            "camera_angle": "eye",
            "cast-TOTAL_FORMS": "0",
            "cast-INITIAL_FORMS": "0",
        },
    )
    comment_create(board=board, panel=panel, author=team.viewer, body="faster?")
    comment_create(board=board, panel=panel, guest_name="Carla", body="love it")
    panel_status_set(panel=panel, status="approved", user=team.reviewer)
    link_create(board=board, user=team.owner)
    form = {"format": "pdf", "layout": "2x3", "paper": "a4", "orientation": "landscape"}
    assert editor.post(reverse("board_export", args=[board.pk]), form).status_code == 302
    assert verbs(board) == [
        ("edited", "editor"),
        ("commented", "viewer"),
        ("commented", "Carla (guest)"),
        ("approved", "reviewer"),
        ("shared", "owner"),
        ("exported", "editor"),
    ]


def test_activity_page_filters_by_kind(team, board):
    panel = board.panels.get()
    comment_create(board=board, panel=panel, author=team.viewer, body="faster?")
    panel_status_set(panel=panel, status="approved", user=team.reviewer)
    url = reverse("board_activity", args=[board.pk])
    everything = team.client("viewer").get(url)
    assert [a.verb for a in everything.context["entries"]] == ["approved", "commented"]
    only = team.client("viewer").get(url, {"what": "commented"})
    assert [a.verb for a in only.context["entries"]] == ["commented"]
    body = only.content.decode()
    assert "faster?" in body and "Shot 1: approved" not in body
    # An unknown kind shows everything rather than an empty page.
    assert len(team.client("viewer").get(url, {"what": "nope"}).context["entries"]) == 2


@pytest.mark.django_db(transaction=True)
def test_generated_takes_are_logged_for_who_asked(team, driver):
    from workers.services import jobs_request

    board = make_board(team.project, panels=2, cast_per_panel=1)
    panels = list(Panel.objects.filter(board=board).select_related("board__project"))
    jobs_request(panels=panels, user=team.editor, backend="sketch")
    driver.run()
    assert verbs(board) == [("generated", "editor"), ("generated", "editor")]
    assert {a.panel_id for a in Activity.objects.filter(board=board)} == {p.pk for p in panels}
