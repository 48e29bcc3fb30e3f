"""Structured logs (STUDIO_LOG_FORMAT=json): one JSON object a line, with request and job ids.

The ids travel in context variables: the request id is set by
`RequestIdMiddleware` for each web request, the job id by a Celery signal
for each generation task, so every line logged meanwhile carries them.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
job_id: contextvars.ContextVar[str] = contextvars.ContextVar("job_id", default="")

# A request id a front server sent is kept only if it looks like one.
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class ContextFilter(logging.Filter):
    """Puts the current request and job ids on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.job_id = job_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, "")
            if value:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class RequestIdMiddleware:
    """Give each request an id (the front server's X-Request-ID when sane), echoed in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        sent = request.headers.get("X-Request-ID", "")
        rid = sent if _SAFE_ID.match(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = rid
        return response


def task_started(task=None, args=None, **kwargs) -> None:
    """Celery task_prerun: generation tasks take the job id first."""
    name = getattr(task, "name", "") or ""
    job = args[0] if name.startswith("workers.tasks.") and args else ""
    job_id.set(str(job) if isinstance(job, int) else "")


def task_finished(**kwargs) -> None:
    job_id.set("")
