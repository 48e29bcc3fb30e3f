"""Writes of the review loop: comments, approval status, guest links, activity."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Subquery
from django.urls import reverse
from django.utils import timezone

from boards.models import Board, Panel, Take
from reviews import notify as notices
from reviews.models import Activity, BoardReview, Comment, PanelReview, ReviewLink
from reviews.text import mentioned_names
from studio.models import Membership

MAX_BODY = 5000
Status = PanelReview.Status
Verb = Activity.Verb


# --- activity and the live counter ------------------------------------------------------


def activity_record(
    *,
    board: Board,
    verb: str,
    actor=None,
    actor_name: str = "",
    panel: Panel | None = None,
    text: str = "",
) -> Activity:
    """Add one line to the board's activity log."""
    if actor is not None and not actor_name:
        actor_name = actor.get_username()
    return Activity.objects.create(
        board=board,
        panel=panel,
        actor=actor,
        actor_name=actor_name[:150],
        verb=verb,
        text=text[:300],
    )


def activity_take_made(*, panel_id: int, actor_id: int | None, edited: bool) -> None:
    """Log a take a worker made, in one INSERT (the board id is read inside it)."""
    Activity.objects.create(
        board_id=Subquery(Panel.objects.filter(pk=panel_id).values("board_id")[:1]),
        panel_id=panel_id,
        actor_id=actor_id,
        verb=Verb.GENERATED,
        text="Changed a take with an instruction" if edited else "New take",
    )


def board_touch(*, board_id: int) -> None:
    """Tell the board's live poll that something review-related changed."""
    if not BoardReview.objects.filter(board_id=board_id).update(version=F("version") + 1):
        BoardReview.objects.get_or_create(board_id=board_id, defaults={"version": 1})


# --- comments ---------------------------------------------------------------------------


def _panel_url(panel: Panel | None, board: Board) -> str:
    if panel is None:
        return reverse("board_notes", args=[board.pk])
    return reverse("panel_edit", args=[panel.pk]) + "#comments"


def _where(panel: Panel | None, board: Board) -> str:
    if panel is None:
        return f"“{board.name}”"
    kind = "panel" if board.kind == Board.Kind.COMIC else "shot"
    return f"{kind} {panel.number} of “{board.name}”"


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write something before posting the comment.")
    if len(body) > MAX_BODY:
        raise ValidationError(f"A comment can be at most {MAX_BODY} characters long.")
    return body


def _clean_shape(
    x: float | None, y: float | None, w: float | None, h: float | None
) -> tuple[float | None, float | None, float | None, float | None]:
    if x is None or y is None:
        return None, None, None, None
    values = [x, y] + ([w, h] if w is not None and h is not None else [])
    if any(not 0 <= v <= 1 for v in values):
        raise ValidationError("The marked spot must lie on the image.")
    if w is None or h is None or w == 0 or h == 0:
        return x, y, None, None
    if x + w > 1.0001 or y + h > 1.0001:
        raise ValidationError("The marked area must lie on the image.")
    return x, y, w, h


def comment_create(
    *,
    board: Board,
    body: str,
    panel: Panel | None = None,
    parent: Comment | None = None,
    author=None,
    guest_name: str = "",
    guest_link: ReviewLink | None = None,
    take: Take | None = None,
    x: float | None = None,
    y: float | None = None,
    w: float | None = None,
    h: float | None = None,
) -> Comment:
    """Post a comment (or a reply) on a panel or on the whole board, and tell who should know.

    A comment on a panel is pinned to the take it was written about: the one
    given, or the panel's selected take. Replies join their thread's first comment.
    """
    body = _clean_body(body)
    if author is None and not guest_name.strip():
        raise ValidationError("Give your name before commenting.")
    if panel is not None and panel.board_id != board.pk:
        raise ValidationError("That panel is on another board.")
    if parent is not None:
        if parent.board_id != board.pk:
            raise ValidationError("That comment is on another board.")
        parent = parent.parent or parent
        panel, take, x, y, w, h = parent.panel, None, None, None, None, None
    if take is not None and (panel is None or take.panel_id != panel.pk):
        raise ValidationError("That take belongs to another panel.")
    if take is None and panel is not None and parent is None:
        take = panel.selected_take
    x, y, w, h = _clean_shape(x, y, w, h)
    if panel is None:
        x = y = w = h = None
    with transaction.atomic():
        comment = Comment.objects.create(
            board=board,
            panel=panel,
            parent=parent,
            author=author,
            guest_name="" if author is not None else guest_name.strip()[:60],
            guest_link=guest_link,
            take=take,
            x=x,
            y=y,
            w=w,
            h=h,
            body=body,
        )
        who = author.get_username() if author is not None else f"{comment.guest_name} (guest)"
        activity_record(
            board=board,
            verb=Verb.COMMENTED,
            actor=author,
            actor_name=who,
            panel=panel,
            text=body[:200],
        )
        board_touch(board_id=board.pk)
    _notify_comment(comment, board, who)
    return comment


