"""Faults of the machine under real Celery workers: a database restart, a warm
shutdown mid-poll, a media folder that cannot take the result.

Every test counts what the fake provider was asked to make, because the
promise that matters is money: whatever breaks, no job is paid for twice, and
a job that cannot finish says why instead of vanishing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.db import connection

from boards.models import Panel, Take
from tests import workers_harness
from tests.generation import make_board
from tests.workers_harness import settle_through_faults, wait_for
from workers.models import GenerationJob
from workers.services import jobs_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
harness = workers_harness.harness
fake_provider = workers_harness.fake_provider
State = GenerationJob.State


def request_board(team, board) -> list[int]:
    panels = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    return [job.pk for job in jobs_request(panels=panels, user=team.editor, backend="bfl").jobs]


def submissions_per_panel(fake, board) -> dict[int, int]:
    """How many submits the provider received for each panel (prompts name the action)."""
    counts = {}
    for panel in Panel.objects.filter(board=board):
        pattern = re.compile(rf"\b{re.escape(panel.action)}\b")
        counts[panel.pk] = sum(1 for s in fake.submissions() if pattern.search(s.body["prompt"]))
    return counts


def polling_task_id(job_id: int) -> str | None:
    return (
        GenerationJob.objects.filter(pk=job_id, state=State.POLLING)
        .exclude(provider_task_id="")
        .values_list("provider_task_id", flat=True)
        .first()
    )


# --- the database restarts ------------------------------------------------------


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip(
            "restarts this machine's PostgreSQL server: runs only with DATABASE_URL "
            "pointing at it (SQLite has no server to restart)"
        )
    if os.geteuid() != 0:
        pytest.skip("restarting PostgreSQL with pg_ctlcluster needs root")
    try:
        yield
    finally:
        workers_harness.ensure_postgres_running()


def test_database_restart_mid_board_loses_no_job_and_pays_none_twice(
    team, harness, postgres_only, capsys
):
    harness.fake.config.latency_s = 2.0
    board = make_board(team.project, panels=8, cast_per_panel=1)
    harness.start_worker(concurrency=2)
    harness.start_worker(concurrency=2)
    job_ids = request_board(team, board)
    assert len(job_ids) == 8
    # Restart while some jobs are with the provider and others still queued.
    wait_for(
        lambda: GenerationJob.objects.filter(pk__in=job_ids, state=State.POLLING).count() >= 2,
        20,
        interval=0.02,
        what="jobs to be polling",
        describe=harness.logs,
    )
    away = workers_harness.restart_postgres()

    states = settle_through_faults(harness, job_ids, timeout=75)

    jobs = {j.pk: j for j in GenerationJob.objects.filter(pk__in=job_ids)}
    review = [j for j in jobs.values() if j.state == State.NEEDS_REVIEW]
    sent = submissions_per_panel(harness.fake, board)
    with capsys.disabled():
        # "submitted" tells a truly unknown outcome from one that was never sent.
        detail = [(j.pk, j.error_code, f"submitted={sent[j.panel_id]}") for j in review]
        print(
            f"\n[database restart: away {away:.1f} s; {len(jobs) - len(review)} succeeded, "
            f"{len(review)} need review: {detail}]"
        )
    assert set(states.values()) <= {State.SUCCEEDED, State.NEEDS_REVIEW}, states
    assert max(sent.values()) == 1, sent  # nobody paid twice
    for job in jobs.values():
        if job.state == State.SUCCEEDED:
            assert sent[job.panel_id] == 1
            assert Take.objects.filter(panel_id=job.panel_id).count() == 1
        else:  # the submit's outcome was truly unknown: a person decides
            assert job.error_code == "outcome_unknown"
            assert not Take.objects.filter(panel_id=job.panel_id).exists()
    assert len(harness.fake.task_ids) == sum(sent.values())


# --- a worker is stopped while it polls ------------------------------------------------


def test_worker_stopped_mid_poll_hands_the_job_over_with_one_submission(team, harness):
    harness.fake.config.latency_s = 3.0
    first = harness.start_worker()
    board = make_board(team.project, panels=1, cast_per_panel=1)
    (job_id,) = request_board(team, board)
    task_id = wait_for(lambda: polling_task_id(job_id), 15, interval=0.02, what="polling")
    polls_before = len(harness.fake.polls())

    code = workers_harness.warm_stop(first)
    assert code == 0, f"no clean warm shutdown (exit {code}):\n{first.log()[-3000:]}"
    assert "Warm shutdown" in first.log()
    harness.start_worker()
    try:  # Redis gives the held poll back at once; a filesystem queue may have lost it
        wait_for(lambda: len(harness.fake.polls()) > polls_before, 4, what="a poll")
    except AssertionError:
        harness.sweep_after_lease([job_id])

    assert harness.wait_settled([job_id], timeout=30) == {job_id: State.SUCCEEDED}
    job = GenerationJob.objects.get(pk=job_id)
    assert job.provider_task_id == task_id
    assert len(harness.fake.submissions()) == 1
    assert Take.objects.filter(panel__board=board).count() == 1
    assert len(harness.fake.polls()) > polls_before


# --- the media folder cannot take the result -----------------------------------------


def stored_files(folder: Path, *, ignore: tuple[str, ...] = ()) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ignore
    )


def assert_storage_failure(harness, board, job_id: int) -> GenerationJob:
    assert harness.wait_settled([job_id], timeout=30) == {job_id: State.FAILED}
    job = GenerationJob.objects.get(pk=job_id)
    assert job.error_code == "storage"
    assert "media folder" in job.error_message
    assert not Take.objects.filter(panel__board=board).exists()
    assert Panel.objects.get(board=board).selected_take_id is None
    assert len(harness.fake.submissions()) == 1  # not paid again for a local failure
    return job


def test_full_disk_while_storing_fails_with_a_storage_reason_and_leaves_no_file(
    team, harness, settings
):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    takes = Path(settings.MEDIA_ROOT) / "projects" / str(team.project.pk) / "takes"
    with workers_harness.tmpfs_mounted(takes, size="64k") as mounted:
        if not mounted:
            pytest.skip("mounting a tmpfs is not permitted here (needs root / CAP_SYS_ADMIN)")
        # Leave a few kilobytes: the image starts to be written, then the disk is full.
        workers_harness.fill_disk(takes, leave=8 * 1024)
        harness.start_worker()
        (job_id,) = request_board(team, board)
        job = assert_storage_failure(harness, board, job_id)
        assert "No space left" in job.error_message or "disk full" in job.error_message
        stray = stored_files(takes, ignore=("filler.bin",))
        # Django's FileSystemStorage leaves a partly written file behind on ENOSPC;
        # studio.storage must remove it (only the names it returned are cleaned up).
        assert stray == [], f"half-written files left in the media folder: {stray}"


def test_media_folder_not_a_directory_fails_with_a_storage_reason(team, harness, settings):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    project_media = Path(settings.MEDIA_ROOT) / "projects" / str(team.project.pk)
    # As root chmod stops nothing: a regular file where the folder should be stops everyone.
    (project_media / "takes").write_bytes(b"not a folder")
    harness.start_worker()
    (job_id,) = request_board(team, board)

    assert_storage_failure(harness, board, job_id)
    assert (project_media / "takes").read_bytes() == b"not a folder"
    references = stored_files(project_media / "references")
    assert references and all("takes" not in name for name in references)
