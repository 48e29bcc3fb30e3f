"""Pages under 50 open connections against gunicorn + PostgreSQL, driven by wrk.

    .venv/bin/python bench/bench_load.py [--seconds 20] [--clients 50] [--configs 2x1,3x4]
    (BENCH_LOAD_DB names the scratch database, castboard_load by default)

Production-like: DJANGO_DEBUG=false, studio.settings, whitenoise's manifest
storage (collectstatic runs first), PostgreSQL in a scratch database
`castboard_load` that the script creates and drops. The script logs in once
through the real form; wrk (one thread, a small C program, so nearly all the
CPU goes to the server) then holds the connections open on one endpoint at a
time: the anonymous log-in page (the baseline every p50 is compared with),
the board page of a 50-panel board with takes, its progress poll with a
dozen panels generating, and a take's thumbnail. Each `--configs` entry is a
gunicorn setup (workers x threads; threads > 1 uses the gthread worker).
Requests go to 127.0.0.1 only. Prints requests/s, p50 / p95 / p99 latency
and errors (connection errors, timeouts and non-2xx/3xx answers).
Without wrk installed it says so and exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _common import cpu_seconds  # noqa: E402 - a sibling module, found beside this script

PG_SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
LOAD_DB = os.environ.get("BENCH_LOAD_DB", "castboard_load")  # created and dropped
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


def prepare_data(panels: int) -> tuple[int, str]:
    """Migrate, collect static files, make a board with takes, a dozen of its panels
    generating; (board id, path of a take's thumbnail)."""
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
    for i in range(panels):
        panel = PanelFactory(board=board, position=i, location=location, dialogue="Hold on.")
        CastMemberFactory(panel=panel, character=characters[i % 4])
        CastMemberFactory(panel=panel, character=characters[(i + 1) % 4])
        take = TakeFactory(panel=panel)
        panel.selected_take = take
        panel.save(update_fields=["selected_take"])
        GenerationJob.objects.create(
            project=project,
            panel=panel,
            backend="sketch",
            model="sketch-v1",
            # A dozen under way, so the progress poll sends cards as it does mid-run.
            state=GenerationJob.State.POLLING if i < 12 else GenerationJob.State.SUCCEEDED,
            take=take,
            cost=0,
            progress=1.0,
            requested_by=user,
        )
    from django.db import connections

    connections.close_all()  # the database is dropped at the end
    return board.pk, take.thumbnail.url


def start_gunicorn(env: dict[str, str], port: int, workers: int, threads: int, log: Path):
    cmd = [str(Path(sys.executable).parent / "gunicorn"), "studio.wsgi:application"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    # Every setting named here, so gunicorn.conf.py does not mix into the comparison.
    cmd += ["--worker-class", "gthread" if threads > 1 else "sync", "--threads", str(threads)]
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


def poll_url(client: httpx.Client, board_id: int, cookie: str) -> str:
    """The progress URL the board page polls: with the version it shows, answered 204."""
    page = client.get(f"/boards/{board_id}/", headers={"Cookie": cookie})
    match = re.search(r'id="board-progress"[^>]* hx-get="([^"]+)"', page.text)
    if match is None:
        raise RuntimeError("the board page does not poll its progress")
    return match[1].replace("&amp;", "&")


# wrk calls done() once at the end; latency is in microseconds.
WRK_REPORT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
"""


@dataclass
class Figures:
    name: str
    requests: int
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float = 0.0  # gunicorn's processes, all of them
    wrk_cpu_s: float = 0.0
    seconds: float = 0.0
    database_cpu_s: float = 0.0  # PostgreSQL's backends for this database

    @property
    def server_ms_per_request(self) -> float:
        return 1000 * self.server_cpu_s / self.requests if self.requests else 0.0


def _processes() -> Iterator[tuple[int, int, bytes]]:
    """(pid, parent pid, command line) of each process readable now (Linux /proc)."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            title = (proc / "cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        yield int(proc.name), parent, title


def process_cpu(root: int) -> float:
    """CPU seconds (user + system) of process `root` and its children so far."""
    return cpu_seconds([pid for pid, parent, _ in _processes() if root in (pid, parent)])


def database_cpu() -> float:
    """CPU seconds so far of the PostgreSQL backends serving the scratch database
    (readable when the bench runs as the server's user or root, else 0)."""
    ours = [
        pid
        for pid, _, title in _processes()
        if title.startswith(b"postgres:") and LOAD_DB.encode() in title
    ]
    return cpu_seconds(ours)


def run_wrk(
    name: str, url: str, *, cookie: str, clients: int, seconds: float, script: Path, server: int
) -> Figures:
    """One endpoint under `clients` open connections for `seconds`, by wrk (one thread:
    it shares the machine with the server, so it should take as little of it as it can).

    Also counts the CPU time gunicorn (process `server` and its workers) and wrk spent.
    """
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s"]
    cmd += ["-s", str(script)]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    server_before, database_before = process_cpu(server), database_cpu()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    took = time.monotonic() - started
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = process_cpu(server) - server_before
    database_cpu_s = database_cpu() - database_before
    wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime) - (
        wrk_before.ru_utime + wrk_before.ru_stime
    )
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)
    if match is None:
        raise SystemExit(f"wrk printed no result for {name}:\n{out}")
    total, micros, p50, p95, p99, failed, bad_status = (int(g) for g in match.groups())
    return Figures(
        name,
        total,
        total / (micros / 1e6),
        p50 / 1000,
        p95 / 1000,
        p99 / 1000,
        failed + bad_status,
        server_cpu,
        wrk_cpu,
        took,
        database_cpu_s,
    )


