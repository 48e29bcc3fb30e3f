"""A fake fal.ai queue API on loopback (reference/providers.md), with switchable variants.

Submit `POST /{owner}/{app}[/{sub-path}]` with `Authorization: Key …`; the
answer's `status_url`, `response_url` and `cancel_url` are built from
owner/app only, as the real queue does, so a client that builds its own URLs
from the sub-path misses. Where the documentation leaves a choice open the
fake can answer either way:

- `status_has_response_url`: the status answer carries `response_url` or not;
- `moderation`: "flag" (done, `has_nsfw_concepts: [true]`) or "422"
  (the result answers 422 with a content-policy detail).

Standalone: `python -m tests.fakes.fal_server --latency 2`.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Literal

from tests.fakes.queue_server import (
    QueueConfig,
    QueueFake,
    Task,
    data_uri_size,
    serve_until_interrupted,
)

# app -> (most input images, size control)
APPS: dict[str, tuple[int, str]] = {
    "fal-ai/flux-2-pro": (0, "image_size"),
    "fal-ai/flux-2-pro/edit": (9, "image_size"),
    "fal-ai/flux-pro/kontext": (1, "aspect_ratio"),
    "fal-ai/flux-pro/kontext/text-to-image": (0, "aspect_ratio"),
    "fal-ai/flux-pro/kontext/max": (1, "aspect_ratio"),
    "fal-ai/flux-pro/kontext/max/text-to-image": (0, "aspect_ratio"),
    # Fill: `image_url` and `mask_url` (white = change); the output is the image's size.
    "fal-ai/flux-pro/v1/fill": (1, "fill"),
}
ASPECT_RATIOS = {"21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21"}


@dataclass
class FalConfig(QueueConfig):
    status_has_response_url: bool = True
    moderation: Literal["flag", "422"] = "flag"


class FakeFal(QueueFake):
    name = "fake-fal"
    config: FalConfig

    def __init__(self, config: FalConfig | None = None, *, port: int = 0) -> None:
        super().__init__(config or FalConfig(), port=port)

    def submissions(self):
        return [r for r in self.requests if r.server == "api" and r.method == "POST"]

    def polls(self):
        return [r for r in self.requests if r.path.endswith("/status")]

    def cancels(self):
        return [r for r in self.requests if r.method == "PUT" and r.path.endswith("/cancel")]

    def env(self) -> dict[str, str]:
        """The environment that points the fal backend at this fake."""
        return {
            "FAL_KEY": self.config.api_key,
            "FAL_BASE_URL": self.base_url,
            "FAL_RESULT_HOSTS": "127.0.0.1",
        }

    def route(
        self, handler: BaseHTTPRequestHandler, path: str, body: Any
    ) -> tuple[int, dict[str, str], Any]:
        if handler.headers.get("authorization") != f"Key {self.config.api_key}":
            return 401, {}, {"detail": "Invalid key"}
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 4 and parts[2] == "requests":
            task = self.find(parts[3])
            if task is None or "/".join(parts[:2]) != task.extra["app"]:
                return 404, {}, {"detail": "Request not found"}
            if parts[4:] == ["status"] and handler.command == "GET":
                return self._status(task)
            if parts[4:] == ["cancel"] and handler.command == "PUT":
                if not self.cancel_task(task):
                    return 400, {}, {"status": "ALREADY_COMPLETED"}
                return 202, {}, {"status": "CANCELLATION_REQUESTED"}
            if not parts[4:] and handler.command == "GET":
                return self._result(task)
            return 404, {}, {"detail": "Not Found"}
        if handler.command != "POST":
            return 404, {}, {"detail": "Not Found"}
        return self._submit("/".join(parts), body)

    def _submit(self, endpoint: str, body: Any) -> tuple[int, dict[str, str], Any]:
        if endpoint not in APPS:
            return 404, {}, {"detail": f"Application {endpoint!r} not found"}
        problems = _validate(endpoint, body)
        if problems:
            return 422, {}, {"detail": problems}
        width, height = _size(endpoint, body)
        created = self.create_task(endpoint, body, width, height)
        if not isinstance(created, Task):
            return created
        app = "/".join(endpoint.split("/")[:2])
        created.extra["app"] = app
        base = f"{self.base_url}/{app}/requests/{created.id}"
        return (
            200,
            {},
            {
                "request_id": created.id,
                "status": "IN_QUEUE",
                "queue_position": 0,
                "status_url": f"{base}/status",
                "response_url": base,
                "cancel_url": f"{base}/cancel",
            },
        )

    def _status(self, task: Task) -> tuple[int, dict[str, str], Any]:
        now = time.monotonic()
        if not task.done(now):
            share = (now - task.created) / max(task.ready_at - task.created, 1e-9)
            status = "IN_QUEUE" if share < 0.2 else "IN_PROGRESS"
            answer: dict[str, Any] = {"status": status, "request_id": task.id}
            if status == "IN_QUEUE":
                answer["queue_position"] = 0
        else:
            answer = {"status": "COMPLETED", "request_id": task.id, "logs": None}
            if task.cancelled:
                answer["error"] = "Request was cancelled."
            elif task.fate == "error":
                answer["error"] = "Generation failed in the fake provider."
        if self.config.status_has_response_url:
            answer["response_url"] = f"{self.base_url}/{task.extra['app']}/requests/{task.id}"
        return (202 if answer["status"] != "COMPLETED" else 200), {}, answer

    def _result(self, task: Task) -> tuple[int, dict[str, str], Any]:
        if not task.done(time.monotonic()):
            return 400, {}, {"detail": "Request is still in progress"}
        if task.fate == "error":
            return 500, {}, {"detail": "Generation failed in the fake provider."}
        if task.fate == "moderated" and self.config.moderation == "422":
            detail = [
                {
                    "loc": ["body", "prompt"],
                    "msg": "The content could not be processed because it contained "
                    "material flagged by a content checker.",
                    "type": "content_policy_violation",
                }
            ]
            return 422, {}, {"detail": detail}
        return (
            200,
            {},
            {
                "images": [
                    {
                        "url": self.result_url(task),
                        "width": task.width,
                        "height": task.height,
                        "content_type": "image/jpeg",
                    }
                ],
                "seed": task.body.get("seed"),
                "has_nsfw_concepts": [task.fate == "moderated"],
                "prompt": task.body.get("prompt"),
            },
        )


def _validate(endpoint: str, body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return [{"loc": ["body"], "msg": "Input should be an object", "type": "dict_type"}]
    problems = []
    if not isinstance(body.get("prompt"), str) or not body["prompt"].strip():
        problems.append({"loc": ["body", "prompt"], "msg": "Field required", "type": "missing"})
    most, size_mode = APPS[endpoint]
    if size_mode == "fill":
        for key in ("image_url", "mask_url"):
            url = body.get(key)
            if not isinstance(url, str) or not url.startswith(("data:image/", "https://")):
                problems.append({"loc": ["body", key], "msg": "Field required", "type": "missing"})
        return problems
    images = body.get("image_urls") if most > 1 else None
    single = body.get("image_url")
    if most > 1:
        if not isinstance(images, list) or not 1 <= len(images) <= most:
            problems.append(
                {"loc": ["body", "image_urls"], "msg": f"1 to {most} images", "type": "value"}
            )
    elif most == 1 and not isinstance(single, str):
        problems.append({"loc": ["body", "image_url"], "msg": "Field required", "type": "missing"})
    elif most == 0 and (images or single):
        problems.append({"loc": ["body"], "msg": "This app takes no images", "type": "extra"})
    for url in [*(images or []), *([single] if single else [])]:
        if not isinstance(url, str) or not url.startswith(("data:image/", "https://")):
            problems.append({"loc": ["body", "image_urls"], "msg": "Bad image URL", "type": "url"})
    if size_mode == "image_size" and "image_size" in body:
        size = body["image_size"]
        if not (isinstance(size, dict) and {"width", "height"} <= set(size)):
            problems.append({"loc": ["body", "image_size"], "msg": "Bad size", "type": "value"})
    if size_mode == "aspect_ratio" and body.get("aspect_ratio", "1:1") not in ASPECT_RATIOS:
        problems.append({"loc": ["body", "aspect_ratio"], "msg": "Bad ratio", "type": "enum"})
    tolerance = body.get("safety_tolerance")
    if tolerance is not None and tolerance not in {"1", "2", "3", "4", "5", "6"}:
        problems.append(
            {"loc": ["body", "safety_tolerance"], "msg": "A string 1 to 6", "type": "enum"}
        )
    return problems


def _size(endpoint: str, body: dict[str, Any]) -> tuple[int, int]:
    if APPS[endpoint][1] == "fill":
        return data_uri_size(body.get("image_url"))
    if APPS[endpoint][1] == "image_size" and isinstance(body.get("image_size"), dict):
        size = body["image_size"]
        return int(size["width"]), int(size["height"])
    a, b = (int(x) for x in str(body.get("aspect_ratio") or "1:1").split(":"))
    return round(1024 * (a / b) ** 0.5) // 32 * 32, round(1024 * (b / a) ** 0.5) // 32 * 32


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake fal.ai queue API on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--key", default="test-key")
    args = parser.parse_args(argv)
    config = FalConfig(api_key=args.key, latency_s=args.latency, record_images=False)
    fake = FakeFal(config, port=args.port).start()
    serve_until_interrupted(fake)


if __name__ == "__main__":
    main()
