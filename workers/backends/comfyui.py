"""The ComfyUI backend: the studio's own GPU running FLUX.2 [dev] or FLUX.1 Kontext [dev].

ComfyUI runs an API-format workflow (`{node_id: {class_type, inputs}}`,
links as `[node_id, output_index]`). Castboard fills the nodes whose title
(`_meta.title`) names their role:

- `castboard:prompt` (input `text`), `castboard:seed` (`seed` or `noise_seed`),
  `castboard:size` (`width`, `height`), `castboard:output` (the image to keep);
- `castboard:reference N` (a `LoadImage`, input `image`) for N = 1, 2, ...,
  each with its `castboard:reference-latent N` node whose `conditioning`
  input it adds to. A slot the request does not use is taken out of the
  graph and its latent node bypassed, so one workflow serves any number of
  references up to its slots; a one-slot workflow (Kontext) gets the packed
  reference board.

A workflow without these nodes is refused at start-up, naming what is
missing. Two are bundled (COMFYUI_WORKFLOW=flux2-dev, the default, or
kontext-dev); any other value is a path to an API-format JSON file, offered
to projects as the model "custom".
Reference images are uploaded once per content hash (per worker process)
and reused. ComfyUI is trusted by URL: its outputs are fetched from that
server only. It costs nothing per image, so it is not a paid backend.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import httpx

from workers.backends import http
from workers.backends.base import (
    Capabilities,
    GenerationRequest,
    InvalidRequest,
    PollResult,
    ProviderFailed,
    Reference,
    ResultRefused,
    Submission,
    TransientError,
)
from workers.backends.download import fetch_limited
from workers.backends.flux import fit_pixels, image_mime

BUNDLED = {
    "flux2-dev": Path(__file__).with_name("comfyui_workflows") / "flux2_dev_multi_reference.json",
    "kontext-dev": Path(__file__).with_name("comfyui_workflows") / "flux1_kontext_dev.json",
    "fill-dev": Path(__file__).with_name("comfyui_workflows") / "flux1_fill_dev_inpaint.json",
}
REQUIRED_ROLES = ("castboard:prompt", "castboard:seed", "castboard:size", "castboard:output")
# An inpainting workflow: the take is `castboard:reference 1`, the mask (white =
# change) this LoadImage; its output keeps the take's size, so it has no size node.
MASK_ROLE = "castboard:mask"
_SLOT = re.compile(r"^castboard:reference (\d+)$")


class WorkflowError(ValueError):
    """The workflow cannot be used; the message says what is missing."""


@cache
def load_workflow(setting: str) -> dict[str, Any]:
    """The workflow COMFYUI_WORKFLOW names, checked for the nodes Castboard fills."""
    path = BUNDLED.get(setting) or Path(setting)
    try:
        graph = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WorkflowError(f"COMFYUI_WORKFLOW: cannot read {path} ({exc}).") from exc
    if not isinstance(graph, dict) or not all(
        isinstance(node, dict) and "class_type" in node for node in graph.values()
    ):
        raise WorkflowError(
            f"COMFYUI_WORKFLOW: {path} is not an API-format workflow "
            "(export it with “Save (API format)”)."
        )
    titles = {_title(node) for node in graph.values()}
    inpainting = MASK_ROLE in titles
    required = [r for r in REQUIRED_ROLES if not (inpainting and r == "castboard:size")]
    missing = [role for role in required if role not in titles]
    slots = reference_slots(graph)
    if not slots:
        missing.append("castboard:reference 1 (a LoadImage)")
    for slot in [] if inpainting else slots:
        if f"castboard:reference-latent {slot}" not in titles:
            missing.append(f"castboard:reference-latent {slot}")
    if inpainting and len(slots) > 1:
        missing.append("only castboard:reference 1 (an inpainting workflow takes one image)")
    if missing:
        raise WorkflowError(
            f"COMFYUI_WORKFLOW: {path} lacks the nodes Castboard fills: {', '.join(missing)}. "
            "Title the nodes so (node title = role) and export in API format."
        )
    return graph


def reference_slots(graph: dict[str, Any]) -> list[int]:
    return sorted(
        int(match.group(1)) for node in graph.values() if (match := _SLOT.match(_title(node)))
    )


def _title(node: dict[str, Any]) -> str:
    meta = node.get("_meta")
    return str(meta.get("title", "")) if isinstance(meta, dict) else ""


class ComfyUIBackend:
    """Generation on a self-hosted ComfyUI; see the module docstring."""

    name: ClassVar[str] = "comfyui"
    paid: ClassVar[bool] = False
    setting_names: ClassVar[tuple[str, ...]] = (
        "COMFYUI_URL",
        "COMFYUI_WORKFLOW",
        "COMFYUI_MAX_ACTIVE",
    )
    required: ClassVar[tuple[str, ...]] = ("COMFYUI_URL",)
    model_setting: ClassVar[str] = "COMFYUI_WORKFLOW"
    models: ClassVar[tuple[str, ...]] = (*BUNDLED, "custom")
    fill_model: ClassVar[str] = "fill-dev"

    def __init__(
        self,
        *,
        url: str,
        workflow: str,
        max_active: int,
        custom_workflow: str = "",
        timeout_s: float = 30,
        max_download_bytes: int = 64 * 1024 * 1024,
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.workflow_name = workflow
        self.custom_workflow = custom_workflow
        self.graph = load_workflow(self._path(workflow))
        self.max_active = max_active
        self.timeout_s = timeout_s
        self.max_download_bytes = max_download_bytes
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self.client = client or httpx.Client(follow_redirects=False)
        self._origin = http.origin(self.base_url)
        self._uploaded: dict[str, str] = {}  # content hash -> name on the server

    @classmethod
    def from_settings(cls, model: str = "") -> ComfyUIBackend:
        from django.conf import settings

        return cls(
            url=settings.COMFYUI_URL,
            workflow=model or cls.configured_model(settings),
            max_active=settings.COMFYUI_MAX_ACTIVE,
            custom_workflow=settings.COMFYUI_WORKFLOW,
        )

    @classmethod
    def configured_model(cls, settings: Any) -> str:
        """The model jobs record: a bundled workflow's name, or "custom" for a path."""
        return settings.COMFYUI_WORKFLOW if settings.COMFYUI_WORKFLOW in BUNDLED else "custom"

    @classmethod
    def price(cls, model: str, width: int, height: int, references: int) -> float:
        """Nothing per image: the GPU is the studio's own."""
        return 0.0

    @classmethod
    def check_settings(cls, settings: Any) -> None:
        """Refuse a workflow without the nodes Castboard fills (raises WorkflowError)."""
        load_workflow(settings.COMFYUI_WORKFLOW)

    def __repr__(self) -> str:
        return f"ComfyUIBackend(url={self.base_url!r}, workflow={self.workflow_name!r})"

    # --- Backend protocol -----------------------------------------------------
    def capabilities(self, model: str = "") -> Capabilities:
        graph = load_workflow(self._path(model)) if model else self.graph
        slots = len(reference_slots(graph))
        return Capabilities(
            max_references=slots,
            single_input_image=slots == 1,
            instruction_edits=True,
            seeds=True,
            size_mode="pixels",
            max_active=self.max_active,
            models=self.models if self.custom_workflow not in BUNDLED else tuple(BUNDLED),
            masks=any(_title(node) == MASK_ROLE for node in graph.values()),
        )

    def _path(self, model: str) -> str:
        if model == "custom":
            if not self.custom_workflow or self.custom_workflow in BUNDLED:
                raise InvalidRequest("No custom ComfyUI workflow is set (COMFYUI_WORKFLOW).")
            return self.custom_workflow
        return model

    def submit(self, request: GenerationRequest) -> Submission:
        """Upload the references not on the server yet, then queue the filled workflow."""
        names = [self._upload(ref) for ref in request.references]
        mask = ""
        if request.mask and self.capabilities().masks:
            sha = hashlib.sha256(request.mask).hexdigest()
            mask = self._upload(Reference("edit_source", "mask", request.mask, sha))
        graph = self.fill(request, names, mask=mask)
        try:
            response = http.request_capped(
                self.client,
                "POST",
                f"{self.base_url}/prompt",
                json={"prompt": graph, "client_id": "castboard"},
                timeout=self._timeout,
            )
        except (http.AnswerTooLarge, httpx.TimeoutException, httpx.TransportError) as exc:
            # Not paid: the pipeline may simply queue it again.
            raise TransientError(
                f"ComfyUI did not take the prompt ({exc.__class__.__name__})."
            ) from exc
        if response.status_code == 400:
            raise InvalidRequest(f"ComfyUI refused the workflow: {_errors(response)}")
        if response.status_code >= 300:
            raise TransientError(f"ComfyUI answered HTTP {response.status_code} to the prompt.")
        data = http.json_of(response, error=TransientError)
        prompt_id = data.get("prompt_id") if isinstance(data, dict) else None
        if not prompt_id:
            raise TransientError("ComfyUI's answer had no prompt id.")
        return Submission(
            task_id=str(prompt_id), polling_url=f"{self.base_url}/history/{prompt_id}", cost=0.0
        )

    def poll(self, submission: Submission) -> PollResult:
        """Read the prompt's history once: empty while it waits or runs."""
        url = f"{self.base_url}/history/{submission.task_id}"
        response = http.poll(self.client, url, timeout=self._timeout)
        if response.status_code >= 400:
            raise TransientError(f"ComfyUI answered HTTP {response.status_code} to /history.")
        data = http.json_of(response, error=TransientError)
        entry = data.get(submission.task_id) if isinstance(data, dict) else None
        if not isinstance(entry, dict):
            return PollResult("running", raw_status="queued")
        found = entry.get("status")
        status: dict[str, Any] = found if isinstance(found, dict) else {}
        if status.get("status_str") == "error":
            raise ProviderFailed(f"ComfyUI could not run the workflow: {_execution_error(status)}")
        image = self._output_image(entry.get("outputs"))
        if image is None:
            if status.get("completed"):
                raise ProviderFailed("ComfyUI finished the workflow without an output image.")
            return PollResult("running", raw_status="running")
        query = httpx.QueryParams(
            filename=image.get("filename", ""),
            subfolder=image.get("subfolder", ""),
            type=image.get("type", "output"),
        )
        return PollResult("ready", sample_url=f"{self.base_url}/view?{query}", progress=1.0)

    def cancel(self, submission: Submission) -> None:
        """Take the prompt out of ComfyUI's queue, or stop it if it is the one running.

        `GET /queue` says where it is. A pending prompt is deleted from the
        queue (`POST /queue` with `delete`); the running one is interrupted
        (`POST /interrupt`), which stops whatever runs, so only when the queue
        names this prompt as running (the prompt id is sent too, for servers
        that check it). A prompt in neither list has finished: nothing to stop.
        """
        prompt_id = submission.task_id
        response = http.poll(self.client, f"{self.base_url}/queue", timeout=self._timeout)
        if response.status_code >= 400:
            raise TransientError(f"ComfyUI answered HTTP {response.status_code} to /queue.")
        queue = http.json_of(response, error=TransientError)
        if not isinstance(queue, dict):
            raise TransientError("ComfyUI's queue was not a JSON object.")
        body: dict[str, Any]
        if prompt_id in _queued_ids(queue.get("queue_pending")):
            call, body = "queue", {"delete": [prompt_id]}
        elif prompt_id in _queued_ids(queue.get("queue_running")):
            call, body = "interrupt", {"prompt_id": prompt_id}
        else:
            return
        response = http.poll(
            self.client,
            f"{self.base_url}/{call}",
            what="cancelling",
            method="POST",
            json=body,
            timeout=self._timeout,
        )
        if response.status_code >= 400:
            raise ProviderFailed(f"ComfyUI answered HTTP {response.status_code} to /{call}.")

    def fetch(self, url: str) -> bytes:
        """Download the output from the ComfyUI server itself, nowhere else."""
        if not self._is_own(url):
            raise ResultRefused("ComfyUI outputs are fetched from COMFYUI_URL only.")
        return fetch_limited(
            url,
            allowed_hosts=[httpx.URL(self.base_url).host],
            max_bytes=self.max_download_bytes,
            timeout_s=self.timeout_s,
            client=self.client,
            hosts_setting="COMFYUI_URL",
        )

    # --- the workflow -----------------------------------------------------------
    def fill(self, request: GenerationRequest, names: list[str], mask: str = "") -> dict[str, Any]:
        """A copy of the workflow with prompt, seed, size and `names` as reference images.

        `mask`: the uploaded mask's name, for an inpainting workflow.
        """
        graph = copy.deepcopy(self.graph)
        slots = reference_slots(graph)
        inpainting = any(_title(node) == MASK_ROLE for node in graph.values())
        if inpainting and not (mask and names):
            raise InvalidRequest(
                "This ComfyUI workflow only changes a painted region of a take: use "
                "“Change part…” under a take, or pick another workflow to generate."
            )
        if len(names) > len(slots):
            hint = " (pack them into one board first)" if len(slots) == 1 else ""
            raise InvalidRequest(
                f"The ComfyUI workflow takes at most {len(slots)} reference images, "
                f"got {len(names)}{hint}."
            )
        by_title = {_title(node): node for node in graph.values()}
        by_title["castboard:prompt"]["inputs"]["text"] = request.full_prompt()
        seed_inputs = by_title["castboard:seed"]["inputs"]
        seed_inputs["noise_seed" if "noise_seed" in seed_inputs else "seed"] = request.seed
        if inpainting:
            by_title[MASK_ROLE]["inputs"]["image"] = mask
        else:
            size = by_title["castboard:size"]["inputs"]
            size["width"], size["height"] = fit_pixels(request.width, request.height)
        for slot, name in zip(slots, names, strict=False):
            by_title[f"castboard:reference {slot}"]["inputs"]["image"] = name
        for slot in slots[len(names) :]:
            _remove_slot(graph, slot)
        return graph

    def _upload(self, ref: Reference) -> str:
        """The reference's name on the server, uploading it the first time its hash is seen."""
        known = self._uploaded.get(ref.sha256)
        if known:
            return known
        mime = image_mime(ref.data)
        filename = f"castboard-{ref.sha256[:40]}.{mime.rsplit('/', 1)[-1]}"
        response = http.upload(
            self.client,
            f"{self.base_url}/upload/image",
            field="image",
            name=filename,
            data=ref.data,
            mime=mime,
            what="ComfyUI",
            data_fields={"overwrite": "true", "type": "input"},
            timeout=self._timeout,
        )
        if response.status_code != 200:
            raise TransientError(f"ComfyUI answered HTTP {response.status_code} to an upload.")
        data = http.json_of(response, error=TransientError)
        name = str(data.get("name") or filename) if isinstance(data, dict) else filename
        subfolder = str(data.get("subfolder") or "") if isinstance(data, dict) else ""
        name = f"{subfolder}/{name}" if subfolder else name
        self._uploaded[ref.sha256] = name
        return name

    def _output_image(self, outputs: Any) -> dict[str, Any] | None:
        if not isinstance(outputs, dict):
            return None
        output_ids = [
            node_id for node_id, node in self.graph.items() if _title(node) == "castboard:output"
        ]
        for node_id in output_ids:
            images = (outputs.get(node_id) or {}).get("images")
            if isinstance(images, list) and images and isinstance(images[0], dict):
                return images[0]
        return None

    def _is_own(self, url: str) -> bool:
        try:
            return http.origin(url) == self._origin
        except httpx.InvalidURL:
            return False


