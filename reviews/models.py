"""The review loop: comments, approval status per panel, guest review links, activity."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from boards.models import Board, Panel, Take


class ReviewLink(models.Model):
    """A link that lets someone without an account review one board.

    Only the SHA-256 of the token is stored: the link itself is shown once,
    when it is created, and a leaked database does not open any board.
    """

    board = models.ForeignKey(Board, models.CASCADE, related_name="review_links")
    token_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=120, blank=True)
    allow_comments = models.BooleanField("guests may comment", default=False)
    allow_approvals = models.BooleanField("guests may approve", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField(null=True, blank=True)
    revoked = models.DateTimeField(null=True, blank=True)
    last_opened = models.DateTimeField(null=True, blank=True)
    visits = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"Review link {self.pk} for {self.board}"


class Comment(models.Model):
    """A remark on a panel, or on the whole board when `panel` is empty.

    Replies point at the thread's first comment (one level of threading, as
    people read review threads). The take and the point or rectangle say what
    the comment was about, so it still makes sense after newer takes arrive.
    """

    board = models.ForeignKey(Board, models.CASCADE, related_name="comments")
    panel = models.ForeignKey(Panel, models.CASCADE, null=True, blank=True, related_name="comments")
    parent = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Guests have no account: the name they gave and the link they came through.
    guest_name = models.CharField(max_length=60, blank=True)
    guest_link = models.ForeignKey(
        ReviewLink, models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    take = models.ForeignKey(Take, models.SET_NULL, null=True, blank=True, related_name="+")
    # A point (x, y) or a rectangle (x, y, w, h) on the image, as fractions of its size.
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    w = models.FloatField(null=True, blank=True)
    h = models.FloatField(null=True, blank=True)
    body = models.TextField()
    resolved = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    edited = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created", "id"]
        indexes = [
            # Open-comment counts per panel of one board (card badges, the board filter).
            models.Index(
                fields=["board", "panel"],
                condition=Q(resolved__isnull=True, parent__isnull=True),
                name="comment_open_threads",
            ),
            # The newest comments of a board (live feed).
            models.Index(fields=["board", "-id"], name="comment_board_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(author__isnull=False) | ~Q(guest_name=""),
                name="comment_has_an_author",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.panel or self.board}"

    @property
    def is_guest(self) -> bool:
        return self.author_id is None

    @property
    def who(self) -> str:
        username = self.author.get_username() if self.author_id and self.author else ""
        return self.name_shown(self.author_id, self.guest_name, username)

    @staticmethod
    def name_shown(author_id: int | None, guest_name: str, username: str | None) -> str:
        """A guest's given name, or the author's username (read elsewhere, e.g. as a value)."""
        return guest_name if author_id is None else (username or "")

    @property
    def has_point(self) -> bool:
        return self.x is not None and self.y is not None

    @property
    def has_rect(self) -> bool:
        return self.has_point and self.w is not None and self.h is not None


class PanelReview(models.Model):
    """A panel's approval status. A panel without a row is a draft."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_REVIEW = "in_review", "In review"
        CHANGES = "changes", "Changes requested"
        APPROVED = "approved", "Approved"

    panel = models.OneToOneField(Panel, models.CASCADE, related_name="review")
    board = models.ForeignKey(Board, models.CASCADE, related_name="panel_reviews")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # Who approved, and which take they saw; kept until the next approval.
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_by_guest = models.CharField(max_length=60, blank=True)
    approved_take = models.ForeignKey(
        Take, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    changed = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "in_review", "changes", "approved"]),
                name="panelreview_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.panel}: {self.status}"


class BoardReview(models.Model):
    """A counter bumped by every review change on a board.

    The board page's live poll compares it with the value it last saw and
    answers "nothing new" in one indexed query when they match.
    """

    board = models.OneToOneField(Board, models.CASCADE, related_name="review_state")
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.board} v{self.version}"


class Activity(models.Model):
    """One thing that happened on a board, for its activity log."""

    class Verb(models.TextChoices):
        GENERATED = "generated", "Generated"
        EDITED = "edited", "Edited"
        COMMENTED = "commented", "Commented"
        STATUS = "status", "Changed status"
        APPROVED = "approved", "Approved"
        EXPORTED = "exported", "Exported"
        SHARED = "shared", "Shared"

    board = models.ForeignKey(Board, models.CASCADE, related_name="activities")
    panel = models.ForeignKey(Panel, models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)  # guests, and deleted users
    verb = models.CharField(max_length=10, choices=Verb.choices)
    text = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The activity page: one board's newest entries, optionally of one verb.
            models.Index(fields=["board", "verb", "-created"], name="activity_board_verb"),
            models.Index(fields=["board", "-created"], name="activity_board_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name or self.actor} {self.verb} on {self.board}"


class GuestHit(models.Model):
    """One request by a guest, kept only for the throttle window (reviews.guest)."""

    link = models.ForeignKey(ReviewLink, models.CASCADE, related_name="+")
    address = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(db_index=True)  # also serves the pruning DELETE

    class Meta:
        indexes = [
            # Requests through one link within the window.
            models.Index(fields=["link", "created"], name="guesthit_link_recent"),
            # Requests from one address within the window.
            models.Index(fields=["address", "created"], name="guesthit_address_recent"),
        ]

    def __str__(self) -> str:
        return f"Guest request through link {self.link_id} from {self.address or '?'}"
