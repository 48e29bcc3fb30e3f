"""BFLBackend over real HTTP against the fake provider on loopback."""

from __future__ import annotations

import base64
import io
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from tests.fakes.bfl_server import FakeBFL, FakeConfig, sample_colour
from workers.backends.base import (
    AuthError,
    BackendError,
    GenerationRequest,
    InvalidRequest,
    Moderated,
    OutcomeUnknown,
    OutOfCredits,
    PollResult,
    ProviderFailed,
    RateLimited,
    Reference,
    ResultUnavailable,
    Submission,
    TransientError,
)
from workers.backends.bfl import (
    MAX_OUTPUT_PIXELS,
    BFLBackend,
    estimate_cost,
    fit_pixels,
    kontext_aspect_ratio,
)

KEY = "sk-secret-0123456789abcdef"
REPO = Path(__file__).resolve().parents[1]


def _ref(n: int, role: str = "cast") -> Reference:
    return Reference(role=role, label=f"ref {n}", data=f"image-{n}".encode(), sha256=str(n))


def _request(prompt: str = "Mara runs", refs: int = 0, **kw) -> GenerationRequest:
    values = dict(
        prompt=prompt,
        references=tuple(_ref(i) for i in range(refs)),
        width=1000,
        height=563,
        aspect_ratio="16:9",
        seed=42,
    )
    values.update(kw)
    return GenerationRequest(**values)


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeBFL]:
    with FakeBFL() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeBFL) -> FakeBFL:
    # One server for the module (starting three per test is slow); a clean
    # slate and fresh switches for every test.
    shared_fake.config = FakeConfig(api_key=KEY, latency_s=0.05)
    shared_fake.reset()
    return shared_fake


@pytest.fixture(scope="module")
def http_client() -> Iterator[httpx.Client]:
    # Building a client loads the CA bundle, which costs tens of milliseconds.
    with httpx.Client(follow_redirects=False) as client:
        yield client


@pytest.fixture
def make_backend(fake: FakeBFL, http_client: httpx.Client) -> Callable[..., BFLBackend]:
    def make(**kw) -> BFLBackend:
        values = dict(
            api_key=KEY,
            base_url=fake.base_url,
            model="flux-2-pro",
            result_hosts=["127.0.0.1"],
            polling_origins=[fake.poll_base_url],
            max_active=24,
            timeout_s=2.0,
            client=http_client,
        )
        values.update(kw)
        return BFLBackend(**values)

    return make


@pytest.fixture
def backend(make_backend) -> BFLBackend:
    return make_backend()


def _wait_ready(backend: BFLBackend, sub: Submission, timeout: float = 3.0) -> PollResult:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = backend.poll(sub)
        if result.state == "ready":
            return result
        time.sleep(0.01)
    raise AssertionError("task never became ready")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- request body -------------------------------------------------------------
def test_body_carries_every_reference_in_order_as_bare_base64(fake, backend):
    backend.submit(_request(refs=8))
    body = fake.submissions()[0].body
    keys = ["input_image"] + [f"input_image_{i}" for i in range(2, 9)]
    assert [base64.b64decode(body[k]) for k in keys] == [f"image-{i}".encode() for i in range(8)]
    assert "input_image_9" not in body
    assert body["prompt"] == "Mara runs"
    assert (body["seed"], body["output_format"], body["safety_tolerance"]) == (42, "jpeg", 2)


def test_width_and_height_are_sent_as_multiples_of_16(fake, backend):
    backend.submit(_request(width=1000, height=563))
    body = fake.submissions()[0].body
    assert (body["width"], body["height"]) == (1008, 560)
    assert "aspect_ratio" not in body


@given(st.integers(1, 9000), st.integers(1, 9000))
def test_fit_pixels_always_gives_an_accepted_size(width, height):
    w, h = fit_pixels(width, height)
    assert w % 16 == 0 and h % 16 == 0
    assert w >= 64 and h >= 64
    assert w * h <= MAX_OUTPUT_PIXELS


