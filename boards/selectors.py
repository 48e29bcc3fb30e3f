"""Reads for boards and panels."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet

from boards.models import Board, CastMember, Panel, Take
from studio.models import Project


def boards_for_project(project: Project) -> QuerySet[Board]:
    """Boards with panel counts, newest first."""
    return (
        Board.objects.filter(project=project)
        .annotate(panel_count=Count("panels"))
        .order_by("-updated", "id")
    )


def board_panels(board: Board, ids: list[int] | None = None) -> list[Panel]:
    """Every panel of a board (or those of `ids`) with what its card shows, in a fixed
    number of queries."""
    panels = Panel.objects.filter(board=board)
    if ids is not None:
        panels = panels.filter(pk__in=ids)
    return list(
        panels.select_related("selected_take", "location")
        .prefetch_related(
            Prefetch(
                "cast",
                queryset=CastMember.objects.select_related("character", "sheet").order_by(
                    "order", "id"
                ),
            )
        )
        .order_by("position")
    )


def panel_detail(panel_id: int) -> Panel:
    """A panel with its cast, location and takes, for the panel editor."""
    return (
        Panel.objects.select_related("board__project", "location", "selected_take")
        .prefetch_related(
            Prefetch("cast", queryset=CastMember.objects.select_related("character", "sheet")),
            Prefetch("takes", queryset=Take.objects.order_by("-created", "-id")),
        )
        .get(pk=panel_id)
    )


def panel_card(panel_id: int) -> Panel:
    """One panel with what its board card shows (after an inline edit or an add)."""
    return (
        Panel.objects.select_related("board", "selected_take", "location")
        .prefetch_related(
            Prefetch(
                "cast",
                queryset=CastMember.objects.select_related("character", "sheet").order_by(
                    "order", "id"
                ),
            )
        )
        .get(pk=panel_id)
    )


def board_order(board_id: int) -> list[int]:
    """Panel ids of a board in shot order, as the page's script re-numbers cards from them."""
    return list(
        Panel.objects.filter(board_id=board_id).order_by("position").values_list("pk", flat=True)
    )


def panel_neighbours(panel: Panel) -> tuple[Panel | None, Panel | None]:
    """The panels just before and after this one on its board, for prev/next links."""
    siblings = Panel.objects.filter(board_id=panel.board_id).only("pk", "position", "board_id")
    before = siblings.filter(position__lt=panel.position).order_by("-position").first()
    after = siblings.filter(position__gt=panel.position).order_by("position").first()
    return before, after


def board_playlist(board: Board) -> list[Panel]:
    """A board's panels in shot order with their selected takes, for the player (one query)."""
    return list(
        Panel.objects.filter(board=board).select_related("selected_take").order_by("position")
    )
