"""The one door through which the review loop tells people about things.

Every notification the comments, approvals and guest links send goes
through `notify`, which keeps only recipients who are members of the project
(a mention of anyone else notifies nobody) and never the person who acted.
It records what it would deliver in `OUTBOX`; the studio-wide inbox and
mail take its place by pointing `deliver` at them, with the same arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from studio.models import Membership, Project


class Kind:
    MENTION = "mention"
    REPLY = "reply"
    COMMENT = "comment"
    STATUS = "status"
    GUEST_COMMENT = "guest_comment"


@dataclass(frozen=True)
class Notice:
    recipient_id: int
    kind: str
    project_id: int
    text: str
    url: str
    actor_id: int | None


OUTBOX: list[Notice] = []


def deliver(*, recipients, kind: str, project: Project, text: str, url: str, actor=None) -> int:
    """Hand notices to whoever delivers them; for now they are recorded in OUTBOX."""
    for user in recipients:
        OUTBOX.append(
            Notice(user.pk, kind, project.pk, text, url, actor.pk if actor is not None else None)
        )
    return len(recipients)


def notify(
    *, recipients: Iterable, kind: str, project: Project, text: str, url: str, actor=None
) -> int:
    """Notify the members among `recipients` (not the actor); returns how many were notified."""
    ids = {u.pk for u in recipients if u is not None}
    if actor is not None:
        ids.discard(actor.pk)
    if not ids:
        return 0
    members = [
        m.user
        for m in Membership.objects.filter(project=project, user_id__in=ids).select_related("user")
    ]
    if not members:
        return 0
    return deliver(recipients=members, kind=kind, project=project, text=text, url=url, actor=actor)
