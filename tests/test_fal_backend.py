"""FalBackend over real HTTP against the fake fal.ai queue on loopback."""

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
    ResultUnavailable,
)
from workers.backends.fal import FalBackend

shared_fake, fake, http_client, make_backend, backend = hosted.fixtures(hosted.FAL)
_request, _wait_ready = hosted.request, hosted.wait_ready


def test_references_go_to_the_edit_app_as_data_uris_and_the_image_comes_back(fake, backend):
    sub = backend.submit(_request(refs=3))
    (submit,) = fake.submissions()
    assert submit.path == "/fal-ai/flux-2-pro/edit"
    assert [u[:22] for u in submit.body["image_urls"]] == ["data:image/png;base64,"] * 3
    assert submit.body["image_size"] == {"width": 1008, "height": 560}
    assert submit.body["safety_tolerance"] == "2"
    # The returned status URL is built from owner/app: the sub-path is dropped.
    assert "/fal-ai/flux-2-pro/requests/" in sub.polling_url and "/edit/" not in sub.polling_url
    image = Image.open(io.BytesIO(backend.fetch(_wait_ready(backend, sub).sample_url)))
    assert image.size == (1008, 560)
    assert image.convert("RGB").getpixel((2, 2)) == pytest.approx(sample_colour(submit.body), abs=3)


def test_text_only_request_goes_to_the_text_app(fake, backend):
    backend.submit(_request())
    assert fake.submissions()[0].path == "/fal-ai/flux-2-pro"


def test_kontext_takes_one_packed_image_and_a_listed_ratio(fake, make_backend):
    backend = make_backend(model="fal-ai/flux-pro/kontext")
    caps = backend.capabilities()
    assert (caps.max_references, caps.single_input_image, caps.size_mode) == (
        1,
        True,
        "aspect_ratio",
    )
    backend.submit(_request(refs=1, aspect_ratio="2.39:1"))
    body = fake.submissions()[0].body
    assert fake.submissions()[0].path == "/fal-ai/flux-pro/kontext"
    assert body["image_url"].startswith("data:image/png;base64,")
    assert body["aspect_ratio"] == "21:9"
    with pytest.raises(InvalidRequest, match="pack them"):
        backend.submit(_request(refs=2))
    assert len(fake.submissions()) == 1


@pytest.mark.parametrize("with_response_url", [True, False])
def test_result_is_read_with_or_without_response_url_in_the_status(
    fake, backend, with_response_url
):
    fake.config.status_has_response_url = with_response_url
    result = _wait_ready(backend, backend.submit(_request()))
    assert "/files/" in result.sample_url


@pytest.mark.parametrize("style", ["flag", "422"])
def test_moderation_is_final_in_either_form(fake, backend, style):
    fake.config.moderation = style
    fake.config.moderate_if = "forbidden"
    sub = backend.submit(_request("a forbidden scene"))
    with pytest.raises(Moderated, match="fal's"):
        _wait_ready(backend, sub)
    assert fake.downloads() == []


def test_provider_error_is_reported_with_its_reason(fake, backend):
    fake.config.error_if = "doomed"
    sub = backend.submit(_request("a doomed scene"))
    with pytest.raises(ProviderFailed, match="Generation failed in the fake provider"):
        _wait_ready(backend, sub)


def test_result_on_a_host_not_allowed_is_refused(fake, make_backend):
    backend = make_backend(result_hosts=["v3.fal.media"])
    with pytest.raises(ResultUnavailable, match=r"allow-list \(FAL_RESULT_HOSTS\)"):
        backend.fetch(_wait_ready(backend, backend.submit(_request())).sample_url)
    assert fake.downloads() == []


def test_price_follows_the_declared_list():
    assert FalBackend.price("fal-ai/flux-pro/kontext/max", 1024, 1024, 1) == 8.0
    assert FalBackend.price("fal-ai/flux-2-pro", 1024, 1024, 2) == 6.0
    assert FalBackend.price("fal-ai/unknown", 1024, 1024, 0) is None
