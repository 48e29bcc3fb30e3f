"""Board cards come from a cache keyed by what each shows: a card is never stale, and a
cached card never gives one viewer's controls or token to another."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.cache import caches
from django.test import Client
from django.urls import reverse

from boards import services
from boards.models import Board, CastMember, Panel, Take
from characters.models import Character, Location, ReferenceSheet
from reviews.models import Comment, PanelReview
from tests.factories import BoardFactory, CharacterFactory, ReferenceImageFactory
from tests.html_forms import form_data, form_index
from tests.test_board_pages import fill_board
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db

CARD = re.compile(r'<article class="panel-card" id="panel-(\d+)".*?</article>', re.S)
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def cards_of(client: Client, board: Board) -> dict[int, str]:
    """The board page's cards by panel id, with the (per request) CSRF token blanked."""
    html = client.get(reverse("board_detail", args=[board.pk])).content.decode()
    return {int(m.group(1)): TOKEN.sub("TOKEN", m.group(0)) for m in CARD.finditer(html)}


def fresh_cards(client: Client, board: Board) -> dict[int, str]:
    """The cards as rendered from the database alone, with nothing cached."""
    caches["cards"].clear()
    return cards_of(client, board)


@pytest.fixture
def board(team) -> Board:
    """Three panels with cast, places and takes; the second generating, the third waiting."""
    board = BoardFactory(project=team.project, name="Cached")
    fill_board(board, 3)
    _, second, third = panels_of(board)
    running = GenerationJob.objects.create(
        project=team.project, panel=second, backend="sketch", state="polling", progress=0.25
    )
    GenerationJob.objects.create(
        project=team.project, panel=third, backend="sketch", state="waiting", after=running
    )
    return board


def panels_of(board: Board) -> list[Panel]:
    return list(board.panels.order_by("position"))


# Each change writes with update() or plain creates, never through a save that
# would touch `updated`: the cards must not lean on timestamps.
def _panel(field: str, value) -> Callable[[Board], None]:
    def change(board: Board) -> None:
        Panel.objects.filter(pk=panels_of(board)[0].pk).update(**{field: value})

    return change


def _new_location(board: Board) -> None:
    place = Location.objects.create(project=board.project, name="Lighthouse")
    Panel.objects.filter(pk=panels_of(board)[0].pk).update(location=place)


def _rename_location(board: Board) -> None:
    Location.objects.filter(pk=panels_of(board)[0].location_id).update(name="Pier")


def _add_cast(board: Board) -> None:
    first = panels_of(board)[0]
    CastMember.objects.create(
        panel=first, character=CharacterFactory(project=board.project, name="Otto"), order=5
    )


def _remove_cast(board: Board) -> None:
    CastMember.objects.filter(panel=panels_of(board)[0]).order_by("order").first().delete()


def _rename_character(board: Board) -> None:
    member = CastMember.objects.filter(panel=panels_of(board)[0]).first()
    Character.objects.filter(pk=member.character_id).update(name="Renamed")


def _rename_sheet(board: Board) -> None:
    member = CastMember.objects.filter(panel=panels_of(board)[0]).first()
    ReferenceSheet.objects.filter(pk=member.sheet_id).update(name="Winter coat")


def _placement(board: Board) -> None:
    CastMember.objects.filter(panel=panels_of(board)[0]).update(placement="left, facing away")


def _reference_image(board: Board) -> None:
    # The sheet now has a picture: the card stops warning about drawing from text alone.
    for member in CastMember.objects.filter(panel=panels_of(board)[0]):
        ReferenceImageFactory(sheet_id=member.sheet_id)


def _select_new_take(board: Board) -> None:
    first = panels_of(board)[0]
    take = Take.objects.create(
        panel=first, kind="uploaded", file="projects/x/new.png", sha256="1" * 64, width=8, height=8
    )
    Panel.objects.filter(pk=first.pk).update(selected_take=take)


def _take_without_references(board: Board) -> None:
    first = panels_of(board)[0]
    Take.objects.filter(pk=first.selected_take_id).update(
        kind="generated", request={"without_references": ["Character 0"]}
    )


def _thumbnail(board: Board) -> None:
    Take.objects.filter(pk=panels_of(board)[0].selected_take_id).update(thumbnail="")


def _new_job(board: Board) -> None:
    first = panels_of(board)[0]
    GenerationJob.objects.create(
        project=board.project, panel=first, backend="sketch", state="queued"
    )


def _job(**fields) -> Callable[[Board], None]:
    def change(board: Board) -> None:
        GenerationJob.objects.filter(panel=panels_of(board)[1]).update(**fields)

    return change


def _waiting_for_another(board: Board) -> None:
    # The job it waits for is now on the first panel: "waiting for shot 1".
    first = panels_of(board)[0]
    other = GenerationJob.objects.create(
        project=board.project, panel=first, backend="sketch", state="queued"
    )
    GenerationJob.objects.filter(panel=panels_of(board)[2]).update(after=other)


def _continuity(board: Board) -> None:
    # Drawn from a take the previous panel no longer shows: "Previous panel changed".
    second = panels_of(board)[1]
    Panel.objects.filter(pk=second.pk).update(continue_previous=True)
    Take.objects.filter(pk=second.selected_take_id).update(
        kind="generated", request={"continues": 0}
    )
    GenerationJob.objects.filter(panel=second).update(state="succeeded")