def _notify_comment(comment: Comment, board: Board, who: str) -> None:
    """Mentions first, then the thread, then guests' comments to the people who make the board.

    Each person hears once, by the most specific reason.
    """
    project = board.project
    url = _panel_url(comment.panel, board)
    where = _where(comment.panel, board)
    told: set[int] = set()
    actor = comment.author

    def send(users, kind: str, text: str) -> None:
        fresh = [u for u in users if u.pk not in told]
        told.update(u.pk for u in fresh)
        notices.notify(
            recipients=fresh, kind=kind, project=project, text=text, url=url, actor=actor
        )

    names = mentioned_names(comment.body)
    if names:
        # Members only, matched on the lower-cased username: no one else is even looked up.
        mentioned = [
            m.user
            for m in Membership.objects.filter(project=project).select_related("user")
            if m.user.get_username().lower() in names
        ]
        send(mentioned, notices.Kind.MENTION, f"{who} mentioned you on {where}")
    if comment.parent is not None:
        thread = [comment.parent, *comment.parent.replies.exclude(pk=comment.pk)]
        users = [c.author for c in thread if c.author is not None]
        send(users, notices.Kind.REPLY, f"{who} replied on {where}")
    if comment.author is None:
        makers = _members(board, Membership.Role.OWNER, Membership.Role.EDITOR)
        send(makers, notices.Kind.GUEST_COMMENT, f"{who} commented on {where}")
    elif comment.take is not None and comment.take.created_by is not None:
        send([comment.take.created_by], notices.Kind.COMMENT, f"{who} commented on {where}")


def comment_edit(*, comment: Comment, user, body: str) -> Comment:
    """Change the text of one's own comment."""
    if comment.author_id != user.pk:
        raise ValidationError("Only the person who wrote a comment can edit it.")
    comment.body = _clean_body(body)
    comment.edited = timezone.now()
    with transaction.atomic():
        comment.save(update_fields=["body", "edited"])
        board_touch(board_id=comment.board_id)
    return comment


def comment_delete(*, comment: Comment, user, membership: Membership) -> None:
    """Delete a comment with its replies: one's own, or any as an owner (moderation)."""
    if comment.author_id != user.pk and not membership.can_manage:
        raise ValidationError("Only the author or a project owner can delete a comment.")
    with transaction.atomic():
        comment.delete()
        board_touch(board_id=comment.board_id)


def comment_resolve(*, comment: Comment, user, resolved: bool) -> Comment:
    """Mark a thread resolved, or open it again; a repeated request changes nothing."""
    root = comment.parent or comment
    if bool(root.resolved) == resolved:
        return root
    root.resolved = timezone.now() if resolved else None
    root.resolved_by = user if resolved else None
    with transaction.atomic():
        root.save(update_fields=["resolved", "resolved_by"])
        board_touch(board_id=root.board_id)
    return root


# --- approval status --------------------------------------------------------------------


def _members(board: Board, *roles: str) -> list:
    return [
        m.user
        for m in Membership.objects.filter(
            project_id=board.project_id, role__in=roles
        ).select_related("user")
    ]


