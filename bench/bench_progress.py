"""Server time of the board progress poll (every 2 s while a board generates), 200 panels.

    .venv/bin/python bench/bench_progress.py [--panels 200] [--requests 50]

Runs in-process through Django's test client on a scratch database (SQLite
under a temp folder, or the PostgreSQL of DATABASE_URL, in a test database of
its own), so it measures the view, its queries and the template: not the
network. Three boards of the same size: 24 panels under way (the provider's
usual cap), every panel under way (the heaviest answer) and nothing under way.
Each is polled twice: with the version the board page shows (nothing moved:
the usual 2 s poll, an empty 204) and without one (every card under way sent,
as after a change the server no longer remembers).
Prints min / median / max per URL, the ratio of medians to the anonymous
log-in page measured in the same run, and the query count of each poll.
"""

from __future__ import annotations

import argparse
import re
import statistics

from _pages import scratch_database, timed_gets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=200)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()
    with scratch_database():
        run(args.panels, args.requests)


def make_board(project, n_panels: int, n_active: int):
    """A board of panels with cast, location and a selected take; `n_active` generating."""
    from tests.factories import BoardFactory
    from tests.test_board_pages import fill_board
    from workers.models import GenerationJob

    board = BoardFactory(project=project)
    fill_board(board, n_panels)
    panels = list(board.panels.select_related("selected_take").order_by("position"))
    GenerationJob.objects.bulk_create(
        GenerationJob(
            project=project,
            panel=p,
            backend="sketch",
            state="polling" if i < n_active else "succeeded",
            take=None if i < n_active else p.selected_take,
            progress=0.4,
        )
        for i, p in enumerate(panels)
    )
    return board


def run(n_panels: int, n_requests: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.factories import MembershipFactory, UserFactory

    user = UserFactory(username="bench")
    project = MembershipFactory(user=user, role="editor").project
    boards = {
        f"poll, {n_panels} panels, 24 under way": make_board(project, n_panels, 24),
        f"poll, {n_panels} panels, all under way": make_board(project, n_panels, n_panels),
        f"poll, {n_panels} panels, none under way": make_board(project, n_panels, 0),
    }
    client = Client()
    client.force_login(user)

    cpu: dict[str, float] = {}

    def timings(url: str, c: Client, status: int = 200) -> list[float]:
        """Wall milliseconds of each request; the median CPU time goes in `cpu`."""
        found, used = timed_gets(c, url, n_requests, status)
        cpu[url] = statistics.median(used)
        return found

    print(f"database: {connection.vendor}; requests per URL: {n_requests}")
    print(f"{'URL':<52} {'min':>7} {'median':>7} {'max':>7}  ratio  queries  CPU ms")
    baseline = timings(reverse("login"), Client())
    base = statistics.median(baseline)
    rows = [("log-in page (baseline)", baseline, 0, cpu[reverse("login")])]
    for label, board in boards.items():
        url = reverse("board_progress", args=[board.pk])
        page = client.get(reverse("board_detail", args=[board.pk])).content.decode()
        # The URL the page polls, with the version it shows (none: nothing under way).
        shown = re.search(r'id="board-progress"[^>]* hx-get="([^"]+)"', page)
        for kind, polled, status in (
            ("unchanged", shown[1].replace("&amp;", "&") if shown else "", 204),
            ("first", url, 200),
        ):
            if not polled:
                continue
            times = timings(polled, client, status)
            with CaptureQueriesContext(connection) as queries:
                client.get(polled)
            rows.append((f"{label}, {kind}", times, len(queries), cpu[polled]))
    for label, times, n_queries, cpu_ms in rows:
        median = statistics.median(times)
        print(
            f"{label:<52} {min(times):7.2f} {median:7.2f} {max(times):7.2f}"
            f"  {median / base:5.2f}x  {n_queries:7d}  {cpu_ms:6.2f}"
        )


if __name__ == "__main__":
    main()
