"""A fake Black Forest Labs provider: real HTTP on loopback, switchable failures.

Three servers on OS-picked ports (`tests.fakes.loopback`) play the provider's hosts:
the submit host (`base_url`), a regional polling host and a delivery host
serving signed, expiring sample URLs. Each answers only its own routes, so a
client that ignores the returned `polling_url` or sample URL gets a 404.

Used by unit tests, benchmarks and integration tests where separate Celery
worker processes talk to it, so every shared structure sits behind one lock.
The switches live in `FakeBFL.config` and may be changed while it runs.

Standalone: `python -m tests.fakes.bfl_server --port 8765 --latency 2 --cap 24`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import math
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw, PngImagePlugin

from tests.fakes.loopback import LoopbackFake, QuietHandler, Recorded, encode

# model -> (most input images accepted, size control)
MODELS: dict[str, tuple[int, str]] = {
    "flux-2-pro": (8, "pixels"),
    "flux-2-max": (8, "pixels"),
    "flux-2-flex": (8, "pixels"),
    "flux-2-klein-4b": (4, "pixels"),
    "flux-2-klein-9b": (4, "pixels"),
    "flux-kontext-pro": (4, "aspect_ratio"),
    "flux-kontext-max": (4, "aspect_ratio"),
    # Fill: `image` and `mask` (white = change), the output is the image's size.
    "flux-pro-1.0-fill": (0, "fill"),
}
# Credits: Kontext flat per image; FLUX.2 first megapixel + each further one.
_FLAT_PRICE = {"flux-kontext-pro": 4.0, "flux-kontext-max": 8.0, "flux-pro-1.0-fill": 5.0}
_MP_PRICE = {
    "flux-2-pro": (3.0, 1.5),
    "flux-2-max": (7.0, 3.0),
    "flux-2-flex": (5.0, 5.0),
    "flux-2-klein-4b": (1.4, 0.1),
    "flux-2-klein-9b": (1.5, 0.2),
}
_MAX_PIXELS = 4 * 1024 * 1024


@dataclass
class FakeConfig:
    """Switches; change them at any time, they are read per request."""

    api_key: str = "test-key"
    # Seconds from submit until Ready. Before that the status is initial_status, then
    # each of `working_statuses` in turn (e.g. ("Reasoning", "Generating")).
    latency_s: float = 0.05
    # Each task's latency is drawn from latency_s x (1 ± latency_spread), uniformly,
    # from a generator seeded with latency_seed: the same run gets the same latencies.
    latency_spread: float = 0.0
    latency_seed: int = 16
    initial_status: str = "Pending"
    working_statuses: tuple[str, ...] = ()
    # Tasks not yet final count as in flight; above the cap submit answers 429.
    cap: int | None = None
    retry_after: str | None = "1"  # seconds or an HTTP date; None omits the header
    force_429: int = 0  # answer this many submits with 429 regardless of the cap
    poll_on_other_port: bool = True
    sample_on_delivery_host: bool = True
    delivery_hostname: str = "127.0.0.1"
    # Moderation, globally or when the prompt contains a substring.
    moderate: Literal["request", "content"] | None = None
    moderate_request_if: str | None = None
    moderate_content_if: str | None = None
    error_if: str | None = None  # final status "Error" when the prompt contains this
    fail_all: bool = False  # every task ends in "Error"
    forget_tasks: bool = False  # every poll answers "Task not found"
    credits: float = 10_000.0  # 402 once a submit would cost more than what is left
    submit_fail_status: int = 500
    submit_fail_times: int = 0  # answer this many submits with submit_fail_status
    submit_fail_after_record: bool = False  # ... after creating the task anyway
    submit_delay_s: float = 0.0  # sleep before answering a submit (client timeouts)
    submit_disconnect: bool = False  # drop the connection without answering
    poll_fail_status: int = 503
    poll_fail_times: int = 0  # answer this many polls with poll_fail_status
    include_cost: bool = True
    # Sample delivery.
    sample_ttl_s: float = 600.0
    expired_status: int = 403  # signed URLs answer 403 (or 404) once expired
    sample_redirect_host: str | None = None  # 302 the sample to this host name
    sample_pad_bytes: int = 0  # append this many bytes to the image (oversized body)
    sample_content_length: bool = True  # False: no Content-Length, close to end
    sample_fail_status: int = 503
    sample_fail_times: int = 0  # answer this many sample downloads with sample_fail_status
    sample_url: str | None = None  # hand out this result URL instead of a signed one
    answer_pad_bytes: int = 0  # pad every JSON answer with this much whitespace (still valid)
    drip_chunk_bytes: int = 256
    drip_interval_s: float = 0.0  # > 0: send the body slowly, one chunk per interval
    # False: recorded bodies keep only the length of each input image, so a
    # long benchmark does not hold every reference it ever sent in memory.
    record_images: bool = True


RecordedRequest = Recorded  # the name older tests use


@dataclass
class _Task:
    id: str
    model: str
    body: dict[str, Any]
    created: float
    ready_at: float
    fate: Literal["ready", "request_moderated", "content_moderated", "error"]
    width: int
    height: int
    output_format: str
    statuses: tuple[str, ...]
    ready_wall: float = 0.0  # ready_at on the time.time() clock, for benchmarks
    image: bytes | None = field(default=None, repr=False)

    def in_flight(self, now: float) -> bool:
        return self.fate != "request_moderated" and now < self.ready_at


class FakeBFL(LoopbackFake):
    """The fake provider. Use as a context manager or call start()/stop()."""

    name = "fake-bfl"
    roles = ("api", "poll", "delivery")

    def __init__(self, config: FakeConfig | None = None, *, port: int = 0) -> None:
        super().__init__(port=port)
        self.config = config or FakeConfig()
        self._tasks: dict[str, _Task] = {}
        self._max_in_flight = 0
        self._count_429 = 0
        self._latencies = random.Random(self.config.latency_seed)
        self.poll_base_url = ""
        self.delivery_base_url = ""

    def start(self) -> FakeBFL:
        """Bind the three servers and serve them from daemon threads."""
        super().start()
        self.poll_base_url = self.urls["poll"]
        self.delivery_base_url = self.urls["delivery"]
        return self

    def make_handler(self, role: str) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self, role)

    def recorded_body(self, body: Any) -> Any:
        return body if self.config.record_images else _without_images(body)

    # --- inspection -----------------------------------------------------------
    def submissions(self) -> list[RecordedRequest]:
        """The POST /v1/<model> requests (whatever their answer was)."""
        return [
            r
            for r in self.requests
            if r.method == "POST" and r.server == "api" and r.path.startswith("/v1/")
        ]

    def polls(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/get_result"]

    def downloads(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith("/samples/")]

    @property
    def task_ids(self) -> list[str]:
        with self.lock:
            return list(self._tasks)

    def ready_times(self) -> dict[str, tuple[str, float]]:
        """Task id -> (prompt, when it was or will be ready on the time.time() clock)."""
        with self.lock:
            return {
                t.id: (str(t.body.get("prompt", "")), t.ready_wall) for t in self._tasks.values()
            }

    def latencies(self) -> list[float]:
        """Each accepted task's latency, in the order of submission."""
        with self.lock:
            return [t.ready_at - t.created for t in self._tasks.values()]

    @property
    def max_in_flight_seen(self) -> int:
        with self.lock:
            return self._max_in_flight

    @property
    def count_429(self) -> int:
        with self.lock:
            return self._count_429

    def in_flight(self) -> int:
        now = time.monotonic()
        with self.lock:
            return sum(1 for t in self._tasks.values() if t.in_flight(now))

    def reset(self) -> None:
        """Forget requests, tasks and counters (the config stays)."""
        self.forget_requests()
        with self.lock:
            self._tasks.clear()
            self._max_in_flight = 0
            self._count_429 = 0
            self._latencies = random.Random(self.config.latency_seed)

    # --- protocol -------------------------------------------------------------
    def _submit(self, model: str, body: Any) -> tuple[int, dict[str, str], Any]:
        cfg = self.config
        if model not in MODELS:
            return 404, {}, {"detail": "Not Found"}
        problems = _validate(model, body)
        if problems:
            return 422, {}, {"detail": problems}
        width, height = _output_size(model, body)
        refs = sum(1 for k in body if k.startswith("input_image") and body[k])
        cost = _price(model, width, height, refs)
        now = time.monotonic()
        with self.lock:
            if cfg.force_429 > 0 or (
                cfg.cap is not None
                and sum(1 for t in self._tasks.values() if t.in_flight(now)) >= cfg.cap
            ):
                cfg.force_429 = max(0, cfg.force_429 - 1)
                self._count_429 += 1
                headers = {"Retry-After": cfg.retry_after} if cfg.retry_after else {}
                return 429, headers, {"detail": "Too many active tasks."}
            if cost > cfg.credits:
                return 402, {}, {"detail": "Insufficient credits."}
            fail_now = cfg.submit_fail_times > 0
            if fail_now:
                cfg.submit_fail_times -= 1
                if not cfg.submit_fail_after_record:
                    return cfg.submit_fail_status, {}, {"detail": "Internal Server Error"}
            cfg.credits -= cost
            latency = max(0.0, cfg.latency_s)
            if cfg.latency_spread:
                latency *= self._latencies.uniform(1 - cfg.latency_spread, 1 + cfg.latency_spread)
            task = _Task(
                id=secrets.token_hex(16),
                model=model,
                body=_without_images(body),
                created=now,
                ready_at=now + latency,
                fate=self._fate(str(body.get("prompt", ""))),
                width=width,
                height=height,
                output_format=str(body.get("output_format") or "jpeg"),
                statuses=(cfg.initial_status, *cfg.working_statuses),
                ready_wall=time.time() + latency,
            )
            self._tasks[task.id] = task
            flying = sum(1 for t in self._tasks.values() if t.in_flight(now))
            self._max_in_flight = max(self._max_in_flight, flying)
        if fail_now:
            return cfg.submit_fail_status, {}, {"detail": "Internal Server Error"}
        poll_base = self.poll_base_url if cfg.poll_on_other_port else self.base_url
        answer: dict[str, Any] = {
            "id": task.id,
            "polling_url": f"{poll_base}/v1/get_result?id={task.id}",
        }
        if cfg.include_cost:
            answer.update(cost=cost, input_mp=refs, output_mp=round(width * height / 1e6, 2))
        return 200, {}, answer

    def _fate(
        self, prompt: str
    ) -> Literal["ready", "request_moderated", "content_moderated", "error"]:
        cfg = self.config
        if cfg.moderate == "request" or (
            cfg.moderate_request_if and cfg.moderate_request_if in prompt
        ):
            return "request_moderated"
        if cfg.moderate == "content" or (
            cfg.moderate_content_if and cfg.moderate_content_if in prompt
        ):
            return "content_moderated"
        if cfg.fail_all or (cfg.error_if and cfg.error_if in prompt):
            return "error"
        return "ready"

    def _poll(self, task_id: str) -> tuple[int, dict[str, str], Any]:
        cfg = self.config
        with self.lock:
            if cfg.poll_fail_times > 0:
                cfg.poll_fail_times -= 1
                headers = {"Retry-After": cfg.retry_after} if cfg.retry_after else {}
                return cfg.poll_fail_status, headers, {"detail": "Service Unavailable"}
            task = None if cfg.forget_tasks else self._tasks.get(task_id)
        if task is None:
            return 200, {}, {"id": task_id, "status": "Task not found"}
        answer: dict[str, Any] = {"id": task.id, "result": None, "details": None}
        now = time.monotonic()
        if task.fate == "request_moderated":
            answer["status"] = "Request Moderated"
            answer["details"] = {"Moderation Reasons": ["Input image or prompt refused"]}
        elif now < task.ready_at:
            span = max(task.ready_at - task.created, 1e-9)
            share = min(0.999, (now - task.created) / span)
            answer["status"] = task.statuses[int(share * len(task.statuses))]
            answer["progress"] = round(share, 3)
        elif task.fate == "content_moderated":
            answer["status"] = "Content Moderated"
            answer["details"] = {"Moderation Reasons": ["Generated content refused"]}
        elif task.fate == "error":
            answer["status"] = "Error"
            answer["details"] = {"error": "Generation failed in the fake provider."}
        else:
            answer["status"] = "Ready"
            answer["progress"] = 1.0
            answer["result"] = {
                "sample": self._sample_url(task),
                "seed": task.body.get("seed"),
                "prompt": task.body.get("prompt"),
            }
        return 200, {}, answer

    def _sample_url(self, task: _Task) -> str:
        cfg = self.config
        if cfg.sample_url is not None:
            return cfg.sample_url
        expires = time.time() + cfg.sample_ttl_s
        ext = "png" if task.output_format == "png" else "jpeg"
        if cfg.sample_on_delivery_host:
            host = f"{cfg.delivery_hostname}:{self.port('delivery')}"
        else:
            host = f"127.0.0.1:{self.port('api')}"
        return (
            f"http://{host}/samples/{task.id}.{ext}"
            f"?exp={expires:.3f}&sig={self.sign(task.id, f'{expires:.3f}')}"
        )

    def _sample(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], Any]:
        """Check a signed sample URL; on success the body is the image bytes."""
        cfg = self.config
        split = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        task_id = split.path.rsplit("/", 1)[-1].split(".", 1)[0]
        if not self.signed(task_id, query):
            return 403, {}, {"detail": "Signature mismatch"}
        if time.time() > float(query.get("exp", "0")):
            return cfg.expired_status, {}, {"detail": "Signed URL expired"}
        with self.lock:
            if cfg.sample_fail_times > 0:
                cfg.sample_fail_times -= 1
                return cfg.sample_fail_status, {}, {"detail": "Service Unavailable"}
        if cfg.sample_redirect_host and "hop" not in query:
            host = handler.headers.get("host", "").split(":", 1)[0]
            if host != cfg.sample_redirect_host:
                location = (
                    f"http://{cfg.sample_redirect_host}:{self.port('delivery')}{handler.path}&hop=1"
                )
                return 302, {"Location": location}, b""
        with self.lock:
            task = self._tasks.get(task_id)
        if task is None:
            return 404, {}, {"detail": "No such blob"}
        if task.image is None:
            task.image = render_sample(task.body, task.width, task.height, task.output_format)
        return (
            200,
            {"Content-Type": f"image/{'png' if task.output_format == 'png' else 'jpeg'}"},
            (task.image + b"\0" * max(0, cfg.sample_pad_bytes)),
        )

    def _credits(self) -> tuple[int, dict[str, str], Any]:
        with self.lock:
            return 200, {}, {"credits": round(self.config.credits, 2)}


