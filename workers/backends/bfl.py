"""The Black Forest Labs backend (FLUX.2 and FLUX.1 Kontext over the BFL API).

Protocol facts live in reference/bfl-api.md. The part that costs money is
`submit`: once the request may have left this machine, any doubt about its
outcome becomes `OutcomeUnknown` so the pipeline never resubmits blindly.
The API key travels only in the `x-key` header to the submit host and to
polling hosts on an exact allow-list (scheme, host and port); it is never put
in a message. Every answer is read up to a size limit (`http.MAX_ANSWER_BYTES`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any, ClassVar

import httpx

from workers.backends import http
from workers.backends.base import (
    AuthError,
    Capabilities,
    GenerationRequest,
    InvalidRequest,
    Moderated,
    OutcomeUnknown,
    PollResult,
    ProviderFailed,
    Submission,
    TransientError,
)
from workers.backends.download import fetch_limited
from workers.backends.flux import (
    KONTEXT_OUTPUT_PIXELS,
    MAX_OUTPUT_PIXELS,
    fit_pixels,
    kontext_aspect_ratio,
    megapixel_price,
)

FLUX2_MODELS = ("flux-2-pro", "flux-2-max", "flux-2-flex")
KLEIN_MODELS = ("flux-2-klein-4b", "flux-2-klein-9b")
KONTEXT_MODELS = ("flux-kontext-pro", "flux-kontext-max")
# Region edits: the take and a mask (white = change); the output keeps the take's size.
FILL_MODELS = ("flux-pro-1.0-fill",)
MODELS = FLUX2_MODELS + KLEIN_MODELS + KONTEXT_MODELS + FILL_MODELS

KONTEXT_MAX_ACTIVE = 6
SAFETY_TOLERANCE = 2  # the highest value Kontext accepts together with an input image
# The provider's own API hosts, where it may hand out polling URLs (regional
# hosts). Not chosen by the operator, so each must resolve to public
# addresses, and the poll connects to the address that was checked.
PROVIDER_POLLING_ORIGINS = tuple(
    f"https://{host}"
    for host in (
        "api.bfl.ai",
        "api.eu.bfl.ai",
        "api.us.bfl.ai",
        "api.eu1.bfl.ai",
        "api.eu2.bfl.ai",
        "api.us1.bfl.ai",
        "api.us2.bfl.ai",
    )
)

# Credits (1 credit = 1 US cent). Kontext is flat per image; FLUX.2 charges a
# first megapixel plus each further megapixel of output and input.
_FLAT_PRICE = {"flux-kontext-pro": 4.0, "flux-kontext-max": 8.0, "flux-pro-1.0-fill": 5.0}
_MP_PRICE = {
    "flux-2-pro": (3.0, 1.5),
    "flux-2-max": (7.0, 3.0),
    "flux-2-flex": (5.0, 5.0),
}

_RUNNING_STATUSES = {"Pending", "Reasoning", "Generating"}
_MODERATED_STATUSES = {
    "Request Moderated": "the prompt or input images",
    "Content Moderated": "the generated image",
}


def estimate_cost(model: str, width: int, height: int, n_refs: int) -> float:
    """Credits a request is expected to cost when the provider does not say.

    FLUX.2 input images are counted as one megapixel each (the provider
    scales large inputs down). Klein and unknown FLUX.2 variants are priced
    like FLUX.2 [pro], which over- rather than under-estimates them.
    """
    if model in _FLAT_PRICE:
        return _FLAT_PRICE[model]
    first, extra = _MP_PRICE.get(model, _MP_PRICE["flux-2-pro"])
    return megapixel_price(first, extra, width, height, n_refs)


class BFLBackend:
    """Generation through the Black Forest Labs API; see the module docstring."""

    name: ClassVar[str] = "bfl"
    paid: ClassVar[bool] = True
    setting_names: ClassVar[tuple[str, ...]] = (
        "BFL_API_KEY",
        "BFL_BASE_URL",
        "BFL_MODEL",
        "BFL_RESULT_HOSTS",
        "BFL_POLLING_ORIGINS",
        "BFL_MAX_ACTIVE",
        "BFL_WEBHOOK_SECRET",
        "STUDIO_PUBLIC_URL",
    )
    required: ClassVar[tuple[str, ...]] = ("BFL_API_KEY",)
    model_setting: ClassVar[str] = "BFL_MODEL"
    models: ClassVar[tuple[str, ...]] = MODELS
    fill_model: ClassVar[str] = FILL_MODELS[0]
    # No cancel: the API documents none (reference/bfl-api.md), so a
    # cancelled job's task runs out at the provider and its cost stays counted.

    @classmethod
    def price(cls, model: str, width: int, height: int, references: int) -> float | None:
        """Credits from the provider's price list; None for a model not on it."""
        if model not in MODELS:
            return None
        return estimate_cost(model, width, height, references)

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        model: str,
        result_hosts: list[str] | tuple[str, ...],
        max_active: int,
        timeout_s: float = 30,
        max_download_bytes: int = 40 * 1024 * 1024,
        poll_deadline_s: float = 600,
        polling_origins: list[str] | tuple[str, ...] = (),
        webhook_url: str = "",
        webhook_secret: str = "",
        client: httpx.Client | None = None,
    ) -> None:
        if not api_key:
            raise AuthError("BFL_API_KEY is not set; the bfl backend needs it.")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.result_hosts = tuple(result_hosts)
        self.max_active = max_active
        self.timeout_s = timeout_s
        self.max_download_bytes = max_download_bytes
        # The job pipeline owns the polling deadline; kept here so it travels
        # with the backend's other limits.
        self.poll_deadline_s = poll_deadline_s
        # Passed on every call so an injected client gets our limits too.
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self._owns_client = client is None
        self.client = client or httpx.Client(follow_redirects=False)
        self._base = httpx.URL(self.base_url)
        # The operator chose these (BFL_BASE_URL, BFL_POLLING_ORIGINS): they may be
        # private, like an exact BFL_RESULT_HOSTS entry.
        self._trusted_origins = {http.origin(self._base)} | {
            http.origin(o) for o in polling_origins if o.strip()
        }
        self._provider_origins = {http.origin(o) for o in PROVIDER_POLLING_ORIGINS}
        # With both, the provider also POSTs each final result to the studio.
        self.webhook_url = webhook_url if webhook_secret else ""
        self._webhook_secret = webhook_secret

    @classmethod
    def from_settings(cls, model: str = "") -> BFLBackend:
        """Build the backend from the BFL_* Django settings."""
        from django.conf import settings

        return cls(
            api_key=settings.BFL_API_KEY,
            base_url=settings.BFL_BASE_URL,
            model=model or settings.BFL_MODEL,
            result_hosts=list(settings.BFL_RESULT_HOSTS),
            max_active=settings.BFL_MAX_ACTIVE,
            polling_origins=list(settings.BFL_POLLING_ORIGINS),
            webhook_url=http.webhook_url("bfl"),
            webhook_secret=settings.BFL_WEBHOOK_SECRET,
        )

    @classmethod
    def webhook_verified(cls, headers: Any, body: bytes) -> bool:
        """A webhook comes from the provider: it carries BFL_WEBHOOK_SECRET (see _secret_ok)."""
        from django.conf import settings

        return bool(settings.STUDIO_PUBLIC_URL) and _secret_ok(
            headers, body, settings.BFL_WEBHOOK_SECRET
        )

    @classmethod
    def webhook_task_id(cls, payload: dict[str, Any]) -> str:
        return str(payload.get("id") or payload.get("task_id") or "")

    def __repr__(self) -> str:  # the default would be harmless, but be explicit: no key
        return f"BFLBackend(base_url={self.base_url!r}, model={self.model!r})"

    def close(self) -> None:
        if self._owns_client:
            self.client.close()

    # --- Backend protocol -----------------------------------------------------
    def capabilities(self, model: str = "") -> Capabilities:
        """What `model` (default: the configured one) accepts."""
        model = model or self.model
        family = _family(model)
        if family == "fill":
            return Capabilities(
                max_references=1,
                single_input_image=True,
                instruction_edits=True,
                seeds=True,
                size_mode="pixels",
                max_active=self.max_active,
                models=MODELS,
                masks=True,
                max_pixels=MAX_OUTPUT_PIXELS,
            )
        if family == "kontext":
            cap = KONTEXT_MAX_ACTIVE if model == "flux-kontext-max" else self.max_active
            return Capabilities(
                max_references=1,
                single_input_image=True,
                instruction_edits=True,
                seeds=True,
                size_mode="aspect_ratio",
                max_active=min(self.max_active, cap),
                models=MODELS,
                max_pixels=KONTEXT_OUTPUT_PIXELS,
            )
        return Capabilities(
            max_references=4 if family == "klein" else 8,
            single_input_image=False,
            instruction_edits=True,
            seeds=True,
            size_mode="pixels",
            max_active=self.max_active,
            models=MODELS,
            max_pixels=MAX_OUTPUT_PIXELS,
        )

    def submit(self, request: GenerationRequest) -> Submission:
        """POST the request. Never call twice for one job: it may be billed each time."""
        model = request.model or self.model
        body = self.build_body(request, model)
        response = http.submit(
            self.client,
            f"{self.base_url}/v1/{model}",
            json=body,
            headers=self._headers(),
            timeout=self._timeout,
        )
        http.raise_for_client_error(response, during="submit", key_setting="BFL_API_KEY")
        data = http.json_of(response)
        task_id = data.get("id") if isinstance(data, dict) else None
        if not task_id:
            raise OutcomeUnknown("The provider accepted the submit but its answer had no task id.")
        polling_url = str(data.get("polling_url") or "") or (
            f"{self.base_url}/v1/get_result?id={task_id}"
        )
        cost = data.get("cost")
        if not isinstance(cost, int | float) or isinstance(cost, bool):
            cost = estimate_cost(
                model,
                int(body.get("width") or 1024),
                int(body.get("height") or 1024),
                len(request.references),
            )
        return Submission(task_id=str(task_id), polling_url=polling_url, cost=float(cost))

    def poll(self, submission: Submission) -> PollResult:
        """Ask for the task's state once; the caller owns the deadline."""
        url = submission.polling_url or f"{self.base_url}/v1/get_result?id={submission.task_id}"
        target, addresses = self._polling_target(url)
        response = http.poll(
            self.client,
            target,
            addresses=addresses,
            headers=self._headers(),
            timeout=self._timeout,
        )
        if response.status_code == 404:
            raise ProviderFailed("The provider does not know this task (HTTP 404).")
        http.raise_for_client_error(response, during="poll", key_setting="BFL_API_KEY")
        data = http.json_of(response, error=TransientError)
        if not isinstance(data, dict):
            raise TransientError("The provider's polling answer was not a JSON object.")
        return self.read_status(data)

    def read_status(self, data: dict[str, Any]) -> PollResult:
        """A task's state from a polling answer or a webhook body (raises on a final failure)."""
        status = str(data.get("status") or "")
        if status == "Ready":
            result = data.get("result")
            sample = result.get("sample") if isinstance(result, dict) else None
            if not sample:
                raise ProviderFailed("The provider reported Ready without a result URL.")
            return PollResult("ready", sample_url=str(sample), progress=1.0, raw_status=status)
        if status in _MODERATED_STATUSES:
            reason = _describe(data.get("details"))
            raise Moderated(
                f"The provider's moderation refused {_MODERATED_STATUSES[status]} ({status})"
                + (f": {reason}" if reason else ".")
            )
        if status == "Error":
            reason = _describe(data.get("details")) or "no details given"
            raise ProviderFailed(f"The provider reported an error: {reason}")
        if status == "Task not found":
            raise ProviderFailed(
                "The provider does not know this task (Task not found); it may have expired."
            )
        # Pending, Reasoning, Generating and any status added later: still working.
        return PollResult("running", progress=_progress(data.get("progress")), raw_status=status)

    def fetch(self, url: str) -> bytes:
        """Download the result at once from an allow-listed delivery host."""
        return fetch_limited(
            url,
            allowed_hosts=self.result_hosts,
            max_bytes=self.max_download_bytes,
            timeout_s=self.timeout_s,
            client=self.client,
        )

    def credits(self) -> float:
        """The account's remaining credits (GET /v1/credits)."""
        try:
            response = http.request_capped(
                self.client,
                "GET",
                f"{self.base_url}/v1/credits",
                headers=self._headers(),
                timeout=self._timeout,
            )
        except http.AnswerTooLarge as exc:
            raise TransientError(f"The provider's credits answer was refused ({exc}).") from exc
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransientError(f"Could not ask for credits ({exc.__class__.__name__}).") from exc
        if response.status_code >= 500:
            raise TransientError(f"The provider answered HTTP {response.status_code}.")
        http.raise_for_client_error(response, during="credits", key_setting="BFL_API_KEY")
        data = http.json_of(response, error=TransientError)
        try:
            return float(data["credits"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError("The provider's credits answer had no number.") from exc

    # --- request building -----------------------------------------------------
    def build_body(self, request: GenerationRequest, model: str) -> dict[str, Any]:
        """The JSON body for `request` on `model`, refusing what the model cannot take."""
        caps = self.capabilities(model)
        refs = request.references
        if request.instruction and not refs:
            raise InvalidRequest("An instruction edit needs the take being edited as its input.")
        if caps.masks:
            return self._fill_body(request, model)
        if len(refs) > caps.max_references:
            hint = " (pack them into one board first)" if caps.single_input_image else ""
            raise InvalidRequest(
                f"{model} takes at most {caps.max_references} reference images, "
                f"got {len(refs)}{hint}."
            )
        body: dict[str, Any] = {
            "prompt": request.full_prompt(),
            "seed": request.seed,
            # JPEG: a fraction of a PNG's size to download, decode and store.
            "output_format": "jpeg",
            "safety_tolerance": SAFETY_TOLERANCE,
        }
        if self.webhook_url:
            body["webhook_url"] = self.webhook_url
            body["webhook_secret"] = self._webhook_secret
        for index, ref in enumerate(refs):
            key = "input_image" if index == 0 else f"input_image_{index + 1}"
            body[key] = base64.b64encode(ref.data).decode("ascii")
        if caps.size_mode == "aspect_ratio":
            body["aspect_ratio"] = kontext_aspect_ratio(
                request.aspect_ratio, request.width, request.height
            )
        else:
            body["width"], body["height"] = fit_pixels(request.width, request.height)
        return body

    def _fill_body(self, request: GenerationRequest, model: str) -> dict[str, Any]:
        """A fill request: the take as `image`, the mask as `mask`, both bare base64."""
        if not request.mask or not request.references:
            raise InvalidRequest(
                f"{model} only changes a painted region of a take: use “Change part…” under "
                "a take, or pick another model to generate."
            )
        body: dict[str, Any] = {
            "prompt": request.full_prompt(),
            "image": base64.b64encode(request.references[0].data).decode("ascii"),
            "mask": base64.b64encode(request.mask).decode("ascii"),
            "seed": request.seed,
            "output_format": "jpeg",
            "safety_tolerance": SAFETY_TOLERANCE,
        }
        if self.webhook_url:
            body["webhook_url"] = self.webhook_url
            body["webhook_secret"] = self._webhook_secret
        return body

    def _headers(self) -> dict[str, str]:
        return {"x-key": self._api_key, "accept": "application/json"}

    def _polling_target(self, url: str) -> tuple[httpx.URL, list[http.Address] | None]:
        """Where a poll may go with the key, and the checked addresses to connect to.

        Scheme, host and port must equal an allowed origin exactly: the
        submit host, an origin the operator listed, or one of the provider's
        own API hosts (which must resolve to public addresses).
        """
        try:
            target = httpx.URL(url)
            key = http.origin(target)
        except httpx.InvalidURL as exc:
            raise ProviderFailed("The provider returned an unusable polling URL.") from exc
        if key in self._trusted_origins:
            return target, None
        if key not in self._provider_origins:
            raise ProviderFailed(
                f"The polling URL points at an unexpected host ({target.host!r}, "
                f"{target.scheme}, port {key[2]}); it was not contacted and the API key "
                "was not sent. If the provider moved, add its origin to BFL_POLLING_ORIGINS."
            )
        try:
            return target, http.public_addresses(target)
        except http.NotPublic as exc:
            raise ProviderFailed(
                f"The polling URL was not contacted and the API key was not sent: {exc}."
            ) from exc
        except http.Unresolvable as exc:
            raise TransientError(f"Polling failed: {exc}.") from exc


# --- helpers -------------------------------------------------------------------
def _secret_ok(headers: Any, body: bytes, secret: str) -> bool:
    """True when a webhook carries the shared secret, compared in constant time.

    The provider's SDK echoes the secret in `X-Webhook-Secret`; another
    description signs the body (`X-BFL-Signature: sha256=<hmac>`). Either is
    accepted, each checked with `hmac.compare_digest`.
    """
    if not secret:
        return False
    echoed = headers.get("x-webhook-secret", "")
    if echoed and hmac.compare_digest(echoed.encode(), secret.encode()):
        return True
    signature = headers.get("x-bfl-signature", "")
    if signature.startswith("sha256="):
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature.removeprefix("sha256=").encode(), expected.encode())
    return False


def _family(model: str) -> str:
    if model in FILL_MODELS:
        return "fill"
    if model.startswith("flux-kontext"):
        return "kontext"
    if model.startswith("flux-2-klein"):
        return "klein"
    if model.startswith("flux-2"):
        return "flux2"
    raise InvalidRequest(
        f"Unknown BFL model {model!r}; supported: {', '.join(MODELS)}. Check BFL_MODEL."
    )


def _progress(value: Any) -> float | None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    # The unit is not documented: accept both 0..1 and 0..100.
    share = value / 100 if value > 1 else float(value)
    return min(max(share, 0.0), 1.0)


def _describe(details: Any) -> str:
    """Provider `details` (a dict, list or text) as one short line."""
    if not details:
        return ""
    if isinstance(details, dict):
        parts = []
        for key, value in details.items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            parts.append(f"{key}: {shown}")
        text = "; ".join(parts)
    elif isinstance(details, list):
        text = ", ".join(map(str, details))
    else:
        text = str(details)
    return text[:300]
