"""Outbound result downloads: the cases test_safe_download.py leaves open.

That file covers the allow-list, a wildcard landing on 10.x or loopback,
redirects off the list, oversized bodies and slow drips. Here: link-local
(cloud metadata), carrier-grade NAT and IPv6 internal addresses, a DNS answer
that mixes public and private addresses, a redirect into private space
through a wildcard, and the pipeline keeping nothing and paying once when a
download is refused.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from workers.backends.base import ResultUnavailable
from workers.backends.download import fetch_limited

BODY = b"\x89PNG outbound test body"


class _Handler(BaseHTTPRequestHandler):
    hits: list[str]

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self.hits.append(f"{self.headers.get('host')}{self.path}")
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/to/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


@pytest.fixture
def server() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Handler,), {"hits": hits}))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield int(httpd.server_address[1]), hits
    httpd.shutdown()
    httpd.server_close()


def resolving(monkeypatch, table: dict[str, list[str]]) -> None:
    """DNS for names in `table`; everything else resolves as usual (127.0.0.1 stays real)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host not in table:
            return real(host, port, *args, **kwargs)
        answers = []
        for address in table[host]:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            answers.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return answers

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # link-local: the cloud metadata service
        "100.64.0.7",  # carrier-grade NAT
        "::1",  # IPv6 loopback
        "fe80::1",  # IPv6 link-local
        "fd00::5",  # IPv6 unique local
        "::ffff:127.0.0.1",  # IPv4 loopback dressed as IPv6
        "0.0.0.0",
    ],
)
def test_wildcard_host_resolving_to_an_internal_address_is_refused(monkeypatch, server, address):
    port, hits = server
    resolving(monkeypatch, {"cdn.example.test": [address]})
    with pytest.raises(ResultUnavailable, match="non-public address"):
        fetch_limited(
            f"http://cdn.example.test:{port}/ok",
            allowed_hosts=["*.example.test"],
            max_bytes=10_000,
            timeout_s=2,
        )
    assert hits == []


def test_one_private_address_among_public_ones_is_enough_to_refuse(monkeypatch, server):
    port, hits = server
    # A rebinding attacker answers with a public and a private address at once.
    resolving(monkeypatch, {"cdn.example.test": ["93.184.216.34", "10.0.0.8"]})
    with pytest.raises(ResultUnavailable, match=r"non-public address \(10\.0\.0\.8\)"):
        fetch_limited(
            f"http://cdn.example.test:{port}/ok",
            allowed_hosts=["*.example.test"],
            max_bytes=10_000,
            timeout_s=2,
        )
    assert hits == []


def test_link_local_literal_is_refused_unless_listed_exactly():
    with pytest.raises(ResultUnavailable, match="not in the allow-list"):
        fetch_limited(
            "http://169.254.169.254/latest/meta-data/",
            allowed_hosts=["127.0.0.1", "*.bfl.ai"],
            max_bytes=10_000,
            timeout_s=2,
        )


def test_redirect_from_an_allowed_host_into_private_space_is_refused(monkeypatch, server):
    port, hits = server
    # The first hop is allowed (exact entry); the second matches the wildcard
    # but resolves to the metadata address, so it must never be contacted.
    resolving(monkeypatch, {"evil.example.test": ["169.254.169.254"]})
    with pytest.raises(ResultUnavailable, match="non-public address"):
        fetch_limited(
            f"http://127.0.0.1:{port}/to/http://evil.example.test:{port}/ok",
            allowed_hosts=["127.0.0.1", "*.example.test"],
            max_bytes=10_000,
            timeout_s=2,
        )
    assert len(hits) == 1


def test_redirect_to_a_private_ip_literal_is_refused_without_contact(server):
    port, hits = server
    with pytest.raises(ResultUnavailable, match=r"'10\.0\.0\.8' is not in the allow-list"):
        fetch_limited(
            f"http://127.0.0.1:{port}/to/http://10.0.0.8:{port}/ok",
            allowed_hosts=["127.0.0.1", "*.example.test"],
            max_bytes=10_000,
            timeout_s=2,
        )
    assert len(hits) == 1


# --- through the pipeline -------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", ["oversized", "drip"])
def test_refused_download_keeps_nothing_and_is_not_submitted_again(
    team, settings, monkeypatch, driver, limit
):
    from boards.models import Panel, Take
    from tests.fakes.bfl_server import FakeBFL, FakeConfig
    from tests.generation import make_board, use_fake_bfl
    from workers.backends.bfl import BFLBackend
    from workers.models import GenerationJob
    from workers.services import jobs_request

    build = BFLBackend.from_settings.__func__

    def tight(cls, model: str = "") -> BFLBackend:
        # Small limits keep the test fast; the code that enforces them is the real one.
        backend = build(cls, model)
        backend.max_download_bytes = 2 * 1024 * 1024
        backend.timeout_s = 1.0
        return backend

    monkeypatch.setattr(BFLBackend, "from_settings", classmethod(tight))
    with FakeBFL(FakeConfig(latency_s=0.05)) as fake:
        use_fake_bfl(settings, fake)
        if limit == "oversized":
            fake.config.sample_pad_bytes = 4 * 1024 * 1024
        else:  # the whole body would take minutes
            fake.config.drip_chunk_bytes = 16
            fake.config.drip_interval_s = 0.2
        board = make_board(team.project, panels=1, cast_per_panel=1)
        panel = Panel.objects.select_related("board__project").get(board=board)
        job = jobs_request(panels=[panel], user=team.editor, backend="bfl").jobs[0]
        driver.run(timeout=30)

        job.refresh_from_db()
        assert job.state in (GenerationJob.State.FAILED, GenerationJob.State.NEEDS_REVIEW)
        expected = "too large" if limit == "oversized" else "too long"
        assert expected in job.error_message
        assert not Take.objects.filter(panel=panel).exists()
        assert len(fake.submissions()) == 1
