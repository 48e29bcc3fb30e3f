"""Fixtures and helpers shared by the tests of the hosted backends (fal, replicate)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from workers.backends.base import GenerationRequest, PollResult, Reference, Submission


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


def fixtures(fake_class, config_class, backend_class, *, key: str, model: str) -> tuple:
    """(shared_fake, fake, http_client, make_backend, backend) fixtures for one backend's tests."""

    @pytest.fixture(scope="module")
    def shared_fake() -> Iterator[Any]:
        with fake_class() as server:
            yield server

    @pytest.fixture
    def fake(shared_fake):
        # One server per module; a clean slate and fresh switches per test.
        shared_fake.config = config_class(api_key=key, latency_s=0.05)
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
                api_key=key,
                base_url=fake.base_url,
                model=model,
                result_hosts=["127.0.0.1"],
                max_active=8,
                timeout_s=2.0,
                client=http_client,
            )
            values.update(kw)
            return backend_class(**values)

        return make

    @pytest.fixture
    def backend(make_backend):
        return make_backend()

    return shared_fake, fake, http_client, make_backend, backend
