"""Panels that continue the previous one: chained jobs, failures passed on, stale marks."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from boards.models import Panel, Take
from boards.services import take_select, take_upload
from tests.fakes.bfl_server import FakeBFL, FakeConfig
from tests.generation import make_board, png, use_fake_bfl
from workers import chains, pipeline
from workers.models import GenerationJob
from workers.selectors import project_spend
from workers.services import job_cancel, jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State


@pytest.fixture
def bfl(settings):
    with FakeBFL(FakeConfig(latency_s=0.05)) as server:
        use_fake_bfl(settings, server)
        yield server


def continuing_board(project, *, panels=3, continuing=(1,)):
    """A board whose panels at the `continuing` positions continue the previous panel."""
    board = make_board(project, panels=panels, cast_per_panel=1)
    Panel.objects.filter(board=board, position__in=continuing).update(continue_previous=True)
    return board


def panels_of(board):
    return list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )


def previous_reference(take: Take) -> int | None:
    refs = [r["id"] for r in take.request["references"] if r["role"] == "previous"]
    return refs[0] if refs else None


def test_new_board_continuing_panel_is_drawn_from_the_previous_panels_new_take(team, driver):
    board = continuing_board(team.project)
    first, second, _ = panels_of(board)

    outcome = jobs_request(panels=panels_of(board), user=team.editor)

    jobs = {j.panel_id: j for j in outcome.jobs}
    assert jobs[second.pk].state == State.WAITING and jobs[second.pk].after_id == jobs[first.pk].pk
    # It holds no slot and gets no start message until the previous panel is done.
    assert jobs[second.pk].pk not in [step.job_id for step in driver.queue]
    driver.run()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.selected_take is not None and second.selected_take is not None
    assert previous_reference(second.selected_take) == first.selected_take_id
    assert "Continues directly from the previous panel" in second.selected_take.prompt


def test_regenerating_a_board_chains_to_the_previous_panels_new_take(team, driver):
    board = continuing_board(team.project)
    jobs_request(panels=panels_of(board), user=team.editor)
    driver.run()
    first, second, _ = panels_of(board)
    old_first = first.selected_take_id

    outcome = jobs_request(panels=[first, second], user=team.editor, variation=True)
    driver.run()

    jobs = {j.panel_id: GenerationJob.objects.get(pk=j.pk) for j in outcome.jobs}
    assert jobs[first.pk].take_id != old_first
    made = jobs[second.pk].take
    assert previous_reference(made) == jobs[first.pk].take_id


def test_failed_previous_panel_fails_the_chain_with_the_reason_and_sends_nothing(team, bfl, driver):
    bfl.config.moderate = "request"
    board = continuing_board(team.project, continuing=(1, 2))

    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    driver.run()

    first, second, third = (GenerationJob.objects.get(pk=j.pk) for j in outcome.jobs)
    assert first.state == State.FAILED and first.error_code == "moderated"
    assert second.state == State.FAILED and second.error_code == "previous_failed"
    assert "panel 1 failed" in second.error_message
    assert third.state == State.FAILED and "panel 2 failed" in third.error_message
    assert len(bfl.submissions()) == 1  # only the first was ever sent
    # The followers were never sent: they commit nothing against the cap.
    assert project_spend(team.project) == (first.cost or Decimal("0"))
    assert second.cost is None and third.cost is None


def test_cancelling_the_previous_panel_fails_the_waiting_one(team, driver):
    board = continuing_board(team.project)
    outcome = jobs_request(panels=panels_of(board)[:2], user=team.editor)
    first, second = outcome.jobs

    job_cancel(job=first)

    second.refresh_from_db()
    assert second.state == State.FAILED and "panel 1 was cancelled" in second.error_message


def test_continuing_panel_is_priced_with_its_previous_frame_and_capped_up_front(team, bfl, driver):
    board = continuing_board(team.project, panels=2)
    outcome = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl")
    first, second = outcome.jobs
    # Committed while it waits: the cap sees the whole request at once.
    assert project_spend(team.project) == first.estimated_cost + second.estimated_cost
    driver.run()
    second.refresh_from_db()
    assert second.state == State.SUCCEEDED and len(bfl.submissions()) == 2
    # Priced with the previous frame it was sent with: the estimate was the bill.
    assert previous_reference(second.take) is not None
    assert second.cost == second.estimated_cost

    # A cap with room for the first panel only refuses the continuing one at once.
    team.project.spending_cap = project_spend(team.project) + first.estimated_cost
    team.project.save()
    again = jobs_request(panels=panels_of(board), user=team.editor, backend="bfl", variation=True)
    assert [j.panel_id for j in again.jobs] == [first.panel_id]
    assert [p.pk for p in again.refused] == [second.panel_id]


def test_sweeper_leaves_a_waiting_job_alone_and_releases_it_when_its_predecessor_ended(
    team, driver, monkeypatch
):
    board = continuing_board(team.project, panels=2)
    _, second = jobs_request(panels=panels_of(board), user=team.editor).jobs

    steps = pipeline.jobs_sweep(now=timezone.now() + timedelta(hours=1))
    second.refresh_from_db()
    assert second.state == State.WAITING  # not taken for a lost job, not started
    assert second.pk not in [s.job_id for s in steps]

    # The first finishes, but its worker dies before releasing the second.
    with monkeypatch.context() as lost:
        lost.setattr(chains, "chain_release", lambda job_id: None)
        driver.run()
    second.refresh_from_db()
    assert second.state == State.WAITING

    pipeline.jobs_sweep()
    driver.run()
    second.refresh_from_db()
    assert second.state == State.SUCCEEDED


def test_sweeper_fails_a_waiting_job_whose_predecessor_needs_review(team, driver):
    board = continuing_board(team.project, panels=2)
    first, second = jobs_request(panels=panels_of(board), user=team.editor).jobs
    # The predecessor ended without telling (no release ran).
    GenerationJob.objects.filter(pk=first.pk).update(state=State.NEEDS_REVIEW)

    pipeline.jobs_sweep()

    second.refresh_from_db()
    assert second.state == State.FAILED and "panel 1 needs review" in second.error_message


def test_board_shows_the_chained_panel_waiting_for_the_previous_one(team, editor_client, driver):
    board = continuing_board(team.project, panels=2)
    jobs_request(panels=panels_of(board), user=team.editor)

    page = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()

    assert "Waiting for shot 1" in page


def generated_pair(team, driver):
    """Two panels, the second continuing the first, both generated; and the board's URL."""
    board = continuing_board(team.project, panels=2)
    jobs_request(panels=panels_of(board), user=team.editor)
    driver.run()
    first, second = panels_of(board)
    return first, second, reverse("board_detail", args=[board.pk])


