"""Panel order: relative moves, their endpoint, and two people editing one board."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from boards import services
from boards.models import Board, Panel
from tests.factories import BoardFactory

pytestmark = pytest.mark.django_db
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def board(team) -> Board:
    return BoardFactory(project=team.project, name="Opening")


def add_panels(board: Board, n: int) -> list[Panel]:
    return [services.panel_create(board=board, action=f"beat {i}") for i in range(n)]


def order(board: Board) -> list[int]:
    return list(board.panels.order_by("position").values_list("pk", flat=True))


def positions(board: Board) -> list[int]:
    return list(board.panels.order_by("position").values_list("position", flat=True))


# --- the service -------------------------------------------------------------------------


def test_move_to_front_and_after_another(board):
    a, b, c, d = add_panels(board, 4)
    services.panel_move(panel=d, after_id=None)
    assert order(board) == [d.pk, a.pk, b.pk, c.pk]
    services.panel_move(panel=d, after_id=b.pk)
    assert order(board) == [a.pk, b.pk, d.pk, c.pk]
    assert positions(board) == [0, 1, 2, 3]


def test_move_after_itself_changes_nothing(board):
    panels = add_panels(board, 3)
    services.panel_move(panel=panels[1], after_id=panels[1].pk)
    assert order(board) == [p.pk for p in panels]


def test_move_after_panel_of_another_board_is_refused(team, board):
    panels = add_panels(board, 3)
    stranger = add_panels(BoardFactory(project=team.project), 1)[0]
    with pytest.raises(ValidationError):
        services.panel_move(panel=panels[2], after_id=stranger.pk)
    assert order(board) == [p.pk for p in panels]


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    ops=st.lists(
        st.tuples(
            st.sampled_from(["add", "insert", "move", "front", "delete"]),
            st.integers(0, 50),
            st.integers(0, 50),
        ),
        max_size=25,
    )
)
def test_any_sequence_of_edits_keeps_a_gapless_order(team, ops):
    """Positions stay 0..n-1 and match a plain list given the same edits."""
    with transaction.atomic():
        board = BoardFactory(project=team.project)
        model: list[int] = []
        for op, i, j in ops:
            if op == "add":
                model.append(services.panel_create(board=board).pk)
            elif op == "insert" and model:
                after = Panel.objects.get(pk=model[i % len(model)])
                panel = services.panel_create(board=board, after=after)
                model.insert(i % len(model) + 1, panel.pk)
            elif op in ("move", "front") and model:
                pk = model.pop(i % len(model))
                target = None if op == "front" or not model else model[j % len(model)]
                services.panel_move(panel=Panel.objects.get(pk=pk), after_id=target)
                model.insert(0 if target is None else model.index(target) + 1, pk)
            elif op == "delete" and model:
                services.panel_delete(panel=Panel.objects.get(pk=model.pop(i % len(model))))
            assert order(board) == model
            assert positions(board) == list(range(len(model)))
        transaction.set_rollback(True)


# --- the endpoint --------------------------------------------------------------------------


def test_move_without_js_persists_and_redirects_to_the_card(board, editor_client):
    a, b, c = add_panels(board, 3)
    response = editor_client.post(reverse("panel_move", args=[c.pk]), {"after": a.pk})
    assert response.status_code == 302 and response.url.endswith(f"#panel-{c.pk}")
    assert order(board) == [a.pk, c.pk, b.pk]


def test_move_with_js_returns_the_new_numbers(board, editor_client):
    a, b, c = add_panels(board, 3)
    response = editor_client.post(reverse("panel_move", args=[a.pk]), {"after": c.pk}, **JSON)
    assert response.status_code == 200
    assert response.json()["order"] == [
        {"id": b.pk, "number": 1},
        {"id": c.pk, "number": 2},
        {"id": a.pk, "number": 3},
    ]
    assert order(board) == [b.pk, c.pk, a.pk]


def test_empty_after_moves_to_the_front(board, editor_client):
    a, b, c = add_panels(board, 3)
    editor_client.post(reverse("panel_move", args=[c.pk]), {"after": ""})
    assert order(board) == [c.pk, a.pk, b.pk]


def test_move_after_panel_on_another_board_is_refused(team, board, editor_client):
    panels = add_panels(board, 3)
    other = add_panels(BoardFactory(project=team.project), 1)[0]
    response = editor_client.post(
        reverse("panel_move", args=[panels[0].pk]), {"after": other.pk}, **JSON
    )
    assert response.status_code == 400
    assert "not on this board" in response.json()["error"]
    assert order(board) == [p.pk for p in panels]
    assert other.board.panels.get().position == 0


def test_move_with_garbage_after_is_refused(board, editor_client):
    panels = add_panels(board, 2)
    response = editor_client.post(
        reverse("panel_move", args=[panels[1].pk]), {"after": "first!"}, **JSON
    )
    assert response.status_code == 400
    assert order(board) == [p.pk for p in panels]


def test_move_buttons_post_values_that_move_one_step(board, editor_client):
    a, b, c, d = add_panels(board, 4)
    page = editor_client.get(reverse("board_detail", args=[board.pk]))
    cards = {p.pk: p for p in page.context["panels"]}
    # The values rendered for the no-JS buttons: "move left" on c means "after a".
    editor_client.post(reverse("panel_move", args=[c.pk]), {"after": cards[c.pk].left_after})
    assert order(board) == [a.pk, c.pk, b.pk, d.pk]
    assert cards[a.pk].left_after is None and cards[a.pk].is_first
    assert cards[d.pk].is_last and cards[d.pk].right_after is None
    editor_client.post(reverse("panel_move", args=[a.pk]), {"after": cards[a.pk].right_after})
    assert order(board) == [c.pk, b.pk, a.pk, d.pk]  # after b, wherever b now is


# --- two people, one board --------------------------------------------------------------------


def test_move_and_add_by_two_people_both_survive(team, board, editor_client, owner_client):
    """A loaded the board, B adds a panel, then A moves panel 5 to the front."""
    panels = add_panels(board, 8)
    editor_client.get(reverse("board_detail", args=[board.pk]))  # A's page, now stale
    owner_client.post(reverse("panel_create", args=[board.pk]), HTTP_HX_REQUEST="true")
    added = board.panels.get(position=8)
    response = editor_client.post(reverse("panel_move", args=[panels[4].pk]), {"after": ""}, **JSON)
    expected = [panels[4].pk] + [p.pk for i, p in enumerate(panels) if i != 4] + [added.pk]
    assert order(board) == expected
    # A's page learns about B's panel from the reply and renumbers from it.
    assert [row["id"] for row in response.json()["order"]] == expected


def test_add_after_a_panel_someone_moved_lands_next_to_it(board, editor_client, owner_client):
    a, b, c = add_panels(board, 3)
    owner_client.post(reverse("panel_move", args=[a.pk]), {"after": c.pk})
    editor_client.post(reverse("panel_create", args=[board.pk]), {"after": a.pk})
    new = board.panels.exclude(pk__in=[a.pk, b.pk, c.pk]).get()
    assert order(board) == [b.pk, c.pk, a.pk, new.pk]


@pytest.mark.django_db(transaction=True)
def test_simultaneous_moves_and_adds_lose_nothing(team):
    """Threads on their own connections: every add lands and positions stay gapless."""
    board = BoardFactory(project=team.project)
    panels = add_panels(board, 6)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(work):
        try:
            start.wait(timeout=10)
            for _ in range(3):
                work()
        except BaseException as exc:  # reported below, with the thread's traceback lost
            errors.append(exc)
        finally:
            connection.close()

    def mover(panel):
        return lambda: services.panel_move(panel=Panel.objects.get(pk=panel.pk), after_id=None)

    def adder():
        services.panel_create(board=Board.objects.get(pk=board.pk))

    threads = [
        threading.Thread(target=run, args=(mover(panels[5]),)),
        threading.Thread(target=run, args=(mover(panels[2]),)),
        threading.Thread(target=run, args=(adder,)),
        threading.Thread(target=run, args=(adder,)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert board.panels.count() == 12
    assert positions(board) == list(range(12))
    assert set(order(board)[:2]) == {panels[5].pk, panels[2].pk}
