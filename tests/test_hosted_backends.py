"""The rules the fal and Replicate backends share, each over real HTTP against its own fake.

The key goes only to the API host (never to a status, result or cancel URL
elsewhere), a wrong key fails fast naming its setting, 429 carries
Retry-After, a 5xx after the task was created is an unknown outcome, and a
running task can be cancelled. What differs between them is in
test_fal_backend and test_replicate_backend.
"""

from __future__ import annotations

import pytest

from tests import hosted
from workers.backends.base import (
    AuthError,
    OutcomeUnknown,
    ProviderFailed,
    RateLimited,
    Submission,
)

shared_fake, fake, http_client, make_backend, backend = hosted.fixtures(
    hosted.FAL, hosted.REPLICATE
)
_request, _wait_ready = hosted.request, hosted.wait_ready


def test_key_travels_only_to_the_api_host(fake, backend):
    sub = backend.submit(_request())
    backend.fetch(_wait_ready(backend, sub).sample_url)
    backend.cancel(sub)  # finished already: nothing to stop, and no error
    auth = fake.spec.auth.format(fake.spec.key)
    assert {r.server for r in fake.requests} == {"api", "delivery"}
    for record in fake.requests:
        assert (record.headers.get("authorization") == auth) == (record.server == "api")


def test_status_url_on_another_origin_is_refused_without_contact(fake, backend):
    other = f"http://127.0.0.1:{fake.port('delivery')}/requests/x/status"
    with pytest.raises(ProviderFailed, match="was not sent"):
        backend.poll(Submission(task_id="x", polling_url=other))
    assert fake.requests == []


def test_running_task_is_cancelled_at_the_url_the_provider_gave(fake, backend):
    fake.config.latency_s = 30
    sub = backend.submit(_request())
    assert sub.cancel_url.startswith(fake.base_url)
    backend.cancel(sub)
    (cancel,) = fake.cancels()
    assert f"{fake.base_url}{cancel.path}" == sub.cancel_url
    assert fake.find(sub.task_id).cancelled
    with pytest.raises(ProviderFailed, match="cancel"):
        _wait_ready(backend, sub)


def test_cancel_url_on_another_origin_is_refused_without_contact(fake, backend):
    own = f"{fake.base_url}/requests/x/status"
    other = f"http://127.0.0.1:{fake.port('delivery')}/requests/x/cancel"
    with pytest.raises(ProviderFailed, match="not sent"):
        backend.cancel(Submission(task_id="x", polling_url=own, cancel_url=other))
    assert fake.requests == []


def test_wrong_key_fails_fast_naming_the_setting(fake, make_backend):
    with pytest.raises(AuthError, match=f"Check {fake.spec.backend_class.key_setting}"):
        make_backend(api_key="wrong").submit(_request())


def test_429_honours_retry_after(fake, backend):
    fake.config.force_429 = 1
    fake.config.retry_after = "7"
    with pytest.raises(RateLimited) as info:
        backend.submit(_request())
    assert info.value.retry_after == 7.0


def test_5xx_after_the_task_was_created_is_outcome_unknown(fake, backend):
    fake.config.submit_fail_times = 1
    fake.config.submit_fail_after_record = True
    with pytest.raises(OutcomeUnknown, match="may exist and be billed"):
        backend.submit(_request())
    assert len(fake.tasks) == 1
