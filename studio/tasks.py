"""Studio-wide housekeeping run by Celery beat."""

from __future__ import annotations

from celery import shared_task

from studio.files import media_sweep


@shared_task
def sweep_media() -> int:
    """Remove stored files no row points to (daily); returns how many went."""
    return len(media_sweep().orphans)
