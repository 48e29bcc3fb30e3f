"""The job pipeline against the fake provider over real HTTP (jobs driven in-process)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from boards.models import Panel, Take
from characters.models import ReferenceImage
from characters.services import reference_image_delete
from tests.fakes.bfl_server import FakeBFL, FakeConfig
from tests.generation import make_board, use_fake_bfl
from workers import pipeline, tasks
from workers.models import GenerationJob
from workers.services import (
    job_cancel,
    job_dismiss,
    job_request_edit,
    job_retry,
    jobs_request,
)

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State


@pytest.fixture
def fake():
    with FakeBFL(FakeConfig(latency_s=0.05)) as server:
        yield server


@pytest.fixture
def bfl(settings, fake):
    use_fake_bfl(settings, fake)
    return fake


def panels_of(board):
    return list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )


def test_board_generates_with_each_panels_cast_references(team, bfl, driver):
    board = make_board(team.project, panels=3, cast_per_panel=2)
    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    assert len(outcome.jobs) == 3
    driver.run()
    jobs = GenerationJob.objects.filter(pk__in=[j.pk for j in outcome.jobs])
    assert {j.state for j in jobs} == {State.SUCCEEDED}
    assert len(bfl.submissions()) == 3
    for job in jobs:
        panel = Panel.objects.get(pk=job.panel_id)
        assert panel.selected_take_id == job.take_id
        take = job.take
        sent = next(s for s in bfl.submissions() if s.body["prompt"] == take.prompt)
        refs = [k for k in sent.body if k.startswith("input_image")]
        cast_refs = [r for r in take.request["references"] if r["role"] == "cast"]
        assert {r["character"] for r in cast_refs} == {"Hero 0", "Hero 1"}
        assert len(refs) == len(take.request["references"])
        assert take.cost is not None and take.cost > 0
        assert take.width == sent.body["width"]


def test_unchanged_panel_reuses_its_take_and_variation_pays_again(team, bfl, driver):
    board = make_board(team.project, panels=1)
    jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    driver.run()
    again = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    assert again.jobs == [] and len(again.reused) == 1
    assert len(bfl.submissions()) == 1
    variation = jobs_request(
        panels=panels_of(board), user=team.editor, backend="bfl", variation=True
    )
    driver.run()
    assert len(variation.jobs) == 1
    assert len(bfl.submissions()) == 2
    assert Take.objects.filter(panel__board=board).count() == 2


def test_same_task_delivered_twice_submits_once(team, bfl, driver):
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.send(pipeline.Step("start", 0, job.pk))  # the duplicate delivery
    driver.run()
    assert len(bfl.submissions()) == 1
    assert Take.objects.filter(panel__board=board).count() == 1


def test_one_active_job_per_panel(team, bfl, driver):
    board = make_board(team.project, panels=1)
    first = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    second = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl", variation=True)
    assert len(first.jobs) == 1 and second.jobs == [] and len(second.busy) == 1


@pytest.mark.parametrize("where", ["request", "content"])
def test_moderation_fails_with_its_reason_and_is_not_retried(team, bfl, driver, where):
    bfl.config.moderate = where
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert job.state == State.FAILED and job.error_code == "moderated"
    assert job.error_message
    assert len(bfl.submissions()) == 1


def test_5xx_on_submit_needs_review_and_is_not_resubmitted(team, bfl, driver):
    bfl.config.submit_fail_times = 1
    bfl.config.submit_fail_after_record = True
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert job.state == State.NEEDS_REVIEW
    assert "billed again" in job.error_message
    assert len(bfl.submissions()) == 1


def test_expired_sample_needs_review_without_second_submission(team, bfl, driver):
    bfl.config.sample_ttl_s = 0.0
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert job.state == State.NEEDS_REVIEW and job.error_code == "result_unavailable"
    assert len(bfl.submissions()) == 1


def test_sample_on_a_host_not_allowed_is_refused(team, bfl, driver, settings):
    settings.BFL_RESULT_HOSTS = ["delivery-eu1.bfl.ai"]
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert job.state == State.FAILED and job.error_code == "result_refused"
    assert bfl.downloads() == []
    assert not Take.objects.exists()


def test_ready_task_whose_download_keeps_failing_stops_at_the_deadline(team, bfl, driver, settings):
    settings.STUDIO_POLL_DEADLINE_S = 1
    bfl.config.sample_fail_times = 10**6  # the delivery host answers 503 for ever
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run(timeout=15)
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.NEEDS_REVIEW, "deadline")
    assert "could not be downloaded" in job.error_message
    assert len(bfl.submissions()) == 1
    polls = len(bfl.polls())
    GenerationJob.objects.filter(pk=job.pk).update(state=State.POLLING)  # a late duplicate
    assert pipeline.job_poll(job.pk) == pipeline.DONE
    assert len(bfl.polls()) == polls  # past the deadline the key is not sent again


def test_result_url_that_does_not_parse_fails_the_job_with_a_reason(team, bfl, driver):
    bfl.config.sample_url = "http://0177.0.0.1/sample.jpeg"  # octal: httpx refuses it
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "result_refused")
    assert "not usable" in job.error_message
    assert len(bfl.submissions()) == 1


def test_429_is_retried_after_the_wait_and_completes(team, bfl, driver):
    bfl.config.force_429 = 2
    bfl.config.retry_after = "0.2"
    board = make_board(team.project, panels=2)
    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    driver.run()
    assert {j.state for j in GenerationJob.objects.all()} == {State.SUCCEEDED}
    assert bfl.count_429 == 2
    assert len([s for s in bfl.submissions()]) == 4
    assert len(outcome.jobs) == 2


@pytest.mark.parametrize(("switch", "code"), [("auth", "auth"), ("credits", "out_of_credits")])
def test_auth_and_credit_errors_fail_fast_with_an_operator_message(
    team, bfl, driver, settings, switch, code
):
    if switch == "auth":
        settings.BFL_API_KEY = "wrong-key"
    else:
        bfl.config.credits = 0
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert job.state == State.FAILED and job.error_code == code
    assert "wrong-key" not in job.error_message


def test_in_flight_cap_is_never_exceeded(team, bfl, driver, settings):
    settings.BFL_MAX_ACTIVE = 2
    bfl.config.latency_s = 0.3
    board = make_board(team.project, panels=6, cast_per_panel=1)
    jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    driver.run()
    assert {j.state for j in GenerationJob.objects.all()} == {State.SUCCEEDED}
    assert bfl.max_in_flight_seen <= 2
    assert bfl.count_429 == 0


def test_spending_cap_refuses_jobs_past_it(team, bfl, driver):
    team.project.spending_cap = Decimal("10")
    team.project.save()
    board = make_board(team.project, panels=4, cast_per_panel=1)
    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    assert 0 < len(outcome.jobs) < 4
    assert outcome.refused and "spending cap" in outcome.message
    total = sum(j.estimated_cost for j in outcome.jobs)
    assert total <= Decimal("10")


def test_big_request_starts_its_first_panels_and_only_as_many_as_there_are_slots(
    team, bfl, driver, settings, monkeypatch
):
    settings.BFL_MAX_ACTIVE = 3
    board = make_board(team.project, panels=8, cast_per_panel=1)
    queued_when_started = []
    send = tasks.start_job.delay  # the driver's
    monkeypatch.setattr(
        tasks.start_job,
        "delay",
        lambda job_id: (queued_when_started.append(GenerationJob.objects.count()), send(job_id)),
    )

    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")

    assert [j.panel_id for j in outcome.jobs] == [p.pk for p in panels_of(board)]
    assert [step.job_id for step in driver.queue] == [j.pk for j in outcome.jobs[:3]]
    # The first three were sent off before the other five were even queued.
    assert queued_when_started == [3, 3, 3]
    driver.run()
    assert {j.state for j in GenerationJob.objects.all()} == {State.SUCCEEDED}
    assert len(bfl.submissions()) == 8 and bfl.max_in_flight_seen <= 3


def test_spending_cap_counts_the_first_panels_when_pricing_the_rest(team, bfl, driver, settings):
    settings.BFL_MAX_ACTIVE = 2
    board = make_board(team.project, panels=6, cast_per_panel=1)
    one = jobs_request(panels=panels_of(board)[:1], user=team.editor, backend="bfl").jobs[0]
    job_cancel(job=one)  # a cancelled job before the cap is set costs nothing
    price = one.estimated_cost
    team.project.spending_cap = price * 3
    team.project.save()

    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")

    assert len(outcome.jobs) == 3 and len(outcome.refused) == 3
    assert sum(j.estimated_cost for j in outcome.jobs) <= team.project.spending_cap


def test_instruction_edit_sends_the_take_first_and_makes_a_child(team, bfl, driver):
    board = make_board(team.project, panels=1)
    jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    driver.run()
    take = Take.objects.get()
    job = job_request_edit(take=take, instruction="make it night", user=team.editor, backend="bfl")
    driver.run()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    child = job.take
    assert child.parent_id == take.pk and child.kind == Take.Kind.EDITED
    sent = bfl.submissions()[-1].body
    with take.file.open("rb") as fh:
        import base64

        assert base64.b64decode(sent["input_image"]) == fh.read()
    assert sent["prompt"].startswith("make it night")


def test_empty_instruction_is_refused(team, bfl, driver):
    board = make_board(team.project, panels=1)
    jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    driver.run()
    with pytest.raises(ValidationError):
        job_request_edit(
            take=Take.objects.get(), instruction="   ", user=team.editor, backend="bfl"
        )


def test_cancel_and_retry(team, bfl, driver):
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    assert job_cancel(job=job)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.CANCELLED and bfl.submissions() == []
    bfl.config.submit_fail_times = 1
    job2 = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job2.refresh_from_db()
    assert job2.state == State.NEEDS_REVIEW
    retried = job_retry(job=job2, user=team.editor)
    driver.run()
    job2.refresh_from_db()
    assert job2.state == State.FAILED and job2.error_code == "retried"
    assert retried.jobs[0].pk != job2.pk
    assert GenerationJob.objects.get(pk=retried.jobs[0].pk).state == State.SUCCEEDED


def test_a_needs_review_job_retried_twice_from_one_page_is_sent_again_once(team, bfl, driver):
    bfl.config.submit_fail_times = 1
    board = make_board(team.project, panels=1)
    # A variation: its retry is a new paid request, never an unchanged one reused.
    panels = panels_of(board)
    job = jobs_request(panels=panels, user=team.editor, backend="bfl", variation=True).jobs[0]
    driver.run()
    job.refresh_from_db()
    assert job.state == State.NEEDS_REVIEW
    stale = GenerationJob.objects.get(pk=job.pk)  # what a second tab still shows
    job_retry(job=job, user=team.editor)
    driver.run()
    with pytest.raises(ValidationError, match="already retried"):
        job_retry(job=stale, user=team.editor)
    driver.run()
    assert len(bfl.submissions()) == 2  # the failed submit and one retry
    assert not job_dismiss(job=stale)  # nor can the retried job be dismissed afterwards


def test_sweeper_resumes_a_polling_job_from_its_task_id(team, bfl, driver):
    bfl.config.latency_s = 0.2
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    step = pipeline.job_start(job.pk)  # submitted; the poll chain is "lost"
    driver.queue.clear()
    assert step.task == "poll"
    GenerationJob.objects.filter(pk=job.pk).update(
        lease_expires=timezone.now() - timedelta(seconds=1)
    )
    steps = pipeline.jobs_sweep()
    assert [s.task for s in steps] == ["poll"]
    for s in steps:
        driver.send(s)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert len(bfl.submissions()) == 1


def test_sweeper_marks_a_paid_job_lost_mid_submit_for_review(team, bfl, driver):
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    # The worker recorded its intent to send, then vanished: the outcome is unknown.
    GenerationJob.objects.filter(pk=job.pk).update(
        state=State.SUBMITTING,
        submit_sent=timezone.now(),
        lease_expires=timezone.now() - timedelta(seconds=1),
    )
    assert pipeline.jobs_sweep() == []
    job.refresh_from_db()
    assert job.state == State.NEEDS_REVIEW
    assert bfl.submissions() == []


def test_sweeper_restarts_a_paid_job_lost_before_it_was_sent(team, bfl, driver):
    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    # Claimed, but the worker died while preparing the request: nothing left.
    GenerationJob.objects.filter(pk=job.pk).update(
        state=State.SUBMITTING, lease_expires=timezone.now() - timedelta(seconds=1)
    )
    steps = pipeline.jobs_sweep()
    assert [s.task for s in steps] == ["start"]
    for step in steps:
        driver.send(step)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    assert len(bfl.submissions()) == 1


def test_sketch_backend_generates_offline(team, driver):
    board = make_board(team.project, panels=2)
    outcome = jobs_request(panels=panels_of(board), user=team.editor)
    driver.run()
    assert {j.state for j in GenerationJob.objects.filter(pk__in=[j.pk for j in outcome.jobs])} == {
        State.SUCCEEDED
    }
    take = Take.objects.first()
    assert take.backend == "sketch" and take.width == 1024 and take.height == 576


def test_reference_deleted_after_queueing_fails_the_job_by_name_without_sending(team, bfl, driver):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    chosen = next(r for r in job.request["references"] if r["role"] == "cast")
    reference_image_delete(image=ReferenceImage.objects.get(pk=chosen["id"]))

    driver.run()

    job.refresh_from_db()
    assert job.state == State.FAILED and job.error_code == "request_error"
    assert f"“{chosen['label']}” was changed or deleted" in job.error_message
    assert bfl.submissions() == []


def test_job_queued_before_manifests_named_files_still_sends_its_references(team, bfl, driver):
    board = make_board(team.project, panels=1, cast_per_panel=2)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    legacy = {
        **job.request,
        "references": [
            {k: v for k, v in ref.items() if k != "file"} for ref in job.request["references"]
        ],
    }
    GenerationJob.objects.filter(pk=job.pk).update(request=legacy)

    driver.run()

    job.refresh_from_db()
    assert job.state == State.SUCCEEDED
    sent = bfl.submissions()[0].body
    assert len([k for k in sent if k.startswith("input_image")]) == len(legacy["references"])
    assert job.fingerprint == job.take.fingerprint


def test_transition_moves_a_job_only_from_the_states_given(team, bfl, driver):
    from workers.pipeline.states import transition

    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    assert not transition(job.pk, [State.POLLING], state=State.FAILED)  # not polling: no change
    assert transition(job.pk, State.QUEUED, state=State.CANCELLED)
    assert not transition(job.pk, State.QUEUED, state=State.FAILED)  # the second mover loses
    job.refresh_from_db()
    assert job.state == State.CANCELLED


def test_transition_stamps_updated_and_a_losing_move_leaves_it(team, bfl, driver):
    from workers.pipeline.states import transition

    board = make_board(team.project, panels=1)
    job = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs[0]
    long_ago = timezone.now() - timedelta(hours=1)
    GenerationJob.objects.filter(pk=job.pk).update(updated=long_ago)

    assert not transition(job.pk, State.POLLING, progress=0.5)  # not polling: untouched
    job.refresh_from_db()
    assert job.updated == long_ago

    before = timezone.now()
    assert transition(job.pk, State.QUEUED, next_poll_at=None)
    job.refresh_from_db()
    assert before <= job.updated <= timezone.now()


def test_a_board_run_through_the_pipeline_leaves_updated_at_its_last_move(team, bfl, driver):
    board = make_board(team.project, panels=2)
    jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    requested = timezone.now()

    driver.run()

    for job in GenerationJob.objects.filter(panel__board=board):
        assert job.state == State.SUCCEEDED
        # The last move (to succeeded) went through transition(), an UPDATE that
        # auto_now never sees: `updated` must still be the moment it finished.
        assert job.updated >= requested
        assert job.updated >= job.finished


def _columns(job: GenerationJob) -> dict:
    return {f.attname: getattr(job, f.attname) for f in GenerationJob._meta.concrete_fields}


def test_jobs_read_as_sql_equal_the_orm_s_reading(team, bfl, driver):
    from workers.pipeline.plain_update import claim_job, oldest_waiting, select_job

    board = make_board(team.project, panels=2)
    first, second = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs
    now = timezone.now()
    GenerationJob.objects.filter(pk=first.pk).update(
        state=State.POLLING, cost=Decimal("1.25"), progress=0.5, started=now, next_poll_at=None
    )

    loaded = select_job(first.pk)
    assert loaded is not None and not loaded._state.adding
    assert _columns(loaded) == _columns(GenerationJob.objects.get(pk=first.pk))
    assert isinstance(loaded.request, dict) and isinstance(loaded.cost, Decimal)
    assert select_job(first.pk, State.QUEUED) is None
    assert select_job(first.pk, State.POLLING) is not None

    claimed = claim_job(first.pk, [State.POLLING], {"updated": now}, due_by=now)
    assert claimed is not None
    assert _columns(claimed) == _columns(GenerationJob.objects.get(pk=first.pk))
    assert claim_job(second.pk, [State.POLLING], {"updated": now}, due_by=now) is None

    waiting, in_flight = oldest_waiting(
        "bfl", kicked_before=now + timedelta(days=1), slot_states=GenerationJob.SLOT_STATES
    )
    assert waiting is not None and waiting.pk == second.pk and in_flight == 1
    assert _columns(waiting) == _columns(GenerationJob.objects.get(pk=second.pk))


def test_a_claim_needs_a_free_slot_written_as_sql_or_through_the_orm(team, bfl, driver):
    from workers.pipeline.plain_update import SlotFree
    from workers.pipeline.states import transition

    board = make_board(team.project, panels=2)
    first, second = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl").jobs
    GenerationJob.objects.filter(pk=first.pk).update(state=State.POLLING)  # one slot taken

    # The ORM reads the same condition as a plain LessThan.
    queued = GenerationJob.objects.filter(pk=second.pk, state=State.QUEUED)
    assert not queued.filter(SlotFree("bfl", 1)).exists()
    assert queued.filter(SlotFree("bfl", 2)).exists()

    assert not transition(second.pk, State.QUEUED, SlotFree("bfl", 1), state=State.SUBMITTING)
    assert transition(second.pk, State.QUEUED, SlotFree("bfl", 2), state=State.SUBMITTING)
    second.refresh_from_db()
    assert second.state == State.SUBMITTING