def _review_status(board: Board) -> None:
    first = panels_of(board)[0]
    PanelReview.objects.create(panel=first, board=board, status="approved")


def _open_comment(board: Board) -> None:
    Comment.objects.create(
        board=board, panel=panels_of(board)[0], guest_name="Client", body="Darker sky?"
    )


def _move(board: Board) -> None:
    first, _, third = panels_of(board)
    services.panel_move(panel=first, after_id=third.pk)


def _board(**fields) -> Callable[[Board], None]:
    def change(board: Board) -> None:
        Board.objects.filter(pk=board.pk).update(**fields)

    return change


CHANGES: dict[str, Callable[[Board], None]] = {
    "action": _panel("action", "The gull takes the sandwich."),
    "dialogue": _panel("dialogue", "Hey!"),
    "shot type": _panel("shot_type", "ecu"),
    "camera angle": _panel("camera_angle", "low"),
    "duration": _panel("duration", Decimal("2.5")),
    "script state": _panel("script_state", "gone"),
    "location": _new_location,
    "location renamed": _rename_location,
    "cast added": _add_cast,
    "cast removed": _remove_cast,
    "character renamed": _rename_character,
    "sheet renamed": _rename_sheet,
    "placement": _placement,
    "reference image added": _reference_image,
    "selected take": _select_new_take,
    "take without references": _take_without_references,
    "thumbnail": _thumbnail,
    "job asked for": _new_job,
    "job progress": _job(progress=0.75),
    "job failed": _job(state="failed", error_message="The provider fell over."),
    "job moderated": _job(state="failed", error_code="moderated"),
    "job needs review": _job(state="needs_review", error_message="Outcome unknown."),
    "job cancelled": _job(state="cancelled"),
    "job other backend step": _job(state="queued"),
    "waiting for another panel": _waiting_for_another,
    "previous panel changed": _continuity,
    "review status": _review_status,
    "open comment": _open_comment,
    "board kind": _board(kind="comic"),
    "board shape": _board(aspect="4:3"),
    "order": _move,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_cached_card_shows_every_change_to_what_it_shows(board, editor_client, change):
    before = cards_of(editor_client, board)  # every card now cached
    change(board)

    after = cards_of(editor_client, board)

    assert after != before, "the change shows on a card"
    assert after == fresh_cards(editor_client, board)


def test_an_undone_change_brings_back_the_card_as_it_was(board, editor_client):
    before = cards_of(editor_client, board)
    first = panels_of(board)[0]
    Panel.objects.filter(pk=first.pk).update(action="Changed")
    assert cards_of(editor_client, board) != before
    Panel.objects.filter(pk=first.pk).update(action=first.action)

    assert cards_of(editor_client, board) == before


def test_comment_resolved_clears_the_count(board, editor_client):
    _open_comment(board)
    with_comment = cards_of(editor_client, board)
    Comment.objects.update(resolved="2026-01-01T00:00:00Z")

    after = cards_of(editor_client, board)

    assert after != with_comment
    assert after == fresh_cards(editor_client, board)


# What each role may do from a card, by the URL of the action.
ACTIONS = {
    "delete": "panel_delete",
    "move": "panel_move",
    "generate": "panel_generate",
    "review": "panel_status",
}
ALLOWED = {
    "viewer": set(),
    "reviewer": {"review"},
    "editor": {"delete", "move", "generate", "review"},
    "owner": {"delete", "move", "generate", "review"},
}


@pytest.mark.parametrize("first", ["owner", "viewer"])
def test_cached_cards_give_each_role_only_its_own_controls(team, board, first):
    """Whoever loads the board first fills the cache; everyone still sees their own card."""
    order = [first, *(role for role in ALLOWED if role != first)]
    panel = panels_of(board)[0]
    for role in order:
        html = team.client(role).get(reverse("board_detail", args=[board.pk])).content.decode()
        shown = {
            name
            for name, url in ACTIONS.items()
            if f'action="{reverse(url, args=[panel.pk])}"' in html
        }
        assert shown == ALLOWED[role], role


def test_card_forms_carry_the_viewers_own_token(team, board):
    """Cards cached for one editor post with another's token, checked as in production."""
    team.client("owner").get(reverse("board_detail", args=[board.pk]))  # fills the cache
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.editor)
    panel = panels_of(board)[0]
    html = client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "csrf-slot" not in html

    delete = reverse("panel_delete", args=[panel.pk])
    response = client.post(delete, form_data(html, form_index(html, f'action="{delete}"')))

    assert response.status_code == 302
    assert not Panel.objects.filter(pk=panel.pk).exists()


def _cards_rendered(response) -> int:
    return [t.name for t in response.templates].count("boards/_panel_card.html")


def test_only_a_changed_card_is_rendered_again(board, editor_client):
    url = reverse("board_detail", args=[board.pk])
    assert _cards_rendered(editor_client.get(url)) == 3
    assert _cards_rendered(editor_client.get(url)) == 0

    Panel.objects.filter(pk=panels_of(board)[2].pk).update(dialogue="Who's there?")

    assert _cards_rendered(editor_client.get(url)) == 1