def test_kontext_sends_aspect_ratio_and_one_image(fake, make_backend):
    backend = make_backend(model="flux-kontext-pro")
    backend.submit(_request(refs=1, aspect_ratio="2.39:1"))
    body = fake.submissions()[0].body
    assert body["aspect_ratio"] == "21:9"
    assert base64.b64decode(body["input_image"]) == b"image-0"
    assert not {"width", "height", "input_image_2"} & set(body)


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [("16:9", "16:9"), ("1.85:1", "37:20"), ("2.39:1", "21:9"), ("1:5", "9:21"), ("", "4:3")],
)
def test_kontext_aspect_ratio_is_a_small_ratio_within_range(ratio, expected):
    assert kontext_aspect_ratio(ratio, 800, 600) == expected


def test_kontext_refuses_several_references_without_sending(fake, make_backend):
    backend = make_backend(model="flux-kontext-max")
    with pytest.raises(InvalidRequest, match="pack them into one board"):
        backend.submit(_request(refs=2))
    assert fake.submissions() == []


def test_klein_takes_at_most_four_references(fake, make_backend):
    backend = make_backend(model="flux-2-klein-4b")
    with pytest.raises(InvalidRequest, match="at most 4"):
        backend.submit(_request(refs=5))
    backend.submit(_request(refs=4))
    assert len(fake.submissions()) == 1


def test_instruction_edit_sends_the_edited_take_and_the_instruction(fake, backend):
    source = Reference(role="edit_source", label="take 7", data=b"take-7", sha256="t7")
    backend.submit(
        _request(prompt="Mara in the rain", instruction="make her smile", references=(source,))
    )
    body = fake.submissions()[0].body
    assert base64.b64decode(body["input_image"]) == b"take-7"
    assert body["prompt"].startswith("make her smile")
    assert "Mara in the rain" in body["prompt"]


def test_request_model_overrides_the_configured_model(fake, backend):
    backend.submit(_request(model="flux-2-max"))
    assert fake.submissions()[0].path == "/v1/flux-2-max"


# --- capabilities and cost ------------------------------------------------------
def test_capabilities_per_model(make_backend):
    backend = make_backend(max_active=10)
    pro, klein = backend.capabilities("flux-2-pro"), backend.capabilities("flux-2-klein-9b")
    kpro, kmax = backend.capabilities("flux-kontext-pro"), backend.capabilities("flux-kontext-max")
    assert (pro.max_references, pro.size_mode, pro.single_input_image) == (8, "pixels", False)
    assert klein.max_references == 4
    assert (kpro.max_references, kpro.size_mode, kpro.single_input_image) == (
        1,
        "aspect_ratio",
        True,
    )
    assert (pro.max_active, kpro.max_active, kmax.max_active) == (10, 10, 6)
    assert backend.capabilities() == pro


def test_unknown_model_is_refused_with_the_supported_list(backend):
    with pytest.raises(InvalidRequest, match="flux-2-pro"):
        backend.capabilities("flux-dev-9000")


@pytest.mark.parametrize(
    ("model", "w", "h", "refs", "credits"),
    [
        ("flux-kontext-pro", 1024, 1024, 1, 4.0),
        ("flux-kontext-max", 1920, 1080, 1, 8.0),
        ("flux-2-pro", 1024, 1024, 0, 3.0),
        ("flux-2-pro", 1024, 1024, 2, 6.0),
        ("flux-2-max", 1920, 1088, 0, 10.0),
        ("flux-2-max", 1920, 1152, 0, 13.0),
        ("flux-2-flex", 1024, 1024, 1, 10.0),
    ],
)
def test_estimate_cost_follows_the_price_list(model, w, h, refs, credits):
    assert estimate_cost(model, w, h, refs) == credits


def test_cost_comes_from_the_answer_or_the_estimate(fake, make_backend):
    # Klein has no published price: the fake charges 1.4, the estimate says 3.
    backend = make_backend(model="flux-2-klein-4b")
    assert backend.submit(_request()).cost == 1.4
    fake.config.include_cost = False
    assert backend.submit(_request()).cost == estimate_cost("flux-2-klein-4b", 1008, 560, 0)
    assert estimate_cost("flux-2-klein-4b", 1008, 560, 0) == 3.0


