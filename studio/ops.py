"""What an operator's tools ask the studio: is it up (`/healthz`), how is it doing (`/metrics`).

Both answer without a session. `/healthz` says only which part failed, never
why (the reason goes to the log). `/metrics` is read from the database and the
broker at scrape time, so every web process gives the same figures however
many workers there are; it exists only when STUDIO_METRICS_TOKEN is set, and
only for a request that brings that token.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterator

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection
from django.db.models import Count, Sum
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import ChannelError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric

from studio.checks import PROBE_FOLDER
from studio.storage import storage_errors

log = logging.getLogger(__name__)

# The queues of studio.celery: their depth is how far behind the workers are.
QUEUES = ("default", "generation", "exports")
BROKER_TIMEOUT_S = 3


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _broker() -> None:
    from studio.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_S)


def _storage() -> None:
    try:
        with storage_errors("list the probe folder"):
            default_storage.listdir(PROBE_FOLDER)
    except FileNotFoundError:
        pass  # a local folder not made yet: the storage answered


PROBES: dict[str, Callable[[], None]] = {
    "database": _database,
    "broker": _broker,
    "storage": _storage,
}


@never_cache
@require_GET
def healthz(request):
    """200 when the database, the broker and the storage answer; 503 naming what did not."""
    parts: dict[str, str] = {}
    for name, probe in PROBES.items():
        try:
            probe()
        except Exception:
            log.exception("healthz: the %s did not answer", name)
            parts[name] = "failing"
        else:
            parts[name] = "ok"
    failed = [name for name, state in parts.items() if state != "ok"]
    body = {"status": "failing" if failed else "ok", **parts}
    if failed:
        body["failed"] = ", ".join(failed)
    return JsonResponse(body, status=503 if failed else 200)


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format, for a bearer of STUDIO_METRICS_TOKEN; 404 when no token is set."""
    token = settings.STUDIO_METRICS_TOKEN
    if not token:
        raise Http404
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return HttpResponse(
            "A bearer token is needed.\n",
            status=401,
            content_type="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StudioCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class StudioCollector:
    """Figures read at scrape time from the rows and the broker."""

    def collect(self) -> Iterator[Metric]:
        from boards.models import Export
        from workers.models import GenerationJob

        jobs = GaugeMetricFamily(
            "castboard_jobs", "Generation jobs by state and backend.", labels=["state", "backend"]
        )
        for state, backend, n in GenerationJob.objects.values_list("state", "backend").annotate(
            n=Count("id")
        ):
            jobs.add_metric([state, backend], n)
        yield jobs

        failures = GaugeMetricFamily(
            "castboard_job_failures",
            "Failed jobs by backend and error code.",
            labels=["backend", "code"],
        )
        failed = GenerationJob.objects.filter(state=GenerationJob.State.FAILED)
        for backend, code, n in failed.values_list("backend", "error_code").annotate(n=Count("id")):
            failures.add_metric([backend, code or "failed"], n)
        yield failures

        spend = GaugeMetricFamily(
            "castboard_spend", "Money spent on generation, by backend.", labels=["backend"]
        )
        for backend, total in GenerationJob.objects.values_list("backend").annotate(
            total=Sum("cost")
        ):
            spend.add_metric([backend], float(total or 0))
        yield spend

        yield _provider_latency()

        exports = GaugeMetricFamily(
            "castboard_exports", "Exports by state and format.", labels=["state", "format"]
        )
        for state, fmt, n in Export.objects.values_list("state", "format").annotate(n=Count("id")):
            exports.add_metric([state, fmt], n)
        yield exports

        depth = GaugeMetricFamily(
            "castboard_queue_depth", "Messages waiting in each broker queue.", labels=["queue"]
        )
        for queue, count in _queue_depths():
            depth.add_metric([queue], count)
        yield depth


def _provider_latency() -> Metric:
    """Mean seconds from submit to finish of the last 500 succeeded jobs, per backend."""
    from workers.models import GenerationJob

    latency = GaugeMetricFamily(
        "castboard_provider_latency_seconds",
        "Mean seconds from submit to result over recent succeeded jobs, by backend.",
        labels=["backend"],
    )
    recent = (
        GenerationJob.objects.filter(
            state=GenerationJob.State.SUCCEEDED,
            submit_sent__isnull=False,
            finished__isnull=False,
        )
        .order_by("-finished")
        .values_list("backend", "submit_sent", "finished")[:500]
    )
    totals: dict[str, list[float]] = {}
    for backend, sent, finished in recent:
        if sent is not None and finished is not None:
            totals.setdefault(backend, []).append((finished - sent).total_seconds())
    for backend, seconds in sorted(totals.items()):
        latency.add_metric([backend], sum(seconds) / len(seconds))
    return latency


def _queue_depths() -> list[tuple[str, int]]:
    from studio.celery import app

    depths = []
    try:
        with app.connection_for_read() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_TIMEOUT_S)
            channel = conn.default_channel
            for queue in QUEUES:
                try:
                    count = int(channel.queue_declare(queue=queue, passive=True).message_count)
                except ChannelError:
                    count = 0  # an empty queue on Redis has no key at all
                depths.append((queue, count))
    except Exception:
        log.warning("metrics: the broker did not answer", exc_info=True)
    return depths
