"""A fake Replicate predictions API on loopback (reference/providers.md), with variants.

`POST /v1/models/{owner}/{name}/predictions` (`Authorization: Bearer …`,
body `{"input": {...}}`) answers 201 with `id`, `status` and `urls.get` /
`urls.cancel`; `GET /v1/predictions/{id}` reports `starting`, `processing`,
then `succeeded` with `output`, or `failed` with `error`.
`POST /v1/files` (multipart, field `content`) stores an upload and answers
its `urls.get`, which predictions may take as an input image. Where the
documentation leaves a choice open the fake answers either way:

- `output_as_list`: `output` is a list of URLs (True) or one URL;
- `get_url_host`: the host `urls.get` names (another host must not get the token).

Standalone: `python -m tests.fakes.replicate_server --latency 2`.
"""

from __future__ import annotations

import argparse
import secrets
import time
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.queue_server import (
    QueueConfig,
    QueueFake,
    Task,
    data_uri_size,
    serve_until_interrupted,
)

# model -> (input field for images, most images, size control)
MODELS: dict[str, tuple[str, int, str]] = {
    "black-forest-labs/flux-2-pro": ("input_images", 8, "pixels"),
    "black-forest-labs/flux-kontext-pro": ("input_image", 1, "aspect_ratio"),
    "black-forest-labs/flux-kontext-max": ("input_image", 1, "aspect_ratio"),
    # Fill: `image` and `mask` (white = change); the output is the image's size.
    "black-forest-labs/flux-fill-pro": ("image", 1, "fill"),
}
MODERATION_ERROR = "Prediction failed: the output was flagged as sensitive (E005)."


@dataclass
class ReplicateConfig(QueueConfig):
    output_as_list: bool = True
    get_url_host: str | None = None  # None: the API host itself