# --- polling --------------------------------------------------------------------
def test_full_round_trip_returns_an_image_of_the_requested_size(fake, backend):
    sub = backend.submit(_request(prompt="a red door", width=512, height=384))
    image = Image.open(io.BytesIO(backend.fetch(_wait_ready(backend, sub).sample_url)))
    assert image.size == (512, 384)
    body = fake.submissions()[0].body
    assert image.convert("RGB").getpixel((2, 2)) == sample_colour(body)


def test_polling_follows_the_returned_url_on_another_port(fake, backend):
    sub = backend.submit(_request())
    assert f":{fake.port('poll')}/" in sub.polling_url
    _wait_ready(backend, sub)
    polls = fake.polls()
    assert polls and {p.server for p in polls} == {"poll"}
    assert all(p.headers["x-key"] == KEY for p in polls)


def test_key_is_not_sent_to_the_delivery_host(fake, backend):
    sub = backend.submit(_request())
    backend.fetch(_wait_ready(backend, sub).sample_url)
    (download,) = fake.downloads()
    assert download.server == "delivery"
    assert "x-key" not in download.headers


def test_reasoning_and_generating_count_as_running(fake, backend):
    fake.config.latency_s = 0.3
    fake.config.working_statuses = ("Reasoning", "Generating")
    sub = backend.submit(_request())
    seen: dict[str, str] = {}
    result = backend.poll(sub)
    while result.state == "running":
        seen[result.raw_status] = result.state
        time.sleep(0.01)
        result = backend.poll(sub)
    assert seen == {"Pending": "running", "Reasoning": "running", "Generating": "running"}


def test_unknown_status_counts_as_running(fake, backend):
    fake.config.latency_s = 5
    fake.config.initial_status = "Queued"
    result = backend.poll(backend.submit(_request()))
    assert (result.state, result.raw_status) == ("running", "Queued")


def test_polling_url_on_a_foreign_host_is_refused_without_contact(fake, backend):
    foreign = f"http://localhost:{fake.port('poll')}/v1/get_result?id=x"
    with pytest.raises(ProviderFailed, match="API key was not sent"):
        backend.poll(Submission(task_id="x", polling_url=foreign))
    assert fake.requests == []


def test_polling_5xx_is_transient_then_recovers(fake, backend):
    sub = backend.submit(_request())
    fake.config.poll_fail_times = 2
    for _ in range(2):
        with pytest.raises(TransientError, match="HTTP 503") as info:
            backend.poll(sub)
        assert info.value.retry_after == 1.0
    assert _wait_ready(backend, sub).sample_url


def test_polling_an_unreachable_host_is_transient(make_backend):
    origin = f"http://127.0.0.1:{_free_port()}"
    backend = make_backend(polling_origins=[origin])
    with pytest.raises(TransientError):
        backend.poll(Submission(task_id="x", polling_url=f"{origin}/v1/get_result?id=x"))


def test_polling_url_on_the_same_host_but_another_port_is_refused(fake, backend):
    other = f"http://127.0.0.1:{fake.port('delivery')}/v1/get_result?id=x"
    with pytest.raises(ProviderFailed, match="API key was not sent"):
        backend.poll(Submission(task_id="x", polling_url=other))
    assert fake.requests == []


