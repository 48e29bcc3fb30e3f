"""fetch_limited against a small loopback server that misbehaves on request.

"127.0.0.1" and "localhost" reach the same server but are different hosts for
the allow-list, which is how redirects to a foreign host are staged.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from workers.backends.base import ResultUnavailable, TransientError
from workers.backends.download import fetch_limited, host_allowed

BODY = b"\x89PNG fake image body " * 10


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hits: list[str]

    def log_message(self, format: str, *args: object) -> None:
        return

    def handle(self) -> None:
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle()

    def do_GET(self) -> None:
        self.hits.append(f"{self.headers.get('host')}{self.path}")
        split = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(split.query).items()}
        route = split.path.strip("/")
        getattr(self, f"_{route.replace('-', '_')}")(query)

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _ok(self, query: dict[str, str]) -> None:
        self._send(200, BODY)

    def _status(self, query: dict[str, str]) -> None:
        self._send(int(query["code"]), b"nope")

    def _big(self, query: dict[str, str]) -> None:
        self._send(200, b"x" * 5000)

    def _big_unsized(self, query: dict[str, str]) -> None:
        # No Content-Length: only counting while streaming can catch it.
        self.send_response(200)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for _ in range(50):
            self.wfile.write(b"x" * 1000)

    def _drip(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "400")
        self.end_headers()
        for _ in range(400):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(0.02)

    def _stall(self, query: dict[str, str]) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.flush()
        time.sleep(3)

    def _empty(self, query: dict[str, str]) -> None:
        self._send(200, b"")

    def _redirect(self, query: dict[str, str]) -> None:
        self._send(302, headers={"Location": query["to"]})

    def _chain(self, query: dict[str, str]) -> None:
        left = int(query["n"])
        target = "/ok" if left == 0 else f"/chain?n={left - 1}"
        self._send(302, headers={"Location": target})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int, list[str]]]:
    hits: list[str] = []
    handler = type("Handler", (_Handler,), {"hits": hits})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield "http://127.0.0.1", int(httpd.server_address[1]), hits
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def srv(server: tuple[str, int, list[str]]) -> tuple[str, int, list[str]]:
    base, port, hits = server
    hits.clear()
    return f"{base}:{port}", port, hits


def _fetch(url: str, *, hosts: tuple[str, ...] = ("127.0.0.1",), **kw: float) -> bytes:
    return fetch_limited(
        url,
        allowed_hosts=hosts,
        max_bytes=int(kw.get("max_bytes", 1000)),
        timeout_s=kw.get("timeout_s", 2.0),
    )


def test_allowed_host_returns_the_body(srv):
    base, _, _ = srv
    assert _fetch(f"{base}/ok") == BODY


def test_host_not_in_allow_list_is_refused_without_contact(srv):
    _, port, hits = srv
    with pytest.raises(ResultUnavailable, match="not in the allow-list"):
        _fetch(f"http://localhost:{port}/ok", hosts=("127.0.0.1",))
    assert hits == []


def test_non_http_scheme_is_refused():
    with pytest.raises(ResultUnavailable, match="scheme"):
        _fetch("file:///etc/passwd", hosts=("127.0.0.1",))


def test_wildcard_entry_covers_subdomains_only():
    hosts = ["*.bfl.ai"]
    assert host_allowed("delivery-eu1.bfl.ai", hosts)
    assert host_allowed("DELIVERY-US1.BFL.AI.", hosts)
    assert not host_allowed("bfl.ai", hosts)
    assert not host_allowed("evilbfl.ai", hosts)
    assert not host_allowed("bfl.ai.evil.com", hosts)


def test_wildcard_host_resolving_to_private_address_is_refused(monkeypatch, srv):
    _, port, hits = srv
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))],
    )
    with pytest.raises(ResultUnavailable, match="non-public address"):
        _fetch(f"http://cdn.example.test:{port}/ok", hosts=("*.example.test",))
    assert hits == []


def test_wildcard_match_to_loopback_is_refused_but_exact_entry_allows_it(srv):
    _, port, _ = srv
    with pytest.raises(ResultUnavailable, match="non-public address"):
        # "*.0.0.1" is silly, but shows a wildcard never opens loopback.
        _fetch(f"http://127.0.0.1:{port}/ok", hosts=("*.0.0.1",))
    assert _fetch(f"http://localhost:{port}/ok", hosts=("localhost",)) == BODY


def test_declared_length_over_limit_is_refused(srv):
    base, _, _ = srv
    with pytest.raises(ResultUnavailable, match=r"too large \(5000 bytes"):
        _fetch(f"{base}/big", max_bytes=4999)


def test_undeclared_length_is_counted_while_streaming(srv):
    base, _, _ = srv
    with pytest.raises(ResultUnavailable, match="too large"):
        _fetch(f"{base}/big-unsized", max_bytes=10_000)
    assert len(_fetch(f"{base}/big-unsized", max_bytes=50_000)) == 50_000


def test_slow_drip_is_cut_off_at_the_deadline(srv):
    base, _, _ = srv
    started = time.monotonic()
    with pytest.raises(ResultUnavailable, match="too long"):
        _fetch(f"{base}/drip", timeout_s=0.4)
    # The drip would take 8 s; we stop one chunk after the deadline.
    assert time.monotonic() - started < 1.0


def test_stalled_body_is_cut_off_by_the_read_timeout(srv):
    base, _, _ = srv
    started = time.monotonic()
    with pytest.raises(ResultUnavailable, match="too long"):
        _fetch(f"{base}/stall", timeout_s=0.4)
    assert time.monotonic() - started < 1.5


def test_redirect_within_allow_list_is_followed(srv):
    base, port, hits = srv
    target = f"http://localhost:{port}/ok"
    body = _fetch(f"{base}/redirect?to={target}", hosts=("127.0.0.1", "localhost"))
    assert body == BODY
    assert len(hits) == 2


def test_redirect_to_host_outside_allow_list_is_refused(srv):
    base, port, hits = srv
    with pytest.raises(ResultUnavailable, match="'localhost' is not in the allow-list"):
        _fetch(f"{base}/redirect?to=http://localhost:{port}/ok")
    assert len(hits) == 1


def test_three_redirects_are_followed_and_a_fourth_is_refused(srv):
    base, _, _ = srv
    assert _fetch(f"{base}/chain?n=2") == BODY  # 3 hops: chain, chain, chain -> ok
    with pytest.raises(ResultUnavailable, match="more than 3 redirects"):
        _fetch(f"{base}/chain?n=3")


@pytest.mark.parametrize("code", [403, 404, 410])
def test_expired_or_missing_result_is_unavailable(srv, code):
    base, _, _ = srv
    with pytest.raises(ResultUnavailable, match=f"no longer available \\(HTTP {code}\\)"):
        _fetch(f"{base}/status?code={code}")


def test_server_error_is_transient(srv):
    base, _, _ = srv
    with pytest.raises(TransientError, match="HTTP 503"):
        _fetch(f"{base}/status?code=503")


def test_connection_refused_is_transient():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientError):
        _fetch(f"http://127.0.0.1:{port}/ok")


def test_empty_body_is_unavailable(srv):
    base, _, _ = srv
    with pytest.raises(ResultUnavailable, match="empty"):
        _fetch(f"{base}/empty")


def test_download_connects_to_the_address_that_was_checked(monkeypatch, srv):
    _, port, hits = srv
    lookups: list[str] = []
    connects: list[tuple[str, int]] = []

    def getaddrinfo(host, p, *args, **kwargs):
        # Rebinding: the first answer is public, every later one is loopback.
        lookups.append(host)
        address = "93.184.216.34" if len(lookups) == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, p))]

    def create_connection(address, *args, **kwargs):
        connects.append(address)
        raise ConnectionRefusedError("test network: nothing listens there")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    with pytest.raises(TransientError):
        _fetch(f"http://cdn.example.test:{port}/ok", hosts=("*.example.test",))
    assert connects == [("93.184.216.34", port)]
    assert lookups == ["cdn.example.test"] and hits == []


def test_pinned_request_keeps_the_host_name_for_host_header_and_tls():
    import ipaddress

    import httpx

    from workers.backends.http import build

    with httpx.Client() as client:
        request = build(
            client,
            "GET",
            httpx.URL("https://delivery.example.test:8443/x?sig=1"),
            address=ipaddress.ip_address("93.184.216.34"),
        )
    assert str(request.url) == "https://93.184.216.34:8443/x?sig=1"
    assert request.headers["host"] == "delivery.example.test:8443"
    assert request.extensions["sni_hostname"] == "delivery.example.test"
    assert request.headers["accept-encoding"] == "identity"


@pytest.mark.parametrize("url", ["http://0177.0.0.1/x", "http://[::1/x"])
def test_url_that_does_not_parse_is_refused_with_a_reason(url):
    with pytest.raises(ResultUnavailable, match="not usable"):
        _fetch(url, hosts=("*",))


def test_provider_answer_without_length_is_cut_off_at_the_cap(srv):
    import httpx

    from workers.backends.http import AnswerTooLarge, request_capped

    base, _, _ = srv
    with httpx.Client() as client:
        with pytest.raises(AnswerTooLarge, match="over 10000 bytes"):
            request_capped(client, "GET", f"{base}/big-unsized", max_bytes=10_000)
        answer = request_capped(client, "GET", f"{base}/big-unsized", max_bytes=50_000)
    assert len(answer.content) == 50_000
