"""Template filters for the animatic: a board's running time where panels are listed."""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from boards.exports.timing import format_running_time, panel_timing, running_time
from boards.models import Panel

register = template.Library()


@register.filter
def running_time_of(panels: Iterable[Panel]) -> str:
    """How long the panels play one after another, as a clock: 1:23.5."""
    timings = [panel_timing(str(p.number), p.duration) for p in panels]
    return format_running_time(running_time(timings))
