"""Board page server time with 200 panels and 1,000 comments, against the same board without.

    .venv/bin/python bench/bench_review_board.py [--panels 200] [--comments 1000] [--requests 20]

Two boards of the same project, built alike (cast, location, selected take
per panel); one also carries the comments, spread over its panels and
threads (a quarter of them replies, a third resolved, a few on the board
itself), approvals on a third of its panels and a guest link. Runs
in-process through Django's test client on a scratch database (SQLite under
a temp folder, or the PostgreSQL of DATABASE_URL, in a test database of its
own), so it measures the view, its queries and the template: not the
network. Prints medians, the ratio (target: at most 1.3x) and query counts.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _pages import scratch_database, timed_gets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panels", type=int, default=200)
    parser.add_argument("--comments", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    with scratch_database():
        run(args.panels, args.comments, args.requests)


def build_board(project, name: str, n_panels: int):
    """A board of n panels as the board page test builds them (cast, location, selected take)."""
    from boards.models import Board
    from tests.test_board_pages import fill_board

    board = Board.objects.create(project=project, name=name)
    fill_board(board, n_panels)
    return board, list(board.panels.select_related("selected_take").order_by("position"))


def add_review(board, panels, n_comments: int, users) -> None:
    """Comments, replies, resolved threads, approvals and a guest link, in bulk."""
    from django.utils import timezone

    from reviews.models import BoardReview, Comment, PanelReview
    from reviews.services import link_create

    roots = Comment.objects.bulk_create(
        Comment(
            board=board,
            panel=None if i % 50 == 0 else panels[i % len(panels)],
            author=users[i % len(users)],
            take_id=panels[i % len(panels)].selected_take_id if i % 50 else None,
            body=f"Note {i}: @{users[(i + 1) % len(users)].username} see https://example.com/{i}",
            resolved=timezone.now() if i % 3 == 0 else None,
        )
        for i in range(n_comments * 3 // 4)
    )
    Comment.objects.bulk_create(
        Comment(
            board=board,
            panel=roots[i].panel,
            parent=roots[i],
            author=users[(i + 2) % len(users)],
            body=f"Reply {i}",
        )
        for i in range(n_comments - len(roots))
    )
    PanelReview.objects.bulk_create(
        PanelReview(panel=p, board=board, status="approved" if i % 2 else "changes")
        for i, p in enumerate(panels[::3])
    )
    BoardReview.objects.create(board=board, version=len(roots))
    link_create(board=board, user=users[0], allow_comments=True)


def run(n_panels: int, n_comments: int, n_requests: int) -> None:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tests.factories import MembershipFactory, UserFactory

    owner = UserFactory(username="bench")
    project = MembershipFactory(user=owner, role="owner").project
    users = [owner] + [
        MembershipFactory(project=project, user=UserFactory(username=f"member{i}")).user
        for i in range(4)
    ]
    quiet, _ = build_board(project, "Without comments", n_panels)
    busy, panels = build_board(project, "With comments", n_panels)
    add_review(busy, panels, n_comments, users)

    client = Client()
    client.force_login(owner)

    def median_ms(url: str) -> tuple[float, float]:
        """Median wall and CPU milliseconds (CPU time is steadier on a busy machine)."""
        wall, cpu = timed_gets(client, url, n_requests)
        return statistics.median(wall), statistics.median(cpu)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        return len(ctx.captured_queries)

    # Interleaved halves, so a noisy neighbour slows both sides alike.
    urls = {b.name: reverse("board_detail", args=[b.pk]) for b in (quiet, busy)}
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in urls}
    for _ in range(2):
        for name, url in urls.items():
            times[name].append(median_ms(url))
    (q_wall, q_cpu), (b_wall, b_cpu) = (
        tuple(statistics.mean(x) for x in zip(*times[name], strict=True)) for name in urls
    )
    live = reverse("board_review_live", args=[busy.pk])
    print(
        f"database: {connection.vendor}; panels: {n_panels}; comments: {n_comments}; "
        f"requests per page: {2 * n_requests}"
    )
    print(
        f"board without comments, median: {q_wall:.1f} ms wall, {q_cpu:.1f} ms CPU, "
        f"{queries(urls[quiet.name])} queries"
    )
    print(
        f"board with {n_comments} comments, median: {b_wall:.1f} ms wall, {b_cpu:.1f} ms CPU, "
        f"{queries(urls[busy.name])} queries"
    )
    print(
        f"ratio with / without comments: {b_wall / q_wall:.2f}x wall, {b_cpu / q_cpu:.2f}x CPU "
        "(target: at most 1.3x)"
    )
    from reviews.selectors import board_version

    version = board_version(busy.pk)
    idle_ms = statistics.median(
        _timed(lambda: client.get(live, {"v": version})) for _ in range(n_requests)
    )
    with CaptureQueriesContext(connection) as ctx:
        client.get(live, {"v": version})
    print(f"live poll with nothing new: {idle_ms:.1f} ms wall, {len(ctx.captured_queries)} queries")


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


if __name__ == "__main__":
    main()