def drain(base: str, *, within: float = 120) -> None:
    """Wait until the anonymous log-in page answers in under 0.5 s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        started = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{base}/login/", timeout=30)
            if time.monotonic() - started < 0.5:
                return
        time.sleep(1)


def report(rows: list[Figures], clients: int) -> None:
    print(
        f"\n{'endpoint':<34}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'errors':>8}{'p50 / log-in':>14}"
    )
    base = next(r for r in rows if r.name.startswith("log-in")).p50_ms
    for r in rows:
        print(
            f"{r.name:<34}{r.requests:>9}{r.per_second:>9.1f}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}"
            f"{r.p99_ms:>9.1f}{r.errors:>8}{r.p50_ms / base:>13.1f}x"
        )
    # Where the CPU went: the server's per request, the database's, wrk's own share, what
    # server and database together would allow with the cores to themselves, and the wait
    # that throughput still means for each of `clients` connections always asking again.
    cores = os.cpu_count() or 1
    print(
        f"\n{'endpoint':<34}{'server CPU ms/req':>18}{'db CPU ms/req':>14}{'server cores':>13}"
        f"{'db cores':>9}{'wrk cores':>10}{f'req/s ceiling ({cores} cores)':>26}"
        f"{f'{clients} clients wait ms':>20}"
    )
    for r in rows:
        span = r.seconds or 1
        db_per = 1000 * r.database_cpu_s / r.requests if r.requests else 0.0
        per = r.server_ms_per_request + db_per
        ceiling = cores * 1000 / per if per else 0.0
        print(
            f"{r.name:<34}{r.server_ms_per_request:>18.2f}{db_per:>14.2f}"
            f"{r.server_cpu_s / span:>13.2f}{r.database_cpu_s / span:>9.2f}"
            f"{r.wrk_cpu_s / span:>10.2f}{ceiling:>26.0f}"
            f"{1000 * clients / ceiling if ceiling else 0:>20.0f}"
        )


def parse_configs(text: str) -> list[tuple[int, int]]:
    """ "2x1,4x1,2x4" -> [(2, 1), (4, 1), (2, 4)]: gunicorn workers x threads per worker."""
    configs = []
    for item in text.split(","):
        workers, _, threads = item.strip().partition("x")
        configs.append((int(workers), int(threads or 1)))
    return configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20, help="per endpoint and setup")
    parser.add_argument("--clients", type=int, default=50, help="open connections")
    parser.add_argument("--panels", type=int, default=50)
    parser.add_argument(
        "--configs", default="3x4", help="gunicorn workers x threads to compare, e.g. 2x1,3x4"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk); nothing was measured.")
        return

    var_dir = Path(tempfile.mkdtemp(prefix="castboard-load-"))
    env = server_env(var_dir)
    os.environ.update(env)
    recreate_database()
    script = var_dir / "report.lua"
    script.write_text(WRK_REPORT)
    gunicorn = None
    try:
        board_id, media_path = prepare_data(args.panels)
        print(
            f"DJANGO_DEBUG=false, PostgreSQL {LOAD_DB}; {os.cpu_count()} CPUs shared with wrk "
            f"(1 thread); {args.clients} connections, {args.seconds:.0f} s per endpoint; "
            f"board of {args.panels} panels with takes, 12 of them generating"
        )
        for workers, threads in parse_configs(args.configs):
            port = free_port()
            gunicorn, base = start_gunicorn(env, port, workers, threads, var_dir / "gunicorn.log")
            with httpx.Client(base_url=base, timeout=30) as http:
                cookie = log_in(http)
                polled = poll_url(http, board_id, cookie)
            kind = f"gthread, {threads} threads each" if threads > 1 else "sync"
            print(f"\ngunicorn: {workers} workers ({kind})", end="")
            routes = [
                ("log-in page (baseline)", "/login/", ""),
                (f"board page ({args.panels} panels)", f"/boards/{board_id}/", cookie),
                ("progress poll, every card", f"/boards/{board_id}/progress/", cookie),
                ("progress poll, nothing new (204)", polled, cookie),
                ("media thumbnail", media_path, cookie),
            ]
            rows = []
            for name, path, sent in routes:
                # Requests wrk gave up on may still be queued in gunicorn: wait until
                # it answers at once, so they do not count against the next endpoint.
                drain(base)
                rows.append(
                    run_wrk(
                        name,
                        base + path,
                        cookie=sent,
                        clients=args.clients,
                        seconds=args.seconds,
                        script=script,
                        server=gunicorn.pid,
                    )
                )
            report(rows, args.clients)
            stop_gunicorn(gunicorn)
            gunicorn = None
    finally:
        if gunicorn is not None:
            stop_gunicorn(gunicorn)
        drop_database()
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
