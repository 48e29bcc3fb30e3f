"""Reads of the review loop, each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from boards.models import Board, Panel
from reviews.models import Activity, BoardReview, Comment, PanelReview, ReviewLink
from studio.http import attach
from studio.models import Membership, Project
from studio.prepared import PreparedRows

Status = PanelReview.Status


# The reads every board page and poll makes, compiled once (studio.prepared).
_VERSION = PreparedRows(
    BoardReview,
    lambda board_id: (
        BoardReview.objects.filter(board_id=board_id).order_by("pk").values_list("version")[:1]
    ),
)
_STATUSES = PreparedRows(
    PanelReview,
    lambda board_id: PanelReview.objects.filter(board_id=board_id).values_list(
        "panel_id", "status"
    ),
)
_OPEN_COUNTS = PreparedRows(
    Comment,
    lambda board_id: (
        Comment.objects.filter(
            board_id=board_id, panel__isnull=False, parent__isnull=True, resolved__isnull=True
        )
        .values("panel_id")
        .annotate(n=Count("id"))
        .values_list("panel_id", "n")
    ),
)
_MEMBER_NAMES = PreparedRows(
    Membership,
    lambda project_id: Membership.objects.filter(project_id=project_id).values_list(
        "user__username"
    ),
)


def board_version(board_id: int) -> int:
    """The board's review counter (0 before anything happened)."""
    rows = _VERSION.rows(board_id)
    return rows[0][0] if rows else 0


def review_cards(board: Board, panels: list[Panel]) -> dict:
    """Attach each panel's status and open-comment count; return the board's counts.

    Two queries whatever the number of panels or comments.
    """
    statuses = dict(_STATUSES.rows(board.pk))
    open_counts = dict(_OPEN_COUNTS.rows(board.pk))
    counts = {s: 0 for s in Status.values}
    for panel in panels:
        status = statuses.get(panel.pk, Status.DRAFT)
        counts[status] += 1
        attach(
            panel,
            review_status=status,
            review_label=Status(status).label,
            open_comments=open_counts.get(panel.pk, 0),
        )
    total = len(panels)
    approved = counts[Status.APPROVED]
    return {
        "total": total,
        "approved": approved,
        "counts": [(s, Status(s).label, counts[s]) for s in Status.values],
        "drafts": counts[Status.DRAFT],
        "percent": int(100 * approved / total) if total else 0,
    }


def panel_review(panel: Panel) -> PanelReview | None:
    """The panel's review row with who approved and the approved take, if any."""
    return (
        PanelReview.objects.select_related("approved_by", "approved_take")
        .filter(panel=panel)
        .first()
    )


def member_names(project_id: int) -> list[str]:
    """Usernames of the project's members (to mark @mentions of them)."""
    return [name for (name,) in _MEMBER_NAMES.rows(project_id)]


def _threads(comments) -> list[Comment]:
    """Group comments (roots and replies, oldest first) into threads, in memory.

    Each root gets `thread_replies`; one query for any number of threads.
    """
    rows = list(comments.order_by("created", "id"))
    roots = {c.pk: c for c in rows if c.parent_id is None}
    for root in roots.values():
        attach(root, thread_replies=[])
    for reply in rows:
        if reply.parent_id in roots:
            roots[reply.parent_id].thread_replies.append(reply)
    return list(roots.values())


def panel_thread(panel: Panel) -> list[Comment]:
    """The panel's threads, oldest first, each with its replies, authors and pinned take."""
    return _threads(
        Comment.objects.filter(panel=panel).select_related("author", "take", "resolved_by")
    )


def board_threads(board: Board) -> list[Comment]:
    """Comments on the board as a whole (not on a panel), with replies."""
    return _threads(
        Comment.objects.filter(board=board, panel__isnull=True).select_related("author")
    )


@dataclass(frozen=True)
class FeedPanel:
    pk: int
    number: int


@dataclass(frozen=True)
class FeedItem:
    """A comment as the feed shows it: who, where, when, what (no model instance)."""

    pk: int
    who: str
    is_guest: bool
    panel: FeedPanel | None
    created: datetime
    body: str


FEED_SIZE = 12
_FEED = PreparedRows(
    Comment,
    lambda board_id: (
        Comment.objects.filter(board_id=board_id)
        .order_by("-id")
        .values_list(
            "pk",
            "author_id",
            "guest_name",
            "author__username",
            "panel_id",
            "panel__position",
            "created",
            "body",
        )[:FEED_SIZE]
    ),
)


def board_feed(board: Board) -> list[FeedItem]:
    """The board's newest comments and replies, newest first, for the live feed."""
    return [
        FeedItem(
            pk=pk,
            who=Comment.name_shown(author_id, guest_name, username),
            is_guest=author_id is None,
            panel=None if panel_id is None else FeedPanel(panel_id, position + 1),
            created=created,
            body=body,
        )
        for pk, author_id, guest_name, username, panel_id, position, created, body in _FEED.rows(
            board.pk
        )
    ]


_LINKS = PreparedRows(
    ReviewLink, lambda board_id: ReviewLink.objects.filter(board_id=board_id).values_list("pk")
)


def link_count(board: Board) -> int:
    """How many guest links the board has (revoked and expired ones too, as the list shows)."""
    return len(_LINKS.rows(board.pk))


def guest_threads(board: Board) -> dict[int | None, list[Comment]]:
    """Every thread of the board by panel id (None: the board itself), for the guest page."""
    by_panel: dict[int | None, list[Comment]] = {}
    for thread in _threads(Comment.objects.filter(board=board).select_related("author")):
        by_panel.setdefault(thread.panel_id, []).append(thread)
    return by_panel


def links_for_board(board: Board) -> QuerySet[ReviewLink]:
    """The board's guest links, newest first, with who made them."""
    return ReviewLink.objects.filter(board=board).select_related("created_by")


def board_activity(board: Board, verb: str = "", limit: int = 200) -> list[Activity]:
    """The board's activity, newest first, optionally of one kind."""
    rows = Activity.objects.filter(board=board).select_related("panel", "actor")
    if verb:
        rows = rows.filter(verb=verb)
    return list(rows[:limit])


def mention_candidates(project: Project, prefix: str, limit: int = 8) -> list[str]:
    """Usernames of members starting with (or containing) `prefix`, for @ autocomplete."""
    prefix = prefix.strip().lstrip("@")
    members = Membership.objects.filter(project=project)
    if prefix:
        members = members.filter(
            Q(user__username__istartswith=prefix) | Q(user__username__icontains=prefix)
        )
    names = list(members.values_list("user__username", flat=True).order_by("user__username"))
    starts = [n for n in names if n.lower().startswith(prefix.lower())]
    return (starts + [n for n in names if n not in starts])[:limit]
