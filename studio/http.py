"""Typing for what middleware and views add to objects at runtime.

Django's request and model types do not know about these additions, so the
type checker is told here, once, instead of being silenced at each use.
"""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that has been through django_htmx's middleware (every request in the studio)."""

    htmx: HtmxDetails


def attach(obj: object, **values: object) -> None:
    """Give a row display-only values a template reads (they are never saved)."""
    for name, value in values.items():
        setattr(obj, name, value)
