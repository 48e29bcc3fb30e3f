"""What every step shares: the job states, the `Step` a step returns, leases and backoff."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from workers.models import GenerationJob
from workers.pipeline.plain_update import select_job, update_job

State = GenerationJob.State


@dataclass(frozen=True)
class Step:
    """What the task layer should schedule next (and `then`, steps of other jobs)."""

    task: str | None = None  # "start", "poll", "download" or "cancel" (at the provider)
    countdown: float = 0.0
    job_id: int | None = None
    then: tuple[Step, ...] = ()
    url: str = ""  # the result to fetch, for "download"

    def also(self, other: Step) -> Step:
        if other.task is None and not other.then:
            return self
        return Step(self.task, self.countdown, self.job_id, (*self.then, other), self.url)

    def flatten(self) -> list[Step]:
        own = [self] if self.task else []
        return own + [step for child in self.then for step in child.flatten()]


DONE = Step()


def lease(extra: float = 0.0) -> timedelta:
    return timedelta(seconds=settings.STUDIO_JOB_LEASE_S + extra)


def jitter(base: float) -> float:
    return base * (0.8 + 0.4 * random.random())


def backoff(attempt: int, *, first: float = 1.0, cap: float = 60.0) -> float:
    return jitter(min(cap, first * 2 ** max(0, attempt - 1)))


def load_job(job_id: int, **state) -> GenerationJob | None:
    """The job, if its columns hold the values in `state` (e.g. state="polling")."""
    if set(state) <= {"state"}:
        return select_job(job_id, state.get("state"))  # every step's read: prepared
    found = list(GenerationJob.objects.filter(pk=job_id, **state))
    return found[0] if found else None


def transition(
    job_id: int, from_states: str | Iterable[str], *conditions: Any, **fields: Any
) -> bool:
    """Write `fields` on the job if it is still in one of `from_states`; True if it was.

    The one door through which the pipeline changes a job: a conditional
    UPDATE, so of two workers making the same move exactly one wins, and a
    step delivered twice finds the job moved on and does nothing. Extra
    `conditions` (Q objects or boolean expressions) narrow the claim, e.g.
    "a provider slot is free" or "the lease I read is still the current one".
    Sets `updated` too: `auto_now` is applied by save(), never by an UPDATE.
    """
    states = [from_states] if isinstance(from_states, str) else list(from_states)
    fields.setdefault("updated", timezone.now())
    changed = update_job(job_id, states, fields, conditions)
    if changed is not None:
        return bool(changed)
    return bool(
        GenerationJob.objects.filter(*conditions, pk=job_id, state__in=states).update(**fields)
    )
