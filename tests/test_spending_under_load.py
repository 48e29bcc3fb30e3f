"""A project's spending cap holds when many generation requests arrive at once.

Fifty threads, each on its own database connection, ask for fifty different
panels of one project whose cap leaves room for ten. On PostgreSQL the
requests really overlap, so only the row lock `jobs_request` takes on the
project keeps two of them from both seeing the same room under the cap; on
SQLite the write lock serialises them anyway. The jobs then run against the
fake provider, which counts what it was asked to make (and so what would be
billed).
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connections

from boards.models import Panel
from tests.fakes.bfl_server import FakeBFL, FakeConfig
from tests.generation import make_board, use_fake_bfl
from workers import registry
from workers.compiler import compile_panel
from workers.models import GenerationJob
from workers.selectors import panel_spec
from workers.services import jobs_request

pytestmark = pytest.mark.django_db(transaction=True)

REQUESTS = 50
AFFORDABLE = 10


@pytest.fixture
def fake(settings):
    with FakeBFL(FakeConfig(latency_s=0.05)) as server:
        use_fake_bfl(settings, server)
        yield server


def estimate(panel: Panel) -> Decimal:
    """What `jobs_request` will reserve for this panel, computed the way it does."""
    caps = registry.capabilities("bfl", "flux-2-pro")
    compiled = compile_panel(panel_spec(panel), caps, backend="bfl", model="flux-2-pro")
    return Decimal(str(registry.estimate_cost("bfl", compiled))).quantize(Decimal("0.01"))


def request_all_at_once(panel_ids: list[int], user) -> tuple[Counter, list[BaseException]]:
    """One thread per panel, released together; returns outcome counts and any errors."""
    counts: Counter = Counter()
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(panel_ids))

    def ask(panel_id: int) -> None:
        try:
            panel = Panel.objects.select_related("board__project").get(pk=panel_id)
            start.wait(timeout=30)
            outcome = jobs_request(panels=[panel], user=user, backend="bfl")
            with lock:
                counts["jobs"] += len(outcome.jobs)
                counts["refused"] += len(outcome.refused)
                counts["busy"] += len(outcome.busy)
        except BaseException as exc:  # reported by the test, not lost in the thread
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()  # this thread's own connection

    threads = [threading.Thread(target=ask, args=(pk,)) for pk in panel_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(t.is_alive() for t in threads), "a request thread hung"
    return counts, errors


def test_fifty_concurrent_requests_queue_and_submit_only_what_the_cap_allows(team, fake, driver):
    board = make_board(team.project, panels=REQUESTS, cast_per_panel=1)
    panels = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    price = estimate(panels[0])
    assert price > 0
    assert {estimate(p) for p in panels[:3]} == {price}  # panels differ only in their action
    # Room for ten and half of an eleventh: the eleventh request must be refused.
    team.project.spending_cap = price * AFFORDABLE + price / 2
    team.project.save(update_fields=["spending_cap"])

    counts, errors = request_all_at_once([p.pk for p in panels], team.editor)

    assert errors == []
    assert (counts["jobs"], counts["refused"], counts["busy"]) == (
        AFFORDABLE,
        REQUESTS - AFFORDABLE,
        0,
    ), f"outcomes: {dict(counts)}"
    jobs = GenerationJob.objects.filter(project=team.project)
    assert jobs.count() == AFFORDABLE
    assert len(set(jobs.values_list("panel_id", flat=True))) == AFFORDABLE

    driver.run(timeout=60)
    assert set(jobs.values_list("state", flat=True)) == {GenerationJob.State.SUCCEEDED}
    assert len(fake.submissions()) == AFFORDABLE
    assert len(fake.task_ids) == AFFORDABLE
