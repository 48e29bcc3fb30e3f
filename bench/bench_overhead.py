"""Worker CPU seconds per 1024x1024 panel, against the floor of handling its image.

Run from the repository root: `.venv/bin/python bench/bench_overhead.py`
(`--embedded` forces SQLite + the filesystem queue, `--panels N`). The fake
provider answers at once (latency 0) with 1024x1024 PNGs (a square board), so
nearly all the worker's time is our own overhead: Celery, the database,
compiling and sending the request, polling, downloading, storing.

The worker's CPU time is read from /proc/<pid>/stat (user + system) of the
worker process and its pool children, before and after the panels. The floor
is measured in this process on the same images with plain Pillow: decode,
thumbnail, and write the image and its thumbnail to storage. Target: the
worker within 2x the floor.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # sibling module; it also puts the repository on the path

from tests.fakes.bfl_server import FakeConfig, render_sample

TARGET = 2.0


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


def floor_seconds(bodies: list[dict], project_id: int) -> float:
    """CPU seconds for plain Pillow to decode, thumbnail and store each result, in this process.

    The images are the ones the provider sent (same size, same format); the
    work is what any studio must do with a result, written without our code.
    """
    import io
    import uuid

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from PIL import Image

    images = [
        render_sample(b, b["width"], b["height"], b.get("output_format") or "jpeg") for b in bodies
    ]
    passes = []
    for _ in range(3):  # the median of three passes steadies a small figure
        start = time.process_time()
        for data in images:
            img = Image.open(io.BytesIO(data))
            img.load()
            thumb = img.copy()
            thumb.thumbnail((480, 480))
            out = io.BytesIO()
            thumb.convert("RGB").save(out, "JPEG", quality=85)
            folder = f"projects/{project_id}/floor/{uuid.uuid4().hex}"
            default_storage.save(f"{folder}.jpg", ContentFile(data))
            default_storage.save(f"{folder}-thumb.jpg", ContentFile(out.getvalue()))
        passes.append(time.process_time() - start)
    return sorted(passes)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite + filesystem queue")
    parser.add_argument("--panels", type=int, default=40)
    args = parser.parse_args()

    setup = _common.prepare(FakeConfig(latency_s=0.0, record_images=False), embedded=args.embedded)
    from tests.workers_harness import kill_worker, start_worker_process
    from workers.models import GenerationJob

    worker = None
    try:
        worker = start_worker_process(
            setup.worker_env, setup.tmp / "worker.log", name="overhead", concurrency=None
        )
        pids = worker.pids()
        warm_project, user = _common.make_team("Warm-up")
        _common.wait_jobs(request_square_board(warm_project, user, 4), timeout=60)
        wait_idle(pids)

        project, _ = _common.make_team("Overhead")
        setup.fake.reset()
        before = _common.cpu_seconds(pids)
        main_before = _common.cpu_seconds(pids[:1])
        mark = len(worker.log())
        started = time.monotonic()
        job_ids = request_square_board(project, user, args.panels)
        states = _common.wait_jobs(job_ids, timeout=120)
        wall = time.monotonic() - started
        wait_idle(pids)
        main_cpu = _common.cpu_seconds(pids[:1]) - main_before
        worker_cpu = _common.cpu_seconds(pids) - before
        bodies = [s.body for s in setup.fake.submissions() if s.body]
        sizes = {(b["width"], b["height"]) for b in bodies}
        floor = floor_seconds(bodies, project.pk)
        log = worker.log()[mark:]
    finally:
        if worker is not None:
            kill_worker(worker)
        _common.teardown(setup)

    succeeded = sum(1 for s in states.values() if s == GenerationJob.State.SUCCEEDED)
    n = len(job_ids)
    per_panel = worker_cpu / n
    floor_per_panel = floor / max(1, len(bodies))
    print(f"setup: {setup.describe()}")
    print(f"worker: 1 celery worker, prefork concurrency {len(pids) - 1}; pids {pids}")
    print(f"panels {n} (succeeded {succeeded}), output sizes {sorted(sizes)}, wall {wall:.2f} s")
    done = [line for line in log.splitlines() if "succeeded in" in line]
    print(
        f"tasks run: start_job {sum('start_job[' in line for line in done)}, "
        f"poll_job {sum('poll_job[' in line for line in done)}"
    )
    print(
        f"worker CPU per panel   {per_panel * 1000:7.1f} ms  "
        f"(of which the main process {main_cpu / n * 1000:.1f} ms)"
    )
    print(
        f"floor per panel        {floor_per_panel * 1000:7.1f} ms  (Pillow decode + thumbnail + store)"
    )
    print(f"ratio worker/floor     {per_panel / floor_per_panel:7.2f}  (target {TARGET} or less)")
    print(f"worker log: {setup.tmp / 'worker.log'}")


if __name__ == "__main__":
    main()
