"""A confirmed import, saved by a worker while the page shows how far it got.

The row (boards.models.ScriptImport) owns the state: `queued -> running ->
done | failed`. The task only says "look at import N now"; running it twice
is harmless because the run claims the row with a conditional update.
Reading and matching report their progress as they go; the saving itself
is one transaction (all or nothing), so the page says "Saving" until it
commits: inside a transaction nothing written is visible to the page, and
on SQLite nothing else may even write.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.utils import timezone

from boards.models import ScriptImport
from boards.progress import RowProgress
from boards.script import selectors, services
from boards.script.breakdown import Options
from boards.script.document import ScriptError

log = logging.getLogger(__name__)

# Where each stage ends, in percent, measured on a 2,000-scene, 20,000-beat
# script on SQLite (bench/bench_import.py's generator): reading the file took
# 25% of the run, breaking it into boards 19%, matching names 9% and saving
# 47%. Saving is one transaction, so it is one step.
READ_END = 25
BREAKDOWN_END = 44
MATCH_END = 53
# How often (seconds) the percentage is written while matching.
WRITE_EVERY_S = 0.5
# A queued or running import older than this lost its worker; nothing was
# saved (the saving is one transaction), so the person may confirm again.
STALE_AFTER = timedelta(minutes=15)

NOTHING_SAVED = "Nothing was saved."
FAILED_MESSAGE = (
    "The import failed unexpectedly. Nothing was saved. Try again; if it keeps failing, "
    "tell the person who runs this studio."
)
CHANGED_MESSAGE = (
    "The project changed while the script was being saved (a character, location or "
    "board was deleted or edited). Nothing was saved: confirm the import again."
)
GONE_MESSAGE = "The uploaded script is no longer available. Nothing was saved: upload it again."
STALE_MESSAGE = (
    "The import stopped before it finished (the worker may have restarted). "
    "Nothing was saved: confirm it again."
)


class ImportStopped(Exception):
    """Raised inside a run whose row is no longer `running` (given up as stale)."""


def script_import_request(
    *,
    project,
    user,
    path: str,
    file_name: str,
    options: dict,
    characters: dict,
    locations: dict,
) -> ScriptImport:
    """Queue the saving of a previewed script; the same upload still being saved is returned.

    A double-clicked confirm therefore saves once.
    """
    from boards.tasks import run_script_import

    with transaction.atomic():
        running = ScriptImport.objects.filter(
            project=project, path=path, state__in=ScriptImport.ACTIVE_STATES
        ).first()
        if running is not None:
            return running
        job = ScriptImport.objects.create(
            project=project,
            requested_by=user,
            path=path,
            file_name=file_name[-255:],
            options=options,
            choices={"characters": characters, "locations": locations},
            stage="Waiting for a worker",
        )
        transaction.on_commit(lambda: run_script_import.delay(job.pk))
    return job


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _summary(job: ScriptImport, result: services.ImportResult) -> str:
    verb = "Updated" if job.options.get("revise") else "Imported"
    created = [
        _count(len(result.created_characters), "character"),
        _count(len(result.created_locations), "location"),
    ]
    created = [c for c in created if not c.startswith("0 ")]
    return (
        f"{verb} {job.file_name}: {_count(len(result.boards), 'board')}, "
        f"{_count(result.panel_count, 'panel')}"
        + (f"; created {' and '.join(created)}" if created else "")
        + "."
    )


def _choices(raw: object) -> dict[str, int | str | None]:
    """Choices as stored in JSON (ids are ints already; anything else is NEW or None)."""
    if not isinstance(raw, dict):
        return {}
    return {str(k): v if isinstance(v, int) or v == selectors.NEW else None for k, v in raw.items()}


_STAGES = {
    "breakdown": "Breaking the scenes into boards and panels",
    "matching": "Matching cast and locations",
}


class _Reporter:
    """Turns the import's stages into one percentage and a stage line on the row."""

    def __init__(self, job: ScriptImport) -> None:
        running = ScriptImport.objects.filter(pk=job.pk, state=ScriptImport.State.RUNNING)
        self.running = running
        self.write = RowProgress(running, stopped=ImportStopped, every_s=WRITE_EVERY_S)
        self.started: set[str] = set()

    def stage(self, text: str, percent: int) -> None:
        if not self.running.update(stage=text, progress=percent):
            raise ImportStopped()
        self.write.last_percent = percent

    def __call__(self, stage: str, done: int, total: int) -> None:
        spans = {"breakdown": (READ_END, BREAKDOWN_END), "matching": (BREAKDOWN_END, MATCH_END)}
        if stage in spans:
            if stage not in self.started:
                self.started.add(stage)
                self.stage(_STAGES[stage], spans[stage][0])
            low, high = spans[stage]
            total = max(total, 1)
            self.write(low * total + (high - low) * done, 100 * total)
        elif stage == "saving":
            self.stage("Saving everything in one step", MATCH_END)