# --- request checks and outputs ---------------------------------------------
def _validate(model: str, body: Any) -> list[dict[str, Any]]:
    """FastAPI-shaped 422 details for the mistakes a client could make."""
    if not isinstance(body, dict):
        return [_problem(["body"], "Input should be a valid dictionary", "dict_type")]
    problems = []
    if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
        problems.append(_problem(["body", "prompt"], "Field required", "missing"))
    most_refs, size_mode = MODELS[model]
    if size_mode == "fill":
        problems.extend(_fill_problems(body))
    for key in ("width", "height"):
        if key not in body or body[key] is None:
            continue
        value = body[key]
        if size_mode != "pixels":
            problems.append(_problem(["body", key], "Extra inputs are not permitted", "extra"))
        elif not isinstance(value, int) or value < 64 or value % 16:
            problems.append(
                _problem(["body", key], "Value must be a multiple of 16 and at least 64", "value")
            )
    width, height = body.get("width"), body.get("height")
    if isinstance(width, int) and isinstance(height, int) and width * height > _MAX_PIXELS:
        problems.append(_problem(["body", "width"], "Output larger than 4 MP", "value"))
    ratio = body.get("aspect_ratio")
    if ratio is not None and _parse_ratio(ratio) is None:
        problems.append(_problem(["body", "aspect_ratio"], "Invalid aspect ratio", "value"))
    names = ["input_image"] + [f"input_image_{i}" for i in range(2, 11)]
    for index, name in enumerate(names):
        value = body.get(name)
        if value is None:
            continue
        if index >= most_refs:
            problems.append(_problem(["body", name], "Too many input images", "extra"))
        elif not isinstance(value, str) or value.startswith("data:"):
            problems.append(
                _problem(["body", name], "Expected bare base64 or an https URL", "value")
            )
    return problems


