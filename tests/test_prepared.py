"""studio.prepared: reads compiled once per connection give the ORM's own rows."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from boards.cards import PANEL_FIELDS
from boards.models import Panel
from studio.prepared import PreparedRows
from tests.factories import BoardFactory
from tests.test_board_pages import fill_board


def _panels(board_id: int):
    return (
        Panel.objects.filter(board_id=board_id)
        .order_by("position")
        .values_list(*PANEL_FIELDS, "scene", "created")
    )


@pytest.fixture
def boards(db):
    made = [BoardFactory(), BoardFactory()]
    for n, board in enumerate(made):
        fill_board(board, 3 + n)
    Panel.objects.filter(board=made[0], position=1).update(duration=Decimal("2.75"))
    return made


def test_rows_are_the_orms_rows_for_every_argument_and_the_query_is_built_once(boards):
    built = []

    def build(board_id):
        built.append(board_id)
        return _panels(board_id)

    prepared = PreparedRows(Panel, build)
    for board in [*boards, *boards]:
        assert prepared.rows(board.pk) == list(_panels(board.pk))
    assert len(built) == 1  # once, with a stand-in, whatever the boards asked for
    assert built[0] not in {b.pk for b in boards}
    # Converted as the ORM converts: a decimal stays a Decimal, a time is aware.
    row = prepared.rows(boards[0].pk)[1]
    assert row[PANEL_FIELDS.index("duration")] == Decimal("2.75")
    assert row[-1].tzinfo is not None
    assert prepared.rows(-1) == []  # no such board
    assert prepared.rows(2**70) == []  # nor one no id column could hold (not an SQL error)


def test_it_runs_one_query_with_the_orms_sql(boards):
    prepared = PreparedRows(Panel, _panels)
    prepared.rows(boards[0].pk)  # compiled here
    with CaptureQueriesContext(connection) as ctx:
        prepared.rows(boards[1].pk)
        list(_panels(boards[1].pk))
    ours, orms = (q["sql"] for q in ctx.captured_queries)
    assert ours == orms and str(boards[1].pk) in ours


def test_arguments_must_be_whole_numbers(boards):
    prepared = PreparedRows(Panel, _panels)
    for bad in (None, "1", [1, 2], 1.0, True):
        with pytest.raises(TypeError, match="whole numbers"):
            prepared.rows(bad)
    with pytest.raises(TypeError):
        prepared.rows(1, 2)


def test_a_build_that_drops_an_argument_is_refused(boards):
    prepared = PreparedRows(Panel, lambda board_id: Panel.objects.values_list("pk"))
    with pytest.raises(ValueError, match="every argument"):
        prepared.rows(boards[0].pk)


@pytest.mark.django_db(transaction=True)
def test_each_thread_compiles_on_its_own_connection():
    board = BoardFactory()
    fill_board(board, 2)
    built = []

    def build(board_id):
        built.append(threading.get_ident())
        return _panels(board_id)

    prepared = PreparedRows(Panel, build)
    here = prepared.rows(board.pk)
    there = []

    def other():
        try:
            there.extend(prepared.rows(board.pk))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert there == here and len(here) == 2
    assert len(set(built)) == 2  # one compilation per thread's connection


def test_the_boards_reference_check_in_one_read_names_whom_the_per_panel_check_names(db):
    from boards.models import CastMember
    from tests.factories import (
        CastMemberFactory,
        CharacterFactory,
        PanelFactory,
        ReferenceImageFactory,
        ReferenceSheetFactory,
    )
    from workers.selectors import cast_rows, unreferenced_in, unreferenced_on_board

    board = BoardFactory()
    cast = {
        name: CharacterFactory(project=board.project, name=name)
        for name in ("Ada", "Bo", "Cy", "Di", "Ed")
    }
    drawn = ReferenceImageFactory(sheet__character=cast["Ada"]).sheet  # default, with images
    ReferenceSheetFactory(character=cast["Bo"])  # default, no images
    bare = ReferenceSheetFactory(character=cast["Cy"], is_default=False)  # chosen, no images
    ReferenceImageFactory(sheet__character=cast["Cy"])  # Cy's default has images
    chosen = ReferenceImageFactory(sheet__character=cast["Di"], sheet__is_default=False).sheet
    # Ed has no sheet at all.
    panels = [PanelFactory(board=board, position=i) for i in range(3)]
    for panel, members in zip(
        panels,
        [[("Ada", None), ("Bo", None)], [("Cy", bare), ("Di", chosen)], [("Ed", None)]],
        strict=True,
    ):
        for name, sheet in members:
            CastMemberFactory(panel=panel, character=cast[name], sheet=sheet)
    rows = cast_rows(CastMember.objects.filter(panel__board=board))
    by_panel = unreferenced_on_board(board.pk, rows)
    assert by_panel == unreferenced_in(rows)
    assert by_panel == {panels[0].pk: ["Bo"], panels[1].pk: ["Cy"], panels[2].pk: ["Ed"]}
    assert drawn.pk not in {row[3] for row in rows}  # Ada is drawn from her default
