"""The plumbing every fake provider shares: HTTP servers on loopback, one per host it plays.

A fake plays a provider's hosts (its API host, a polling or delivery host)
as `ThreadingHTTPServer`s on OS-picked ports, records every request it gets
and signs the result URLs it hands out. Celery workers in other processes
talk to the same fake, so the records sit behind `lock`.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Recorded:
    server: str  # the role of the host that got it: "api", "poll", "delivery"
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, the raw bytes of another body, or None
    time: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops connections when many workers poll at
    # once, and the client's SYN retry adds whole seconds to a request.
    request_queue_size = 256


class LoopbackFake:
    """Starts, stops and records the servers of the `roles` a subclass plays.

    `make_handler(role)` gives each server its request handler class.
    """

    name = "fake"
    roles: tuple[str, ...] = ("api",)

    def __init__(self, *, port: int = 0) -> None:
        self._port = port  # the API host's; the others take any free port
        self.lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._secret = secrets.token_bytes(16)
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []
        self.urls: dict[str, str] = {}
        self.base_url = ""

    def make_handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    # --- lifecycle ------------------------------------------------------------
    def start(self):
        """Bind a server per role and serve each from a daemon thread."""
        for role in self.roles:
            port = self._port if role == "api" else 0
            server = _Server(("127.0.0.1", port), self.make_handler(role))
            self._servers[role] = server
            # A short poll interval keeps stop() fast (tests start many fakes).
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.name}-{role}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        self.urls = {role: f"http://127.0.0.1:{self.port(role)}" for role in self.roles}
        self.base_url = self.urls["api"]
        return self

    def stop(self) -> None:
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def port(self, role: str) -> int:
        return int(self._servers[role].server_address[1])

    # --- records and signatures ------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        """A copy of every request received so far, oldest first."""
        with self.lock:
            return list(self._requests)

    def recorded_body(self, body: Any) -> Any:
        """The body as kept in the records (a subclass may leave the images out)."""
        return body

    def record(self, role: str, handler: BaseHTTPRequestHandler, body: Any) -> None:
        split = urlsplit(handler.path)
        record = Recorded(
            server=role,
            method=handler.command,
            path=split.path,
            query=parse_qs(split.query),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=self.recorded_body(body) if isinstance(body, dict) else body,
            time=time.time(),
        )
        with self.lock:
            self._requests.append(record)

    def forget_requests(self) -> None:
        with self.lock:
            self._requests.clear()

    def sign(self, task_id: str, expires: str) -> str:
        """The signature of a result URL for `task_id` valid until `expires`."""
        return hmac.new(self._secret, f"{task_id}|{expires}".encode(), "sha256").hexdigest()[:32]

    def signed(self, task_id: str, query: dict[str, str]) -> bool:
        return hmac.compare_digest(query.get("sig", ""), self.sign(task_id, query.get("exp", "")))


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, no logging, no Nagle; `send` writes one whole answer."""

    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections end eventually
    # Headers and body leave in separate writes; with Nagle on, the client's
    # delayed ACK holds every answer back about 40 ms, which no real provider
    # would add and which would dominate loopback benchmarks.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet in tests
        return

    def handle(self) -> None:
        # Clients that give up mid-body (the point of several switches) reset
        # the connection; that is not worth a traceback.
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle()

    def send_head(self, status: int, headers: dict[str, str], length: int | None) -> None:
        """Status and headers; without a `length` the body ends when the connection closes."""
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Date", formatdate(usegmt=True))
        if length is None:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_head(status, headers, len(data))
        self.wfile.write(data)


def encode(payload: Any, headers: dict[str, str], *, pad: int = 0) -> bytes:
    """An answer's body: bytes as they are, anything else as JSON (padded with spaces)."""
    if isinstance(payload, bytes | bytearray):
        headers.setdefault("Content-Type", "application/octet-stream")
        return bytes(payload)
    headers.setdefault("Content-Type", "application/json")
    return json.dumps(payload).encode() + b" " * max(0, pad)
