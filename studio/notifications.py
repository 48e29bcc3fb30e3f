"""Notifications: the inbox every member has, and the email about it.

Other apps call `notify(...)`; the person's own setting decides whether the
email goes out at once, in the daily digest (`digests_send`, run by beat) or
never. Every email carries a one-click unsubscribe link that works without
logging in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from studio.mail import mail_send
from studio.models import Notification, Project

UNSUBSCRIBE_SALT = "studio.notifications.unsubscribe"
# A digest reaches back this far; older unread lines stay in the inbox only.
DIGEST_WINDOW = timedelta(days=2)
URL_MAX_LENGTH = 500  # Notification.url


def notify(
    *,
    recipients: Iterable,
    kind: str,
    project: Project,
    text: str,
    url: str,
    actor=None,
) -> int:
    """Put a line in each recipient's inbox and email those who want it at once.

    Skips the actor (nobody is told about what they did themselves) and
    anyone who is not a member of the project, so a name typed by mistake
    learns nothing and tells nothing. Returns how many people were notified.
    """
    if not url.startswith("/") or not url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        raise ValueError(f"notification links stay inside the studio: {url!r}")
    if len(url) > URL_MAX_LENGTH:
        raise ValueError(f"notification link too long: {url[:80]!r}…")
    ids = {getattr(r, "pk", r) for r in recipients} - {getattr(actor, "pk", actor)}
    User = get_user_model()
    people = list(
        User.objects.filter(pk__in=ids, memberships__project=project, is_active=True).distinct()
    )
    return inbox_add(people=people, kind=kind, project=project, text=text, url=url, actor=actor)


def inbox_add(
    *,
    people: list,
    kind: str,
    project: Project | None,
    text: str,
    url: str,
    actor=None,
    email: bool = True,
) -> int:
    """Write inbox lines for exactly these people and queue the immediate emails.

    No membership check: `notify` is the door for project events; this one
    is for messages addressed to a person (an invitation) and is told
    `email=False` when the caller mails them itself.
    """
    if not people:
        return 0
    now = timezone.now()
    text = " ".join(text.split())[:500]
    User = get_user_model()
    with transaction.atomic():
        rows = [
            Notification(
                recipient=person,
                project=project,
                actor=actor if getattr(actor, "pk", None) else None,
                kind=kind,
                text=text,
                url=url,
                emailed=now if _wants_now(person) or not email else None,
            )
            for person in people
        ]
        Notification.objects.bulk_create(rows)
        User.objects.filter(pk__in=[p.pk for p in people]).update(
            unread_count=F("unread_count") + 1
        )
        for person in people:
            if email and _wants_now(person):
                _email(person, subject=text, lines=[(text, url)])
    return len(people)


def _wants_now(person) -> bool:
    return bool(person.email) and person.notify_email == person.NotifyEmail.IMMEDIATELY


def absolute(url: str) -> str:
    """A studio path as a link that works from a mailbox (STUDIO_PUBLIC_URL)."""
    return settings.STUDIO_PUBLIC_URL + url


def unsubscribe_url(user) -> str:
    """A link that turns this person's notification email off, without logging in."""
    token = signing.dumps({"u": user.pk}, salt=UNSUBSCRIBE_SALT, compress=True)
    return absolute(reverse("unsubscribe", args=[token]))


def unsubscribe_user(token: str):
    """The user an unsubscribe token names, or None when it was not made by this studio."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    return get_user_model().objects.filter(pk=data["u"], is_active=True).first()


def _email(person, *, subject: str, lines: list[tuple[str, str]]) -> None:
    link = unsubscribe_url(person)
    context = {
        "person": person,
        "lines": [(text, absolute(url)) for text, url in lines],
        "unsubscribe": link,
        "inbox": absolute(reverse("inbox")),
        "settings_url": absolute(reverse("account")),
    }
    mail_send(
        to=[person.email],
        subject=subject,
        body=render_to_string("studio/email/notification.txt", context),
        html=render_to_string("studio/email/notification.html", context),
        # Mail programs show their own "Unsubscribe" button and POST here (RFC 8058).
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


def _recount(user_ids: Iterable[int]) -> None:
    unread = (
        Notification.objects.filter(recipient=OuterRef("pk"), read__isnull=True)
        .order_by()
        .values("recipient")
        .annotate(n=Count("pk"))
        .values("n")
    )
    get_user_model().objects.filter(pk__in=list(user_ids)).update(
        unread_count=Coalesce(Subquery(unread), 0)
    )


def notification_mark_read(*, notification: Notification) -> None:
    """Mark one of the user's notifications read (again is harmless)."""
    with transaction.atomic():
        Notification.objects.filter(pk=notification.pk, read__isnull=True).update(
            read=timezone.now()
        )
        _recount([notification.recipient_id])


def unread_count_refresh(*, user) -> None:
    """Recount the user's unread notifications (rows removed with a deleted project drop out)."""
    _recount([user.pk])
    user.unread_count = (
        get_user_model().objects.filter(pk=user.pk).values_list("unread_count", flat=True).get()
    )


def notifications_mark_read_where(*, user_id: int, kind: str) -> None:
    """Mark a person's unread notifications of one kind read (an invitation they answered)."""
    Notification.objects.filter(recipient_id=user_id, kind=kind, read__isnull=True).update(
        read=timezone.now()
    )
    _recount([user_id])


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of the user read; returns how many changed."""
    with transaction.atomic():
        changed = Notification.objects.filter(recipient=user, read__isnull=True).update(
            read=timezone.now()
        )
        _recount([user.pk])
    return changed


def user_set_notify_email(*, user, mode: str) -> None:
    """Change how the user hears about notifications by email (immediately / digest / off)."""
    mode = user.NotifyEmail(mode)
    get_user_model().objects.filter(pk=user.pk).update(notify_email=mode)
    user.notify_email = mode


def digests_send(*, now: datetime | None = None) -> int:
    """Email each digest reader their unread, not yet emailed notifications; returns mails queued.

    Each batch is claimed with a conditional UPDATE, so two beats (or a
    repeated task) never send the same lines twice.
    """
    now = now or timezone.now()
    User = get_user_model()
    readers = User.objects.filter(
        is_active=True,
        notify_email=User.NotifyEmail.DIGEST,
        email__gt="",
        notifications__emailed__isnull=True,
        notifications__read__isnull=True,
        notifications__created__gte=now - DIGEST_WINDOW,
    ).distinct()
    sent = 0
    for person in readers:
        with transaction.atomic():
            pending = list(
                Notification.objects.filter(
                    recipient=person,
                    emailed__isnull=True,
                    read__isnull=True,
                    created__gte=now - DIGEST_WINDOW,
                    created__lte=now,
                ).order_by("created", "id")
            )
            claimed = Notification.objects.filter(
                pk__in=[n.pk for n in pending], emailed__isnull=True
            ).update(emailed=now)
            if claimed != len(pending) or not pending:
                transaction.set_rollback(True)
                continue
            count = len(pending)
            subject = f"{count} new notification{'s' if count != 1 else ''} in Castboard"
            _email(person, subject=subject, lines=[(n.text, n.url) for n in pending])
            sent += 1
    return sent


def inbox_for(user, *, limit: int = 100) -> list[Notification]:
    """The user's latest notifications with their project, newest first."""
    return list(
        Notification.objects.filter(recipient=user)
        .select_related("project", "actor")
        .order_by("-created", "-id")[:limit]
    )