def test_new_selected_take_on_previous_panel_marks_the_continuing_one_with_a_regenerate(
    team, editor_client, driver
):
    first, second, url = generated_pair(team, driver)
    assert "Previous panel changed" not in editor_client.get(url).content.decode()

    take_upload(panel=first, file=io.BytesIO(png((20, 20, 200))), name="new.png")

    page = editor_client.get(url).content.decode()
    assert "Previous panel changed" in page
    assert 'name="continuity" value="1"' in page
    # One click: the continuing panel is drawn again from the new take, which replaces its own.
    editor_client.post(reverse("panel_generate", args=[second.pk]), {"continuity": "1"})
    driver.run()
    first.refresh_from_db()
    second.refresh_from_db()
    assert previous_reference(second.selected_take) == first.selected_take_id
    assert "Previous panel changed" not in editor_client.get(url).content.decode()


def test_selecting_back_the_take_a_panel_was_drawn_from_clears_the_mark(
    team, editor_client, driver
):
    first, _, url = generated_pair(team, driver)
    original = first.selected_take
    take_upload(panel=first, file=io.BytesIO(png((20, 20, 200))), name="new.png")
    assert "Previous panel changed" in editor_client.get(url).content.decode()

    take_select(panel=first, take=original)

    assert "Previous panel changed" not in editor_client.get(url).content.decode()
