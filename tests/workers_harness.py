"""Real Celery worker processes for integration tests (and the benchmarks).

Workers are started as `python -m celery -A studio worker ...` subprocesses,
each in its own process group so a SIGKILL takes the prefork children down
with the parent, the way a crashed machine would. They are pointed at:

- the database the test process uses (pytest-django's test database, a file
  for SQLite, `test_<name>` on PostgreSQL);
- the same broker: the Redis database of CELERY_BROKER_URL when set, or a
  filesystem queue in the test's tmp folder, which the test process then
  publishes to as well (`use_filesystem_queue`);
- a FakeBFL provider on loopback, with a short job lease so the sweeper,
  run in the test process, takes stalled jobs back within seconds.

Use the `harness` fixture from tests (import it into the test module); it
needs `@pytest.mark.django_db(transaction=True)` so the workers see the rows
the test commits, and it stops every process it started, even on failure.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import pytest

from tests.generation import use_fake_bfl, use_fake_provider

BASE_DIR = Path(__file__).resolve().parent.parent
QUEUES = ("generation", "default", "exports")
LEASE_S = 3  # short, so tests can wait out a lease
T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 20.0,
    *,
    interval: float = 0.05,
    what: str = "the condition",
    describe: Callable[[], str] | None = None,
) -> T:
    """Call `predicate` until it returns something truthy and return that, or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


# --- where the workers connect ------------------------------------------------


def database_url(settings_dict: dict[str, Any]) -> str:
    """A DATABASE_URL for the database a Django connection uses (after test setup)."""
    engine = settings_dict["ENGINE"]
    name = str(settings_dict["NAME"])
    if engine.endswith("sqlite3"):
        # Three slashes then an absolute path: sqlite:////abs/file.
        return f"sqlite:///{Path(name).resolve()}"
    if engine.endswith("postgresql"):
        user = quote(settings_dict.get("USER") or "", safe="")
        password = quote(settings_dict.get("PASSWORD") or "", safe="")
        auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
        host = settings_dict.get("HOST") or "127.0.0.1"
        port = settings_dict.get("PORT") or 5432
        return f"postgres://{auth}{host}:{port}/{quote(name, safe='')}"
    raise ValueError(f"no worker DATABASE_URL for the {engine} engine")


def is_redis(broker_url: str) -> bool:
    return broker_url.startswith(("redis://", "rediss://"))


def redis_db_index(broker_url: str) -> int:
    path = urlsplit(broker_url).path.strip("/")
    return int(path) if path.isdigit() else 0


def filesystem_queue_options(var_dir: Path) -> dict[str, Any]:
    """Transport options matching what studio.settings derives from STUDIO_VAR_DIR."""
    queue = var_dir / "queue"
    for folder in ("messages", "processed"):
        (queue / folder).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue / "messages"),
        "data_folder_out": str(queue / "messages"),
        "processed_folder": str(queue / "processed"),
        "store_processed": False,
    }


def _reset_publisher(app) -> None:
    # The app caches its connection and producer pools; drop them so the
    # next publish opens a connection with the current broker options.
    if app._pool is not None:
        with contextlib.suppress(Exception):
            app._pool.force_close_all()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def use_filesystem_queue(settings, var_dir: Path) -> Iterator[dict[str, Any]]:
    """Make this process publish to the filesystem queue under `var_dir` (as workers will)."""
    from studio.celery import app

    options = filesystem_queue_options(var_dir)
    previous = dict(app.conf.broker_transport_options or {})
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    app.conf.broker_transport_options = options
    _reset_publisher(app)
    try:
        yield options
    finally:
        app.conf.broker_transport_options = previous
        _reset_publisher(app)


def purge_broker(broker_url: str, options: dict[str, Any] | None = None) -> None:
    """Remove queued messages, and on Redis the unacknowledged ones a killed worker held."""
    if is_redis(broker_url):
        from studio.celery import app

        with app.connection_for_write() as conn:
            channel = conn.default_channel
            for queue in QUEUES:
                channel.queue_purge(queue)
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)
        return
    folder = Path((options or {}).get("data_folder_in", ""))
    if folder.is_dir():
        for message in folder.glob("*.msg"):
            message.unlink(missing_ok=True)


