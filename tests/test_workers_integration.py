"""The pipeline on real Celery worker processes, talking to the fake provider over HTTP.

Slower than the in-process tests in test_pipeline.py: they prove what only
separate processes can, i.e. crashes, a lost broker, duplicate deliveries
and a provider cap shared by several workers.
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from boards.models import Panel, Take
from boards.services import CastEntry, panel_set_cast
from characters.models import Character
from tests import workers_harness
from tests.generation import make_board
from tests.workers_harness import wait_for
from workers import tasks
from workers.models import GenerationJob
from workers.services import jobs_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
# The harness fixtures, made visible to pytest in this module.
harness = workers_harness.harness
fake_provider = workers_harness.fake_provider
State = GenerationJob.State


def panels_of(board) -> list[Panel]:
    return list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )


def request_board(team, board) -> list[int]:
    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    return [job.pk for job in outcome.jobs]


def test_two_workers_generate_a_board_with_each_panels_cast_references(team, harness):
    board = make_board(team.project, panels=6, cast_per_panel=2)
    heroes = list(Character.objects.filter(project=team.project).order_by("name"))
    casts = [[heroes[0]], [heroes[1]], heroes]  # panels cast different people
    for n, panel in enumerate(panels_of(board)):
        panel_set_cast(panel=panel, entries=[CastEntry(c.pk, None, "left") for c in casts[n % 3]])
    harness.start_worker()
    harness.start_worker()

    job_ids = request_board(team, board)
    assert len(job_ids) == 6
    assert set(harness.wait_settled(job_ids).values()) == {State.SUCCEEDED}

    sent = harness.fake.submissions()
    assert len(sent) == 6
    by_prompt = {s.body["prompt"]: s.body for s in sent}
    for n, panel in enumerate(panels_of(board)):
        take = Take.objects.get(panel=panel)
        assert panel.selected_take_id == take.pk
        refs = take.request["references"]
        cast = {r["character"] for r in refs if r["role"] == "cast"}
        assert cast == {c.name for c in casts[n % 3]}
        body = by_prompt[take.prompt]
        images = [body["input_image"]] + [
            body[f"input_image_{i}"] for i in range(2, 9) if f"input_image_{i}" in body
        ]
        assert len([k for k in body if k.startswith("input_image")]) == len(refs)
        # The bytes sent are the stored references the take names, in order.
        assert [hashlib.sha256(base64.b64decode(i)).hexdigest() for i in images] == [
            r["sha256"] for r in refs
        ]


def test_worker_killed_while_polling_finishes_from_the_stored_task_id(team, harness):
    harness.fake.config.latency_s = 3.0
    first = harness.start_worker()
    board = make_board(team.project, panels=1, cast_per_panel=1)
    (job_id,) = request_board(team, board)

    def polling():
        return (
            GenerationJob.objects.filter(pk=job_id, state=State.POLLING)
            .exclude(provider_task_id="")
            .values_list("provider_task_id", flat=True)
            .first()
        )

    task_id = wait_for(polling, 10, interval=0.02, what="the job to be polling")
    harness.kill_worker(first)
    assert not first.alive()
    # Its follow-up poll may still sit in the broker (a filesystem queue is
    # read once a second): drop it, so only the sweeper can bring the job back.
    harness.purge()
    harness.start_worker()

    steps = harness.sweep_after_lease([job_id])
    assert [s.task for s in steps] == ["poll"]  # resumed by polling, not by submitting
    assert harness.wait_settled([job_id]) == {job_id: State.SUCCEEDED}
    job = GenerationJob.objects.get(pk=job_id)
    assert job.provider_task_id == task_id
    assert len(harness.fake.submissions()) == 1
    assert Take.objects.filter(panel__board=board).count() == 1


def test_broker_lost_with_jobs_queued_loses_no_panel(team, harness):
    board = make_board(team.project, panels=4, cast_per_panel=1)
    job_ids = request_board(team, board)  # no worker runs: the messages wait in the broker
    assert harness.queued_messages() == 4
    harness.wipe_broker()
    assert harness.queued_messages() == 0
    harness.start_worker(concurrency=2)

    steps = harness.sweep_after_lease(job_ids)
    assert sorted(s.job_id for s in steps) == sorted(job_ids)
    assert set(harness.wait_settled(job_ids).values()) == {State.SUCCEEDED}
    assert not Panel.objects.filter(board=board, selected_take__isnull=True).exists()
    assert len(harness.fake.submissions()) == 4


def test_same_start_delivered_twice_submits_once_and_makes_one_take(team, harness):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    (job_id,) = request_board(team, board)
    tasks.start_job.delay(job_id)  # the duplicate, queued before any worker runs
    assert harness.queued_messages() == 2
    a, b = harness.start_worker(), harness.start_worker()

    assert harness.wait_settled([job_id]) == {job_id: State.SUCCEEDED}
    # Both deliveries really ran (one of them found the job already taken).
    wait_for(
        lambda: (a.log() + b.log()).count("workers.tasks.start_job[") >= 4,  # received + done
        10,
        what="both deliveries to run",
        describe=harness.logs,
    )
    assert len(harness.fake.submissions()) == 1
    assert Take.objects.filter(panel__board=board).count() == 1


def test_429_storm_above_the_providers_cap_completes_every_panel(team, harness):
    harness.fake.config.cap = 3
    harness.fake.config.retry_after = "0.5"
    harness.fake.config.latency_s = 0.5
    harness.max_active = 24  # our cap is above the provider's: it answers 429
    board = make_board(team.project, panels=12, cast_per_panel=1)
    harness.start_worker(concurrency=2)
    harness.start_worker(concurrency=2)

    job_ids = request_board(team, board)
    assert set(harness.wait_settled(job_ids, timeout=45).values()) == {State.SUCCEEDED}
    assert harness.fake.count_429 > 0
    assert harness.fake.max_in_flight_seen <= 3
    # Refused submits are not billed tasks: one task per panel.
    assert len(harness.fake.task_ids) == 12
    assert Take.objects.filter(panel__board=board).count() == 12


def test_our_in_flight_cap_holds_across_workers(team, harness):
    harness.fake.config.cap = 100
    harness.fake.config.latency_s = 0.5
    harness.max_active = 4
    board = make_board(team.project, panels=12, cast_per_panel=1)
    harness.start_worker(concurrency=2)
    harness.start_worker(concurrency=2)

    job_ids = request_board(team, board)
    assert set(harness.wait_settled(job_ids, timeout=45).values()) == {State.SUCCEEDED}
    assert harness.fake.count_429 == 0
    assert 2 <= harness.fake.max_in_flight_seen <= 4


def test_two_workers_chain_continuing_panels_to_the_previous_panels_new_take(team, harness):
    board = make_board(team.project, panels=4, cast_per_panel=1)
    # Panels 2 and 3 continue the one before; panel 4 stands alone.
    Panel.objects.filter(board=board, position__in=(1, 2)).update(continue_previous=True)
    harness.start_worker()
    harness.start_worker()

    job_ids = request_board(team, board)
    assert len(job_ids) == 4
    assert set(harness.wait_settled(job_ids).values()) == {State.SUCCEEDED}

    assert len(harness.fake.submissions()) == 4
    takes = [Take.objects.get(panel=panel) for panel in panels_of(board)]
    previous = [
        [r["id"] for r in t.request["references"] if r["role"] == "previous"] for t in takes
    ]
    assert previous == [[], [takes[0].pk], [takes[1].pk], []]
