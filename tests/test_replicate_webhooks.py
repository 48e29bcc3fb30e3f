"""Replicate webhooks: signed (Standard Webhooks) predictions posted to /hooks/replicate/."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from boards.models import Take
from tests.generation import PUBLIC_URL, fake_with_webhooks, submitted_jobs
from workers.models import GenerationJob

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State
KEY = b"castboard-test-signing-key-32byt"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


@pytest.fixture
def fake(settings):
    with fake_with_webhooks(settings, "replicate", secret=SECRET, latency_s=0.2) as server:
        yield server


def submitted_job(team) -> GenerationJob:
    return submitted_jobs(team, "replicate")[0]


def finished_prediction(fake, task_id: str) -> bytes:
    time.sleep(0.25)  # the fake's latency: the prediction has succeeded now
    return json.dumps(fake._prediction(fake.tasks[task_id])).encode()


def signed_post(raw: bytes, *, key: bytes = KEY, stamp: int | None = None, path="replicate"):
    msg_id = "msg_2Lh9KRb0pzN4LePd3XiA4TjMl7W"
    stamp = int(time.time()) if stamp is None else stamp
    digest = hmac.new(key, f"{msg_id}.{stamp}.".encode() + raw, hashlib.sha256).digest()
    return (
        Client()
        .post(
            f"/hooks/{path}/",
            data=raw,
            content_type="application/json",
            HTTP_WEBHOOK_ID=msg_id,
            HTTP_WEBHOOK_TIMESTAMP=str(stamp),
            HTTP_WEBHOOK_SIGNATURE=f"v1,{base64.b64encode(digest).decode()}",
        )
        .status_code
    )


def test_prediction_asks_for_a_completed_webhook(team, fake, driver):
    submitted_job(team)
    body = fake.submissions()[0].body
    assert body["webhook"] == f"{PUBLIC_URL}/hooks/replicate/"
    assert body["webhook_events_filter"] == ["completed"]


def test_signed_webhook_stores_the_result_without_waiting_for_a_poll(
    team, fake, driver, deliveries
):
    job = submitted_job(team)
    assert signed_post(finished_prediction(fake, job.provider_task_id)) == 202
    deliveries.run(driver)
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert fake.polls() == []
    assert Take.objects.filter(panel_id=job.panel_id).count() == 1


@pytest.mark.parametrize(
    "forgery", [{"key": b"another-key-entirely-32-bytes-xx"}, {"stamp": 1_000_000_000}]
)
def test_forged_or_replayed_webhook_is_refused(team, fake, deliveries, forgery):
    job = submitted_job(team)
    assert signed_post(finished_prediction(fake, job.provider_task_id), **forgery) == 403
    assert deliveries == []
    job.refresh_from_db()
    assert job.state == State.POLLING


def test_a_backend_that_cannot_prove_its_sender_takes_no_webhooks(fake, deliveries):
    assert signed_post(b"{}", path="fal") == 404
    assert signed_post(b"{}", path="nonsense") == 404
