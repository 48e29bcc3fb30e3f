"""Board page server time with 200 panels, against a minimal page measured in the same run.

    .venv/bin/python bench/bench_board_page.py [--panels 200] [--requests 20]

Runs in-process through Django's test client on a scratch database (SQLite
under a temp folder, or the PostgreSQL of DATABASE_URL, in a test database of
its own), so it measures the view, its queries and the template: not the
network. Prints medians, the ratio to the minimal page, and the query count,
for the page as usually served (every card from the card cache) and for a
first visit (the card cache emptied before each request).
"""

from __future__ import annotations

import argparse
import statistics

from _pages import scratch_database, timed_gets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=200)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    with scratch_database() as connection:
        from django.test.utils import CaptureQueriesContext

        run(args.panels, args.requests, connection, CaptureQueriesContext)


def run(n_panels: int, n_requests: int, connection, CaptureQueriesContext) -> None:
    from django.test import Client
    from django.urls import reverse

    from tests.factories import (
        BoardFactory,
        CastMemberFactory,
        CharacterFactory,
        LocationFactory,
        MembershipFactory,
        PanelFactory,
        TakeFactory,
        UserFactory,
    )

    user = UserFactory(username="bench")
    membership = MembershipFactory(user=user, role="owner")
    project = membership.project
    characters = [CharacterFactory(project=project) for _ in range(4)]
    location = LocationFactory(project=project)
    board = BoardFactory(project=project)
    for i in range(n_panels):
        panel = PanelFactory(board=board, position=i, location=location, dialogue="Hello there.")
        CastMemberFactory(panel=panel, character=characters[i % 4])
        CastMemberFactory(panel=panel, character=characters[(i + 1) % 4])
        take = TakeFactory(panel=panel)
        panel.selected_take = take
        panel.save(update_fields=["selected_take"])

    client = Client()
    client.force_login(user)
    board_url = reverse("board_detail", args=[board.pk])
    minimal_url = reverse("login")  # a small template and no queries of our own

    from django.core.cache import caches

    def median_ms(url: str, logged_in: bool = True, cold: bool = False) -> tuple[float, float]:
        """Median wall and CPU milliseconds (CPU time is steadier on a busy machine)."""
        c = client if logged_in else Client()
        wall, cpu = timed_gets(c, url, n_requests, before=caches["cards"].clear if cold else None)
        return statistics.median(wall), statistics.median(cpu)

    baseline, baseline_cpu = median_ms(minimal_url, logged_in=False)
    board_ms, board_cpu = median_ms(board_url)
    with CaptureQueriesContext(connection) as queries:
        client.get(board_url)
    cold_ms, cold_cpu = median_ms(board_url, cold=True)
    caches["cards"].clear()
    with CaptureQueriesContext(connection) as cold_queries:
        client.get(board_url)
    vendor = connection.vendor
    print(f"database: {vendor}; panels: {n_panels}; requests per page: {n_requests}")
    print(f"minimal page (login form), median: {baseline:.1f} ms wall, {baseline_cpu:.1f} ms CPU")
    print(f"board page, {n_panels} panels, median: {board_ms:.1f} ms wall, {board_cpu:.1f} ms CPU")
    print(
        f"ratio board / minimal: {board_ms / baseline:.1f}x wall, {board_cpu / baseline_cpu:.1f}x CPU"
    )
    print(f"board page queries: {len(queries)}")
    print(
        f"first visit (no card cached), median: {cold_ms:.1f} ms wall, {cold_cpu:.1f} ms CPU,"
        f" {len(cold_queries)} queries"
    )


if __name__ == "__main__":
    main()
