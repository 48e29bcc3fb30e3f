"""What the fal.ai and Replicate fakes share: loopback servers, records, signed result URLs.

Each fake runs two `ThreadingHTTPServer`s: the provider's API host ("api")
and a delivery host ("delivery") serving signed, expiring result URLs, so a
client that sends its key to the delivery host, or downloads from the API
host, is caught. A subclass routes API requests in `route` and decides each
task's fate from the switches in its config (read per request, change them
at any time). Every shared structure sits behind one lock: Celery workers in
other processes talk to the same fake.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from tests.fakes.loopback import LoopbackFake, QuietHandler, Recorded, encode

Fate = Literal["ready", "moderated", "error"]


@dataclass
class QueueConfig:
    """Switches common to the queue-style fakes."""

    api_key: str = "test-key"
    latency_s: float = 0.05  # seconds from submit until the task is done
    cap: int | None = None  # tasks in flight above which submits answer 429
    retry_after: str | None = "1"
    force_429: int = 0  # answer this many submits with 429 regardless of the cap
    moderate_if: str | None = None  # the task is refused when the prompt holds this
    error_if: str | None = None  # the task fails when the prompt holds this
    submit_fail_status: int = 500
    submit_fail_times: int = 0
    submit_fail_after_record: bool = False  # ... after creating the task anyway
    answer_pad_bytes: int = 0  # pad JSON answers with whitespace (still valid JSON)
    sample_ttl_s: float = 600.0
    expired_status: int = 404
    result_url: str | None = None  # hand out this result URL instead of a signed one
    record_images: bool = True  # False: keep only the lengths of image inputs


@dataclass
class Task:
    id: str
    endpoint: str
    body: dict[str, Any]
    created: float
    ready_at: float
    fate: Fate
    width: int
    height: int
    extra: dict[str, Any] = field(default_factory=dict)
    image: bytes | None = field(default=None, repr=False)
    cancelled: bool = False  # stopped by a cancel call before it finished

    def done(self, now: float) -> bool:
        return now >= self.ready_at


class QueueFake(LoopbackFake):
    """Base of the fakes; subclasses implement `route` (and may add roles)."""

    roles = ("api", "delivery")

    def __init__(self, config: QueueConfig, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.config = config
        self.tasks: dict[str, Task] = {}
        self.max_in_flight = 0
        self.count_429 = 0
        self.delivery_base_url = ""

    def start(self):
        super().start()
        self.delivery_base_url = self.urls["delivery"]
        return self

    def make_handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self, role)

    @property
    def task_ids(self) -> list[str]:
        with self.lock:
            return list(self.tasks)

    @property
    def max_in_flight_seen(self) -> int:
        return self.max_in_flight

    def downloads(self) -> list[Recorded]:
        return [r for r in self.requests if r.server == "delivery"]

    def reset(self) -> None:
        self.forget_requests()
        with self.lock:
            self.tasks.clear()
            self.max_in_flight = 0
            self.count_429 = 0

    def in_flight(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        return sum(
            1
            for t in self.tasks.values()
            if not t.done(now) and t.fate != "moderated" and not t.cancelled
        )

    def cancel_task(self, task: Task) -> bool:
        """Stop a task that has not finished (True), as a provider's cancel call does."""
        now = time.monotonic()
        with self.lock:
            if task.done(now) or task.cancelled:
                return False
            task.cancelled = True
            task.ready_at = now
            return True

    def env(self) -> dict[str, str]:
        """The environment variables that point the backend at this fake."""
        raise NotImplementedError

    # --- shared protocol pieces -----------------------------------------------
    def route(
        self, handler: BaseHTTPRequestHandler, path: str, body: Any
    ) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def create_task(
        self, endpoint: str, body: dict[str, Any], width: int, height: int
    ) -> tuple[int, dict[str, str], Any] | Task:
        """Rate limits, injected failures, then the task; an answer tuple when refused."""
        cfg = self.config
        now = time.monotonic()
        with self.lock:
            if cfg.force_429 > 0 or (cfg.cap is not None and self.in_flight(now) >= cfg.cap):
                cfg.force_429 = max(0, cfg.force_429 - 1)
                self.count_429 += 1
                headers = {"Retry-After": cfg.retry_after} if cfg.retry_after else {}
                return 429, headers, {"detail": "Too many requests in flight."}
            fail_now = cfg.submit_fail_times > 0
            if fail_now:
                cfg.submit_fail_times -= 1
                if not cfg.submit_fail_after_record:
                    return cfg.submit_fail_status, {}, {"detail": "Internal Server Error"}
            prompt = str(body.get("prompt", ""))
            fate: Fate = "ready"
            if cfg.moderate_if and cfg.moderate_if in prompt:
                fate = "moderated"
            elif cfg.error_if and cfg.error_if in prompt:
                fate = "error"
            task = Task(
                id=secrets.token_hex(12),
                endpoint=endpoint,
                body=self.without_images(body),
                created=now,
                ready_at=now + max(0.0, cfg.latency_s),
                fate=fate,
                width=width,
                height=height,
            )
            self.tasks[task.id] = task
            self.max_in_flight = max(self.max_in_flight, self.in_flight(now))
        if fail_now:
            return cfg.submit_fail_status, {}, {"detail": "Internal Server Error"}
        return task

    def find(self, task_id: str) -> Task | None:
        with self.lock:
            return self.tasks.get(task_id)

    def result_url(self, task: Task) -> str:
        if self.config.result_url is not None:
            return self.config.result_url
        expires = f"{time.time() + self.config.sample_ttl_s:.3f}"
        return (
            f"{self.delivery_base_url}/files/{task.id}.jpeg"
            f"?exp={expires}&sig={self.sign(task.id, expires)}"
        )

    def _deliver(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], Any]:
        split = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        task_id = split.path.rsplit("/", 1)[-1].split(".", 1)[0]
        if not self.signed(task_id, query):
            return 403, {}, {"detail": "Signature mismatch"}
        if time.time() > float(query.get("exp", "0")):
            return self.config.expired_status, {}, {"detail": "Expired"}
        task = self.find(task_id)
        if task is None:
            return 404, {}, {"detail": "No such file"}
        if task.image is None:
            task.image = render(task.body, task.width, task.height)
        return 200, {"Content-Type": "image/jpeg"}, task.image

    def without_images(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.config.record_images:
            return dict(body)
        return {k: _shorten(v) for k, v in body.items()}

    def recorded_body(self, body: Any) -> Any:
        return self.without_images(body)


def _shorten(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("data:"):
        return f"<{len(value)} chars>"
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    return value


def data_uri_size(value: Any) -> tuple[int, int]:
    """The size of an image sent as a `data:` URI (a fill's output keeps it); 1024 square otherwise."""
    if isinstance(value, str) and value.startswith("data:image/") and "," in value:
        with (
            contextlib.suppress(Exception),
            Image.open(io.BytesIO(base64.b64decode(value.split(",", 1)[1]))) as image,
        ):
            return image.size
    return 1024, 1024


def render(body: dict[str, Any], width: int, height: int) -> bytes:
    """A JPEG of the requested size whose colour comes from prompt and seed."""
    digest = hashlib.sha256(f"{body.get('prompt')}|{body.get('seed')}".encode()).digest()
    image = Image.new("RGB", (width, height), (digest[0], digest[1], digest[2]))
    ImageDraw.Draw(image).rectangle(
        [width // 4, height // 4, 3 * width // 4, 3 * height // 4], outline="white"
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def sample_colour(body: dict[str, Any]) -> tuple[int, int, int]:
    digest = hashlib.sha256(f"{body.get('prompt')}|{body.get('seed')}".encode()).digest()
    return digest[0], digest[1], digest[2]


def _make_handler(fake: QueueFake, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            self._dispatch(None)

        def do_POST(self) -> None:
            self._dispatch(self._body())

        def do_PUT(self) -> None:
            self._dispatch(self._body())

        def _body(self) -> Any:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if (self.headers.get("content-type") or "").startswith("application/json"):
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return None
            return raw

        def _dispatch(self, body: Any) -> None:
            fake.record(role, self, body)
            path = urlsplit(self.path).path
            if role == "delivery":
                answer = (
                    fake._deliver(self)
                    if self.command == "GET" and path.startswith("/files/")
                    else (404, {}, {"detail": "Not Found"})
                )
            else:
                answer = fake.route(self, path, body)
            status, headers, payload = answer
            self.send(status, headers, encode(payload, headers, pad=fake.config.answer_pad_bytes))

    return Handler


def serve_until_interrupted(fake: QueueFake) -> None:
    """Run a started fake in the foreground, printing the environment that points at it."""
    print(" ".join(f"{k}={v}" for k, v in fake.env().items()), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
