"""Stored files live as long as the rows that name them.

Every model with a FileField has its files deleted after the transaction
that deletes its row commits, however the row goes: a service, a cascade
from a board or a project, the admin. A rolled-back delete keeps its files.
What slips through anyway (a crash between commit and delete, a file
written for a row that was never saved) is found by `media_sweep`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from django.apps import apps
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models.signals import post_delete
from django.utils import timezone

# Everything a project owns is stored under this prefix (studio.storage).
PROJECTS_ROOT = "projects"


@cache
def file_fields(model: type[models.Model]) -> tuple[str, ...]:
    """Names of the model's FileFields (and ImageFields)."""
    return tuple(f.name for f in model._meta.get_fields() if isinstance(f, models.FileField))


def models_with_files() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if file_fields(m)]


def delete_names_on_commit(names: Iterable[str]) -> None:
    """Delete these stored files once the current transaction commits (at once outside one)."""
    doomed = [n for n in names if n]
    if doomed:
        transaction.on_commit(lambda: _delete(doomed))


def _delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _row_deleted(sender: type[models.Model], instance: models.Model, **kwargs) -> None:
    delete_names_on_commit(getattr(instance, name).name for name in file_fields(sender))


def connect_file_cleanup() -> None:
    """Wire every model that has files to `_row_deleted` (called once, at start-up).

    Connected per model rather than for all senders, so models without files
    keep Django's fast bulk delete.
    """
    for model in models_with_files():
        post_delete.connect(_row_deleted, sender=model, dispatch_uid=f"files-{model._meta.label}")


@dataclass
class SweepReport:
    orphans: list[str] = field(default_factory=list)
    kept_young: int = 0
    bytes: int = 0


def referenced_names() -> set[str]:
    """Every stored file name some row points to."""
    names: set[str] = set()
    for model in models_with_files():
        for name in file_fields(model):
            names.update(model._default_manager.exclude(**{name: ""}).values_list(name, flat=True))
    return names


def _walk(folder: str) -> Iterator[str]:
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for sub in folders:
        yield from _walk(f"{folder}/{sub}")


def media_sweep(*, dry_run: bool = False, min_age: timedelta = timedelta(days=1)) -> SweepReport:
    """Delete stored files that no row points to and that are older than `min_age`.

    Young files are left alone: an upload or a take writes its file a moment
    before the row that names it commits.
    """
    report = SweepReport()
    known = referenced_names()
    cutoff: datetime = timezone.now() - min_age
    for name in _walk(PROJECTS_ROOT):
        if name in known:
            continue
        if default_storage.get_modified_time(name) > cutoff:
            report.kept_young += 1
            continue
        report.orphans.append(name)
        report.bytes += default_storage.size(name)
        if not dry_run:
            default_storage.delete(name)
    return report