def wipe_broker(broker_url: str, options: dict[str, Any] | None = None) -> None:
    """Lose everything the broker held, as a Redis restart without persistence would.

    Redis: FLUSHDB of the broker's own database only (never database 0,
    which other software on the machine may use).
    """
    if is_redis(broker_url):
        if redis_db_index(broker_url) == 0:
            raise RuntimeError("refusing to FLUSHDB Redis database 0; use a dedicated test db")
        from studio.celery import app

        with app.connection_for_write() as conn:
            conn.default_channel.client.flushdb()
        return
    purge_broker(broker_url, options)


def queued_messages(broker_url: str, options: dict[str, Any] | None = None) -> int:
    """Messages waiting in the broker (not counting ones a worker holds)."""
    if is_redis(broker_url):
        from studio.celery import app

        with app.connection_for_write() as conn:
            channel = conn.default_channel
            return sum(channel.client.llen(q) for q in QUEUES)
    folder = Path((options or {}).get("data_folder_in", ""))
    return len(list(folder.glob("*.msg"))) if folder.is_dir() else 0


# --- worker processes -----------------------------------------------------------


@dataclass
class Worker:
    """One `celery worker` process (and its pool children, in its own process group)."""

    name: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def pids(self) -> list[int]:
        """The main process and its pool children (read from /proc)."""
        found = [self.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.pid:  # ppid
                    found.append(int(stat.parent.name))
        return found

    def signal_group(self, signum: int) -> None:
        # The group id is our own child's pid (start_new_session), never a guess.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)


def start_worker_process(
    env: dict[str, str],
    log_path: Path,
    *,
    name: str,
    concurrency: int | None = 1,
    queues: Iterable[str] = ("generation", "default"),
    loglevel: str = "INFO",
    ready_timeout: float = 30.0,
) -> Worker:
    """Start a prefork worker and wait until it logs that it is ready.

    `concurrency=None` leaves the pool size at Celery's default (the CPU count).
    """
    cmd = [sys.executable, "-m", "celery", "-A", "studio", "worker"]
    cmd += ["-Q", ",".join(queues), "--pool", "prefork", "-l", loglevel]
    if concurrency is not None:
        cmd += ["-c", str(concurrency)]
    cmd += ["--without-heartbeat", "--without-mingle", "--without-gossip", "-n", f"{name}@%h"]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            cmd,
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    worker = Worker(name=name, process=process, log_path=log_path)
    try:
        wait_for(
            lambda: " ready." in worker.log() or not worker.alive(),
            ready_timeout,
            what=f"worker {name} to start",
            describe=lambda: worker.log()[-3000:],
        )
    except AssertionError:
        kill_worker(worker)
        raise
    if not worker.alive():
        raise AssertionError(f"worker {name} exited at start:\n{worker.log()[-3000:]}")
    return worker


def stop_worker(worker: Worker, timeout: float = 10.0) -> None:
    """Warm shutdown (SIGTERM); SIGKILL the whole group if it does not stop in time."""
    if worker.alive():
        os.kill(worker.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout)
    kill_worker(worker)


def kill_worker(worker: Worker) -> None:
    """SIGKILL the worker and its pool children at once, like a machine losing power."""
    worker.signal_group(signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.process.wait(10)


# --- the harness a test drives ------------------------------------------------


@dataclass
class Harness:
    """Workers, broker and fake provider shared by one integration test."""

    root: Path
    fake: Any  # tests.fakes.bfl_server.FakeBFL
    settings: Any  # pytest-django's settings fixture
    database_url: str
    broker_url: str
    transport_options: dict[str, Any]
    lease_s: int = LEASE_S
    workers: list[Worker] = field(default_factory=list)
    # More environment for the workers (e.g. FAL_MAX_ACTIVE) when the fake is not FakeBFL.
    extra_env: dict[str, Any] = field(default_factory=dict)

    # The provider cap our pipeline enforces; workers read it at start.
    @property
    def max_active(self) -> int:
        return int(self.settings.BFL_MAX_ACTIVE)

    @max_active.setter
    def max_active(self, value: int) -> None:
        self.settings.BFL_MAX_ACTIVE = value

    def worker_env(self) -> dict[str, str]:
        """The environment of a worker process: same database, broker, media and provider."""
        providers = ("BFL_", "FAL_", "REPLICATE_", "CELERY_")
        env = {k: v for k, v in os.environ.items() if not k.startswith(providers)}
        env.update(
            DJANGO_SETTINGS_MODULE="tests.settings",
            DJANGO_DEBUG="true",
            DATABASE_URL=self.database_url,
            STUDIO_VAR_DIR=str(self.root / "var"),
            STUDIO_MEDIA_ROOT=str(self.settings.MEDIA_ROOT),
            STUDIO_JOB_LEASE_S=str(self.lease_s),
            PYTHONUNBUFFERED="1",
        )
        if hasattr(self.fake, "env"):  # fal, replicate: the fake knows its settings
            env.update(self.fake.env())
            env.update({k: str(v) for k, v in self.extra_env.items()})
        else:
            env.update(
                BFL_API_KEY=self.fake.config.api_key,
                BFL_BASE_URL=self.fake.base_url,
                BFL_RESULT_HOSTS="127.0.0.1",
                BFL_POLLING_ORIGINS=self.fake.poll_base_url,
                BFL_MODEL=str(self.settings.BFL_MODEL),
                BFL_MAX_ACTIVE=str(self.max_active),
            )
        if is_redis(self.broker_url):
            env["CELERY_BROKER_URL"] = self.broker_url
        return env

    def start_worker(self, concurrency: int = 1) -> Worker:
        name = f"w{len(self.workers) + 1}"
        worker = start_worker_process(
            self.worker_env(), self.root / f"{name}.log", name=name, concurrency=concurrency
        )
        self.workers.append(worker)
        return worker

    def stop_worker(self, worker: Worker) -> None:
        stop_worker(worker)

    def kill_worker(self, worker: Worker) -> None:
        kill_worker(worker)

    def kill_all(self) -> None:
        """SIGKILL every worker this harness started (a warm shutdown takes seconds each)."""
        for worker in self.workers:
            worker.signal_group(signal.SIGKILL)
        for worker in self.workers:
            kill_worker(worker)

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(f"--- {w.name} ---\n{w.log()[-tail:]}" for w in self.workers)

    # --- broker
    def purge(self) -> None:
        purge_broker(self.broker_url, self.transport_options)

    def wipe_broker(self) -> None:
        wipe_broker(self.broker_url, self.transport_options)

    def queued_messages(self) -> int:
        return queued_messages(self.broker_url, self.transport_options)

    # --- sweeper
    def sweep(self) -> list:
        """One sweeper pass in this process, its follow-up tasks sent to the workers."""
        from workers import pipeline, tasks

        steps = pipeline.jobs_sweep()
        for step in steps:
            tasks.schedule(step)
        return steps

    def sweep_after_lease(self, job_ids: Iterable[int], timeout: float = 40.0) -> list:
        """Wait until none of the active jobs among `job_ids` holds a lease, then sweep."""
        from django.utils import timezone

        from workers.models import GenerationJob

        ids = list(job_ids)

        def leases_out() -> bool:
            leased = GenerationJob.objects.filter(
                pk__in=ids,
                state__in=GenerationJob.ACTIVE_STATES,
                lease_expires__gte=timezone.now(),
            )
            return not leased.exists()

        wait_for(leases_out, timeout, interval=0.1, what="job leases to run out")
        return self.sweep()

    def wait_settled(self, job_ids: Iterable[int], timeout: float = 30.0) -> dict[int, str]:
        """Wait until every job is out of the active states; return {job id: state}."""
        from workers.models import GenerationJob

        ids = list(job_ids)

        def settled() -> dict[int, str] | None:
            found = dict(GenerationJob.objects.filter(pk__in=ids).values_list("pk", "state"))
            active = [s for s in found.values() if s in GenerationJob.ACTIVE_STATES]
            return None if active or len(found) < len(ids) else found

        def describe() -> str:
            rows = GenerationJob.objects.filter(pk__in=ids).values_list(
                "pk", "state", "error_code", "lease_expires"
            )
            return "jobs: " + repr(list(rows)) + "\n" + self.logs()

        return wait_for(settled, timeout, interval=0.1, what="jobs to settle", describe=describe)


@pytest.fixture
def fake_provider():
    """A FakeBFL on loopback; tests change `fake_provider.config` as they need."""
    from tests.fakes.bfl_server import FakeBFL, FakeConfig

    with FakeBFL(FakeConfig(latency_s=0.3)) as fake:
        yield fake


@pytest.fixture
def harness(transactional_db, settings, tmp_path, fake_provider) -> Iterator[Harness]:
    """A harness for real workers; every process it started is stopped at the end."""
    from django.db import connection

    if hasattr(fake_provider, "env"):
        use_fake_provider(settings, fake_provider)
    else:
        use_fake_bfl(settings, fake_provider)
    settings.STUDIO_JOB_LEASE_S = LEASE_S
    broker_url = str(settings.CELERY_BROKER_URL)
    with contextlib.ExitStack() as stack:
        if is_redis(broker_url):
            options: dict[str, Any] = {}
        else:
            options = stack.enter_context(use_filesystem_queue(settings, tmp_path / "var"))
        harness = Harness(
            root=tmp_path,
            fake=fake_provider,
            settings=settings,
            database_url=database_url(connection.settings_dict),
            broker_url=broker_url,
            transport_options=options,
        )
        harness.purge()  # leftovers of an earlier run must not reach these workers
        try:
            yield harness
        finally:
            harness.kill_all()
            # A killed worker's held (unacknowledged) messages would come back later.
            harness.purge()


# --- faults: database restarts, full disks, warm shutdowns (tests/test_faults.py) ---------


def postgres_cluster_version() -> str:
    """This machine's PostgreSQL cluster version (the one folder under /etc/postgresql)."""
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if p.is_dir())
    if len(versions) != 1:
        raise RuntimeError(f"expected one PostgreSQL version in /etc/postgresql, found {versions}")
    return versions[0]


def _pg_ctlcluster(action: str, timeout: float) -> subprocess.CompletedProcess:
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", postgres_cluster_version(), "main"]
    return subprocess.run(
        [*cmd, action], capture_output=True, text=True, timeout=timeout, check=False
    )


def postgres_accepts(timeout: float = 2.0) -> bool:
    """True when the local server answers a connection attempt."""
    probe = subprocess.run(
        ["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-t", str(max(1, int(timeout)))],
        capture_output=True,
        timeout=timeout + 5,
        check=False,
    )
    return probe.returncode == 0


def restart_postgres(timeout: float = 60.0) -> float:
    """Restart this machine's PostgreSQL (root only); return the seconds it was away."""
    started = time.monotonic()
    done = _pg_ctlcluster("restart", timeout)
    if done.returncode != 0:
        raise RuntimeError(f"pg_ctlcluster restart failed: {done.stdout}{done.stderr}")
    wait_for(postgres_accepts, timeout, interval=0.2, what="PostgreSQL to accept connections")
    return time.monotonic() - started


def ensure_postgres_running(timeout: float = 60.0) -> None:
    """Start PostgreSQL again if a test left it stopped (used in `finally` blocks)."""
    if postgres_accepts():
        return
    _pg_ctlcluster("start", timeout)
    wait_for(postgres_accepts, timeout, interval=0.2, what="PostgreSQL to start again")


@contextlib.contextmanager
def tmpfs_mounted(path: Path, size: str = "64k") -> Iterator[bool]:
    """Mount a small tmpfs on `path` for the block; yields False when mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill_disk(folder: Path, name: str = "filler.bin", *, leave: int = 0) -> Path:
    """Write a file into `folder` until its filesystem has at most `leave` bytes free."""
    filler = folder / name
    with filler.open("wb") as out:
        while True:
            free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
            if free <= leave:
                break
            try:
                out.write(b"\0" * min(4096, free - leave))
                out.flush()
            except OSError:
                break
    return filler


def warm_stop(worker: Worker, timeout: float = 20.0) -> int | None:
    """SIGTERM the worker's main process; its exit code, or None if it had to be killed."""
    if worker.alive():
        os.kill(worker.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout)
    code = worker.process.poll()
    kill_worker(worker)  # pool children left behind by a stuck shutdown
    return code


def settle_through_faults(
    harness: Harness, job_ids: Iterable[int], timeout: float = 60.0, *, sweep_every: float = 1.0
) -> dict[int, str]:
    """Wait for jobs to settle while sweeping like beat would, riding out database outages.

    The test process's own connection breaks when the database restarts: a
    failed read closes it, so the next one opens a fresh connection.
    """
    from django.db import DatabaseError, InterfaceError, connection

    from workers.models import GenerationJob

    ids = list(job_ids)
    deadline = time.monotonic() + timeout
    next_sweep = time.monotonic() + sweep_every
    found: dict[int, str] = {}
    while time.monotonic() < deadline:
        try:
            found = dict(GenerationJob.objects.filter(pk__in=ids).values_list("pk", "state"))
            if len(found) == len(ids) and not any(
                s in GenerationJob.ACTIVE_STATES for s in found.values()
            ):
                return found
            if time.monotonic() >= next_sweep:
                harness.sweep()
                next_sweep = time.monotonic() + sweep_every
        except (DatabaseError, InterfaceError):
            connection.close()
        time.sleep(0.2)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for jobs to settle: {found}\n{harness.logs()}"
    )