class _Network:
    """Stand-in DNS and TCP connect: records where connections go, never leaves the machine."""

    def __init__(self, monkeypatch, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers  # host -> one list of addresses per lookup, the last repeats
        self.lookups: list[str] = []
        self.connects: list[tuple[str, int]] = []
        monkeypatch.setattr(socket, "getaddrinfo", self._getaddrinfo)
        monkeypatch.setattr(socket, "create_connection", self._connect)

    def _getaddrinfo(self, host, port, *args, **kwargs):
        self.lookups.append(host)
        rounds = self.answers.get(host)
        if rounds is None:
            raise socket.gaierror(f"no such host {host}")
        addresses = rounds.pop(0) if len(rounds) > 1 else rounds[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    def _connect(self, address, *args, **kwargs):
        self.connects.append(address)
        raise ConnectionRefusedError("test network: nothing listens here")


@pytest.mark.parametrize(
    "url",
    [
        "https://uploads.bfl.ai/v1/get_result?id=x",  # a sibling label under the domain
        "https://api.bfl.ai.attacker.test/v1/get_result?id=x",
        "http://api.bfl.ai/v1/get_result?id=x",  # scheme differs
        "https://api.bfl.ai:8443/v1/get_result?id=x",  # port differs
    ],
)
def test_polling_origin_must_match_exactly(monkeypatch, make_backend, url):
    network = _Network(monkeypatch, {})
    backend = make_backend(base_url="https://api.bfl.ai", polling_origins=[])
    with pytest.raises(ProviderFailed, match="API key was not sent"):
        backend.poll(Submission(task_id="x", polling_url=url))
    assert network.lookups == [] and network.connects == []


def test_providers_regional_host_resolving_to_a_private_address_is_refused(
    monkeypatch, make_backend
):
    network = _Network(monkeypatch, {"api.eu.bfl.ai": [["10.0.0.5"]]})
    backend = make_backend(base_url="https://api.bfl.ai", polling_origins=[])
    with pytest.raises(ProviderFailed, match=r"non-public address \(10\.0\.0\.5\)"):
        backend.poll(Submission(task_id="x", polling_url="https://api.eu.bfl.ai/v1/get_result"))
    assert network.connects == []


def test_poll_connects_to_the_address_that_was_checked(monkeypatch, make_backend):
    # Rebinding: the first answer is public, any later one points inside.
    network = _Network(monkeypatch, {"api.eu.bfl.ai": [["93.184.216.34"], ["127.0.0.1"]]})
    backend = make_backend(base_url="https://api.bfl.ai", polling_origins=[])
    with pytest.raises(TransientError):
        backend.poll(Submission(task_id="x", polling_url="https://api.eu.bfl.ai/v1/get_result"))
    assert network.lookups == ["api.eu.bfl.ai"]
    assert [address for address, _port in network.connects] == ["93.184.216.34"]


def test_oversized_polling_answer_is_refused_as_transient(fake, backend):
    sub = backend.submit(_request())
    fake.config.answer_pad_bytes = 3 * 1024 * 1024
    with pytest.raises(TransientError, match="polling answer was refused"):
        backend.poll(sub)


def test_oversized_submit_answer_is_outcome_unknown(fake, backend):
    fake.config.answer_pad_bytes = 3 * 1024 * 1024
    with pytest.raises(OutcomeUnknown, match="may exist and be billed"):
        backend.submit(_request())
    assert len(fake.task_ids) == 1  # the task exists: this must not be resubmitted


# --- outcomes and errors ----------------------------------------------------------
def test_request_moderated_is_reported_on_the_first_poll(fake, backend):
    fake.config.latency_s = 5
    fake.config.moderate_request_if = "forbidden"
    with pytest.raises(Moderated, match=r"prompt or input images \(Request Moderated\)"):
        backend.poll(backend.submit(_request(prompt="something forbidden")))


def test_content_moderated_is_reported_when_done(fake, backend):
    fake.config.moderate = "content"
    sub = backend.submit(_request())
    with pytest.raises(Moderated, match=r"generated image \(Content Moderated\): Moderation"):
        _wait_ready(backend, sub)


def test_error_status_is_provider_failure_with_details(fake, backend):
    fake.config.error_if = "boom"
    sub = backend.submit(_request(prompt="boom"))
    with pytest.raises(ProviderFailed, match="Generation failed in the fake provider"):
        _wait_ready(backend, sub)


def test_task_not_found_is_provider_failure(fake, backend):
    sub = backend.submit(_request())
    fake.config.forget_tasks = True
    with pytest.raises(ProviderFailed, match="Task not found"):
        backend.poll(sub)


def test_wrong_key_is_auth_error_on_submit_and_poll(fake, make_backend):
    good = make_backend()
    sub = good.submit(_request())
    bad = make_backend(api_key="wrong-key")
    with pytest.raises(AuthError, match="BFL_API_KEY"):
        bad.submit(_request())
    with pytest.raises(AuthError):
        bad.poll(sub)


def test_out_of_credits(fake, backend):
    fake.config.credits = 1
    with pytest.raises(OutOfCredits):
        backend.submit(_request())


def test_invalid_body_carries_the_providers_message(fake, backend):
    with pytest.raises(InvalidRequest, match=r"HTTP 422\): prompt: Field required"):
        backend.submit(_request(prompt=""))


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (None, 5.0), ("soon", 5.0), ("date", 30.0)],
)
def test_rate_limit_honours_retry_after(fake, backend, header, expected):
    if header == "date":
        header = formatdate(time.time() + 30, usegmt=True)
    fake.config.retry_after = header
    fake.config.force_429 = 1
    with pytest.raises(RateLimited) as info:
        backend.submit(_request())
    assert info.value.retry_after == pytest.approx(expected, abs=1.5)
    assert fake.task_ids == []