def _queued_ids(entries: Any) -> set[str]:
    """Prompt ids in a `/queue` list: items are `[number, prompt_id, graph, …]` (or objects)."""
    ids = set()
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, list | tuple) and len(entry) > 1:
            ids.add(str(entry[1]))
        elif isinstance(entry, dict) and entry.get("prompt_id"):
            ids.add(str(entry["prompt_id"]))
    return ids


def _remove_slot(graph: dict[str, Any], slot: int) -> None:
    """Take reference slot `slot` out: its latent node is bypassed, its own nodes dropped."""
    ids = {node_id: _title(node) for node_id, node in graph.items()}
    latent_id = next(i for i, t in ids.items() if t == f"castboard:reference-latent {slot}")
    bypass = graph[latent_id]["inputs"]["conditioning"]
    for node in graph.values():
        for key, value in node["inputs"].items():
            if value == [latent_id, 0]:
                node["inputs"][key] = bypass
    suffix = f" {slot}"
    for node_id, title in ids.items():
        if title.startswith("castboard:reference") and title.endswith(suffix):
            del graph[node_id]


def _errors(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:300]
    error = data.get("error") if isinstance(data, dict) else None
    message = str(error.get("message", "")) if isinstance(error, dict) else str(error or "")
    details = []
    for node_id, problem in (data.get("node_errors") or {}).items():
        for item in problem.get("errors", []) if isinstance(problem, dict) else []:
            details.append(f"node {node_id}: {item.get('message', '')} {item.get('details', '')}")
    return "; ".join([message, *details])[:500]


def _execution_error(status: dict[str, Any]) -> str:
    for message in status.get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and message[0] == "execution_error":
            detail = message[1] if isinstance(message[1], dict) else {}
            return str(detail.get("exception_message") or "execution error")[:300]
    return "execution error"
