"""Run the embedded studio: web server plus one Celery worker with beat.

`make run` calls this after migrating and seeding. Ctrl-C (or SIGTERM)
stops every process it started.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Start the web server and a Celery worker (with beat) until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("STUDIO_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("STUDIO_PORT", "8000")))
        parser.add_argument(
            "--concurrency", type=int, help="worker processes (default: CELERY_WORKER_CONCURRENCY)"
        )

    def handle(self, *args, host, port, concurrency, **options):
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                raise CommandError(
                    f"Port {port} on {host} is already in use: stop what runs there, "
                    f"or start with STUDIO_PORT=8001 make run."
                )
        python = sys.executable
        commands = {
            "web": [python, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
            "worker": [
                python, "-m", "celery", "-A", "studio", "worker", "--beat",
                "--queues", "default,generation,exports", "--loglevel", "INFO",
                *(["--concurrency", str(concurrency)] if concurrency else []),
            ],
        }  # fmt: skip
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, cmd in commands.items():
                children[name] = subprocess.Popen(cmd, start_new_session=True)
            self.stdout.write(
                self.style.SUCCESS(
                    f"Castboard is running on http://{host}:{port}/ (Ctrl-C stops it)"
                )
            )
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        raise CommandError(
                            f"The {name} process exited with status {child.returncode}."
                        )
                time.sleep(0.5)
        finally:
            self._stop_all(children)

    def _stop_all(self, children: dict[str, subprocess.Popen]) -> None:
        for child in children.values():
            if child.poll() is None:
                # The main process only: Celery then shuts its pool down warmly.
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
        self.stdout.write("Stopped the web server and the worker.")