class FakeReplicate(QueueFake):
    name = "fake-replicate"
    config: ReplicateConfig

    def __init__(self, config: ReplicateConfig | None = None, *, port: int = 0) -> None:
        super().__init__(config or ReplicateConfig(), port=port)
        self.files: dict[str, bytes] = {}

    def submissions(self):
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/predictions")]

    def polls(self):
        return [r for r in self.requests if r.method == "GET" and "/predictions/" in r.path]

    def uploads(self):
        return [r for r in self.requests if r.path == "/v1/files"]

    def cancels(self):
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/cancel")]

    def env(self) -> dict[str, str]:
        """The environment that points the replicate backend at this fake."""
        return {
            "REPLICATE_API_TOKEN": self.config.api_key,
            "REPLICATE_BASE_URL": self.base_url,
            "REPLICATE_RESULT_HOSTS": "127.0.0.1",
        }

    def route(
        self, handler: BaseHTTPRequestHandler, path: str, body: Any
    ) -> tuple[int, dict[str, str], Any]:
        if handler.headers.get("authorization") != f"Bearer {self.config.api_key}":
            return 401, {}, {"detail": "Invalid token."}
        parts = [p for p in path.split("/") if p]
        if parts[:1] != ["v1"]:
            return 404, {}, {"detail": "Not found."}
        if parts[1:] == ["files"] and handler.command == "POST":
            return self._upload(handler, body)
        if len(parts) == 5 and parts[1] == "models" and parts[4] == "predictions":
            if handler.command != "POST":
                return 405, {}, {"detail": "Method not allowed."}
            return self._create(f"{parts[2]}/{parts[3]}", body)
        if len(parts) >= 3 and parts[1] == "predictions":
            task = self.find(parts[2])
            if task is None:
                return 404, {}, {"detail": "Not found."}
            if parts[3:] == ["cancel"] and handler.command == "POST":
                self.cancel_task(task)  # a finished prediction stays as it was
                return 200, {}, self._prediction(task)
            if not parts[3:] and handler.command == "GET":
                return 200, {}, self._prediction(task)
        return 404, {}, {"detail": "Not found."}

    def _upload(self, handler: BaseHTTPRequestHandler, raw: Any) -> tuple[int, dict[str, str], Any]:
        content_type = handler.headers.get("content-type") or ""
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode() + (raw or b"")
        )
        parts = [
            p
            for p in message.iter_parts()
            if p.get_param("name", header="content-disposition") == "content"
        ]
        if not parts:
            return 400, {}, {"detail": "Field 'content' is required."}
        data = parts[0].get_payload(decode=True) or b""
        file_id = secrets.token_hex(8)
        with self.lock:
            self.files[file_id] = data
        return (
            201,
            {},
            {
                "id": file_id,
                "size": len(data),
                "urls": {"get": f"{self.base_url}/v1/files/{file_id}"},
            },
        )

    def _create(self, model: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if model not in MODELS:
            return 404, {}, {"detail": f"Model {model} not found."}
        inputs = body.get("input") if isinstance(body, dict) else None
        problems = self._validate(model, inputs)
        if problems:
            return 422, {}, {"detail": "; ".join(problems)}
        width, height = _size(model, inputs)
        created = self.create_task(model, inputs, width, height)
        if not isinstance(created, Task):
            return created
        return 201, {}, self._prediction(created)

    def _validate(self, model: str, inputs: Any) -> list[str]:
        if not isinstance(inputs, dict):
            return ["input is required"]
        problems = []
        if not isinstance(inputs.get("prompt"), str) or not inputs["prompt"].strip():
            problems.append("input.prompt is required")
        field, most, size_mode = MODELS[model]
        if size_mode == "fill" and not inputs.get("mask"):
            problems.append("input.mask is required")
        if size_mode == "fill" and not inputs.get("image"):
            problems.append("input.image is required")
        images = inputs.get(field)
        images = images if isinstance(images, list) else ([images] if images else [])
        if len(images) > most:
            problems.append(f"input.{field}: at most {most} images")
        if size_mode == "fill" and inputs.get("mask"):
            images = [*images, inputs["mask"]]
        for url in images:
            own_file = isinstance(url, str) and url.startswith(f"{self.base_url}/v1/files/")
            if own_file and url.rsplit("/", 1)[-1] not in self.files:
                problems.append(f"input.{field}: unknown file {url}")
            elif not own_file and not (isinstance(url, str) and url.startswith("data:image/")):
                problems.append(f"input.{field}: expected a URL or data URI")
        if size_mode == "pixels" and inputs.get("aspect_ratio") == "custom":
            for key in ("width", "height"):
                value = inputs.get(key)
                if not isinstance(value, int) or value < 256 or value % 16:
                    problems.append(f"input.{key}: a multiple of 16 from 256")
        tolerance = inputs.get("safety_tolerance")
        if tolerance is not None and not (isinstance(tolerance, int) and 1 <= tolerance <= 5):
            problems.append("input.safety_tolerance: 1 to 5")
        return problems

    def _prediction(self, task: Task) -> dict[str, Any]:
        now = time.monotonic()
        host = self.config.get_url_host
        base = self.base_url if host is None else f"http://{host}:{self.port('api')}"
        answer: dict[str, Any] = {
            "id": task.id,
            "model": task.endpoint,
            "input": task.body,
            "urls": {
                "get": f"{base}/v1/predictions/{task.id}",
                "cancel": f"{base}/v1/predictions/{task.id}/cancel",
            },
            "output": None,
            "error": None,
            "logs": "",
        }
        if task.cancelled:
            answer["status"] = "canceled"
        elif not task.done(now):
            started = now - task.created > 0.2 * (task.ready_at - task.created)
            answer["status"] = "processing" if started else "starting"
        elif task.fate == "moderated":
            answer.update(status="failed", error=MODERATION_ERROR)
        elif task.fate == "error":
            answer.update(status="failed", error="CUDA out of memory in the fake provider.")
        else:
            url = self.result_url(task)
            answer.update(
                status="succeeded",
                output=[url] if self.config.output_as_list else url,
                metrics={"predict_time": round(task.ready_at - task.created, 3)},
            )
        return answer


def _size(model: str, inputs: dict[str, Any]) -> tuple[int, int]:
    if MODELS[model][2] == "fill":
        return data_uri_size(inputs.get("image"))
    if MODELS[model][2] == "pixels" and inputs.get("aspect_ratio") == "custom":
        return int(inputs["width"]), int(inputs["height"])
    try:
        a, b = (float(x) for x in str(inputs.get("aspect_ratio") or "1:1").split(":"))
    except ValueError:
        a, b = 1.0, 1.0
    return round(1024 * (a / b) ** 0.5) // 32 * 32, round(1024 * (b / a) ** 0.5) // 32 * 32


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Replicate predictions API on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--key", default="test-key")
    args = parser.parse_args(argv)
    config = ReplicateConfig(api_key=args.key, latency_s=args.latency, record_images=False)
    fake = FakeReplicate(config, port=args.port).start()
    serve_until_interrupted(fake)


if __name__ == "__main__":
    main()
