"""Worker CPU seconds per 1024x1024 panel, against the floor of handling its image.

Run from the repository root: `.venv/bin/python bench/bench_overhead.py`
(`--embedded` forces SQLite + the filesystem queue, `--panels N`,
`--rounds R`). The fake provider answers at once (latency 0) with 1024x1024
JPEGs (a square board), so nearly all the worker's time is our own overhead:
Celery, the database, compiling and sending the request, polling,
downloading, storing.

The worker's CPU time is read from /proc/<pid>/stat (user + system) of the
worker process and its pool children, before and after the panels. The floor
is measured in this process with plain Pillow on images of the same size and
format: decode, thumbnail, and write the image and its thumbnail to storage.
This machine's speed drifts by a third from minute to minute (it is shared),
so the floor is interleaved with the boards: `--floor-passes` passes just
before each board (on the previous board's images) and as many just after it
(on its own), and a round's floor is the median of those passes. Printed: each
round's ratio and the min, median and max over `--rounds` rounds. Target: the
worker within 1.5x the floor in every round.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # sibling module; it also puts the repository on the path

from tests.fakes.bfl_server import FakeConfig, render_sample

TARGET = 1.5


def request_square_board(project, user, panels: int) -> list[int]:
    """Queue a 1:1 board of `panels` panels; return the job ids."""
    from boards.models import Board
    from tests.generation import make_board
    from workers.services import jobs_request

    board = make_board(project, panels=panels, cast_per_panel=2)
    Board.objects.filter(pk=board.pk).update(aspect=Board.Aspect.SQUARE)
    outcome = jobs_request(panels=_common.board_panels(board), user=user, backend="bfl")
    return [job.pk for job in outcome.jobs]


def wait_idle(pids: list[int], quiet_s: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until the worker stops using CPU (follow-up tasks after the last take)."""
    deadline = time.monotonic() + timeout
    last = _common.cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = _common.cpu_seconds(pids)
        if now - last < 0.02:
            return
        last = now


def sample_images(bodies: list[dict]) -> list[bytes]:
    """The images the fake sent for these submissions (same size, same format, same bytes)."""
    return [
        render_sample(b, b["width"], b["height"], b.get("output_format") or "jpeg") for b in bodies
    ]


def floor_pass(images: list[bytes], project_id: int) -> float:
    """CPU seconds for plain Pillow to decode, thumbnail and store each image, in this process.

    The work is what any studio must do with a result, written without our code.
    """
    import io
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    from studio.images import THUMBNAIL_SIDE

    start = time.process_time()
    for data in images:
        img = Image.open(io.BytesIO(data))
        img.load()
        thumb = img.copy()
        thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        out = io.BytesIO()
        thumb.convert("RGB").save(out, "JPEG", quality=85)
        folder = f"projects/{project_id}/floor/{uuid.uuid4().hex}"
        default_storage.save(f"{folder}.jpg", ContentFile(data))
        default_storage.save(f"{folder}-thumb.jpg", ContentFile(out.getvalue()))
    return time.process_time() - start