def panel_status_set(*, panel: Panel, status: str, user=None, guest_name: str = "") -> PanelReview:
    """Set a panel's review status; approving records who approved and which take they saw."""
    if status not in Status.values:
        raise ValidationError("Pick one of: draft, in review, changes requested, approved.")
    board = panel.board
    who = user.get_username() if user is not None else f"{guest_name} (guest)"
    with transaction.atomic():
        review, _ = PanelReview.objects.select_for_update().get_or_create(
            panel=panel, defaults={"board": board}
        )
        if review.status == status:
            return review
        review.status = status
        if status == Status.APPROVED:
            review.approved_by = user
            review.approved_by_guest = "" if user is not None else guest_name[:60]
            review.approved_take_id = panel.selected_take_id
        review.save()
        label = Status(status).label.lower()
        activity_record(
            board=board,
            verb=Verb.APPROVED if status == Status.APPROVED else Verb.STATUS,
            actor=user,
            actor_name=who,
            panel=panel,
            text=f"Shot {panel.number}: {label}",
        )
        board_touch(board_id=board.pk)
    notices.notify(
        recipients=_members(board, Membership.Role.OWNER, Membership.Role.EDITOR),
        kind=notices.Kind.STATUS,
        project=board.project,
        text=f"{who} set {_where(panel, board)} to {label}",
        url=_panel_url(panel, board),
        actor=user,
    )
    return review


def board_send_for_review(*, board: Board, user) -> int:
    """Move every draft panel of the board to "in review" and tell the project's reviewers.

    Returns how many panels moved; nothing moves (and nobody hears) when none was a draft.
    """
    with transaction.atomic():
        panel_ids = list(Panel.objects.filter(board=board).values_list("pk", flat=True))
        existing = dict(
            PanelReview.objects.filter(panel_id__in=panel_ids).values_list("panel_id", "status")
        )
        drafts = [pk for pk in panel_ids if existing.get(pk, Status.DRAFT) == Status.DRAFT]
        if not drafts:
            return 0
        PanelReview.objects.filter(panel_id__in=drafts).update(status=Status.IN_REVIEW)
        PanelReview.objects.bulk_create(
            [
                PanelReview(panel_id=pk, board=board, status=Status.IN_REVIEW)
                for pk in drafts
                if pk not in existing
            ]
        )
        activity_record(
            board=board,
            verb=Verb.STATUS,
            actor=user,
            text=f"Sent {len(drafts)} panel{'s' if len(drafts) != 1 else ''} for review",
        )
        board_touch(board_id=board.pk)
    notices.notify(
        recipients=_members(board, Membership.Role.REVIEWER),
        kind=notices.Kind.STATUS,
        project=board.project,
        text=f"{user.get_username()} sent “{board.name}” for review ({len(drafts)} panels)",
        url=reverse("board_detail", args=[board.pk]),
        actor=user,
    )
    return len(drafts)


def review_take_selected(*, panel_id: int, take_id: int) -> bool:
    """A new selected take on an approved panel puts it back in review (it was not approved).

    Returns whether the status changed.
    """
    approved = PanelReview.objects.filter(panel_id=panel_id, status=Status.APPROVED).exclude(
        approved_take_id=take_id
    )
    board_id = approved.values_list("board_id", flat=True).first()
    if board_id is None or not approved.update(status=Status.IN_REVIEW):
        return False
    board_touch(board_id=board_id)
    return True


# --- guest review links -----------------------------------------------------------------


def token_hash(token: str) -> str:
    """What the database keeps of a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_create(
    *,
    board: Board,
    user=None,
    days: int | None = None,
    allow_comments: bool = False,
    allow_approvals: bool = False,
    label: str = "",
) -> tuple[ReviewLink, str]:
    """Create a guest review link for one board; returns the link and its token (shown once)."""
    if days is not None and not 1 <= days <= 365:
        raise ValidationError("A link can last from 1 to 365 days (or leave it open-ended).")
    token = secrets.token_urlsafe(24)  # 192 random bits
    with transaction.atomic():
        link = ReviewLink.objects.create(
            board=board,
            token_hash=token_hash(token),
            label=label.strip()[:120],
            allow_comments=allow_comments,
            allow_approvals=allow_approvals,
            created_by=user,
            expires=timezone.now() + timedelta(days=days) if days else None,
        )
        activity_record(
            board=board,
            verb=Verb.SHARED,
            actor=user,
            actor_name="" if user is not None else "operator",
            text=f"Guest link {label.strip()[:60] or link.pk} created",
        )
    return link, token


def link_revoke(*, link: ReviewLink) -> bool:
    """Revoke a guest link at once (guests on the page get 404 on their next request)."""
    return bool(
        ReviewLink.objects.filter(pk=link.pk, revoked__isnull=True).update(revoked=timezone.now())
    )


def link_opened(*, link: ReviewLink) -> None:
    """Count a guest's opening of the board page."""
    ReviewLink.objects.filter(pk=link.pk).update(visits=F("visits") + 1, last_opened=timezone.now())
