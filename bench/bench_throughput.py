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
ratio (target 0.92 or better), submissions, duplicates, lost panels, 429s,
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
TARGET = 0.92


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
    submitted = sorted(s.time for s in setup.fake.submissions())
    ready_of = _ready_times(setup.fake, accepted)
    ready = sorted(ready_of.values())
    lag_stored = [stored_at[prompt] - at for prompt, at in ready_of.items()]
    # The i-th submit reuses, at best, the slot of the (i - cap)-th task to finish.
    cap = CAPS[backend]
    refill = [submitted[i] - ready[i - cap] for i in range(cap, min(len(submitted), len(ready)))]
    return {
        "jobs": len(job_ids),
        "makespan": last_stored - start,
        "ideal": _ideal(setup.fake, panels, cap),
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
        "steps": _steps(setup.fake, stored_at, submitted, cap),
        "timeline": _timeline(start, submitted, ready, sorted(stored_at.values())),
    }


def _ready_times(fake, accepted) -> dict[str, float]:
    """Prompt -> when the provider had the result (the BFL fake knows; others: submit + latency)."""
    if hasattr(fake, "ready_times"):
        return {prompt: at for prompt, at in fake.ready_times().values()}
    return {_prompt(s.body): s.time + LATENCY_S for s in accepted}


def _ideal(fake, panels: int, cap: int) -> float:
    """The makespan of a perfect client: each task starts the instant a slot frees up.

    With every latency equal this is ceil(panels / cap) x latency; with spread
    latencies it replays the ones the fake drew, in the order it drew them.
    """
    latencies = fake.latencies() if hasattr(fake, "latencies") else []
    if len(latencies) < panels:
        return math.ceil(panels / cap) * LATENCY_S
    slots = [0.0] * cap
    for latency in latencies[:panels]:
        free = slots.index(min(slots))
        slots[free] += latency
    return max(slots)


def _steps(fake, stored_at: dict[str, float], submitted: list[float], cap: int) -> dict:
    """Per job, from the fake's own clock: where the time between a result and its take went.

    ready -> noticed: the poll that first saw it Ready; noticed -> downloaded:
    the hand-over of the slot and the wait for the download; downloaded ->
    stored: processing and storing the image. noticed -> next submit: the
    i-th submit against the (i - cap)-th result noticed.
    """
    if not hasattr(fake, "ready_times"):
        return {}
    polls: dict[str, list[float]] = {}
    for r in fake.polls():
        polls.setdefault(r.query.get("id", [""])[0], []).append(r.time)
    downloads = {r.path.rsplit("/", 1)[-1].split(".", 1)[0]: r.time for r in fake.downloads()}
    steps: dict[str, list[float]] = {
        "ready -> noticed": [],
        "noticed -> downloaded": [],
        "downloaded -> stored": [],
        "polls per job": [],
    }
    noticed_all = []
    for task_id, (prompt, ready) in fake.ready_times().items():
        times = sorted(polls.get(task_id, []))
        after = [t for t in times if t >= ready]
        if not after or task_id not in downloads or prompt not in stored_at:
            continue
        noticed = after[0]
        noticed_all.append(noticed)
        steps["ready -> noticed"].append(noticed - ready)
        steps["noticed -> downloaded"].append(downloads[task_id] - noticed)
        steps["downloaded -> stored"].append(stored_at[prompt] - downloads[task_id])
        steps["polls per job"].append(len(times))
    noticed_all.sort()
    steps["noticed -> next submit"] = [
        submitted[i] - noticed_all[i - cap]
        for i in range(cap, min(len(submitted), len(noticed_all)))
    ]
    return steps


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


def _spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.3f} s, max {max(values):.3f} s"


