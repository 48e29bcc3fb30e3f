"""Shared set-up for the page benchmarks: Django in this process, on a scratch database.

Importing this module sets the environment the settings read (a temp
folder for `var/`, the tests' settings), so import it before Django.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STUDIO_VAR_DIR", tempfile.mkdtemp(prefix="castboard-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


@contextlib.contextmanager
def scratch_database() -> Iterator:
    """Set Django up and run the block in a test database of its own; yields the connection.

    SQLite under a temp folder, or the PostgreSQL of DATABASE_URL.
    """
    import django

    django.setup()
    from django.db import connection

    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def timed_gets(client, url: str, n: int, status: int = 200, before=None) -> tuple[list, list]:
    """Wall and CPU milliseconds of `n` GETs of `url` after one warm-up request.

    CPU time is steadier than wall time on a busy machine; `before` runs ahead of
    each timed request (e.g. to empty a cache).
    """
    import time

    client.get(url)  # warm caches (templates, connections)
    wall, cpu = [], []
    for _ in range(n):
        if before is not None:
            before()
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == status, response.status_code
    return wall, cpu
