"""The percentage of a background job that a page polls (exports, script imports)."""

from __future__ import annotations

import time

from django.db.models import QuerySet


class RowProgress:
    """Writes a running row's percentage about every `every_s` seconds; notices it stopped.

    `running` selects the one row while it is still running, so the write is
    conditional: when it changes nothing the row was cancelled (or given up
    on) and `stopped` is raised between two steps of the work. The write
    must happen outside any transaction the work holds open, or the page
    polling the row would not see it until the end.
    """

    def __init__(self, running: QuerySet, *, stopped: type[Exception], every_s: float) -> None:
        self.running = running
        self.stopped = stopped
        self.every_s = every_s
        self.last_percent = 0
        self.last_write = 0.0

    def __call__(self, done: int, total: int) -> None:
        # 99 at most: the last percent is the work's own ending (storing, committing).
        percent = max(self.last_percent, min(99, done * 100 // max(total, 1)))
        now = time.monotonic()
        if now - self.last_write >= self.every_s or (percent == 99 > self.last_percent):
            if not self.running.update(progress=percent):
                raise self.stopped()
            self.last_percent, self.last_write = percent, now
