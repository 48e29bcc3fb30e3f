"""Fixtures and helpers shared by the tests of the hosted backends (fal, replicate)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.fakes.fal_server import FakeFal, FalConfig
from tests.fakes.replicate_server import FakeReplicate, ReplicateConfig
from workers.backends.base import GenerationRequest, PollResult, Reference, Submission
from workers.backends.fal import FalBackend
from workers.backends.replicate import ReplicateBackend


def png(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(out, "PNG")
    return out.getvalue()


def request(prompt: str = "Mara runs", refs: int = 0, **kw) -> GenerationRequest:
    values: dict[str, Any] = dict(
        prompt=prompt,
        references=tuple(Reference("cast", f"ref {i}", png(), str(i)) for i in range(refs)),
        width=1000,
        height=563,
        aspect_ratio="16:9",
        seed=42,
    )
    values.update(kw)
    return GenerationRequest(**values)


def wait_ready(backend, sub: Submission, timeout: float = 3.0) -> PollResult:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = backend.poll(sub)
        if result.state == "ready":
            return result
        time.sleep(0.01)
    raise AssertionError("not ready in time")


@dataclass(frozen=True)
class Hosted:
    """One hosted backend and its fake, as the shared fixtures build them."""

    fake_class: type
    config_class: type
    backend_class: type
    key: str
    model: str
    auth: str  # the authorization header, "{}" standing for the key

    @property
    def name(self) -> str:
        return self.backend_class.name


FAL = Hosted(FakeFal, FalConfig, FalBackend, "fal-secret-0123456789", "fal-ai/flux-2-pro", "Key {}")
REPLICATE = Hosted(
    FakeReplicate,
    ReplicateConfig,
    ReplicateBackend,
    "r8_secret_0123456789",
    "black-forest-labs/flux-2-pro",
    "Bearer {}",
)


def fixtures(*specs: Hosted) -> tuple:
    """(shared_fake, fake, http_client, make_backend, backend) fixtures, the tests run per spec."""

    @pytest.fixture(scope="module", params=specs, ids=lambda spec: spec.name)
    def shared_fake(request) -> Iterator[Any]:
        with request.param.fake_class() as server:
            server.spec = request.param
            yield server

    @pytest.fixture
    def fake(shared_fake):
        # One server per module and backend; a clean slate and fresh switches per test.
        spec = shared_fake.spec
        shared_fake.config = spec.config_class(api_key=spec.key, latency_s=0.05)
        shared_fake.reset()
        return shared_fake

    @pytest.fixture(scope="module")
    def http_client() -> Iterator[httpx.Client]:
        with httpx.Client(follow_redirects=False) as client:
            yield client

    @pytest.fixture
    def make_backend(fake, http_client):
        def make(**kw):
            values = dict(
                api_key=fake.spec.key,
                base_url=fake.base_url,
                model=fake.spec.model,
                result_hosts=["127.0.0.1"],
                max_active=8,
                timeout_s=2.0,
                client=http_client,
            )
            values.update(kw)
            return fake.spec.backend_class(**values)

        return make

    @pytest.fixture
    def backend(make_backend):
        return make_backend()

    return shared_fake, fake, http_client, make_backend, backend
