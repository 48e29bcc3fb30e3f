"""The Replicate backend: FLUX.2 [pro] and FLUX.1 Kontext through Replicate's predictions API.

Protocol facts live in reference/providers.md. A prediction is created with
`POST /v1/models/{owner}/{name}/predictions` and polled at the `urls.get` it
returns when that is on the API origin exactly (else at
`/v1/predictions/{id}` there): the token (`Authorization: Bearer …`) goes
nowhere else. References small enough travel as `data:` URIs; larger ones are
uploaded first through the files API, before anything billable is sent.
Outputs are deleted after about an hour, so the result is downloaded at once.
A failed prediction whose error names the safety checker is moderation
(final); `output` may be one URL or a list of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from workers.backends import http
from workers.backends.base import (
    GenerationRequest,
    Moderated,
    OutcomeUnknown,
    PollResult,
    ProviderFailed,
    Reference,
    Submission,
    TransientError,
)
from workers.backends.flux import data_uri, fit_pixels, image_mime, kontext_aspect_ratio
from workers.backends.hosted import HostedBackend, ModelSpec

# Inputs above this travel through the files API; data: URIs are meant for small files.
MAX_INLINE_BYTES = 256 * 1024
SAFETY_TOLERANCE = 2  # at most 2 with an input image on Kontext
FILL_MODEL = "black-forest-labs/flux-fill-pro"


MODELS: dict[str, ModelSpec] = {
    "black-forest-labs/flux-2-pro": ModelSpec(8, "pixels", megapixel_price=(3.0, 1.5)),
    "black-forest-labs/flux-kontext-pro": ModelSpec(1, "aspect_ratio", flat_price=4.0),
    "black-forest-labs/flux-kontext-max": ModelSpec(1, "aspect_ratio", flat_price=8.0),
    FILL_MODEL: ModelSpec(1, "pixels", flat_price=5.0, masks=True),
}
_POLICY_WORDS = ("nsfw", "sensitive", "flagged", "safety", "moderat", "e005")


class ReplicateBackend(HostedBackend):
    """Generation through Replicate; see the module docstring."""

    name: ClassVar[str] = "replicate"
    setting_names: ClassVar[tuple[str, ...]] = (
        "REPLICATE_API_TOKEN",
        "REPLICATE_BASE_URL",
        "REPLICATE_MODEL",
        "REPLICATE_RESULT_HOSTS",
        "REPLICATE_MAX_ACTIVE",
        "REPLICATE_WEBHOOK_SECRET",
        "STUDIO_PUBLIC_URL",
    )
    required: ClassVar[tuple[str, ...]] = ("REPLICATE_API_TOKEN",)
    model_setting: ClassVar[str] = "REPLICATE_MODEL"
    models: ClassVar[tuple[str, ...]] = tuple(MODELS)
    specs: ClassVar[dict[str, ModelSpec]] = MODELS
    key_setting: ClassVar[str] = "REPLICATE_API_TOKEN"
    hosts_setting: ClassVar[str] = "REPLICATE_RESULT_HOSTS"
    fill_model: ClassVar[str] = FILL_MODEL

    @classmethod
    def from_settings(cls, model: str = "") -> ReplicateBackend:
        from django.conf import settings

        backend = super().from_settings(model)
        if settings.REPLICATE_WEBHOOK_SECRET:
            backend.webhook_url = http.webhook_url("replicate")
        return backend

    @classmethod
    def webhook_verified(cls, headers: Any, body: bytes) -> bool:
        """Replicate signs webhooks (Standard Webhooks) with the account's signing secret."""
        from django.conf import settings

        return bool(settings.STUDIO_PUBLIC_URL) and http.standard_webhook_ok(
            headers, body, settings.REPLICATE_WEBHOOK_SECRET
        )

    @classmethod
    def webhook_task_id(cls, payload: dict[str, Any]) -> str:
        return str(payload.get("id") or "")

    def submit(self, request: GenerationRequest) -> Submission:
        """Create the prediction. Never call twice for one job: it may be billed each time."""
        model = request.model or self.model
        body = self.build_input(request, model)
        response = http.submit(
            self.client,
            f"{self.base_url}/v1/models/{model}/predictions",
            json=self._create_body(body),
            headers=self._headers(),
            timeout=self._timeout,
        )
        self.raise_for_error(response, during="submit")
        data = http.json_of(response)
        prediction_id = data.get("id") if isinstance(data, dict) else None
        if not prediction_id:
            raise OutcomeUnknown("Replicate accepted the prediction but its answer had no id.")
        urls = data.get("urls") if isinstance(data.get("urls"), dict) else {}
        get_url = str(urls.get("get") or "")
        if not get_url or not self.is_own(get_url):
            get_url = f"{self.base_url}/v1/predictions/{prediction_id}"
        cost = self.price(
            model,
            int(body.get("width") or 1024),
            int(body.get("height") or 1024),
            len(request.references),
        )
        cancel_url = str(urls.get("cancel") or "")
        return self.submission(str(prediction_id), get_url, cost, cancel_url)

    def cancel(self, submission: Submission) -> None:
        """Cancel the prediction (`POST …/predictions/{id}/cancel`), on the API origin only."""
        url = self.own_url(
            submission.cancel_url or f"{self.base_url}/v1/predictions/{submission.task_id}/cancel",
            what="cancel",
        )
        response = http.poll(
            self.client,
            url,
            what="cancelling",
            method="POST",
            headers=self._headers(),
            timeout=self._timeout,
        )
        # 404: unknown or already gone; nothing is left to stop.
        if response.status_code != 404:
            self.raise_for_error(response, during="cancel")

    def poll(self, submission: Submission) -> PollResult:
        """Read the prediction once; the caller owns the deadline."""
        url = self.own_url(
            submission.polling_url or f"{self.base_url}/v1/predictions/{submission.task_id}",
            what="prediction",
        )
        response = http.poll(self.client, url, headers=self._headers(), timeout=self._timeout)
        if response.status_code == 404:
            raise ProviderFailed("Replicate does not know this prediction (HTTP 404).")
        self.raise_for_error(response, during="poll")
        data = http.json_of(response, error=TransientError)
        if not isinstance(data, dict):
            raise TransientError("Replicate's prediction was not a JSON object.")
        return self.read_status(data)

    def read_status(self, data: dict[str, Any]) -> PollResult:
        """A prediction's state, from a poll or a webhook (raises on a final failure)."""
        status = str(data.get("status") or "")
        if status == "succeeded":
            output = data.get("output")
            first = output[0] if isinstance(output, list) and output else output
            if not isinstance(first, str) or not first:
                raise ProviderFailed("Replicate reported success without an output URL.")
            return PollResult("ready", sample_url=first, progress=1.0, raw_status=status)
        if status == "failed":
            error = str(data.get("error") or "no details given")[:300]
            if any(word in error.lower() for word in _POLICY_WORDS):
                raise Moderated(f"Replicate's safety checker refused this request: {error}")
            raise ProviderFailed(f"Replicate reported the prediction failed: {error}")
        if status == "canceled":
            raise ProviderFailed("The prediction was cancelled at Replicate.")
        # starting, processing and anything added later: still working.
        return PollResult("running", raw_status=status)

    # --- request building -----------------------------------------------------
    def build_input(self, request: GenerationRequest, model: str) -> dict[str, Any]:
        """The prediction's `input`, refusing what the model cannot take.

        Large references are uploaded here, before the billable request, so a
        failed upload costs nothing and may simply be tried again.
        """
        spec = self.check_references(request, model)
        refs = request.references
        body: dict[str, Any] = {
            "prompt": request.full_prompt(),
            "seed": request.seed,
            "output_format": "jpg",
            "safety_tolerance": SAFETY_TOLERANCE,
        }
        if spec.masks:
            # The output keeps the take's size; the mask says where it may change.
            mask = Reference("edit_source", "mask", request.mask, "")
            body["image"] = self._image_input(refs[0])
            body["mask"] = self._image_input(mask)
            return body
        if spec.size_mode == "pixels":
            body["aspect_ratio"] = "custom"
            body["width"], body["height"] = fit_pixels(request.width, request.height)
        else:
            body["aspect_ratio"] = kontext_aspect_ratio(
                request.aspect_ratio, request.width, request.height
            )
        images = [self._image_input(ref) for ref in refs]
        if spec.max_references == 1 and images:
            body["input_image"] = images[0]
        elif images:
            body["input_images"] = images
        return body

    def _image_input(self, ref: Reference) -> str:
        if len(ref.data) <= MAX_INLINE_BYTES:
            return data_uri(ref.data)
        return self._upload(ref)

    def _upload(self, ref: Reference) -> str:
        """Put one image through the files API; its `urls.get` is what the input takes."""
        mime = image_mime(ref.data)
        response = http.upload(
            self.client,
            f"{self.base_url}/v1/files",
            field="content",
            name=f"{ref.sha256[:16] or 'reference'}.{mime.rsplit('/', 1)[-1]}",
            data=ref.data,
            mime=mime,
            what="Replicate",
            headers=self._headers(),
            timeout=self._timeout,
        )
        self.raise_for_error(response, during="upload")
        data = http.json_of(response, error=TransientError)
        urls = data.get("urls") if isinstance(data, dict) else None
        url = urls.get("get") if isinstance(urls, dict) else None
        if not url:
            raise TransientError("Replicate's upload answer had no file URL.")
        return str(url)

    # --- helpers --------------------------------------------------------------
    def _create_body(self, inputs: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"input": inputs}
        if self.webhook_url:
            body.update(webhook=self.webhook_url, webhook_events_filter=["completed"])
        return body

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self._api_key}", "accept": "application/json"}
