"""What operators ask the studio: /healthz, /metrics, structured logs, the admin's actions."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from kombu import Connection

from boards.models import Export
from studio.celery import app
from studio.logs import ContextFilter, JsonFormatter, job_id, task_started
from studio.models import LoginFailure
from studio.throttle import lockout
from tests.factories import BoardFactory, PanelFactory, UserFactory
from tests.s3 import closed_port_url, use_bucket
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db


def test_healthz_is_200_when_every_part_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
    }


def test_healthz_names_the_broker_when_it_does_not_answer(client, monkeypatch):
    dead = closed_port_url().replace("http://", "redis://") + "/0"
    # A connection to a port nobody listens on, whatever broker the suite runs with.
    monkeypatch.setattr(app, "connection_for_write", lambda *a, **k: Connection(dead))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == "broker"
    assert "127.0.0.1" not in response.content.decode()


def test_healthz_names_the_storage_when_the_bucket_does_not_answer(client, bucket, settings):
    use_bucket(settings, bucket, endpoint=closed_port_url())
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == "storage" and body["database"] == "ok"
    assert "answer" not in response.content.decode()  # no reason leaks, only the part


def test_healthz_answers_the_bucket_when_it_is_up(client, bucket):
    assert client.get("/healthz").status_code == 200


def test_metrics_do_not_exist_without_a_token(client, settings):
    settings.STUDIO_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(client, settings):
    settings.STUDIO_METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer not-it")
    assert wrong.status_code == 401 and b"castboard" not in wrong.content


def test_metrics_count_jobs_failures_spend_latency_and_exports(team, settings):
    settings.STUDIO_METRICS_TOKEN = "s3cret-metrics-token"
    board = BoardFactory(project=team.project)
    now = timezone.now()
    for cost, seconds in ((Decimal("0.04"), 10), (Decimal("0.06"), 20)):
        GenerationJob.objects.create(
            project=team.project,
            panel=PanelFactory(board=board),
            backend="bfl",
            state="succeeded",
            cost=cost,
            submit_sent=now - timedelta(seconds=seconds),
            finished=now,
        )
    GenerationJob.objects.create(
        project=team.project,
        panel=PanelFactory(board=board),
        backend="sketch",
        state="failed",
        error_code="moderated",
    )
    Export.objects.create(board=board, format="pdf", state="done")
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'castboard_jobs{backend="bfl",state="succeeded"} 2.0' in text
    assert 'castboard_job_failures{backend="sketch",code="moderated"} 1.0' in text
    assert 'castboard_spend{backend="bfl"} 0.1' in text
    assert 'castboard_provider_latency_seconds{backend="bfl"} 15.0' in text
    assert 'castboard_exports{format="pdf",state="done"} 1.0' in text
    assert 'castboard_queue_depth{queue="generation"}' in text


def test_json_logs_carry_the_job_and_request_ids(client):
    formatter, context = JsonFormatter(), ContextFilter()

    class Task:
        name = "workers.tasks.poll_job"

    task_started(task=Task(), args=(42,))
    try:
        record = logging.LogRecord("workers", logging.INFO, __file__, 1, "polled %s", ("x",), None)
        context.filter(record)
        line = json.loads(formatter.format(record))
    finally:
        job_id.set("")
    assert line["message"] == "polled x" and line["job_id"] == "42" and line["level"] == "INFO"

    response = client.get("/healthz", HTTP_X_REQUEST_ID="front-1234abcd")
    assert response["X-Request-ID"] == "front-1234abcd"
    assert len(client.get("/healthz", HTTP_X_REQUEST_ID="bad id!")["X-Request-ID"]) == 32


def test_json_log_format_is_used_by_the_studio_process():
    from tests.test_studio import _settings_run

    result = _settings_run(
        {"DJANGO_DEBUG": "true", "STUDIO_LOG_FORMAT": "json"},
        "import logging; logging.getLogger('castboard').warning('hello')",
    )
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello" and line["level"] == "WARNING"


def test_sentry_dsn_without_the_package_is_a_clear_error():
    from tests.test_studio import ROOT

    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SENTRY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        DJANGO_DEBUG="true",
        SENTRY_DSN="https://key@errors.example.com/1",
    )
    # The package is made unimportable whether or not this machine has it.
    code = "import sys; sys.modules['sentry_sdk'] = None; import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SENTRY_DSN is set but the sentry-sdk package is not installed" in result.stderr


def test_admin_unlocks_an_account_locked_by_failed_logins(settings):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    now = timezone.now()
    for _ in range(settings.STUDIO_LOGIN_MAX_FAILURES_ACCOUNT):
        LoginFailure.objects.create(username="mara", address="10.0.0.9", created=now)
    assert lockout("mara", "10.0.0.8") is not None
    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/admin/studio/loginfailure/",
        {
            "action": "unlock_accounts",
            "_selected_action": list(LoginFailure.objects.values_list("pk", flat=True)[:1]),
        },
        follow=True,
    )
    assert "Unlocked: mara." in response.content.decode()
    assert lockout("mara", "10.0.0.8") is None


def test_admin_resolves_a_job_needing_review(team):
    admin_user = UserFactory(username="root", is_staff=True, is_superuser=True)
    job = GenerationJob.objects.create(
        project=team.project,
        panel=PanelFactory(board=BoardFactory(project=team.project)),
        backend="bfl",
        state="needs_review",
        estimated_cost=Decimal("0.05"),
        provider_task_id="t-1",
    )
    client = Client()
    client.force_login(admin_user)
    client.post(
        "/admin/workers/generationjob/",
        {"action": "resolve_dismiss", "_selected_action": [job.pk]},
    )
    job.refresh_from_db()
    assert job.state == "failed" and job.error_code == "dismissed"
    assert job.cost == Decimal("0.05")
