"""BFL webhooks: results posted to /hooks/bfl/ move a job on; polling stays as a slow fallback.

The provider's POST is played by Django's test client (the studio has no
public address in tests); the task, its result and the sample download are
the fake provider's, over real HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from django.test import Client

from boards.models import Take
from tests.fakes.bfl_server import FakeBFL
from tests.generation import PUBLIC_URL, fake_with_webhooks, submitted_jobs
from workers import pipeline
from workers.models import GenerationJob
from workers.pipeline.poll import WEBHOOK_FALLBACK_POLL_S

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State
SECRET = "whsec-0123456789abcdef"
URL = "/hooks/bfl/"  # the provider_webhook view for bfl


@pytest.fixture
def fake(settings):
    with fake_with_webhooks(settings, "bfl", secret=SECRET, latency_s=0.2) as server:
        yield server


def submitted_job(team) -> GenerationJob:
    return submitted_jobs(team, "bfl")[0]


def ready_body(fake: FakeBFL, task_id: str) -> dict:
    time.sleep(0.25)  # the fake's latency: its result exists now
    task = fake._tasks[task_id]
    return {
        "id": task_id,
        "status": "Ready",
        "result": {"sample": fake._sample_url(task), "seed": 1, "prompt": "x"},
    }


def post(body: dict, **headers) -> int:
    return (
        Client()
        .post(URL, data=json.dumps(body), content_type="application/json", **headers)
        .status_code
    )


def test_submit_asks_for_a_webhook_with_the_secret(team, fake, driver):
    submitted_job(team)
    body = fake.submissions()[0].body
    assert body["webhook_url"] == f"{PUBLIC_URL}/hooks/bfl/"
    assert body["webhook_secret"] == SECRET


def test_webhook_instead_of_the_poll_stores_the_result(team, fake, driver, deliveries):
    job = submitted_job(team)
    body = ready_body(fake, job.provider_task_id)
    assert post(body, HTTP_X_WEBHOOK_SECRET=SECRET) == 202
    deliveries.run(driver)
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert fake.polls() == []  # the job never waited for a poll
    assert Take.objects.filter(panel_id=job.panel_id).count() == 1


def test_the_same_result_posted_twice_is_accepted_once(team, fake, driver, deliveries):
    job = submitted_job(team)
    body = ready_body(fake, job.provider_task_id)
    assert post(body, HTTP_X_WEBHOOK_SECRET=SECRET) == 202
    assert post(body, HTTP_X_WEBHOOK_SECRET=SECRET) == 202  # before the first was handled
    assert len(deliveries) == 2
    deliveries.run(driver)
    assert Take.objects.filter(panel_id=job.panel_id).count() == 1
    assert len(fake.downloads()) == 1


def test_webhook_after_the_poll_finished_the_job_changes_nothing(team, fake, driver, deliveries):
    job = submitted_job(team)
    time.sleep(0.3)  # the fake's latency: the first poll finds the result
    GenerationJob.objects.filter(pk=job.pk).update(next_poll_at=None)
    driver.send(pipeline.Step("poll", 0, job.pk))
    driver.run()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert post(ready_body(fake, job.provider_task_id), HTTP_X_WEBHOOK_SECRET=SECRET) == 200
    assert deliveries == []
    assert Take.objects.filter(panel_id=job.panel_id).count() == 1


def test_webhook_before_the_task_id_is_known_is_left_to_the_poll(team, fake, deliveries):
    assert post({"id": "not-yet-stored", "status": "Ready"}, HTTP_X_WEBHOOK_SECRET=SECRET) == 200
    assert deliveries == []


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_X_WEBHOOK_SECRET": "guess"},
        {"HTTP_X_BFL_SIGNATURE": "sha256=" + "0" * 64},
    ],
)
def test_forged_webhook_is_refused_and_changes_nothing(team, fake, deliveries, headers):
    job = submitted_job(team)
    assert post(ready_body(fake, job.provider_task_id), **headers) == 403
    assert deliveries == []
    job.refresh_from_db()
    assert job.state == State.POLLING


def test_signed_body_is_accepted_as_the_other_variant(team, fake, driver, deliveries):
    job = submitted_job(team)
    raw = json.dumps(ready_body(fake, job.provider_task_id)).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = Client().post(
        URL, data=raw, content_type="application/json", HTTP_X_BFL_SIGNATURE=signature
    )
    assert response.status_code == 202
    deliveries.run(driver)
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED


def test_moderated_result_by_webhook_fails_the_job_with_its_reason(team, fake, driver, deliveries):
    job = submitted_job(team)
    body = {
        "id": job.provider_task_id,
        "status": "Content Moderated",
        "details": {"Moderation Reasons": ["x"]},
    }
    assert post(body, HTTP_X_WEBHOOK_SECRET=SECRET) == 202
    deliveries.run(driver)
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "moderated")


def test_polling_slows_down_while_webhooks_are_on(team, fake, driver):
    fake.config.latency_s = 30
    job = submitted_job(team)
    GenerationJob.objects.filter(pk=job.pk).update(next_poll_at=None)  # the first poll is due
    step = pipeline.job_poll(job.pk)
    assert step.task == "poll" and step.countdown >= WEBHOOK_FALLBACK_POLL_S


def test_webhooks_are_refused_when_not_configured(team, fake, settings, deliveries):
    settings.BFL_WEBHOOK_SECRET = ""
    assert post({"id": "x", "status": "Ready"}, HTTP_X_WEBHOOK_SECRET="") == 403
