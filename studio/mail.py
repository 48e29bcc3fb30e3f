"""The one way the studio sends mail: queued after commit, sent by a worker.

A request never waits on a mail server, and a mail server that is down
delays mail without losing it: the task retries with growing pauses
(studio.tasks.send_mail_task).
"""

from __future__ import annotations

from django.db import transaction


def mail_send(
    *,
    to: list[str],
    subject: str,
    body: str,
    html: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Send a message to `to` once the current transaction commits (at once outside one).

    Nothing is sent when the transaction rolls back, so a failed request
    never mails about something that did not happen.
    """
    from studio import tasks

    recipients = [address for address in to if address]
    if not recipients:
        return
    message = {
        "to": recipients,
        "subject": " ".join(subject.split())[:200],  # a header: one line
        "body": body,
        "html": html,
        "headers": headers or {},
    }
    transaction.on_commit(lambda: tasks.send_mail_task.delay(message))


def mail_deliver(message: dict) -> None:
    """Hand one queued message to the configured mail backend (raises when it is down)."""
    from django.conf import settings
    from django.core.mail import EmailMultiAlternatives

    email = EmailMultiAlternatives(
        subject=message["subject"],
        body=message["body"],
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=message["to"],
        headers=message.get("headers") or None,
    )
    if message.get("html"):
        email.attach_alternative(message["html"], "text/html")
    email.send(fail_silently=False)