def test_cap_answers_429_while_tasks_are_in_flight(fake, backend):
    fake.config.latency_s = 5
    fake.config.cap = 1
    backend.submit(_request())
    with pytest.raises(RateLimited):
        backend.submit(_request())
    assert fake.count_429 == 1


@pytest.mark.parametrize("status", [500, 502])
def test_server_error_on_submit_is_outcome_unknown(fake, backend, status):
    fake.config.submit_fail_status = status
    fake.config.submit_fail_times = 1
    with pytest.raises(OutcomeUnknown, match=f"HTTP {status}"):
        backend.submit(_request())


def test_server_error_after_the_task_was_created_is_outcome_unknown(fake, backend):
    fake.config.submit_fail_times = 1
    fake.config.submit_fail_after_record = True
    with pytest.raises(OutcomeUnknown):
        backend.submit(_request())
    assert len(fake.task_ids) == 1  # the provider did create (and bill) it


def test_submit_timeout_is_outcome_unknown(fake, make_backend):
    fake.config.submit_delay_s = 0.6
    with pytest.raises(OutcomeUnknown, match="ReadTimeout"):
        make_backend(timeout_s=0.2).submit(_request())


def test_dropped_connection_after_sending_is_outcome_unknown(fake, backend):
    fake.config.submit_disconnect = True
    with pytest.raises(OutcomeUnknown):
        backend.submit(_request())


