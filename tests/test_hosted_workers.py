"""The fal, replicate and comfyui backends on real Celery worker processes, against their fakes.

A whole board through two workers, and (for the paid ones) a worker stopped
mid-poll whose job another worker finishes from the stored task id: one
submission per panel.
"""

from __future__ import annotations

import pytest

from boards.models import Panel, Take
from tests import workers_harness
from tests.fakes.comfyui_server import ComfyConfig, FakeComfyUI
from tests.fakes.fal_server import FakeFal, FalConfig
from tests.fakes.replicate_server import FakeReplicate, ReplicateConfig
from tests.generation import make_board
from tests.workers_harness import wait_for
from workers.models import GenerationJob
from workers.services import jobs_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
harness = workers_harness.harness
State = GenerationJob.State
FAKES = {
    "fal": (FakeFal, FalConfig),
    "replicate": (FakeReplicate, ReplicateConfig),
    "comfyui": (FakeComfyUI, ComfyConfig),
}


@pytest.fixture(params=list(FAKES))
def fake_provider(request):
    """Replaces the harness's FakeBFL with the fake of the backend under test."""
    fake_class, config_class = FAKES[request.param]
    with fake_class(config_class(latency_s=0.3)) as fake:
        fake.backend = request.param
        yield fake


def request_board(team, harness, panels: int) -> list[int]:
    board = make_board(team.project, panels=panels, cast_per_panel=2)
    chosen = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    jobs = jobs_request(panels=chosen, user=team.editor, backend=harness.fake.backend).jobs
    return [job.pk for job in jobs]


def test_two_workers_generate_a_whole_board(team, harness):
    harness.start_worker()
    harness.start_worker()
    job_ids = request_board(team, harness, panels=4)
    assert set(harness.wait_settled(job_ids).values()) == {State.SUCCEEDED}
    assert len(harness.fake.submissions()) == 4
    assert Take.objects.filter(backend=harness.fake.backend).count() == 4


# Paid backends only. ComfyUI is free, so the sweeper deliberately starts a
# lost job again instead of resuming it from its stored task id (see
# workers.pipeline.sweep): "one submission" guards money, which it spends none of.
@pytest.mark.parametrize("fake_provider", ["fal", "replicate"], indirect=True)
def test_worker_stopped_mid_poll_hands_the_job_over_with_one_submission(team, harness):
    harness.fake.config.latency_s = 3.0
    first = harness.start_worker()
    (job_id,) = request_board(team, harness, panels=1)

    def polling() -> str | None:
        return (
            GenerationJob.objects.filter(pk=job_id, state=State.POLLING)
            .exclude(provider_task_id="")
            .values_list("provider_task_id", flat=True)
            .first()
        )

    task_id = wait_for(polling, 15, interval=0.02, what="polling")
    polls_before = len(harness.fake.polls())
    assert workers_harness.warm_stop(first) == 0
    harness.start_worker()
    try:  # Redis gives the held poll back at once; a filesystem queue may have lost it
        wait_for(lambda: len(harness.fake.polls()) > polls_before, 4, what="a poll")
    except AssertionError:
        harness.sweep_after_lease([job_id])

    assert harness.wait_settled([job_id], timeout=30) == {job_id: State.SUCCEEDED}
    assert GenerationJob.objects.get(pk=job_id).provider_task_id == task_id
    assert len(harness.fake.submissions()) == 1
