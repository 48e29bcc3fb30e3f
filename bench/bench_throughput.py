"""Makespan of a 96-panel board through the default worker setup, against the ideal.

Run from the repository root: `.venv/bin/python bench/bench_throughput.py`
(`--embedded` forces SQLite + the filesystem queue; `--backend fal` or
`replicate` or `comfyui` runs the same board through that backend and its
fake; `--panels N` makes the board shorter, e.g. for comfyui's one GPU). The fake
provider answers after 2 s and refuses more tasks in flight than the
backend's cap (24 for bfl, 8 for fal and replicate, 1 for comfyui); the studio's cap is the
same (BFL_MAX_ACTIVE, ...), so the ideal for bfl is ceil(96 / 24) x 2 s = 8 s. One
`celery worker` with the studio's default prefork concurrency (CELERY_WORKER_CONCURRENCY)
does the work, as `make run` or a plain production worker would.

Prints the ideal and achieved makespans (request to last take stored), their
ratio (target 0.85 or better), submissions, duplicates, lost panels, 429s,
and where the time went: the request itself, how late results were stored
after the provider had them, and how long a freed provider slot stayed empty.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common  # sibling module; it also puts the repository on the path

from tests.fakes.bfl_server import FakeConfig

PANELS = 96
LATENCY_S = 2.0
CAPS = {"bfl": 24, "fal": 8, "replicate": 8, "comfyui": 1}
TARGET = 0.85


def _fake(backend: str):
    """The fake for a hosted backend (started), or None for bfl (prepare builds it)."""
    if backend == "fal":
        from tests.fakes.fal_server import FakeFal, FalConfig

        return FakeFal(FalConfig(latency_s=LATENCY_S, cap=CAPS[backend], record_images=False))
    if backend == "replicate":
        from tests.fakes.replicate_server import FakeReplicate, ReplicateConfig

        config = ReplicateConfig(latency_s=LATENCY_S, cap=CAPS[backend], record_images=False)
        return FakeReplicate(config)
    if backend == "comfyui":
        from tests.fakes.comfyui_server import ComfyConfig, FakeComfyUI

        # One GPU: the fake runs prompts one after another, so no cap is needed.
        return FakeComfyUI(ComfyConfig(latency_s=LATENCY_S, record_images=False))
    return None


def _prompt(body) -> str | None:
    """The prompt of a recorded submission (Replicate nests it under `input`; a ComfyUI
    graph holds it in its castboard:prompt node)."""
    if not isinstance(body, dict):
        return None
    prompt = body.get("prompt") or (body.get("input") or {}).get("prompt")
    if isinstance(prompt, dict):
        nodes = [n for n in prompt.values() if n["_meta"]["title"] == "castboard:prompt"]
        prompt = nodes[0]["inputs"]["text"] if nodes else None
    return prompt


def run_board(setup, project, user, panels: int, backend: str = "bfl") -> dict:
    """Request a board of `panels` panels and wait for it; return timings and counts."""
    from boards.models import Panel, Take
    from tests.generation import make_board
    from workers.models import GenerationJob
    from workers.services import jobs_request

    board = make_board(project, panels=panels, cast_per_panel=2)
    chosen = _common.board_panels(board)
    setup.fake.reset()
    start = _common.now()
    outcome = jobs_request(panels=chosen, user=user, backend=backend)
    requested = _common.now()
    job_ids = [j.pk for j in outcome.jobs]
    states = _common.wait_jobs(job_ids, timeout=120)
    takes = list(Take.objects.filter(panel__board=board).values_list("prompt", "created"))
    last_stored = max(created.timestamp() for _, created in takes) if takes else start

    # Each panel's prompt is unique, so a submission finds its take by prompt.
    stored_at = {prompt: created.timestamp() for prompt, created in takes}
    accepted = [s for s in setup.fake.submissions() if _prompt(s.body) in stored_at]
    ready = sorted(s.time + LATENCY_S for s in accepted)
    submitted = sorted(s.time for s in setup.fake.submissions())
    lag_stored = [stored_at[_prompt(s.body)] - (s.time + LATENCY_S) for s in accepted]
    # The i-th submit reuses, at best, the slot of the (i - cap)-th task to finish.
    cap = CAPS[backend]
    refill = [submitted[i] - ready[i - cap] for i in range(cap, min(len(submitted), len(ready)))]
    return {
        "jobs": len(job_ids),
        "makespan": last_stored - start,
        "request_s": requested - start,
        "first_submit_s": (submitted[0] - start) if submitted else float("nan"),
        "posts": len(setup.fake.submissions()),
        "tasks": len(setup.fake.task_ids),
        "count_429": setup.fake.count_429,
        "max_in_flight": setup.fake.max_in_flight_seen,
        "succeeded": sum(1 for s in states.values() if s == GenerationJob.State.SUCCEEDED),
        "lost": Panel.objects.filter(board=board, selected_take__isnull=True).count(),
        "lag_stored": lag_stored,
        "refill": refill,
        "timeline": _timeline(start, submitted, ready, sorted(stored_at.values())),
    }


def _timeline(start: float, submitted, ready, stored, step: float = 0.5) -> list[str]:
    """Per half second after the request: submits, results ready at the provider, takes stored."""
    end = max([*submitted, *ready, *stored, start])
    rows = []
    for n in range(math.ceil((end - start) / step) + 1):
        lo, hi = start + n * step, start + (n + 1) * step
        counts = [sum(1 for t in times if lo <= t < hi) for times in (submitted, ready, stored)]
        rows.append(
            f"  {n * step:5.1f} s  submit {counts[0]:3d}  ready {counts[1]:3d}  stored {counts[2]:3d}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite + filesystem queue")
    parser.add_argument("--timeline", action="store_true", help="print events per half second")
    parser.add_argument("--backend", choices=sorted(CAPS), default="bfl")
    parser.add_argument("--panels", type=int, default=PANELS, help=f"board size (default {PANELS})")
    args = parser.parse_args()
    panels = args.panels

    cap = CAPS[args.backend]
    config = FakeConfig(latency_s=LATENCY_S, cap=cap, record_images=False)
    fake = _fake(args.backend)
    if fake is not None:
        fake.start()
    setup = _common.prepare(config, embedded=args.embedded, max_active=cap, fake=fake)
    from tests.workers_harness import kill_worker, start_worker_process

    worker = None
    try:
        worker = start_worker_process(
            setup.worker_env, setup.tmp / "worker.log", name="bench", concurrency=None
        )
        processes = len(worker.pids()) - 1
        project, user = _common.make_team("Throughput")
        # Warm-up on its own project: imports, connections and the learned
        # provider latency are what a worker that has been running has.
        warm_project, _ = _common.make_team("Warm-up")
        run_board(setup, warm_project, user, panels=4, backend=args.backend)
        result = run_board(setup, project, user, panels=panels, backend=args.backend)
    finally:
        if worker is not None:
            kill_worker(worker)
        _common.teardown(setup)

    ideal = math.ceil(panels / cap) * LATENCY_S
    ratio = ideal / result["makespan"]
    print(f"setup: {setup.describe()}")
    print(
        f"worker: 1 celery worker, prefork concurrency {processes} "
        f"(the studio default: CELERY_WORKER_CONCURRENCY, 2 per CPU on {os.cpu_count()} CPUs)"
    )
    print(
        f"backend {args.backend}, panels {panels}, provider latency {LATENCY_S:.1f} s, "
        f"provider cap {cap}, {args.backend.upper()}_MAX_ACTIVE {cap}"
    )
    print(f"ideal makespan        {ideal:6.2f} s")
    print(f"achieved makespan     {result['makespan']:6.2f} s")
    print(f"ratio ideal/achieved  {ratio:6.3f}  (target {TARGET} or better)")
    print(f"submissions           {result['tasks']:6d}  (POSTs {result['posts']})")
    print(f"duplicates            {result['tasks'] - result['jobs']:6d}")
    print(f"lost panels           {result['lost']:6d}  (succeeded {result['succeeded']})")
    print(f"429s                  {result['count_429']:6d}")
    print(f"max in flight seen    {result['max_in_flight']:6d}")
    print(f"request call          {result['request_s']:6.2f} s (compile + queue {panels} jobs)")
    print(f"first submit after    {result['first_submit_s']:6.2f} s")
    if result["lag_stored"]:
        lag = result["lag_stored"]
        print(
            f"provider ready -> take stored: median {statistics.median(lag):.3f} s, "
            f"max {max(lag):.3f} s"
        )
    if result["refill"]:
        refill = result["refill"]
        print(
            f"freed slot -> next submit:     median {statistics.median(refill):.3f} s, "
            f"max {max(refill):.3f} s"
        )
    if args.timeline:
        print("timeline (events per half second after the request):")
        print("\n".join(result["timeline"]))
    print(f"worker log: {setup.tmp / 'worker.log'}")


if __name__ == "__main__":
    main()
