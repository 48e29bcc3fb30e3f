"""Celery tasks: thin wrappers that take ids and call `workers.pipeline`.

Database errors (a PostgreSQL restart, a locked SQLite file) are retried
with backoff; the job's state in the database decides what a retry does, so
a retry after a partial step is harmless.
"""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError, InterfaceError

from workers import pipeline

_DB_ERRORS = (DatabaseError, InterfaceError)
_RETRY = {
    "autoretry_for": _DB_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "reject_on_worker_lost": True,
}


def schedule(step: pipeline.Step) -> None:
    """Send the follow-up tasks a pipeline step asked for."""
    for one in step.flatten():
        if one.task == "download":
            download_job.apply_async((one.job_id, one.url), countdown=one.countdown)
        elif one.task == "cancel":
            cancel_at_provider.apply_async((one.job_id,), countdown=one.countdown)
        else:
            task = start_job if one.task == "start" else poll_job
            task.apply_async((one.job_id,), countdown=one.countdown)


@shared_task(**_RETRY)
def start_job(job_id: int) -> None:
    schedule(pipeline.job_start(job_id))


@shared_task(**_RETRY)
def poll_job(job_id: int) -> None:
    schedule(pipeline.job_poll(job_id))


@shared_task(**_RETRY)
def download_job(job_id: int, url: str) -> None:
    schedule(pipeline.job_download(job_id, url))


@shared_task(**_RETRY)
def cancel_at_provider(job_id: int) -> None:
    """A cancelled job's task is stopped at its provider, outside the web request."""
    schedule(pipeline.job_cancel_at_provider(job_id))


@shared_task(**_RETRY)
def deliver_result(job_id: int, task_id: str, payload: dict) -> None:
    """A provider's webhook, handled in a worker so the web request ends at once."""
    schedule(pipeline.job_deliver(job_id, task_id, payload))


@shared_task(**_RETRY)
def sweep_jobs_task() -> int:
    steps = pipeline.jobs_sweep()
    for step in steps:
        schedule(step)
    return len(steps)
