"""A cancelled job's task is stopped at the provider, where the provider documents how.

Each backend against its loopback fake, jobs driven in-process: fal is sent
`PUT cancel_url`, Replicate `POST …/predictions/{id}/cancel`, ComfyUI has the
prompt deleted from its queue or interrupted if it is the one running, and BFL
(which documents no cancel call) is sent nothing. The call is made by a worker,
once, with the key only on the provider's API host, and nothing is submitted
again.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from boards.models import Panel
from tests.generation import fake_for, make_board, submitted_jobs, use_fake
from workers import pipeline, registry
from workers.models import GenerationJob
from workers.pipeline.cancel import ASKED
from workers.selectors import project_spend
from workers.services import job_cancel, jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State
LONG = 30.0  # seconds the fake takes: the task is still running when it is cancelled


@pytest.fixture
def provider(request, settings):
    name = request.param
    with fake_for(name, latency_s=LONG) as fake:
        use_fake(settings, name, fake)
        settings.COMFYUI_MAX_ACTIVE = 2  # a running and a pending prompt
        yield name, fake


def cancel_and_run(job: GenerationJob, driver) -> None:
    assert job_cancel(job=job)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.CANCELLED


# Where each asks, and the key it sends (the fakes expect "test-key").
HOSTED_CANCELS = {
    "fal": ("PUT", "/fal-ai/flux-2-pro/requests/{}/cancel", "Key test-key"),
    "replicate": ("POST", "/v1/predictions/{}/cancel", "Bearer test-key"),
}


@pytest.mark.parametrize("provider", list(HOSTED_CANCELS), indirect=True)
def test_hosted_task_is_cancelled_where_the_provider_said_with_the_key_on_its_api_host(
    team, provider, driver
):
    name, fake = provider
    method, path, auth = HOSTED_CANCELS[name]
    (job,) = submitted_jobs(team, name)
    cancel_and_run(job, driver)
    (cancel,) = fake.cancels()
    assert (cancel.method, cancel.path) == (method, path.format(job.provider_task_id))
    assert job.cancel_url == f"{fake.base_url}{cancel.path}"  # the URL the submit returned
    assert cancel.server == "api" and cancel.headers["authorization"] == auth
    assert fake.find(job.provider_task_id).cancelled
    assert job.error_code == ASKED


@pytest.mark.parametrize("provider", ["comfyui"], indirect=True)
def test_comfyui_interrupts_the_running_prompt_and_deletes_a_pending_one(team, provider, driver):
    _, fake = provider
    running, pending = submitted_jobs(team, "comfyui", panels=2)
    cancel_and_run(pending, driver)
    cancel_and_run(running, driver)
    delete, interrupt = fake.cancels()
    assert (delete.path, delete.body) == ("/queue", {"delete": [pending.provider_task_id]})
    assert (interrupt.path, interrupt.body) == (
        "/interrupt",
        {"prompt_id": running.provider_task_id},
    )
    assert fake.find(running.provider_task_id).cancelled
    assert fake.find(pending.provider_task_id).cancelled


@pytest.mark.parametrize("provider", ["comfyui"], indirect=True)
def test_comfyui_does_not_interrupt_a_prompt_that_is_not_ours(team, provider, driver):
    _, fake = provider
    running, pending = submitted_jobs(team, "comfyui", panels=2)
    fake.cancel_task(fake.find(pending.provider_task_id))  # gone from the queue already
    cancel_and_run(pending, driver)
    assert fake.cancels() == []  # /interrupt would have stopped the other job's prompt
    assert not fake.find(running.provider_task_id).cancelled


@pytest.mark.parametrize("provider", ["bfl"], indirect=True)
def test_bfl_documents_no_cancel_so_nothing_is_sent_and_the_cost_stays(team, provider, driver):
    _, fake = provider
    (job,) = submitted_jobs(team, "bfl")
    before = len(fake.requests)
    cancel_and_run(job, driver)
    assert len(fake.requests) == before
    assert job.error_code == ""
    assert job.cost is not None and project_spend(team.project) == job.cost


@pytest.mark.parametrize("provider", ["fal", "replicate", "comfyui", "bfl"], indirect=True)
def test_cancel_never_submits_again_and_asks_the_provider_once(team, provider, driver):
    name, fake = provider
    (job,) = submitted_jobs(team, name)
    cancel_and_run(job, driver)
    asked = len(getattr(fake, "cancels", list)())
    # A redelivered cancel task, the sweeper and a late poll: none of them sends anything.
    driver.send(pipeline.Step("cancel", 0, job.pk))
    driver.send(pipeline.Step("poll", 0, job.pk))
    driver.queue.extend(step for step in pipeline.jobs_sweep())
    driver.run()
    assert len(getattr(fake, "cancels", list)()) == asked == (0 if name == "bfl" else 1)
    assert len(fake.submissions()) == 1
    job.refresh_from_db()
    assert job.state == State.CANCELLED and job.cost is not None


@pytest.mark.parametrize("provider", ["fal"], indirect=True)
def test_the_web_request_only_cancels_the_job_a_worker_calls_the_provider(team, provider, driver):
    _, fake = provider
    (job,) = submitted_jobs(team, "fal")
    response = team.client("editor").post(reverse("job_cancel", args=[job.pk]))
    assert response.status_code == 302
    assert GenerationJob.objects.get(pk=job.pk).state == State.CANCELLED
    assert fake.cancels() == []  # nothing left the web process
    driver.run()
    assert len(fake.cancels()) == 1


@pytest.mark.parametrize("provider", ["fal", "replicate"], indirect=True)
def test_cancelled_while_the_submit_was_on_its_way_is_still_stopped(
    team, provider, driver, monkeypatch
):
    name, fake = provider
    board = make_board(team.project, panels=1, cast_per_panel=1)
    panel = Panel.objects.select_related("board__project").get(board=board)
    (job,) = jobs_request(panels=[panel], user=team.editor, backend=name).jobs
    backend_class = registry.backend_class(name)
    real_submit = backend_class.submit

    def submit_then_cancel(self, request):
        answer = real_submit(self, request)
        job_cancel(job=GenerationJob.objects.get(pk=job.pk))  # a person presses Cancel
        return answer

    monkeypatch.setattr(backend_class, "submit", submit_then_cancel)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.CANCELLED
    # The task the provider has is known, counted and stopped.
    assert job.provider_task_id in fake.task_ids and job.cost is not None
    assert len(fake.cancels()) == 1 and fake.find(job.provider_task_id).cancelled
    assert len(fake.submissions()) == 1
