"""The Celery application shared by web and workers."""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("castboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Generation waits on providers and exports chew CPU; separate queues keep a
# long export from starving job progress and allow dedicated worker pools.
app.conf.task_queues = (Queue("default"), Queue("generation"), Queue("exports"))
app.conf.task_routes = {
    "workers.tasks.*": {"queue": "generation"},
    "boards.tasks.*": {"queue": "exports"},
}
app.conf.beat_schedule = {
    "sweep-jobs": {"task": "workers.tasks.sweep_jobs_task", "schedule": 60.0},
    "cleanup-exports": {"task": "boards.tasks.cleanup_exports", "schedule": 3600.0},
}
app.autodiscover_tasks()
