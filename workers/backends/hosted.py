"""What the backends for hosted FLUX services (fal.ai, Replicate) share.

Each serves a few FLUX models behind a queue: the subclass says how to
submit and poll; this class holds the configuration, the per-model table
(references, size control, price), capabilities, the origin rule for the key
and the bounded result download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import httpx

from workers.backends import http
from workers.backends.base import (
    AuthError,
    Capabilities,
    GenerationRequest,
    InvalidRequest,
    ProviderFailed,
    Submission,
)
from workers.backends.download import fetch_limited
from workers.backends.flux import KONTEXT_OUTPUT_PIXELS, MAX_OUTPUT_PIXELS, megapixel_price


@dataclass(frozen=True)
class ModelSpec:
    """One model as a service offers it."""

    max_references: int
    size_mode: Literal["pixels", "aspect_ratio"]
    # Credits (US cents): flat per image, or FLUX.2's first megapixel + each further one.
    flat_price: float = 0.0
    megapixel_price: tuple[float, float] = (0.0, 0.0)
    # Services with one endpoint per input kind (fal): without and with references.
    text_app: str = ""
    reference_app: str = ""
    # A fill model: changes only a painted region, given the take and its mask.
    masks: bool = False


class HostedBackend:
    """Base of the fal and replicate backends; subclasses add submit and poll."""

    name: ClassVar[str]
    paid: ClassVar[bool] = True
    setting_names: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    model_setting: ClassVar[str]
    models: ClassVar[tuple[str, ...]]
    specs: ClassVar[dict[str, ModelSpec]]
    key_setting: ClassVar[str]
    hosts_setting: ClassVar[str]
    fill_model: ClassVar[str] = ""

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
        client: httpx.Client | None = None,
    ) -> None:
        if not api_key:
            raise AuthError(f"{self.key_setting} is not set; the {self.name} backend needs it.")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.result_hosts = tuple(result_hosts)
        self.max_active = max_active
        self.timeout_s = timeout_s
        self.max_download_bytes = max_download_bytes
        self._timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        self.client = client or httpx.Client(follow_redirects=False)
        self._origin = http.origin(self.base_url)
        self.webhook_url = ""  # set by a subclass whose provider can prove it sent a webhook

    @classmethod
    def from_settings(cls, model: str = ""):
        """Build the backend from its settings (setting_names: key, base URL, model, hosts, cap)."""
        from django.conf import settings

        key, base_url, default_model, hosts, max_active = (
            getattr(settings, name) for name in cls.setting_names[:5]
        )
        return cls(
            api_key=key,
            base_url=base_url,
            model=model or default_model,
            result_hosts=list(hosts),
            max_active=max_active,
        )

    @classmethod
    def price(cls, model: str, width: int, height: int, references: int) -> float | None:
        """Credits (US cents) from the service's price list; None for a model not on it."""
        spec = cls.specs.get(model)
        if spec is None:
            return None
        if spec.flat_price:
            return spec.flat_price
        return megapixel_price(*spec.megapixel_price, width, height, references)

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}(base_url={self.base_url!r}, model={self.model!r})"

    def capabilities(self, model: str = "") -> Capabilities:
        spec = self.spec(model or self.model)
        return Capabilities(
            max_references=spec.max_references,
            single_input_image=spec.max_references == 1,
            instruction_edits=True,
            seeds=True,
            size_mode=spec.size_mode,
            max_active=self.max_active,
            models=self.models,
            masks=spec.masks,
            max_pixels=MAX_OUTPUT_PIXELS if spec.size_mode == "pixels" else KONTEXT_OUTPUT_PIXELS,
        )

    def fetch(self, url: str) -> bytes:
        """Download the result at once from an allow-listed host."""
        return fetch_limited(
            url,
            allowed_hosts=self.result_hosts,
            max_bytes=self.max_download_bytes,
            timeout_s=self.timeout_s,
            client=self.client,
            hosts_setting=self.hosts_setting,
        )

    def spec(self, model: str) -> ModelSpec:
        spec = self.specs.get(model)
        if spec is None:
            raise InvalidRequest(
                f"Unknown {self.name} model {model!r}; supported: {', '.join(self.specs)}. "
                f"Check {self.model_setting}."
            )
        return spec

    def check_references(self, request: GenerationRequest, model: str) -> ModelSpec:
        """The model's spec, refusing a request it cannot take before anything is sent."""
        spec = self.spec(model)
        refs = request.references
        if request.instruction and not refs:
            raise InvalidRequest("An instruction edit needs the take being edited as its input.")
        if spec.masks and not (request.mask and refs):
            raise InvalidRequest(
                f"{model} only changes a painted region of a take: use “Change part…” under "
                "a take, or pick another model to generate."
            )
        if len(refs) > spec.max_references:
            hint = " (pack them into one board first)" if spec.max_references == 1 else ""
            raise InvalidRequest(
                f"{model} takes at most {spec.max_references} reference images, "
                f"got {len(refs)}{hint}."
            )
        return spec

    def submission(
        self, task_id: str, polling_url: str, cost: float | None, cancel_url: str
    ) -> Submission:
        """What a submit answered; a cancel URL off the API origin is dropped (the key stays home)."""
        return Submission(
            task_id=task_id,
            polling_url=polling_url,
            cost=cost,
            cancel_url=cancel_url if self.is_own(cancel_url) else "",
        )

    def is_own(self, url: str | httpx.URL) -> bool:
        """True when `url` is on the API origin exactly (scheme, host, port): the key goes there only."""
        try:
            return http.origin(url) == self._origin
        except httpx.InvalidURL:
            return False

    def own_url(self, url: str | httpx.URL, *, what: str) -> httpx.URL:
        """`url` when it is on the API origin; else refused before any contact (`is_own`)."""
        if not self.is_own(url):
            raise ProviderFailed(
                f"The {what} URL from {self.name} points at an unexpected or unusable address; "
                f"it was not contacted and {self.key_setting} was not sent."
            )
        return httpx.URL(url)

    def raise_for_error(self, response: httpx.Response, *, during: str) -> None:
        http.raise_for_client_error(response, during=during, key_setting=self.key_setting)
