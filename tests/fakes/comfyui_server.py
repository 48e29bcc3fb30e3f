"""A fake ComfyUI server on loopback (reference/providers.md): one GPU, one prompt at a time.

`POST /upload/image` (multipart `image`, `overwrite`) stores an input file;
`POST /prompt` checks the API-format graph (every link points at a node,
every class is known, every LoadImage names an uploaded file) and queues it,
or answers 400 with `error` and `node_errors`; `GET /history/{id}` is `{}`
until the prompt has run, then its outputs and status; `GET /view` serves an
output file. Prompts run one after another, `latency_s` each, like a single
GPU. `GET /queue` lists the running and pending prompts, `POST /queue` with
`delete` drops pending ones and `POST /interrupt` stops the running one. Switches: `fail_if` (the run ends in an execution error when the prompt
text holds it), `known_classes` (what `/object_info` lists).

Standalone: `python -m tests.fakes.comfyui_server --latency 2`.
"""

from __future__ import annotations

import argparse
import io
import secrets
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from tests.fakes.queue_server import QueueConfig, QueueFake, Task, render, serve_until_interrupted

KNOWN_CLASSES = frozenset(
    {
        "UNETLoader",
        "DualCLIPLoader",
        "CLIPLoader",
        "VAELoader",
        "CLIPTextEncode",
        "LoadImage",
        "FluxKontextImageScale",
        "ImageScaleToTotalPixels",
        "VAEEncode",
        "ReferenceLatent",
        "FluxGuidance",
        "ConditioningZeroOut",
        "EmptySD3LatentImage",
        "EmptyFlux2LatentImage",
        "KSampler",
        "VAEDecode",
        "SaveImage",
        "ImageToMask",
        "InpaintModelConditioning",
        "DifferentialDiffusion",
    }
)


CANCEL_PATHS = ("/queue", "/interrupt")


@dataclass
class ComfyConfig(QueueConfig):
    fail_if: str | None = None
    known_classes: frozenset[str] = field(default_factory=lambda: KNOWN_CLASSES)


