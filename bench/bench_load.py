"""Board page and job status under 50 concurrent logged-in clients, against gunicorn.

    .venv/bin/python bench/bench_load.py [--seconds 60] [--clients 50] [--workers 4] [--threads 1]

Production-like: DJANGO_DEBUG=false, studio.settings, whitenoise's manifest
storage (collectstatic runs first), PostgreSQL in a scratch database
`castboard_load` that the script creates and drops. Every client logs in
through the real form (CSRF token from the page), then loops over the board
page of a 50-panel board with takes, `GET /jobs/<id>/`, and the anonymous
log-in page (the minimal view each figure is compared with). Requests go to
127.0.0.1 only. Prints throughput, p50/p95 latency and errors per endpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
LOAD_DB = "castboard_load"
PASSWORD = "load-test-pass-4821"
MAX_REQUESTS_PER_CLIENT = 100_000  # a bound on each loop besides the clock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        # FORCE: a gunicorn left over from an interrupted run may still be connected.
        conn.execute(f"DROP DATABASE IF EXISTS {LOAD_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {LOAD_DB}")


def drop_database() -> None:
    import psycopg

    with (
        contextlib.suppress(psycopg.Error),
        psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn,
    ):
        conn.execute(f"DROP DATABASE IF EXISTS {LOAD_DB} WITH (FORCE)")


def server_env(var_dir: Path) -> dict[str, str]:
    """What gunicorn (and this process, to prepare the data) run with."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=f"{PG_SERVER}/{LOAD_DB}",
        STUDIO_VAR_DIR=str(var_dir),
        STUDIO_LOG_LEVEL="WARNING",
    )
    return env


def prepare_data(panels: int) -> tuple[int, list[int]]:
    """Migrate, collect static files, and make a board with takes; (board id, job ids)."""
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)

    from studio.models import Membership, User
    from tests.factories import (
        BoardFactory,
        CastMemberFactory,
        CharacterFactory,
        LocationFactory,
        MembershipFactory,
        PanelFactory,
        TakeFactory,
    )
    from workers.models import GenerationJob

    user = User.objects.create_user("loadtest", password=PASSWORD)
    project = MembershipFactory(user=user, role=Membership.Role.OWNER).project
    characters = [CharacterFactory(project=project) for _ in range(4)]
    location = LocationFactory(project=project)
    board = BoardFactory(project=project)
    job_ids = []
    for i in range(panels):
        panel = PanelFactory(board=board, position=i, location=location, dialogue="Hold on.")
        CastMemberFactory(panel=panel, character=characters[i % 4])
        CastMemberFactory(panel=panel, character=characters[(i + 1) % 4])
        take = TakeFactory(panel=panel)
        panel.selected_take = take
        panel.save(update_fields=["selected_take"])
        job = GenerationJob.objects.create(
            project=project,
            panel=panel,
            backend="sketch",
            model="sketch-v1",
            state=GenerationJob.State.SUCCEEDED,
            take=take,
            cost=0,
            progress=1.0,
            requested_by=user,
        )
        job_ids.append(job.pk)
    from django.db import connections

    connections.close_all()  # the database is dropped at the end
    return board.pk, job_ids


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int, log: Path):
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "studio.wsgi:application"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    if threads > 1:
        cmd += ["--worker-class", "gthread", "--threads", str(threads)]
    cmd += ["--backlog", "256", "--log-level", "warning"]
    with log.open("ab") as out:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited at start:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/login/", timeout=2).status_code == 200:
                return process, base
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"gunicorn did not answer in 30 s:\n{log.read_text(errors='replace')}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # the arbiter stops its workers gracefully
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # our own child's group, never a guess
            process.wait(5)


def log_in(client: httpx.Client) -> str:
    """Post the log-in form; return the Cookie header of the logged-in session.

    With debug off the cookies are Secure, so httpx will not send them back
    over plain http by itself: the header is built by hand.
    """
    page = client.get("/login/")
    page.raise_for_status()
    csrf_cookie = page.cookies.get("csrftoken")
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not csrf_cookie or not match:
        raise RuntimeError("no CSRF token on the log-in page")
    answer = client.post(
        "/login/",
        data={"username": "loadtest", "password": PASSWORD, "csrfmiddlewaretoken": match[1]},
        headers={"Cookie": f"csrftoken={csrf_cookie}"},
    )
    session = answer.cookies.get("sessionid")
    if answer.status_code != 302 or not session:
        raise RuntimeError(f"log-in failed (HTTP {answer.status_code})")
    client.cookies.clear()
    return f"csrftoken={csrf_cookie}; sessionid={session}"


