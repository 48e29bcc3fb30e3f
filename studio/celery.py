"""The Celery application shared by web and workers."""

from __future__ import annotations

import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import task_postrun, task_prerun
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("castboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Generation waits on providers and exports chew CPU; separate queues keep a
# long export from starving job progress and allow dedicated worker pools.
app.conf.task_queues = (Queue("default"), Queue("generation"), Queue("exports"))
app.conf.task_routes = {
    "workers.tasks.*": {"queue": "generation"},
    # A person watches a script import's progress: it must not wait behind long exports.
    "boards.tasks.run_script_import": {"queue": "default"},
    "boards.tasks.*": {"queue": "exports"},
}
app.conf.beat_schedule = {
    "sweep-jobs": {"task": "workers.tasks.sweep_jobs_task", "schedule": 60.0},
    "cleanup-exports": {"task": "boards.tasks.cleanup_exports", "schedule": 3600.0},
    "sweep-media": {"task": "studio.tasks.sweep_media", "schedule": crontab(hour=3, minute=30)},
    # Digest readers get one mail a day, at 07:00 UTC.
    "notification-digests": {
        "task": "studio.tasks.send_digests",
        "schedule": crontab(hour=7, minute=0),
    },
}
app.autodiscover_tasks()


@task_prerun.connect
def _log_job_id(**kwargs) -> None:
    from studio.logs import task_started

    task_started(**kwargs)


@task_postrun.connect
def _forget_job_id(**kwargs) -> None:
    from studio.logs import task_finished

    task_finished(**kwargs)


@task_prerun.connect
def _drop_unusable_connections(**kwargs) -> None:
    """Keep database connections between tasks, but never a broken or expired one.

    Celery closes connections around every task unless CELERY_DB_REUSE_MAX is
    set; reconnecting was a large share of a generation job's CPU. Django's
    own check (errors seen, CONN_MAX_AGE, health check) decides instead, as
    it does between web requests, so a PostgreSQL restart costs one retry.
    """
    from django.db import close_old_connections

    close_old_connections()
