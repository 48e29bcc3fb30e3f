"""The worker side of a job: start (claim + submit), poll, download, store; and the sweeper.

Every step begins with a conditional UPDATE on the job's state, so a step
delivered twice, or by two workers, runs once. The rules that keep money
safe (DESIGN §5):

- the provider task id is committed before the first poll;
- a submit whose outcome is unknown is never repeated for a paid backend:
  the job waits for a person (`needs_review`);
- polling is a chain of short tasks with countdowns, so no worker process
  sits idle while the provider works;
- the number of jobs holding a provider slot never exceeds the backend's cap.

Functions return a `Step` saying what to schedule next; `workers.tasks`
does the scheduling. One module per part of a job's life: `slots` (claim,
hand over, free), `submit`, `poll`, `store` (download and store),
`sweep` and `cancel` (at the provider); `states` holds what they share.
"""

from workers.pipeline.cancel import job_cancel_at_provider
from workers.pipeline.poll import first_poll_delay, job_deliver, job_poll, poll_interval
from workers.pipeline.slots import kick_waiting
from workers.pipeline.states import DONE, State, Step
from workers.pipeline.store import job_download, store_take
from workers.pipeline.submit import job_start
from workers.pipeline.sweep import jobs_sweep

__all__ = [
    "DONE",
    "State",
    "Step",
    "first_poll_delay",
    "job_cancel_at_provider",
    "job_deliver",
    "job_download",
    "job_poll",
    "job_start",
    "jobs_sweep",
    "kick_waiting",
    "poll_interval",
    "store_take",
]
