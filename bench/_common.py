"""Shared set-up for the worker benchmarks: a scratch database, a broker, a fake provider.

`prepare()` must run before anything imports Django models: it starts the
fake provider, points the environment (read by `tests.settings`) at a
scratch database and a broker, calls `django.setup()` and migrates.

PostgreSQL and Redis on 127.0.0.1 are used when they answer (the production
setup); otherwise a temporary SQLite file and a filesystem queue (the
embedded setup). `--embedded` forces the latter.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.bfl_server import FakeBFL, FakeConfig  # noqa: E402 - needs the path above

PG_SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
# Created fresh and dropped by every run: give each engineer sharing a server their own.
BENCH_DB = os.environ.get("BENCH_DB", "castboard_bench")
# The test suite's Redis database; only our queues are purged, nothing is flushed.
REDIS_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/15")


@dataclass
class Setup:
    """What a benchmark runs on, and the environment its worker gets."""

    database: str
    broker: str
    tmp: Path
    fake: Any  # FakeBFL, or the fal or replicate fake
    worker_env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        return f"database {self.database}; broker {self.broker}"


def _postgres_answers() -> bool:
    import psycopg

    try:
        with psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def _fresh_postgres_database() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
        # FORCE: a worker left over from an interrupted run may still be connected.
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    return f"{PG_SERVER}/{BENCH_DB}"


def prepare(
    config: FakeConfig, *, embedded: bool = False, max_active: int = 24, fake: Any = None
) -> Setup:
    """Start the fake, choose and create the scratch database and broker, set Django up.

    `fake`: a started fal or replicate fake to use instead of a FakeBFL built from `config`.
    """
    tmp = Path(tempfile.mkdtemp(prefix="castboard-bench-"))
    provider_env = fake.env() if fake is not None else None
    fake = fake or FakeBFL(config).start()
    use_services = not embedded and _postgres_answers() and _redis_answers()
    if use_services:
        database_url = _fresh_postgres_database()
        broker = REDIS_URL
        described = (f"PostgreSQL ({BENCH_DB}, created fresh)", f"Redis ({REDIS_URL})")
    else:
        database_url = f"sqlite:///{tmp / 'bench.sqlite3'}"
        broker = ""
        described = (f"SQLite ({tmp / 'bench.sqlite3'})", f"filesystem queue ({tmp / 'queue'})")
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": database_url,
        "STUDIO_VAR_DIR": str(tmp),
        "STUDIO_MEDIA_ROOT": str(tmp / "media"),
        "STUDIO_LOG_LEVEL": "WARNING",
    }
    if provider_env is None:
        env.update(
            BFL_API_KEY=config.api_key,
            BFL_BASE_URL=fake.base_url,
            BFL_RESULT_HOSTS="127.0.0.1",
            BFL_POLLING_ORIGINS=fake.poll_base_url,
            BFL_MODEL="flux-2-pro",
            BFL_MAX_ACTIVE=str(max_active),
        )
    else:
        env.update(provider_env)
        prefix = next(iter(provider_env)).split("_", 1)[0]  # FAL, REPLICATE
        env[f"{prefix}_MAX_ACTIVE"] = str(max_active)
    os.environ.pop("CELERY_BROKER_URL", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    os.environ.update(env)

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)

    from tests.workers_harness import purge_broker

    options = {} if broker else {"data_folder_in": str(tmp / "queue" / "messages")}
    purge_broker(broker, options)
    worker_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BFL_", "FAL_", "REPLICATE_", "CELERY_", "DATABASE_"))
    }
    worker_env.update(env, PYTHONUNBUFFERED="1")
    # Workers run as in production: debug off (debug records and formats every
    # query, which would inflate the figures this script exists to measure).
    worker_env.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
    )
    return Setup(
        database=described[0], broker=described[1], tmp=tmp, fake=fake, worker_env=worker_env
    )


def teardown(setup: Setup) -> None:
    """Stop the fake and drop the scratch PostgreSQL database (the tmp folder stays for logs)."""
    setup.fake.stop()
    from django.db import connections

    connections.close_all()
    if setup.database.startswith("PostgreSQL"):
        import psycopg

        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn,
        ):
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def make_team(name: str) -> tuple[Any, Any]:
    """A project with one owner; returns (project, user)."""
    from studio.models import Membership, Project, User

    user, _ = User.objects.get_or_create(username="bench")
    project = Project.objects.create(name=name)
    Membership.objects.create(project=project, user=user, role=Membership.Role.OWNER)
    return project, user


def board_panels(board) -> list:
    from boards.models import Panel

    return list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )


def wait_jobs(job_ids: list[int], timeout: float) -> dict[int, str]:
    """Wait until no job is active; return {job id: state}."""
    from tests.workers_harness import wait_for
    from workers.models import GenerationJob

    def settled():
        found = dict(GenerationJob.objects.filter(pk__in=job_ids).values_list("pk", "state"))
        busy = [s for s in found.values() if s in GenerationJob.ACTIVE_STATES]
        return None if busy else found

    return wait_for(settled, timeout, interval=0.02, what="the benchmark's jobs to settle")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of the given live processes, from /proc/<pid>/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            # After the command: state ppid ... utime (11) stime (12), counted from state = 0.
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def now() -> float:
    return time.time()
