"""Celery tasks of the studio: mail, the daily notification digest, media housekeeping."""

from __future__ import annotations

import logging
import random
import smtplib

from celery import shared_task
from django.conf import settings

from studio import mail
from studio.files import media_sweep

log = logging.getLogger(__name__)


def retry_delay(retries: int) -> float:
    """Seconds before retry n+1: doubling from the base, capped at an hour, with jitter.

    The jitter spreads a backlog out, so mail queued while the server was
    down does not all arrive in the same second when it comes back.
    """
    base = settings.STUDIO_MAIL_RETRY_BASE_S * (2**retries)
    return min(3600.0, base) * random.uniform(0.5, 1.0)


@shared_task(bind=True, acks_late=True, max_retries=None)
def send_mail_task(self, message: dict) -> None:
    """Deliver one message; a refused or unreachable server is tried again later."""
    try:
        mail.mail_deliver(message)
    except (smtplib.SMTPException, OSError) as exc:
        if self.request.retries >= settings.STUDIO_MAIL_MAX_RETRIES:
            # The notification it was about stays in the inbox.
            log.error(
                "mail to %s given up after %s tries: %s",
                message["to"],
                self.request.retries + 1,
                exc,
            )
            return
        log.warning("mail to %s not sent (%s); trying again", message["to"], exc)
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task
def send_digests() -> int:
    """Email each person who asked for a digest the notifications they have not seen."""
    from studio import notifications

    return notifications.digests_send()


@shared_task
def sweep_media() -> int:
    """Remove stored files no row points to (daily); returns how many went."""
    return len(media_sweep().orphans)