class FakeComfyUI(QueueFake):
    name = "fake-comfyui"
    config: ComfyConfig

    def __init__(self, config: ComfyConfig | None = None, *, port: int = 0) -> None:
        super().__init__(config or ComfyConfig(), port=port)
        self.inputs: dict[str, bytes] = {}
        self._gpu_free_at = 0.0

    def env(self) -> dict[str, str]:
        return {"COMFYUI_URL": self.base_url}

    def uploads(self):
        return [r for r in self.requests if r.path == "/upload/image"]

    def submissions(self):
        return [r for r in self.requests if r.path == "/prompt" and r.method == "POST"]

    def polls(self):
        return [r for r in self.requests if r.path.startswith("/history/")]

    def cancels(self):
        """Deletes from the queue and interrupts."""
        return [r for r in self.requests if r.method == "POST" and r.path in CANCEL_PATHS]

    def route(
        self, handler: BaseHTTPRequestHandler, path: str, body: Any
    ) -> tuple[int, dict[str, str], Any]:
        if path == "/upload/image" and handler.command == "POST":
            return self._upload(handler, body)
        if path == "/prompt" and handler.command == "POST":
            return self._prompt(body)
        if path.startswith("/history/") and handler.command == "GET":
            return self._history(path.rsplit("/", 1)[-1])
        if path == "/view" and handler.command == "GET":
            return self._view(handler)
        if path == "/queue":
            return self._queue() if handler.command == "GET" else self._delete(body)
        if path == "/interrupt" and handler.command == "POST":
            return self._interrupt(body)
        if path == "/object_info":
            return 200, {}, {name: {"input": {}} for name in self.config.known_classes}
        if path == "/system_stats":
            return 200, {}, {"system": {"os": "fake"}, "devices": [{"name": "fake GPU"}]}
        return 404, {}, {"error": "Not found"}

    def _upload(self, handler: BaseHTTPRequestHandler, raw: Any) -> tuple[int, dict[str, str], Any]:
        message = BytesParser(policy=HTTP).parsebytes(
            f"Content-Type: {handler.headers.get('content-type')}\r\n\r\n".encode() + (raw or b"")
        )
        fields = {
            part.get_param("name", header="content-disposition"): part
            for part in message.iter_parts()
        }
        image = fields.get("image")
        if image is None:
            return 400, {}, {"error": "No image"}
        name = image.get_filename() or secrets.token_hex(4)
        with self.lock:
            self.inputs[name] = image.get_payload(decode=True) or b""
        return 200, {}, {"name": name, "subfolder": "", "type": "input"}

    def _prompt(self, body: Any) -> tuple[int, dict[str, str], Any]:
        graph = body.get("prompt") if isinstance(body, dict) else None
        node_errors = self._check(graph) if isinstance(graph, dict) else {"": "no prompt"}
        if node_errors:
            return (
                400,
                {},
                {
                    "error": {"type": "prompt_outputs_failed_validation", "message": "Invalid"},
                    "node_errors": {
                        node: {"errors": [{"message": text, "details": ""}]}
                        for node, text in node_errors.items()
                    },
                },
            )
        assert isinstance(graph, dict)
        titles = {n.get("_meta", {}).get("title"): n for n in graph.values()}
        text = str(titles["castboard:prompt"]["inputs"]["text"])
        seed_inputs = titles["castboard:seed"]["inputs"]
        summary = {"prompt": text, "seed": seed_inputs.get("seed", seed_inputs.get("noise_seed"))}
        if "castboard:size" in titles:
            size = titles["castboard:size"]["inputs"]
            width, height = int(size["width"]), int(size["height"])
        else:
            # Inpainting: the output is the size of the image it changes.
            taken = self.inputs[titles["castboard:reference 1"]["inputs"]["image"]]
            with Image.open(io.BytesIO(taken)) as image:
                width, height = image.size
        created = self.create_task("prompt", summary, width, height)
        if not isinstance(created, Task):
            return created
        with self.lock:
            # One GPU: each prompt starts when the one before it has finished.
            start = max(created.created, self._gpu_free_at)
            created.extra["start"] = start
            created.ready_at = start + max(0.0, self.config.latency_s)
            self._gpu_free_at = created.ready_at
            created.extra["graph"] = graph
            if self.config.fail_if and self.config.fail_if in text:
                created.fate = "error"
        return 200, {}, {"prompt_id": created.id, "number": len(self.tasks), "node_errors": {}}

    def _check(self, graph: dict[str, Any]) -> dict[str, str]:
        errors = {}
        for node_id, node in graph.items():
            if node.get("class_type") not in self.config.known_classes:
                errors[node_id] = f"unknown node type {node.get('class_type')!r}"
                continue
            for key, value in node.get("inputs", {}).items():
                if isinstance(value, list) and len(value) == 2 and str(value[0]) not in graph:
                    errors[node_id] = f"input {key} links to missing node {value[0]}"
            if node["class_type"] == "LoadImage" and node["inputs"].get("image") not in self.inputs:
                errors[node_id] = f"image {node['inputs'].get('image')!r} was not uploaded"
        return errors

    def _queue(self) -> tuple[int, dict[str, str], Any]:
        """Running and pending prompts as `[number, prompt_id, graph, extra, outputs]`."""
        now = time.monotonic()
        lists: dict[str, list] = {"queue_running": [], "queue_pending": []}
        with self.lock:
            for number, task in enumerate(self.tasks.values()):
                if task.done(now) or task.cancelled:
                    continue
                which = "queue_running" if task.extra["start"] <= now else "queue_pending"
                lists[which].append([number, task.id, task.extra["graph"], {}, []])
        return 200, {}, lists

    def _delete(self, body: Any) -> tuple[int, dict[str, str], Any]:
        """`{"delete": [ids]}` drops pending prompts; a running one is left alone."""
        ids = body.get("delete") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            return 400, {}, {"error": "Expected delete or clear"}
        now = time.monotonic()
        for prompt_id in ids:
            task = self.find(str(prompt_id))
            if task is not None and task.extra["start"] > now:
                self.cancel_task(task)
                task.extra["deleted"] = True  # never runs, so never has a history
        return 200, {}, {}

    def _interrupt(self, body: Any) -> tuple[int, dict[str, str], Any]:
        """Stop the running prompt (only the one named, when a prompt id is given)."""
        now = time.monotonic()
        wanted = body.get("prompt_id") if isinstance(body, dict) else None
        with self.lock:
            running = [
                t
                for t in self.tasks.values()
                if t.extra["start"] <= now and not t.done(now) and not t.cancelled
            ]
        for task in running:
            if wanted is None or task.id == wanted:
                self.cancel_task(task)
        return 200, {}, {}

    def _history(self, prompt_id: str) -> tuple[int, dict[str, str], Any]:
        task = self.find(prompt_id)
        if task is None or not task.done(time.monotonic()) or task.extra.get("deleted"):
            return 200, {}, {}
        graph = task.extra["graph"]
        if task.cancelled:
            status = {
                "status_str": "error",
                "completed": False,
                "messages": [["execution_interrupted", {"prompt_id": prompt_id}]],
            }
            return 200, {}, {prompt_id: {"outputs": {}, "status": status}}
        if task.fate == "error":
            status = {
                "status_str": "error",
                "completed": False,
                "messages": [
                    ["execution_error", {"exception_message": "CUDA out of memory (fake)."}]
                ],
            }
            return 200, {}, {prompt_id: {"outputs": {}, "status": status}}
        output = next(i for i, n in graph.items() if n["_meta"]["title"] == "castboard:output")
        image = {"filename": f"castboard_{task.id}.jpeg", "subfolder": "", "type": "output"}
        entry = {
            "outputs": {output: {"images": [image]}},
            "status": {"status_str": "success", "completed": True, "messages": []},
        }
        return 200, {}, {prompt_id: entry}

    def _view(self, handler: BaseHTTPRequestHandler) -> tuple[int, dict[str, str], Any]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(handler.path).query).items()}
        name = query.get("filename", "")
        task = self.find(name.removeprefix("castboard_").split(".", 1)[0])
        if query.get("type") != "output" or task is None:
            return 404, {}, {"error": "Not found"}
        if task.image is None:
            task.image = render(task.body, task.width, task.height)
        return 200, {"Content-Type": "image/jpeg"}, task.image


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake ComfyUI on loopback.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=2.0)
    args = parser.parse_args(argv)
    config = ComfyConfig(latency_s=args.latency, record_images=False)
    serve_until_interrupted(FakeComfyUI(config, port=args.port).start())


if __name__ == "__main__":
    main()
