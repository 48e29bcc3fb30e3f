"""Celery tasks for boards: thin wrappers that take ids and call the export and import services.

studio/celery.py routes boards.tasks.* to the "exports" queue, so a long
export never delays generation progress; a script import, which a person
watches, goes to "default".
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from boards import export_services

# A 500-panel PDF takes minutes, not the two the default soft limit allows.
_SOFT_LIMIT_S = getattr(settings, "STUDIO_EXPORT_TIME_LIMIT_S", 30 * 60)


@shared_task(
    acks_late=True,
    soft_time_limit=_SOFT_LIMIT_S,
    time_limit=_SOFT_LIMIT_S + 60,
)
def run_export(export_id: int) -> None:
    """Make export N's file (does nothing unless it is queued)."""
    export_services.export_run(export_id)


@shared_task
def cleanup_exports() -> int:
    """Delete expired export files and fail exports that lost their worker."""
    return export_services.exports_cleanup()


@shared_task(acks_late=True, soft_time_limit=10 * 60, time_limit=11 * 60)
def run_script_import(import_id: int) -> None:
    """Save confirmed script import N (does nothing unless it is queued)."""
    from boards.script import runs

    runs.script_import_run(import_id)
