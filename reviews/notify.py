"""What the review loop tells people about, delivered by the studio's inbox and mail.

`notify` is studio.notifications.notify: members only, never the person who
acted, so a mention of anyone else notifies nobody and reveals nothing.
"""

from __future__ import annotations

from studio.notifications import notify

__all__ = ["Kind", "notify"]


class Kind:
    MENTION = "mention"
    REPLY = "reply"
    COMMENT = "comment"
    STATUS = "status"
    GUEST_COMMENT = "guest_comment"
