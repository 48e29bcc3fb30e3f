"""Script import: saving against parsing alone, and how the query count grows.

    .venv/bin/python bench/bench_import.py [--scenes 60] [--beats 1500] [--runs 5]

Generates a feature-length Fountain script (60 scenes and 1,500 beats are
about 120 pages), then in the same run measures: reading and breaking it
down alone (the baseline), and the whole import (read, match, save in one
transaction) on a scratch database (SQLite under a temp folder, or the
PostgreSQL of DATABASE_URL in a test database of its own). Prints medians,
the ratio of saving time to parsing time (target: saving adds at most 2x
the parse time), and query counts when beats and scenes are doubled
(queries should follow scenes, not beats).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STUDIO_VAR_DIR", tempfile.mkdtemp(prefix="castboard-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

CAST = ["MARA", "TOM", "OLD JONAS", "ELSA", "THE KEEPER", "DR. VANCE", "KIT", "NORA"]
PLACES = ["LIGHTHOUSE", "BEACH", "HARBOUR OFFICE", "PIER", "LAMP ROOM", "TAVERN", "CLIFF ROAD"]
WORDS = [
    "a",
    "and",
    "as",
    "at",
    "bay",
    "below",
    "break",
    "cries",
    "door",
    "gull",
    "light",
    "listens",
    "out",
    "over",
    "pulls",
    "rocks",
    "she",
    "shutters",
    "slowly",
    "sweeps",
    "the",
    "toward",
    "turns",
    "waves",
    "while",
    "wind",
]


def script(scenes: int, beats: int, seed: int = 7) -> str:
    """A Fountain feature: `scenes` scenes, `beats` beats (about half action, half dialogue)."""
    rng = random.Random(seed)
    out = ["Title: The Keeper\nAuthor: Bench\n\nFADE IN:\n"]
    per_scene = [beats // scenes + (1 if i < beats % scenes else 0) for i in range(scenes)]
    for number, count in enumerate(per_scene, start=1):
        place = rng.choice(PLACES)
        out.append(
            f"{rng.choice(['INT.', 'EXT.'])} {place} - {rng.choice(['DAY', 'NIGHT'])} #{number}#\n"
        )
        for _ in range(count):
            if rng.random() < 0.5:
                who = rng.choice(CAST).title()
                sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 40)))
                out.append(f"{who} waits; {sentence}.\n")
            else:
                cue = rng.choice(CAST)
                paren = "(quietly)\n" if rng.random() < 0.2 else ""
                line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 20)))
                out.append(f"{cue}\n{paren}{line.capitalize()}.\n")
        out.append("CUT TO:\n")
    return "\n".join(out)


def pages(text: str) -> float:
    """Screenplay pages the text fills: 55 lines a page, action 60 characters wide, speech 35."""
    lines, speaking = 0, False
    for line in text.split("\n"):
        if not line.strip():
            lines, speaking = lines + 1, False
            continue
        width = 35 if speaking else 60
        lines += -(-len(line) // width)
        speaking = speaking or (line.isupper() and not line.startswith(("INT", "EXT", "CUT")))
    return lines / 55


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=60)
    parser.add_argument("--beats", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        run(args.scenes, args.beats, args.runs)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _timed(fn, runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `fn` over `runs` calls."""
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def run(scenes: int, beats: int, runs: int) -> None:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from boards.script.breakdown import Options, plan
    from boards.script.read import read
    from boards.script.selectors import script_preview
    from boards.script.services import script_import
    from tests.factories import CharacterFactory, LocationFactory, ProjectFactory

    project = ProjectFactory(name="Bench")
    for name in CAST:
        CharacterFactory(project=project, name=name.title())
    for name in PLACES:
        LocationFactory(project=project, name=name.title())

    def import_once(text: str) -> int:
        """Import into the project and roll back, so every run starts from the same rows."""
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            preview = script_preview(
                project=project,
                data=text.encode(),
                name="keeper.fountain",
                options=Options(),
                revise=False,
            )
            script_import(project=project, preview=preview, file_name="keeper.fountain")
            transaction.set_rollback(True)
        return len(queries)

    text = script(scenes, beats)
    data = text.encode()
    page_count = pages(text)
    parsed = plan(read(data, "keeper.fountain"), file_name="keeper.fountain")
    panel_count = sum(len(b.panels) for b in parsed)

    import_once(text)  # warm up (connections, caches)
    parse_ms, parse_cpu = _timed(
        lambda: plan(read(data, "k.fountain"), file_name="k.fountain"), runs
    )
    import_ms, import_cpu = _timed(lambda: import_once(text), runs)
    save_ms, save_cpu = import_ms - parse_ms, import_cpu - parse_cpu

    print(
        f"database: {connection.vendor}; script: {scenes} scenes, {beats} beats, "
        f"~{page_count:.0f} pages, {len(data) / 1024:.0f} KB -> {len(parsed)} boards, {panel_count} panels"
    )
    print(
        f"parse alone (read + breakdown), median of {runs}: {parse_ms:.0f} ms wall, {parse_cpu:.0f} ms CPU"
    )
    print(
        f"whole import (parse + match + save), median: {import_ms:.0f} ms wall, {import_cpu:.0f} ms CPU"
    )
    print(
        f"saving adds {save_ms:.0f} ms wall = {save_ms / parse_ms:.2f}x parse time "
        f"({save_cpu / parse_cpu:.2f}x CPU); target <= 2x"
    )
    base = import_once(text)
    more_beats = import_once(script(scenes, beats * 2))
    more_scenes = import_once(script(scenes * 2, beats))
    print(f"queries: {base} for {scenes} scenes / {beats} beats")
    print(f"queries: {more_beats} with twice the beats ({beats * 2}), same scenes")
    print(f"queries: {more_scenes} with twice the scenes ({scenes * 2}), same beats")


if __name__ == "__main__":
    main()
