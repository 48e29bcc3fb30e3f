"""Outbound HTTP to providers: checked addresses, pinned connections, capped answers.

Every backend talks to hosts named by someone else (a polling URL, a result
URL), from a worker that can reach the internal network. Three rules hold
for all of them:

- a host that must be public is resolved once, every address is checked,
  and the connection goes to an address that was checked (a second lookup
  by the HTTP client could answer differently: DNS rebinding). TLS still
  verifies the certificate for the host name, and the Host header keeps it;
- no answer is read past a size limit (a provider answer is a little JSON;
  a 300 MB one must not take a worker's memory with it);
- bodies are asked for uncompressed, so a small compressed answer cannot
  inflate past the limit before it is counted.
"""

from __future__ import annotations

import ipaddress
import math
import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from workers.backends.base import (
    AuthError,
    BackendError,
    InvalidRequest,
    OutcomeUnknown,
    OutOfCredits,
    RateLimited,
    TransientError,
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Provider answers (submit, status, result metadata) are small JSON objects.
MAX_ANSWER_BYTES = 1024 * 1024
MAX_RETRY_AFTER_S = 3600.0
DEFAULT_RETRY_AFTER_S = 5.0


class NotPublic(Exception):
    """A host resolved to a private, loopback, link-local or reserved address."""


class Unresolvable(Exception):
    """A host name did not resolve (DNS down or no such name)."""


class AnswerTooLarge(Exception):
    """An answer was longer than the limit; reading stopped there."""


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"cannot resolve {host!r} ({exc})") from exc
    addresses: list[Address] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        address = ipaddress.ip_address(raw)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise Unresolvable(f"{host!r} has no address")
    return addresses


def public_addresses(url: httpx.URL) -> list[Address]:
    """The addresses of `url`'s host, all of them public, to connect to in order.

    One private address among public ones is enough to refuse: an attacker
    who controls the DNS answer would otherwise get one connection in two.
    """
    host = url.host.strip("[]").rstrip(".").lower()
    addresses = resolve(host, default_port(url))
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise NotPublic(f"host {host!r} resolves to a non-public address ({address})")
    return addresses


