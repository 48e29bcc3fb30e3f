"""Typed reads of environment variables.

A value that cannot be parsed is a configuration error that stops start-up:
`DJANGO_DEBUG=flase` must not quietly mean False.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def load_env_file(path: Path) -> None:
    """Take NAME=value lines from a file as defaults; the real environment wins.

    `make run` writes `var/castboard.env` so that operator commands run by hand
    in that checkout (`manage.py seed_demo`, `create_user`, ...) see the same
    development settings as the studio it started, without exporting anything.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return
    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ImproperlyConfigured(f"{path}:{number}: expected NAME=value, found {line!r}.")
        os.environ.setdefault(name, value.strip())


def email_settings(url: str) -> dict[str, Any]:
    """Django's EMAIL_* settings for an EMAIL_URL.

    `console://` prints mail; `smtp://user:pass@host:port` sends it, with
    `?tls=true` (STARTTLS) or `?ssl=true` (TLS from the first byte).
    """
    parts = urlsplit(url)
    if parts.scheme == "console":
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
            "EMAIL_HOST": "localhost",
            "EMAIL_PORT": 25,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
        }
    if parts.scheme != "smtp":
        raise ImproperlyConfigured(
            f"EMAIL_URL must start with smtp:// or console:// (got {parts.scheme or url!r})."
        )
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL names no mail server: smtp://user:pass@host:port.")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    flags = {}
    for flag in ("tls", "ssl"):
        raw = query.pop(flag, "false").strip().lower()
        if raw not in _TRUE | _FALSE:
            raise ImproperlyConfigured(f"EMAIL_URL: {flag}={raw!r} is not a boolean.")
        flags[flag] = raw in _TRUE
    if query:
        raise ImproperlyConfigured(f"EMAIL_URL: unknown option(s) {', '.join(sorted(query))}.")
    if flags["tls"] and flags["ssl"]:
        raise ImproperlyConfigured("EMAIL_URL: use tls=true or ssl=true, not both.")
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has a port that is not a number.") from None
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": port or (465 if flags["ssl"] else 587 if flags["tls"] else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": flags["tls"],
        "EMAIL_USE_SSL": flags["ssl"],
    }