def run_clients(base: str, clients: int, seconds: float, board_id: int, job_ids: list[int]):
    """Every client logs in, waits for the others, then loops until the clock runs out."""
    samples: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    window: dict[str, float] = {}

    def open_window() -> None:  # runs once, before any client passes the barrier
        window["start"] = time.monotonic()
        window["end"] = window["start"] + seconds

    ready = threading.Barrier(clients + 1, action=open_window)

    def client_loop(n: int) -> None:
        mine: dict[str, list[float]] = defaultdict(list)
        failed: dict[str, int] = defaultdict(int)
        with httpx.Client(base_url=base, timeout=30) as http:
            try:
                cookie = log_in(http)
            except (httpx.HTTPError, RuntimeError) as exc:
                print(f"client {n}: {exc}", file=sys.stderr)
                cookie = ""
            ready.wait()
            routes = [
                ("board page", lambda i: f"/boards/{board_id}/", True),
                ("job status", lambda i: f"/jobs/{job_ids[i % len(job_ids)]}/", True),
                ("login page (minimal)", lambda i: "/login/", False),
            ]
            i = n  # clients start at different points of the rotation
            while time.monotonic() < window["end"] and i - n < MAX_REQUESTS_PER_CLIENT:
                name, path, logged_in = routes[i % len(routes)]
                headers = {"Cookie": cookie} if logged_in else {}
                started = time.perf_counter()
                try:
                    response = http.get(path(i // len(routes)), headers=headers)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - started
                http.cookies.clear()  # the anonymous page must stay anonymous
                if ok:
                    mine[name].append(elapsed)
                else:
                    failed[name] += 1
                i += 1
        with lock:
            for name, values in mine.items():
                samples[name].extend(values)
            for name, count in failed.items():
                errors[name] += count

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=300)
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return samples, errors, time.monotonic() - window["start"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def report(samples, errors, elapsed: float) -> None:
    names = ["board page", "job status", "login page (minimal)"]
    minimal = statistics.median(samples["login page (minimal)"] or [float("nan")])
    print(f"\n{'endpoint':<22}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}")
    for name in names:
        values = samples[name]
        print(
            f"{name:<22}{len(values):>9}{len(values) / elapsed:>9.1f}"
            f"{percentile(values, 0.5) * 1000:>9.1f}{percentile(values, 0.95) * 1000:>9.1f}"
            f"{errors[name]:>8}"
        )
    total = sum(len(v) for v in samples.values())
    print(f"{'all':<22}{total:>9}{total / elapsed:>9.1f}{'':>18}{sum(errors.values()):>8}")
    for name in names[:2]:
        if samples[name]:
            ratio = statistics.median(samples[name]) / minimal
            print(f"{name}: p50 is {ratio:.1f}x the minimal view's")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--panels", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help=">1 uses the gthread worker")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="castboard-load-"))
    env = server_env(var_dir)
    os.environ.update(env)
    recreate_database()
    gunicorn = None
    try:
        board_id, job_ids = prepare_data(args.panels)
        port = free_port()
        gunicorn, base = start_gunicorn(
            env, port, args.workers, args.threads, var_dir / "gunicorn.log"
        )
        kind = f"gthread x{args.threads}" if args.threads > 1 else "sync"
        print(
            f"gunicorn: {args.workers} {kind} workers on {base}, DJANGO_DEBUG=false, "
            f"PostgreSQL {LOAD_DB}; {os.cpu_count()} CPUs; {args.clients} clients for "
            f"{args.seconds:.0f} s; board of {args.panels} panels with takes"
        )
        samples, errors, elapsed = run_clients(base, args.clients, args.seconds, board_id, job_ids)
        report(samples, errors, elapsed)
    finally:
        if gunicorn is not None:
            stop_gunicorn(gunicorn)
        drop_database()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