def default_port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def origin(url: httpx.URL | str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in, for exact comparison."""
    url = httpx.URL(url) if isinstance(url, str) else url
    return (url.scheme.lower(), url.host.rstrip(".").lower(), default_port(url))


def build(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    *,
    address: Address | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Request:
    """A request to `url`, sent to `address` when given (with Host and TLS name kept)."""
    headers = {"accept-encoding": "identity", **(headers or {})}
    if address is None:
        return client.build_request(method, url, headers=headers, **kwargs)
    headers["host"] = url.netloc.decode("ascii")
    extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
    return client.build_request(
        method, url.copy_with(host=str(address)), headers=headers, extensions=extensions, **kwargs
    )


def send_pinned(
    client: httpx.Client,
    method: str,
    url: httpx.URL,
    addresses: list[Address] | None,
    *,
    stream: bool = False,
    **kwargs: Any,
) -> httpx.Response:
    """Send to the checked `addresses` in turn (or by name when None); the first that connects."""
    if addresses is None:
        request = build(client, method, url, **kwargs)
        return client.send(request, stream=stream, follow_redirects=False)
    for index, address in enumerate(addresses):
        request = build(client, method, url, address=address, **kwargs)
        try:
            return client.send(request, stream=stream, follow_redirects=False)
        except httpx.ConnectError:
            if index == len(addresses) - 1:
                raise
    raise AssertionError("unreachable: addresses is not empty")


def read_capped(response: httpx.Response, max_bytes: int = MAX_ANSWER_BYTES) -> httpx.Response:
    """Read a streamed `response` up to `max_bytes`; the answer comes back fully read.

    Closes the stream either way. Raises `AnswerTooLarge` as soon as the
    declared or counted length passes the limit, without reading the rest.
    """
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise AnswerTooLarge(f"the answer is {int(declared)} bytes (limit {max_bytes})")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > max_bytes:
                raise AnswerTooLarge(f"the answer is over {max_bytes} bytes")
    finally:
        response.close()
    return httpx.Response(
        response.status_code,
        headers=[(k, v) for k, v in response.headers.items() if k != "content-encoding"],
        content=bytes(body),
        request=response.request,
    )


def request_capped(
    client: httpx.Client,
    method: str,
    url: httpx.URL | str,
    *,
    addresses: list[Address] | None = None,
    max_bytes: int = MAX_ANSWER_BYTES,
    **kwargs: Any,
) -> httpx.Response:
    """One request whose answer is read only up to `max_bytes` (see `read_capped`)."""
    url = httpx.URL(url) if isinstance(url, str) else url
    response = send_pinned(client, method, url, addresses, stream=True, **kwargs)
    return read_capped(response, max_bytes)


def retry_after(response: httpx.Response, *, default: float | None) -> float | None:
    """Retry-After as seconds: a number or an HTTP date, clamped to a sane range."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError, IndexError):
            return default
    if math.isnan(seconds):
        return default
    return min(max(0.0, seconds), MAX_RETRY_AFTER_S)


def raise_for_client_error(response: httpx.Response, *, during: str, key_setting: str) -> None:
    """Turn a 4xx answer into the error the pipeline acts on; 2xx and 3xx pass.

    401/403 and 402 fail fast with what the operator should check, 429
    carries Retry-After, anything else is the provider refusing the request
    (its own words kept, e.g. a 422 `detail`).
    """
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise AuthError(
            f"The provider refused the API key (HTTP {status}) during {during}. "
            f"Check {key_setting}."
        )
    if status == 402:
        raise OutOfCredits(
            "The provider account is out of credits (HTTP 402). Top it up, then retry."
        )
    if status == 429:
        raise RateLimited(
            "Too many tasks in flight at the provider (HTTP 429); waiting before retrying.",
            retry_after=retry_after(response, default=DEFAULT_RETRY_AFTER_S),
        )
    detail = detail_message(response)
    raise InvalidRequest(
        f"The provider refused the request (HTTP {status})" + (f": {detail}" if detail else ".")
    )


def detail_message(response: httpx.Response) -> str:
    """A provider's error `detail` (text, or a list of {loc, msg}) as one readable line."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip()
    detail = data.get("detail") if isinstance(data, dict) else data
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                msg = str(item.get("msg", "")).strip()
                parts.append(f"{loc}: {msg}" if loc else msg)
            else:
                parts.append(str(item))
        return "; ".join(p for p in parts if p)[:500]
    return str(detail or "")[:500]


def json_of(response: httpx.Response, *, error: type[BackendError] = OutcomeUnknown) -> Any:
    """The answer's JSON; `error` when it is not JSON (what that means depends on the step)."""
    try:
        return response.json()
    except ValueError as exc:
        raise error(f"The provider's answer (HTTP {response.status_code}) was not JSON.") from exc


def submit(client: httpx.Client, url: str, **kwargs: Any) -> httpx.Response:
    """POST a submit that may cost money; any doubt about its outcome is `OutcomeUnknown`.

    Failing to connect means nothing was sent (`TransientError`, safe to try
    again); a timeout or broken connection after sending, a 5xx, or an answer
    too large to read may hide a task that exists and is billed.
    """
    host = httpx.URL(url).host
    try:
        response = request_capped(client, "POST", url, **kwargs)
    except AnswerTooLarge as exc:
        raise OutcomeUnknown(
            f"The provider's answer to the submit was refused ({exc}); "
            "the task may exist and be billed."
        ) from exc
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientError(
            f"Could not reach {host} to submit ({exc.__class__.__name__})."
        ) from exc
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise OutcomeUnknown(
            f"The submit to {host} was sent but no answer came back "
            f"({exc.__class__.__name__}); the task may exist and be billed."
        ) from exc
    if response.status_code >= 500:
        raise OutcomeUnknown(
            f"The provider answered HTTP {response.status_code} to the submit; "
            "the task may exist and be billed.",
            retry_after=retry_after(response, default=None),
        )
    return response


def poll(
    client: httpx.Client,
    url: httpx.URL | str,
    *,
    addresses: list[Address] | None = None,
    what: str = "polling",
    method: str = "GET",
    **kwargs: Any,
) -> httpx.Response:
    """GET a status or result: free and safe to repeat, so every failure here is transient.

    A cancel call is as free and as safe to repeat, so it comes here too (`method`).
    """
    try:
        response = request_capped(client, method, url, addresses=addresses, **kwargs)
    except AnswerTooLarge as exc:
        raise TransientError(f"The provider's {what} answer was refused ({exc}).") from exc
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientError(f"{what.capitalize()} failed ({exc.__class__.__name__}).") from exc
    if response.status_code >= 500:
        raise TransientError(
            f"The provider answered HTTP {response.status_code} while {what}.",
            retry_after=retry_after(response, default=None),
        )
    return response


def upload(
    client: httpx.Client,
    url: str,
    *,
    field: str,
    name: str,
    data: bytes,
    mime: str,
    what: str,
    data_fields: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """POST one file as multipart `field` (with `data_fields` beside it) before a submit.

    Nothing billable has been sent yet, so a failure to send or a 5xx is
    `TransientError` (try again later); other answers are the caller's to read.
    """
    if data_fields:
        kwargs["data"] = data_fields
    try:
        response = request_capped(client, "POST", url, files={field: (name, data, mime)}, **kwargs)
    except (AnswerTooLarge, httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientError(
            f"Uploading a reference to {what} failed ({exc.__class__.__name__})."
        ) from exc
    if response.status_code >= 500:
        raise TransientError(f"{what} answered HTTP {response.status_code} to an upload.")
    return response


def webhook_url(backend: str) -> str:
    """Where a provider posts results: STUDIO_PUBLIC_URL + /hooks/<backend>/, or "" when unset."""
    from django.conf import settings

    base = settings.STUDIO_PUBLIC_URL.rstrip("/")
    return f"{base}/hooks/{backend}/" if base else ""


def standard_webhook_ok(
    headers: Any, body: bytes, secret: str, *, now: float | None = None, tolerance_s: int = 300
) -> bool:
    """True for a body signed in the Standard Webhooks format with `secret` (`whsec_<base64>`).

    The signature is HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>",
    base64, listed as "v1,<sig>" entries; a timestamp more than `tolerance_s`
    away from now is refused, so a captured webhook cannot be replayed later.
    """
    import base64
    import hashlib
    import hmac

    if not secret:
        return False
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    if not (msg_id and stamp.isdigit() and signatures):
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance_s:
        return False
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"))
    except ValueError:
        return False
    signed = f"{msg_id}.{stamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    return any(
        hmac.compare_digest(candidate.removeprefix("v1,").encode(), expected)
        for candidate in signatures.split()
        if candidate.startswith("v1,")
    )