def _decoded(value: Any) -> Image.Image | None:
    """A bare base64 image, or None when the value is not one."""
    if not isinstance(value, str) or value.startswith("data:"):
        return None
    try:
        image = Image.open(io.BytesIO(base64.b64decode(value, validate=True)))
        image.load()
    except Exception:
        return None
    return image


def _fill_problems(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Fill takes `image` and `mask`, both bare base64 images of one size, and no size of its own."""
    problems = []
    images = {key: _decoded(body.get(key)) for key in ("image", "mask")}
    for key, image in images.items():
        if image is None:
            problems.append(_problem(["body", key], "Expected a bare base64 image", "value"))
    image, mask = images["image"], images["mask"]
    if image is not None and mask is not None and image.size != mask.size:
        problems.append(_problem(["body", "mask"], "Mask size differs from image", "value"))
    for key in ("width", "height", "aspect_ratio"):
        if key in body:
            problems.append(_problem(["body", key], "Extra inputs are not permitted", "extra"))
    return problems


def _without_images(body: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (
            f"<{len(v)} chars>"
            if (k.startswith("input_image") or k in ("image", "mask")) and isinstance(v, str)
            else v
        )
        for k, v in body.items()
    }


def _problem(loc: list[str], msg: str, kind: str) -> dict[str, Any]:
    return {"loc": loc, "msg": msg, "type": kind}


def _parse_ratio(value: Any) -> float | None:
    try:
        a, b = (float(x) for x in str(value).split(":"))
    except ValueError:
        return None
    if a <= 0 or b <= 0 or not (9 / 21 - 1e-6 <= a / b <= 21 / 9 + 1e-6):
        return None
    return a / b


def _output_size(model: str, body: dict[str, Any]) -> tuple[int, int]:
    if MODELS[model][1] == "fill":
        image = _decoded(body.get("image"))
        return image.size if image is not None else (1024, 1024)
    if MODELS[model][1] == "pixels":
        return int(body.get("width") or 1024), int(body.get("height") or 1024)
    ratio = _parse_ratio(body.get("aspect_ratio") or "1:1") or 1.0
    # About one megapixel, sides in steps of 32 like the real service.
    width = round(math.sqrt(1024 * 1024 * ratio) / 32) * 32
    height = round(math.sqrt(1024 * 1024 / ratio) / 32) * 32
    return width, height


def _price(model: str, width: int, height: int, refs: int) -> float:
    if model in _FLAT_PRICE:
        return _FLAT_PRICE[model]
    first, extra = _MP_PRICE[model]
    megapixels = math.ceil(width * height / (1024 * 1024)) + refs
    return round(first + extra * max(0, megapixels - 1), 2)


def sample_colour(body: dict[str, Any]) -> tuple[int, int, int]:
    """The fill colour of a sample: a hash of prompt and seed, so tests can tell takes apart."""
    digest = hashlib.sha256(f"{body.get('prompt')}|{body.get('seed')}".encode()).digest()
    return digest[0], digest[1], digest[2]


def render_sample(body: dict[str, Any], width: int, height: int, output_format: str) -> bytes:
    """A real image of the requested size, coloured and labelled from the request."""
    image = Image.new("RGB", (width, height), sample_colour(body))
    draw = ImageDraw.Draw(image)
    draw.rectangle([width // 4, height // 4, 3 * width // 4, 3 * height // 4], outline="white")
    out = io.BytesIO()
    if output_format == "png":
        info = PngImagePlugin.PngInfo()
        info.add_text("prompt", str(body.get("prompt", ""))[:500])
        info.add_text("seed", str(body.get("seed")))
        image.save(out, "PNG", pnginfo=info, compress_level=1)  # speed over size
    else:
        image.save(out, "JPEG", quality=85)
    return out.getvalue()


# --- HTTP plumbing ----------------------------------------------------------
def _make_handler(fake: FakeBFL, role: str) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        server_version = "FakeBFL/1.0"

        def do_GET(self) -> None:
            self._dispatch(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            self._dispatch(body)

        def _dispatch(self, body: Any) -> None:
            fake.record(role, self, body)
            path = urlsplit(self.path).path
            status, headers, payload = self._route(path, body)
            if status == 0:  # connection dropped on purpose
                self.close_connection = True
                return
            self._answer(status, headers, payload)

        def _route(self, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
            cfg = fake.config
            if role == "delivery" or (role == "api" and path.startswith("/samples/")):
                if role == "api" and cfg.sample_on_delivery_host:
                    return 404, {}, {"detail": "Not Found"}
                if self.command != "GET" or not path.startswith("/samples/"):
                    return 404, {}, {"detail": "Not Found"}
                return fake._sample(self)
            # The submit and polling hosts both want the key.
            if self.headers.get("x-key") != cfg.api_key:
                return 401, {}, {"detail": "Invalid or missing API key"}
            if path == "/v1/get_result" and self.command == "GET":
                if role == "api" and cfg.poll_on_other_port:
                    return 404, {}, {"detail": "Not Found"}
                task_id = parse_qs(urlsplit(self.path).query).get("id", [""])[0]
                return fake._poll(task_id)
            if role != "api":
                return 404, {}, {"detail": "Not Found"}
            if path == "/v1/credits" and self.command == "GET":
                return fake._credits()
            if self.command == "POST" and path.startswith("/v1/"):
                if cfg.submit_delay_s:
                    time.sleep(cfg.submit_delay_s)
                if cfg.submit_disconnect:
                    return 0, {}, None
                return fake._submit(path[len("/v1/") :], body)
            return 404, {}, {"detail": "Not Found"}

        def _answer(self, status: int, headers: dict[str, str], payload: Any) -> None:
            cfg = fake.config
            data = encode(payload, headers, pad=cfg.answer_pad_bytes)
            is_sample = status == 200 and urlsplit(self.path).path.startswith("/samples/")
            if not is_sample:
                self.send(status, headers, data)
                return
            self.send_head(status, headers, len(data) if cfg.sample_content_length else None)
            if cfg.drip_interval_s > 0:
                step = max(1, cfg.drip_chunk_bytes)
                for start in range(0, len(data), step):
                    self.wfile.write(data[start : start + step])
                    self.wfile.flush()
                    time.sleep(cfg.drip_interval_s)
            else:
                self.wfile.write(data)

    return Handler


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone until interrupted, printing its URLs."""
    parser = argparse.ArgumentParser(description="Fake Black Forest Labs API on loopback.")
    parser.add_argument("--port", type=int, default=0, help="submit host port (0: any)")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds until Ready")
    parser.add_argument("--cap", type=int, default=None, help="tasks in flight before 429")
    parser.add_argument("--key", default="test-key", help="expected x-key")
    parser.add_argument("--working", action="store_true", help="report Reasoning/Generating")
    args = parser.parse_args(argv)
    config = FakeConfig(
        record_images=False,
        api_key=args.key,
        latency_s=args.latency,
        cap=args.cap,
        working_statuses=("Reasoning", "Generating") if args.working else (),
    )
    fake = FakeBFL(config, port=args.port).start()
    print(f"BFL_BASE_URL={fake.base_url}", flush=True)
    print(f"polling host {fake.poll_base_url}, delivery host {fake.delivery_base_url}", flush=True)
    print(
        f"BFL_API_KEY={config.api_key} BFL_RESULT_HOSTS=127.0.0.1 "
        f"BFL_POLLING_ORIGINS={fake.poll_base_url}",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