def _print_run(n: int, result: dict, show_timeline: bool) -> None:
    ratio = result["ideal"] / result["makespan"]
    print(
        f"run {n}: ideal {result['ideal']:5.2f} s, achieved {result['makespan']:5.2f} s, "
        f"ratio {ratio:.3f}; submissions {result['tasks']} (POSTs {result['posts']}), "
        f"duplicates {result['tasks'] - result['jobs']}, lost {result['lost']} "
        f"(succeeded {result['succeeded']}), 429s {result['count_429']}, "
        f"max in flight {result['max_in_flight']}"
    )
    print(
        f"  request call {result['request_s']:.2f} s, first submit after "
        f"{result['first_submit_s']:.2f} s"
    )
    print(f"  provider ready -> take stored: {_spread(result['lag_stored'])}")
    print(f"  freed slot -> next submit:     {_spread(result['refill'])}")
    for name, values in result["steps"].items():
        if name == "polls per job":
            if values:
                print(f"    {name:24s} median {statistics.median(values):.0f}, max {max(values)}")
        else:
            print(f"    {name:24s} {_spread(values)}")
    if show_timeline:
        print("  timeline (events per half second after the request):")
        print("\n".join(result["timeline"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite + filesystem queue")
    parser.add_argument("--timeline", action="store_true", help="print events per half second")
    parser.add_argument("--backend", choices=sorted(CAPS), default="bfl")
    parser.add_argument("--panels", type=int, default=PANELS, help=f"board size (default {PANELS})")
    parser.add_argument("--runs", type=int, default=1, help="boards in a row, same worker")
    parser.add_argument(
        "--spread",
        type=float,
        default=0.0,
        help="bfl only: each task's latency drawn from 2 s x (1 ± SPREAD), e.g. 0.25; "
        "0 (default) has every task of a wave ready at the same instant",
    )
    args = parser.parse_args()
    panels = args.panels
    if args.spread and args.backend != "bfl":
        parser.error("--spread works with the bfl fake only")

    cap = CAPS[args.backend]
    config = FakeConfig(
        latency_s=LATENCY_S, cap=cap, record_images=False, latency_spread=args.spread
    )
    fake = _fake(args.backend)
    if fake is not None:
        fake.start()
    setup = _common.prepare(config, embedded=args.embedded, max_active=cap, fake=fake)
    from tests.workers_harness import kill_worker, start_worker_process

    worker = None
    results = []
    try:
        worker = start_worker_process(
            setup.worker_env, setup.tmp / "worker.log", name="bench", concurrency=None
        )
        processes = len(worker.pids()) - 1
        _, user = _common.make_team("Warm-up")
        # Warm-up on its own project: imports, connections and the learned
        # provider latency are what a worker that has been running has.
        warm_project, _ = _common.make_team("Warm-up board")
        run_board(setup, warm_project, user, panels=4, backend=args.backend)
        for n in range(1, args.runs + 1):
            project, _ = _common.make_team(f"Throughput {n}")
            cpu_before = _common.cpu_seconds(worker.pids())
            result = run_board(setup, project, user, panels=panels, backend=args.backend)
            result["worker_cpu"] = _common.cpu_seconds(worker.pids()) - cpu_before
            results.append(result)
    finally:
        if worker is not None:
            kill_worker(worker)
        _common.teardown(setup)

    print(f"setup: {setup.describe()}")
    print(
        f"worker: 1 celery worker, prefork concurrency {processes} "
        f"(the studio default: CELERY_WORKER_CONCURRENCY, 2 per CPU on {os.cpu_count()} CPUs)"
    )
    spread = f" ± {args.spread:.0%}" if args.spread else " (every task alike)"
    print(
        f"backend {args.backend}, panels {panels}, provider latency {LATENCY_S:.1f} s{spread}, "
        f"provider cap {cap}, {args.backend.upper()}_MAX_ACTIVE {cap}"
    )
    for n, result in enumerate(results, 1):
        _print_run(n, result, args.timeline)
    ratios = sorted(r["ideal"] / r["makespan"] for r in results)
    cpu = sorted(r["worker_cpu"] / r["jobs"] * 1000 for r in results)
    print(
        f"ratio ideal/achieved  min {ratios[0]:.3f}, median {statistics.median(ratios):.3f}, "
        f"max {ratios[-1]:.3f} over {len(ratios)} runs (target {TARGET} or better)"
    )
    print(
        f"worker CPU per panel  min {cpu[0]:.1f} ms, median {statistics.median(cpu):.1f} ms, "
        f"max {cpu[-1]:.1f} ms"
    )
    lag = [x for r in results for x in r["lag_stored"]]
    refill = [x for r in results for x in r["refill"]]
    print(f"provider ready -> take stored (all runs): {_spread(lag)}")
    print(f"freed slot -> next submit (all runs):     {_spread(refill)}")
    print(f"worker log: {setup.tmp / 'worker.log'}")


if __name__ == "__main__":
    main()