def test_connection_refused_before_sending_is_transient(make_backend):
    backend = make_backend(base_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(TransientError, match="ConnectError"):
        backend.submit(_request())


def _scenarios() -> dict[str, Callable[[FakeBFL, Callable[..., BFLBackend]], None]]:
    def unreachable(fake, make):
        make(base_url=f"http://127.0.0.1:{_free_port()}").submit(_request())

    def rejected(fake, make):
        fake.config.api_key = "other"
        make().submit(_request())

    def server_error(fake, make):
        fake.config.submit_fail_times = 1
        make().submit(_request())

    def timeout(fake, make):
        fake.config.submit_delay_s = 0.5
        make(timeout_s=0.2).submit(_request())

    def invalid(fake, make):
        make().submit(_request(prompt=""))

    def moderated(fake, make):
        fake.config.moderate = "request"
        backend = make()
        backend.poll(backend.submit(_request()))

    return {
        f.__name__: f for f in (unreachable, rejected, server_error, timeout, invalid, moderated)
    }


@pytest.mark.parametrize("scenario", list(_scenarios()))
def test_api_key_never_appears_in_exception_text(fake, make_backend, scenario):
    with pytest.raises(BackendError) as info:
        _scenarios()[scenario](fake, make_backend)
    text = "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert KEY not in text
    assert KEY not in repr(make_backend())


# --- downloads through the backend --------------------------------------------------
def _ready_url(fake: FakeBFL, backend: BFLBackend) -> str:
    return _wait_ready(backend, backend.submit(_request())).sample_url


def test_download_from_a_host_not_allowed_is_refused(fake, make_backend):
    backend = make_backend(result_hosts=["delivery-eu1.bfl.ai"])
    with pytest.raises(ResultUnavailable, match="allow-list"):
        backend.fetch(_ready_url(fake, backend))
    assert fake.downloads() == []


def test_oversized_download_is_refused(fake, make_backend):
    fake.config.sample_pad_bytes = 100_000
    backend = make_backend(max_download_bytes=50_000)
    with pytest.raises(ResultUnavailable, match="too large"):
        backend.fetch(_ready_url(fake, backend))


def test_oversized_download_without_length_is_refused(fake, make_backend):
    fake.config.sample_pad_bytes = 100_000
    fake.config.sample_content_length = False
    backend = make_backend(max_download_bytes=50_000)
    with pytest.raises(ResultUnavailable, match="too large"):
        backend.fetch(_ready_url(fake, backend))


def test_redirect_to_a_host_not_allowed_is_refused(fake, backend):
    fake.config.sample_redirect_host = "localhost"
    with pytest.raises(ResultUnavailable, match="'localhost' is not in the allow-list"):
        backend.fetch(_ready_url(fake, backend))
    assert len(fake.downloads()) == 1


def test_redirect_to_an_allowed_host_is_followed(fake, make_backend):
    fake.config.sample_redirect_host = "localhost"
    backend = make_backend(result_hosts=["127.0.0.1", "localhost"])
    assert backend.fetch(_ready_url(fake, backend)).startswith(b"\xff\xd8")
    assert [d.headers["host"].split(":")[0] for d in fake.downloads()] == [
        "127.0.0.1",
        "localhost",
    ]


def test_slow_drip_is_abandoned_at_the_deadline(fake, make_backend):
    fake.config.drip_chunk_bytes = 64
    fake.config.drip_interval_s = 0.05
    backend = make_backend(timeout_s=0.5)
    url = _ready_url(fake, backend)
    started = time.monotonic()
    with pytest.raises(ResultUnavailable, match="too long"):
        backend.fetch(url)
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize("status", [403, 404])
def test_expired_sample_url_is_unavailable(fake, backend, status):
    fake.config.sample_ttl_s = 0.05
    fake.config.expired_status = status
    url = _ready_url(fake, backend)
    time.sleep(0.1)
    with pytest.raises(ResultUnavailable, match=f"no longer available \\(HTTP {status}\\)"):
        backend.fetch(url)


# --- the fake itself ------------------------------------------------------------------
def test_fake_counts_in_flight_tasks_under_concurrent_submits(fake, backend):
    fake.config.latency_s = 5
    fake.config.cap = 4
    outcomes: list[str] = []
    lock = threading.Lock()

    def submit() -> None:
        try:
            backend.submit(_request())
            outcome = "ok"
        except RateLimited:
            outcome = "429"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["429"] * 6 + ["ok"] * 4
    assert (fake.max_in_flight_seen, fake.count_429, fake.in_flight()) == (4, 6, 4)


def test_fake_can_keep_only_image_lengths_in_its_records(fake, backend):
    fake.config.record_images = False
    backend.submit(_request(refs=2))
    body = fake.submissions()[0].body
    assert body["input_image_2"] == "<12 chars>"  # base64 of b"image-1"
    assert body["prompt"] == "Mara runs"


def test_fake_reports_credits(fake, backend):
    before = backend.credits()
    backend.submit(_request())
    assert backend.credits() == before - 3.0


def test_fake_runs_standalone_and_prints_its_url():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.bfl_server", "--port", "0", "--latency", "0.1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("BFL_BASE_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        answer = httpx.get(f"{url}/v1/credits", headers={"x-key": "test-key"}, timeout=5)
        assert answer.status_code == 200 and "credits" in answer.json()
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_from_settings_reads_the_bfl_settings(settings):
    settings.BFL_API_KEY = KEY
    settings.BFL_BASE_URL = "https://api.eu.bfl.ai"
    settings.BFL_MODEL = "flux-kontext-max"
    settings.BFL_RESULT_HOSTS = ["delivery-eu1.bfl.ai"]
    settings.BFL_MAX_ACTIVE = 12
    backend = BFLBackend.from_settings()
    try:
        assert (backend.base_url, backend.model, backend.result_hosts) == (
            "https://api.eu.bfl.ai",
            "flux-kontext-max",
            ("delivery-eu1.bfl.ai",),
        )
        assert backend.capabilities().max_active == 6
        other = BFLBackend.from_settings("flux-2-flex")
        assert other.model == "flux-2-flex"
        other.close()
    finally:
        backend.close()