def measure_round(
    setup, worker, user, panels: int, n: int, floor_passes: int, images: list[bytes]
) -> dict:
    """One board through the worker, with floor passes on its images before and after it.

    The floor passes run on the previous round's images before the board (the
    same sizes and format) and on this round's after it, so the floor sees the
    machine as the board did; its figure is the median of the passes.
    """
    from workers.models import GenerationJob

    pids = worker.pids()
    project, _ = _common.make_team(f"Overhead {n}")
    floor = [floor_pass(images, project.pk) for _ in range(floor_passes)]
    setup.fake.reset()
    before = _common.cpu_seconds(pids)
    main_before = _common.cpu_seconds(pids[:1])
    mark = len(worker.log())
    started = time.monotonic()
    job_ids = request_square_board(project, user, panels)
    states = _common.wait_jobs(job_ids, timeout=120)
    wall = time.monotonic() - started
    wait_idle(pids)
    main_cpu = _common.cpu_seconds(pids[:1]) - main_before
    worker_cpu = _common.cpu_seconds(pids) - before
    bodies = [s.body for s in setup.fake.submissions() if s.body]
    images = sample_images(bodies)
    floor += [floor_pass(images, project.pk) for _ in range(floor_passes)]
    done = [line for line in worker.log()[mark:].splitlines() if "succeeded in" in line]
    return {
        "panels": len(job_ids),
        "succeeded": sum(1 for s in states.values() if s == GenerationJob.State.SUCCEEDED),
        "sizes": sorted({(b["width"], b["height"]) for b in bodies}),
        "wall": wall,
        "per_panel": worker_cpu / len(job_ids),
        "main_per_panel": main_cpu / len(job_ids),
        "floor_per_panel": statistics.median(floor) / max(1, len(images)),
        "floor_spread": (min(floor) / len(images), max(floor) / len(images)),
        "images": images,
        "tasks": {
            name: sum(f"{name}[" in line for line in done)
            for name in ("start_job", "poll_job", "download_job")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite + filesystem queue")
    parser.add_argument("--panels", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--floor-passes", type=int, default=3, help="floor passes before and after each board"
    )
    args = parser.parse_args()

    setup = _common.prepare(FakeConfig(latency_s=0.0, record_images=False), embedded=args.embedded)
    from tests.workers_harness import kill_worker, start_worker_process

    worker = None
    try:
        worker = start_worker_process(
            setup.worker_env, setup.tmp / "worker.log", name="overhead", concurrency=None
        )
        warm_project, user = _common.make_team("Warm-up")
        setup.fake.reset()
        _common.wait_jobs(request_square_board(warm_project, user, 4), timeout=60)
        wait_idle(worker.pids())
        warm_bodies = [s.body for s in setup.fake.submissions() if s.body]
        # The first round's "before" passes: the warm-up's images, as many as a board's.
        images = sample_images(warm_bodies * (args.panels // max(1, len(warm_bodies))))
        rounds = []
        for n in range(1, args.rounds + 1):
            rounds.append(
                measure_round(setup, worker, user, args.panels, n, args.floor_passes, images)
            )
            images = rounds[-1]["images"]
        processes = len(worker.pids()) - 1
    finally:
        if worker is not None:
            kill_worker(worker)
        _common.teardown(setup)

    print(f"setup: {setup.describe()}")
    print(f"worker: 1 celery worker, prefork concurrency {processes}")
    print(f"{args.rounds} rounds of {args.panels} panels, each followed by its floor")
    for n, r in enumerate(rounds, 1):
        tasks = ", ".join(f"{name} {count}" for name, count in r["tasks"].items())
        print(
            f"round {n}: panels {r['panels']} (succeeded {r['succeeded']}), sizes {r['sizes']}, "
            f"wall {r['wall']:.2f} s; tasks {tasks}"
        )
        print(
            f"  worker CPU per panel {r['per_panel'] * 1000:6.1f} ms "
            f"(main process {r['main_per_panel'] * 1000:.1f} ms), "
            f"floor {r['floor_per_panel'] * 1000:5.1f} ms "
            f"(passes {r['floor_spread'][0] * 1000:.1f}-{r['floor_spread'][1] * 1000:.1f}), "
            f"ratio {r['per_panel'] / r['floor_per_panel']:.2f}"
        )
    ratios = sorted(r["per_panel"] / r["floor_per_panel"] for r in rounds)
    per_panel = statistics.median(r["per_panel"] for r in rounds)
    floor = statistics.median(r["floor_per_panel"] for r in rounds)
    print(f"worker CPU per panel   {per_panel * 1000:7.1f} ms  (median of rounds)")
    print(f"floor per panel        {floor * 1000:7.1f} ms  (Pillow decode + thumbnail + store)")
    print(
        f"ratio worker/floor     min {ratios[0]:.2f}, median {statistics.median(ratios):.2f}, "
        f"max {ratios[-1]:.2f} over {len(ratios)} rounds (target {TARGET} or less in every round)"
    )
    print(f"worker log: {setup.tmp / 'worker.log'}")


if __name__ == "__main__":
    main()
