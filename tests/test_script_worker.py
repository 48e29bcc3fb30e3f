"""A real worker saves a confirmed import while another process (the page) watches the row."""

from __future__ import annotations

import pytest

from boards.models import Board, ScriptImport
from tests import workers_harness
from tests.test_script_runs import queue, scenes
from tests.workers_harness import wait_for

# The harness fixtures, made visible to pytest in this module.
harness = workers_harness.harness
fake_provider = workers_harness.fake_provider

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_page_sees_progress_and_then_every_board_at_once(team, harness):
    harness.start_worker()
    count = 1500
    job = queue(team.project, scenes(count))  # committed: the worker is told at once
    seen: list[tuple[int, str, int]] = []

    def settled() -> bool:
        # Boards first: the import commits its boards, then marks itself done.
        boards = Board.objects.filter(project=team.project).count()
        state, progress = ScriptImport.objects.values_list("state", "progress").get(pk=job.pk)
        seen.append((boards, state, progress))
        return state in ("done", "failed")

    wait_for(settled, timeout=90, interval=0.02, what="the import", describe=harness.logs)
    job.refresh_from_db()
    assert job.state == "done", (job.error, harness.logs())
    running = [p for _, state, p in seen if state == "running"]
    # This process saw the percentage move while the worker was still reading and matching.
    assert len({p for p in running if 0 < p < 100}) >= 2, seen[:: max(1, len(seen) // 40)]
    assert running == sorted(running)
    # Never part of the boards: none until the one transaction commits, then all of them.
    assert {boards for boards, _, _ in seen} <= {0, count}
    assert Board.objects.filter(project=team.project).count() == count
