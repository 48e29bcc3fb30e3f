"""Throttles: too many failed log-ins, or password reset requests, pause an account or an address.

Failures are rows of `LoginFailure`, so every web worker (gunicorn forks
them) sees the same counts. A lock is a count of failures in a sliding
window: it lifts by itself once old failures leave the window. While locked,
even the right password is refused, and attempts are not counted, so a lock
cannot be stretched forever by hammering on it.

The check sits in the authentication backend, so every way in (our log-in
page, the admin's) is throttled; the log-in view only explains the lock.

Password reset requests are counted the same way, per email address typed
and per caller address, so nobody can fill someone's mailbox with reset mail
or send it to a list of addresses. They are counted whether or not an
account has that email, and the pause reads the same either way: the
throttle tells nobody which addresses have an account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone

from studio.models import LoginFailure

Kind = LoginFailure.Kind


@dataclass(frozen=True)
class Lockout:
    """Why log-ins (or reset mails) are refused right now and when they will be taken again."""

    scope: str  # "account" or "address"
    until: datetime
    kind: str = Kind.LOGIN

    def minutes_left(self, now: datetime | None = None) -> int:
        seconds = (self.until - (now or timezone.now())).total_seconds()
        return max(1, math.ceil(seconds / 60))

    def message(self) -> str:
        """The sentence shown on the log-in page."""
        minutes = self.minutes_left()
        unit = "minute" if minutes == 1 else "minutes"
        if self.kind == Kind.RESET:
            whom = "this email address" if self.scope == "account" else "your network address"
            return (
                f"Too many password reset requests for {whom}. No more reset mail is sent "
                f"for now: try again in {minutes} {unit}. A link already sent still works."
            )
        whom = "this account" if self.scope == "account" else "your network address"
        return (
            f"Too many failed log-ins for {whom}. For your security, log-ins are paused: "
            f"try again in {minutes} {unit}."
        )


def _window(kind: str = Kind.LOGIN) -> timedelta:
    if kind == Kind.RESET:
        return timedelta(seconds=getattr(settings, "STUDIO_RESET_WINDOW_S", 60 * 60))
    return timedelta(seconds=getattr(settings, "STUDIO_LOGIN_WINDOW_S", 15 * 60))


def _limits(kind: str = Kind.LOGIN) -> tuple[int, int]:
    if kind == Kind.RESET:
        return (
            getattr(settings, "STUDIO_RESET_MAX_EMAIL", 3),
            getattr(settings, "STUDIO_RESET_MAX_ADDRESS", 10),
        )
    return (
        getattr(settings, "STUDIO_LOGIN_MAX_FAILURES_ACCOUNT", 5),
        getattr(settings, "STUDIO_LOGIN_MAX_FAILURES_ADDRESS", 20),
    )


def account_key(username: str | None) -> str:
    """The name failures are counted under: trimmed, lower-cased, at most 150 characters.

    NUL characters are dropped: PostgreSQL refuses them in text, and no
    username can contain one, so they only ever come from someone probing.
    """
    return (username or "").replace("\x00", "").strip().lower()[:150]


def client_address(request: HttpRequest | None) -> str:
    """The caller's address: REMOTE_ADDR, or the proxy's view of it when configured.

    X-Forwarded-For is honoured only with STUDIO_TRUST_X_FORWARDED_FOR, and
    then only its last entry, the one our own proxy appended: anything to its
    left was written by the client and proves nothing.
    """
    if request is None:
        return ""
    if getattr(settings, "STUDIO_TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _lock_for(scope: str, rows, limit: int, kind: str) -> Lockout | None:
    # Newest first: the lock lifts when the limit-th newest attempt leaves the window.
    times = list(rows.order_by("-created").values_list("created", flat=True)[:limit])
    if len(times) < limit:
        return None
    return Lockout(scope, times[-1] + _window(kind), kind)


def _lockout(kind: str, key: str, address: str) -> Lockout | None:
    recent = LoginFailure.objects.filter(kind=kind, created__gt=timezone.now() - _window(kind))
    key_limit, address_limit = _limits(kind)
    lock = None
    if key:
        lock = _lock_for("account", recent.filter(username=key), key_limit, kind)
    if lock is None and address:
        lock = _lock_for("address", recent.filter(address=address), address_limit, kind)
    return lock


def _record(kind: str, key: str, address: str) -> None:
    """Count one attempt and forget attempts of that kind older than its window."""
    now = timezone.now()
    LoginFailure.objects.filter(kind=kind, created__lte=now - _window(kind)).delete()
    LoginFailure.objects.create(kind=kind, username=key, address=address, created=now)


def lockout(username: str | None, address: str) -> Lockout | None:
    """The log-in lock in force for this account or address, or None."""
    return _lockout(Kind.LOGIN, account_key(username), address)


def record_failure(username: str | None, address: str) -> None:
    """Count one failed log-in and forget failures older than the window."""
    _record(Kind.LOGIN, account_key(username), address)


def clear_account(username: str | None) -> None:
    """Forget an account's failures after a successful log-in."""
    LoginFailure.objects.filter(kind=Kind.LOGIN, username=account_key(username)).delete()


def reset_lockout(email: str | None, address: str) -> Lockout | None:
    """The pause on reset mail in force for this email address or caller address, or None."""
    return _lockout(Kind.RESET, account_key(email), address)


def record_reset(email: str | None, address: str) -> None:
    """Count one password reset request, whether or not an account has that email."""
    _record(Kind.RESET, account_key(email), address)


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that refuses locked accounts and addresses and counts failures."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            # Other credentials (e.g. USERNAME_FIELD in kwargs) are not ours to count.
            return super().authenticate(request, username=username, password=password, **kwargs)
        address = client_address(request)
        if lockout(username, address) is not None:
            # Stops authenticate() outright: no other backend gets to try either.
            raise PermissionDenied("Too many failed log-ins.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            record_failure(username, address)
        else:
            clear_account(username)
        return user
