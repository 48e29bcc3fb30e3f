from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class User(AbstractUser):
    """Our own user model from the first migration, so it can grow without a data migration."""

    class NotifyEmail(models.TextChoices):
        IMMEDIATELY = "immediately", "Right away"
        DIGEST = "digest", "Once a day, in one digest"
        OFF = "off", "Never (the inbox only)"

    email = models.EmailField("email address", blank=True, db_index=True)
    notify_email = models.CharField(
        "email me about notifications",
        max_length=12,
        choices=NotifyEmail.choices,
        default=NotifyEmail.IMMEDIATELY,
    )
    # Kept on the row the session already loads, so the top bar's inbox
    # count costs no query; studio.notifications keeps it in step.
    unread_count = models.PositiveIntegerField(default=0)


class Project(models.Model):
    """A comic, a film, a campaign: the unit of access."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # The project style (DESIGN §4): text every prompt starts from.
    style = models.TextField(blank=True)
    # Generation settings; empty means "the studio default" (STUDIO_BACKEND).
    backend = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=60, blank=True)
    # Credits (1 credit = 1 US cent); null means no cap.
    spending_cap = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        REVIEWER = "reviewer", "Reviewer"
        VIEWER = "viewer", "Viewer"

    project = models.ForeignKey(Project, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_one_per_user"),
            models.CheckConstraint(
                condition=Q(role__in=["owner", "editor", "reviewer", "viewer"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"

    @property
    def can_edit(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.EDITOR)

    @property
    def can_review(self) -> bool:
        """May set a panel's approval status (reviewers, editors, owners)."""
        return self.role != self.Role.VIEWER

    @property
    def can_manage(self) -> bool:
        return self.role == self.Role.OWNER


class StoredImage(models.Model):
    """Fields shared by every image we keep: normalised bytes, a thumbnail, a content hash.

    Files live under `projects/<project id>/`, which is what the
    permission-checked media view relies on to find the owning project.
    """

    file = models.FileField(max_length=300)
    thumbnail = models.FileField(max_length=300, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    original_name = models.CharField(max_length=255, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height else 1.0


class LoginFailure(models.Model):
    """One failed log-in, or one password reset request, kept only for its throttle window.

    In the database, not a per-process cache, so every web worker counts the
    same attempts (studio.throttle). Each kind is counted on its own: asking
    for reset mail never locks log-ins, nor the other way round.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", "Failed log-in"
        RESET = "reset", "Password reset request"

    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LOGIN)
    # Lower-cased as typed: "Owner" and "owner" share one count. For a reset
    # request, the email address typed (whether or not an account has it).
    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(db_index=True)  # also serves the pruning DELETE

    class Meta:
        indexes = [
            # Failures of one account within the window.
            models.Index(fields=["username", "created"], name="loginfailure_account_recent"),
            # Failures from one address within the window.
            models.Index(fields=["address", "created"], name="loginfailure_address_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address or '?'} at {self.created:%Y-%m-%d %H:%M}"


class Invitation(models.Model):
    """An owner's offer of a role in a project, which the invitee accepts or declines.

    Nothing about the invitee is shown to the project before they accept:
    pages show `identifier` exactly as the owner typed it, never the
    account it matched (`user`) or the address the link went to (`email`).
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        WITHDRAWN = "withdrawn", "Withdrawn"

    project = models.ForeignKey(Project, models.CASCADE, related_name="invitations")
    identifier = models.CharField(max_length=254)
    email = models.EmailField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    role = models.CharField(max_length=10, choices=Membership.Role.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # SHA-256 of the link's token: a copy of the database opens no invitation.
    token_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created = models.DateTimeField(auto_now_add=True)
    sent = models.DateTimeField()
    expires = models.DateTimeField()
    answered = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent", "-id"]
        indexes = [
            # The in-app list: a user's pending invitations.
            models.Index(
                fields=["user", "expires"], condition=Q(state="pending"), name="invitation_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} to {self.project} ({self.state})"


class Notification(models.Model):
    """One line in a person's inbox, and the email about it (right away or in a digest)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="notifications"
    )
    project = models.ForeignKey(
        Project, models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=30)
    text = models.CharField(max_length=500)
    # A path inside the studio ("/board/3/#panel-9"), never another site.
    url = models.CharField(max_length=500)
    created = models.DateTimeField(auto_now_add=True)
    read = models.DateTimeField(null=True, blank=True)
    # When it went out by email (alone or in a digest); null: not yet, or never.
    emailed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # The inbox page: a person's notifications, newest first.
            models.Index(fields=["recipient", "-created"], name="notification_inbox"),
            # The daily digest: notifications not yet emailed.
            models.Index(
                fields=["recipient", "created"],
                condition=Q(emailed__isnull=True, read__isnull=True),
                name="notification_digest",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}: {self.text[:40]}"
