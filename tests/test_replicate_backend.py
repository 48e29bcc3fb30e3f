"""ReplicateBackend over real HTTP against the fake Replicate API on loopback."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests import hosted
from tests.fakes.queue_server import sample_colour
from workers.backends.base import (
    InvalidRequest,
    Moderated,
    ProviderFailed,
    Reference,
    ResultUnavailable,
)
from workers.backends.replicate import MAX_INLINE_BYTES

shared_fake, fake, http_client, make_backend, backend = hosted.fixtures(hosted.REPLICATE)
_request, _wait_ready = hosted.request, hosted.wait_ready


def _noise_png(side: int = 400) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((side, side), 60).convert("RGB").save(out, "PNG")
    return out.getvalue()


def test_prediction_carries_references_and_size_and_the_output_comes_back(fake, backend):
    sub = backend.submit(_request(refs=2))
    (create,) = fake.submissions()
    assert create.path == "/v1/models/black-forest-labs/flux-2-pro/predictions"
    inputs = create.body["input"]
    assert [u[:22] for u in inputs["input_images"]] == ["data:image/png;base64,"] * 2
    assert (inputs["aspect_ratio"], inputs["width"], inputs["height"]) == ("custom", 1008, 560)
    assert sub.polling_url == f"{fake.base_url}/v1/predictions/{sub.task_id}"
    image = Image.open(io.BytesIO(backend.fetch(_wait_ready(backend, sub).sample_url)))
    assert image.size == (1008, 560)
    assert image.convert("RGB").getpixel((2, 2)) == pytest.approx(sample_colour(inputs), abs=3)


def test_large_reference_is_uploaded_through_the_files_api_before_the_prediction(fake, backend):
    big = _noise_png()
    assert len(big) > MAX_INLINE_BYTES
    request = _request(references=(Reference("cast", "big", big, "feed"),))
    _wait_ready(backend, backend.submit(request))
    (upload,) = fake.uploads()
    assert fake.requests.index(upload) == 0  # nothing billable went out before it
    (url,) = fake.submissions()[0].body["input"]["input_images"]
    assert url.startswith(f"{fake.base_url}/v1/files/")
    assert fake.files[url.rsplit("/", 1)[-1]] == big


@pytest.mark.parametrize("as_list", [True, False])
def test_output_as_one_url_or_a_list(fake, backend, as_list):
    fake.config.output_as_list = as_list
    assert "/files/" in _wait_ready(backend, backend.submit(_request())).sample_url


def test_get_url_on_another_host_is_not_given_the_token(fake, backend):
    fake.config.get_url_host = "localhost"  # same server, another origin
    sub = backend.submit(_request())
    assert sub.polling_url.startswith(fake.base_url)
    _wait_ready(backend, sub)
    assert all(not r.headers.get("host", "").startswith("localhost") for r in fake.requests)


def test_kontext_takes_one_input_image(fake, make_backend):
    backend = make_backend(model="black-forest-labs/flux-kontext-pro")
    assert backend.capabilities().single_input_image
    backend.submit(_request(refs=1, aspect_ratio="1.85:1"))
    inputs = fake.submissions()[0].body["input"]
    assert inputs["input_image"].startswith("data:image/png;base64,")
    assert inputs["aspect_ratio"] == "37:20"
    with pytest.raises(InvalidRequest, match="pack them"):
        backend.submit(_request(refs=2))


def test_safety_failure_is_moderation_and_other_failures_are_provider_errors(fake, backend):
    fake.config.moderate_if = "forbidden"
    fake.config.error_if = "doomed"
    with pytest.raises(Moderated, match="E005"):
        _wait_ready(backend, backend.submit(_request("a forbidden scene")))
    with pytest.raises(ProviderFailed, match="CUDA out of memory"):
        _wait_ready(backend, backend.submit(_request("a doomed scene")))


def test_expired_output_is_unavailable(fake, backend):
    fake.config.sample_ttl_s = 0.0
    with pytest.raises(ResultUnavailable, match="no longer available"):
        backend.fetch(_wait_ready(backend, backend.submit(_request())).sample_url)