def script_import_run(import_id: int) -> ScriptImport | None:
    """Save a queued import. Does nothing unless it is queued.

    Every failure ends in state `failed` with a message saying why, and
    nothing saved; the exception is logged, not raised, so the task is not
    retried into a loop. The upload is deleted once the import is done.
    """
    claimed = ScriptImport.objects.filter(pk=import_id, state=ScriptImport.State.QUEUED).update(
        state=ScriptImport.State.RUNNING, progress=0, stage="Reading the script"
    )
    if not claimed:
        return None
    job = ScriptImport.objects.select_related("project").get(pk=import_id)
    report = _Reporter(job)
    try:
        try:
            with default_storage.open(job.path, "rb") as fh:
                data = fh.read()
        except OSError:
            _fail(job, GONE_MESSAGE)
            return _reload(job)
        options = job.options or {}
        preview = selectors.script_preview(
            project=job.project,
            data=data,
            name=job.file_name,
            options=Options(
                merge_dialogue=bool(options.get("merge_dialogue")),
                single_board=str(options.get("single_board") or "").strip(),
            ),
            revise=bool(options.get("revise")),
            progress=report,
        )
        choices = job.choices or {}
        result = services.script_import(
            project=job.project,
            preview=preview,
            file_name=job.file_name,
            characters=_choices(choices.get("characters")),
            locations=_choices(choices.get("locations")),
            progress=report,
        )
    except ImportStopped:
        return _reload(job)
    except ScriptError as exc:
        where = f", {exc.where}" if exc.where else ""
        _fail(job, f"{job.file_name}{where}: {exc.message} {NOTHING_SAVED}")
        return _reload(job)
    except ValidationError as exc:
        _fail(job, " ".join(exc.messages) + f" {NOTHING_SAVED}")
        return _reload(job)
    except DatabaseError:
        log.warning("script import %s: the project changed while saving", job.pk, exc_info=True)
        _fail(job, CHANGED_MESSAGE)
        return _reload(job)
    except Exception:
        log.exception("script import %s failed", job.pk)
        _fail(job, FAILED_MESSAGE)
        return _reload(job)
    finished = ScriptImport.objects.filter(pk=job.pk, state=ScriptImport.State.RUNNING).update(
        state=ScriptImport.State.DONE,
        progress=100,
        stage="",
        summary=_summary(job, result),
        board_ids=result.board_ids,
        finished=timezone.now(),
    )
    if finished:
        default_storage.delete(job.path)
    return _reload(job)


def _fail(job: ScriptImport, message: str) -> None:
    ScriptImport.objects.filter(pk=job.pk, state=ScriptImport.State.RUNNING).update(
        state=ScriptImport.State.FAILED, error=message, stage="", finished=timezone.now()
    )


def _reload(job: ScriptImport) -> ScriptImport | None:
    return ScriptImport.objects.filter(pk=job.pk).first()


def script_import_give_up_if_stale(job: ScriptImport, *, now: datetime | None = None) -> bool:
    """Fail an import that lost its worker (nothing of it was saved); True if it did.

    Decided on the row as read, so the status poll writes nothing while an
    import is under way: on SQLite a write would wait for the import's own.
    """
    now = now or timezone.now()
    if not job.is_active or job.created > now - STALE_AFTER:
        return False
    return bool(
        ScriptImport.objects.filter(pk=job.pk, state__in=ScriptImport.ACTIVE_STATES).update(
            state=ScriptImport.State.FAILED, error=STALE_MESSAGE, stage="", finished=now
        )
    )
