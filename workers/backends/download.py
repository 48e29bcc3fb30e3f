"""Bounded downloads of provider results.

A provider hands back a URL and we fetch it from a worker that can reach the
internal network, so the URL is untrusted input: it must point at an
allow-listed host, must not lead (directly, by DNS or by redirect) into
private address space, and must not be allowed to send an endless or huge
body. Every policy refusal raises `ResultRefused` (a `ResultUnavailable`); failures of the network
itself (connection refused or reset, DNS down, a 5xx from the CDN) raise
`TransientError` because the same URL may work a moment later.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import httpx

from workers.backends import http
from workers.backends.base import ResultRefused, ResultUnavailable, TransientError

MAX_REDIRECTS = 3
_REDIRECT_CODES = {301, 302, 303, 307, 308}
# Longest silence tolerated between two reads, as a share of the whole budget:
# per-chunk deadline checks only run when bytes arrive, so a server that stalls
# completely is cut off by this read timeout instead.
_STALL_SHARE = 0.25
_MIN_STALL_S = 1.0


def fetch_limited(
    url: str,
    *,
    allowed_hosts: Iterable[str],
    max_bytes: int,
    timeout_s: float,
    client: httpx.Client | None = None,
    hosts_setting: str = "BFL_RESULT_HOSTS",
) -> bytes:
    """Download `url` and return its body, refusing anything outside the limits.

    `allowed_hosts` holds exact host names (or IP literals) and `*.suffix`
    wildcards. Hosts that resolve to private, loopback, link-local or reserved
    addresses are refused unless listed exactly (that is how tests allow
    127.0.0.1); a checked host is connected to at the address that was
    checked, never looked up again. A URL that does not parse is refused.
    Redirects are followed by hand, at most `MAX_REDIRECTS`, and
    each hop is checked like the first URL. The body may not exceed
    `max_bytes`, and the whole exchange may not take longer than `timeout_s`.
    """
    allowed = _normalise_allow_list(allowed_hosts)
    deadline = time.monotonic() + timeout_s
    own_client = client is None
    if client is None:
        client = httpx.Client(follow_redirects=False)
    try:
        current = _parse(url)
        for _hop in range(MAX_REDIRECTS + 1):
            addresses = _check_url(current, allowed, hosts_setting)
            result = _get_once(client, current, addresses, max_bytes=max_bytes, deadline=deadline)
            if isinstance(result, bytes):
                return result
            current = result
        raise ResultRefused(f"Result download refused: more than {MAX_REDIRECTS} redirects.")
    finally:
        if own_client:
            client.close()


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    """True when `host` matches an exact entry or a `*.suffix` wildcard entry."""
    return _matches(_clean_host(host), _normalise_allow_list(allowed_hosts))


def _normalise_allow_list(allowed_hosts: Iterable[str]) -> frozenset[str]:
    return frozenset(_clean_host(h) for h in allowed_hosts if h and h.strip())


def _clean_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _matches(host: str, allowed: frozenset[str]) -> bool:
    if host in allowed:
        return True
    # "*.bfl.ai" covers delivery-eu1.bfl.ai but not bfl.ai itself nor evilbfl.ai.
    return any(entry.startswith("*.") and host.endswith(entry[1:]) for entry in allowed)


def _parse(url: str) -> httpx.URL:
    try:
        return httpx.URL(url)
    except httpx.InvalidURL as exc:
        # e.g. http://0177.0.0.1/ (an octal address): refuse, and say so on the job.
        raise ResultRefused(f"Result download refused: the URL is not usable ({exc}).") from exc


def _check_url(
    url: httpx.URL, allowed: frozenset[str], hosts_setting: str
) -> list[http.Address] | None:
    """Refuse what the policy forbids; the addresses to connect to (None: by name)."""
    if url.scheme not in ("http", "https"):
        raise ResultRefused(
            f"Result download refused: scheme {url.scheme or '(none)'!r} is not http(s)."
        )
    host = _clean_host(url.host)
    if not host:
        raise ResultRefused("Result download refused: the URL has no host.")
    if not _matches(host, allowed):
        raise ResultRefused(
            f"Result download refused: host {host!r} is not in the allow-list ({hosts_setting})."
        )
    # An exact entry is a deliberate operator decision, so it may be private;
    # a wildcard match must still land on public addresses (DNS can point
    # anything.example at 10.0.0.1).
    if host in allowed:
        return None
    try:
        return http.public_addresses(url)
    except http.NotPublic as exc:
        raise ResultRefused(f"Result download refused: {exc}.") from exc
    except http.Unresolvable as exc:
        raise TransientError(f"Result download failed: {exc}.") from exc


def _timeouts(deadline: float) -> httpx.Timeout:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ResultUnavailable("Result download took too long (deadline passed).")
    stall = min(remaining, max(_MIN_STALL_S, remaining * _STALL_SHARE))
    return httpx.Timeout(connect=remaining, read=stall, write=remaining, pool=remaining)


def _get_once(
    client: httpx.Client,
    url: httpx.URL,
    addresses: list[http.Address] | None,
    *,
    max_bytes: int,
    deadline: float,
) -> bytes | httpx.URL:
    """One GET: the body, or the next URL when the answer is a redirect."""
    try:
        response = http.send_pinned(
            client, "GET", url, addresses, stream=True, timeout=_timeouts(deadline)
        )
    except httpx.TimeoutException as exc:
        raise ResultUnavailable("Result download took too long (no answer in time).") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"Result download failed: {exc.__class__.__name__}.") from exc
    try:
        if response.status_code in _REDIRECT_CODES:
            location = response.headers.get("location")
            if not location:
                raise ResultUnavailable("Result download refused: redirect without a Location.")
            try:
                return url.join(location)
            except httpx.InvalidURL as exc:
                raise ResultRefused(
                    f"Result download refused: the redirect is not a usable URL ({exc})."
                ) from exc
        _check_status(response.status_code)
        return _read_body(response, max_bytes=max_bytes, deadline=deadline)
    finally:
        response.close()


def _check_status(status: int) -> None:
    if status == 200:
        return
    if status in (401, 403, 404, 410):
        raise ResultUnavailable(
            f"Result is no longer available (HTTP {status}); providers keep results for "
            "minutes (BFL: about 10) to an hour (Replicate)."
        )
    if status == 429 or status >= 500:
        raise TransientError(f"Result download failed for now (HTTP {status}).")
    raise ResultUnavailable(f"Result download refused (HTTP {status}).")


def _read_body(response: httpx.Response, *, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ResultRefused(f"Result is too large ({int(declared)} bytes, limit {max_bytes}).")
    chunks: list[bytes] = []
    received = 0
    try:
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > max_bytes:
                raise ResultRefused(f"Result is too large (over {max_bytes} bytes).")
            if time.monotonic() > deadline:
                raise ResultUnavailable("Result download took too long (deadline passed).")
            chunks.append(chunk)
    except httpx.TimeoutException as exc:
        raise ResultUnavailable("Result download took too long (the server stalled).") from exc
    except httpx.TransportError as exc:
        raise TransientError(
            f"Result download broke off after {received} bytes ({exc.__class__.__name__})."
        ) from exc
    if received == 0:
        raise ResultUnavailable("Result download returned an empty body.")
    return b"".join(chunks)
