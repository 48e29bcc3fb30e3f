"""The fal.ai backend: FLUX.2 [pro] and FLUX.1 Kontext over fal's queue API.

Protocol facts live in reference/providers.md. A submit answers with the
status, response and cancel URLs to use (built from owner/app, not from the
sub-path that was called), and those are used as given, provided they are on
the submit origin exactly: the key (`Authorization: Key …`) goes nowhere
else. The status answer may or may not carry `response_url`; without it the
response URL is the status URL without its `/status`. Moderation shows as
`has_nsfw_concepts` in the result or as a content-policy 422 on it: both are
final. Every answer is read up to `http.MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from workers.backends import http
from workers.backends.base import (
    GenerationRequest,
    Moderated,
    OutcomeUnknown,
    PollResult,
    ProviderFailed,
    Submission,
    TransientError,
)
from workers.backends.flux import data_uri, fit_pixels, nearest_ratio
from workers.backends.hosted import HostedBackend, ModelSpec

KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
SAFETY_TOLERANCE = "2"  # a string on fal; at most 2 with an input image on Kontext
FILL_MODEL = "fal-ai/flux-pro/v1/fill"


MODELS: dict[str, ModelSpec] = {
    "fal-ai/flux-2-pro": ModelSpec(
        8,
        "pixels",
        megapixel_price=(3.0, 1.5),
        text_app="fal-ai/flux-2-pro",
        reference_app="fal-ai/flux-2-pro/edit",
    ),
    "fal-ai/flux-pro/kontext": ModelSpec(
        1,
        "aspect_ratio",
        flat_price=4.0,
        text_app="fal-ai/flux-pro/kontext/text-to-image",
        reference_app="fal-ai/flux-pro/kontext",
    ),
    FILL_MODEL: ModelSpec(
        1, "pixels", flat_price=5.0, reference_app="fal-ai/flux-pro/v1/fill", masks=True
    ),
    "fal-ai/flux-pro/kontext/max": ModelSpec(
        1,
        "aspect_ratio",
        flat_price=8.0,
        text_app="fal-ai/flux-pro/kontext/max/text-to-image",
        reference_app="fal-ai/flux-pro/kontext/max",
    ),
}
_POLICY_WORDS = ("content_policy", "nsfw", "flagged", "moderat")


class FalBackend(HostedBackend):
    """Generation through fal.ai's queue; see the module docstring."""

    name: ClassVar[str] = "fal"
    setting_names: ClassVar[tuple[str, ...]] = (
        "FAL_KEY",
        "FAL_BASE_URL",
        "FAL_MODEL",
        "FAL_RESULT_HOSTS",
        "FAL_MAX_ACTIVE",
    )
    required: ClassVar[tuple[str, ...]] = ("FAL_KEY",)
    model_setting: ClassVar[str] = "FAL_MODEL"
    models: ClassVar[tuple[str, ...]] = tuple(MODELS)
    specs: ClassVar[dict[str, ModelSpec]] = MODELS
    key_setting: ClassVar[str] = "FAL_KEY"
    fill_model: ClassVar[str] = FILL_MODEL
    hosts_setting: ClassVar[str] = "FAL_RESULT_HOSTS"

    def submit(self, request: GenerationRequest) -> Submission:
        """Queue the request. Never call twice for one job: it may be billed each time."""
        model = request.model or self.model
        app, body = self.build_body(request, model)
        response = http.submit(
            self.client,
            f"{self.base_url}/{app}",
            json=body,
            headers=self._headers(),
            timeout=self._timeout,
        )
        self.raise_for_error(response, during="submit")
        data = http.json_of(response)
        request_id = data.get("request_id") if isinstance(data, dict) else None
        if not request_id:
            raise OutcomeUnknown("fal accepted the submit but its answer had no request id.")
        status_url = str(data.get("status_url") or "")
        if not status_url:
            owner_app = "/".join(app.split("/")[:2])
            status_url = f"{self.base_url}/{owner_app}/requests/{request_id}/status"
        size = body.get("image_size") or {}
        cost = self.price(
            model,
            int(size.get("width") or 1024),
            int(size.get("height") or 1024),
            len(request.references),
        )
        cancel_url = str(data.get("cancel_url") or "")
        return self.submission(str(request_id), status_url, cost, cancel_url)

    def cancel(self, submission: Submission) -> None:
        """Ask the queue to drop the request (`PUT cancel_url`); 400 means it has completed.

        The cancel URL the submit returned is used; a job stored without one
        gets the status URL's sibling, the queue's own form. Only on the
        submit origin: the key goes nowhere else.
        """
        url = submission.cancel_url
        if not url and submission.polling_url.endswith("/status"):
            url = submission.polling_url.removesuffix("/status") + "/cancel"
        if not url:
            raise ProviderFailed("fal gave no cancel URL for this request; it was not cancelled.")
        response = http.poll(
            self.client,
            self.own_url(url, what="cancel"),
            what="cancelling",
            method="PUT",
            headers=self._headers(),
            timeout=self._timeout,
        )
        # 400: already completed; 404: unknown or gone. Either way nothing is left to stop.
        if response.status_code not in (400, 404):
            self.raise_for_error(response, during="cancel")

    def poll(self, submission: Submission) -> PollResult:
        """Ask for the request's status once; when completed, read its result."""
        status_url = self.own_url(submission.polling_url, what="status")
        response = http.poll(
            self.client, status_url, headers=self._headers(), timeout=self._timeout
        )
        if response.status_code == 404:
            raise ProviderFailed("fal does not know this request (HTTP 404).")
        self.raise_for_error(response, during="poll")
        data = http.json_of(response, error=TransientError)
        if not isinstance(data, dict):
            raise TransientError("fal's status answer was not a JSON object.")
        status = str(data.get("status") or "")
        if status != "COMPLETED":
            # IN_QUEUE, IN_PROGRESS and anything added later: still working.
            return PollResult("running", raw_status=status)
        error = data.get("error")
        if error:
            _raise_final(str(error))
        response_url = str(data.get("response_url") or "") or str(status_url).removesuffix(
            "/status"
        )
        return self._result(self.own_url(response_url, what="result"))

    # --- request building -----------------------------------------------------
    def build_body(self, request: GenerationRequest, model: str) -> tuple[str, dict[str, Any]]:
        """The app to call and its input, refusing what the model cannot take."""
        spec = self.check_references(request, model)
        refs = request.references
        body: dict[str, Any] = {
            "prompt": request.full_prompt(),
            "seed": request.seed,
            "output_format": "jpeg",
            "safety_tolerance": SAFETY_TOLERANCE,
        }
        if spec.masks:
            # The output keeps the take's size; the mask says where it may change.
            body["image_url"] = data_uri(refs[0].data)
            body["mask_url"] = data_uri(request.mask)
            return spec.reference_app, body
        if spec.size_mode == "pixels":
            width, height = fit_pixels(request.width, request.height)
            body["image_size"] = {"width": width, "height": height}
        else:
            body["aspect_ratio"] = nearest_ratio(
                request.aspect_ratio, request.width, request.height, KONTEXT_RATIOS
            )
        if not refs:
            return spec.text_app, body
        if spec.max_references == 1:
            body["image_url"] = data_uri(refs[0].data)
        else:
            body["image_urls"] = [data_uri(ref.data) for ref in refs]
        return spec.reference_app, body

    # --- helpers --------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Key {self._api_key}", "accept": "application/json"}

    def _result(self, response_url: httpx.URL) -> PollResult:
        response = http.poll(
            self.client,
            response_url,
            what="reading the result",
            headers=self._headers(),
            timeout=self._timeout,
        )
        if response.status_code == 422 and _is_policy(http.detail_message(response), response):
            raise Moderated(
                f"fal's content checker refused this request: {http.detail_message(response)}"
            )
        self.raise_for_error(response, during="result")
        data = http.json_of(response, error=TransientError)
        if not isinstance(data, dict):
            raise TransientError("fal's result was not a JSON object.")
        flags = data.get("has_nsfw_concepts")
        if isinstance(flags, list) and any(flag is True for flag in flags):
            raise Moderated("fal's safety checker flagged the generated image; it was withheld.")
        images = data.get("images")
        first = images[0] if isinstance(images, list) and images else None
        url = first.get("url") if isinstance(first, dict) else None
        if not url:
            raise ProviderFailed("fal reported the request completed without an image.")
        return PollResult("ready", sample_url=str(url), progress=1.0, raw_status="COMPLETED")


def _is_policy(detail: str, response: httpx.Response) -> bool:
    text = (detail + " " + response.text[:2000]).lower()
    return any(word in text for word in _POLICY_WORDS)


def _raise_final(error: str) -> None:
    if any(word in error.lower() for word in _POLICY_WORDS):
        raise Moderated(f"fal's content checker refused this request: {error[:300]}")
    raise ProviderFailed(f"fal reported an error: {error[:300]}")
