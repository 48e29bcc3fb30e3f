"""Move every stored file between the local folder and the bucket (`migrate_media`).

Files keep their names, so no row changes: the switch is one setting
(STUDIO_STORAGE), changed by the operator once every file has been copied
and checked. A file already at the target with the right content is not
copied again, so a run that stopped half-way continues where it stopped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, default_storage

from studio.files import referenced_names
from studio.storage import STREAM_CHUNK, storage_errors

TARGETS = ("s3", "local")


@dataclass
class MigrationReport:
    copied: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # rows name them, the source lacks them
    failed: list[tuple[str, str]] = field(default_factory=list)  # name, why
    bytes: int = 0

    @property
    def verified(self) -> bool:
        return not self.missing and not self.failed


def target_storage(to: str) -> Storage:
    """The storage `to` names, built from the settings whatever STUDIO_STORAGE says now."""
    if to == "local":
        return FileSystemStorage(location=settings.MEDIA_ROOT)
    if not settings.AWS_STORAGE_BUCKET_NAME:
        raise ValueError("Set AWS_STORAGE_BUCKET_NAME (and the other AWS_* settings) first.")
    from studio.bucket import BucketStorage

    return BucketStorage()


def _digest(storage: Storage, name: str) -> tuple[str, int]:
    """sha256 and size of a stored file, read in chunks."""
    sha, size = hashlib.sha256(), 0
    with storage_errors(f"read {name}"), storage.open(name, "rb") as handle:
        while chunk := handle.read(STREAM_CHUNK):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _same(target: Storage, name: str, digest: str) -> bool:
    with storage_errors(f"look for {name}"):
        if not target.exists(name):
            return False
    return _digest(target, name)[0] == digest


def media_migrate(
    *, to: str, dry_run: bool = False, progress: Callable[[str, str], None] | None = None
) -> MigrationReport:
    """Copy every file a row points to from the current storage to `to`, checking each by sha256.

    Changes no row and no setting. `progress(verb, name)` hears of each file.
    """
    if to not in TARGETS:
        raise ValueError(f"--to must be one of {', '.join(TARGETS)}.")
    if to == settings.STUDIO_STORAGE:
        raise ValueError(f"The studio already stores its files in {to} (STUDIO_STORAGE={to}).")
    source, target = default_storage, target_storage(to)
    report = MigrationReport()
    tell = progress or (lambda verb, name: None)
    for name in sorted(referenced_names()):
        try:
            digest, size = _digest(source, name)
        except FileNotFoundError:
            report.missing.append(name)
            tell("missing", name)
            continue
        try:
            if _same(target, name, digest):
                report.already.append(name)
                tell("already there", name)
                continue
            if dry_run:
                report.copied.append(name)
                report.bytes += size
                tell("would copy", name)
                continue
            with storage_errors(f"copy {name}"), source.open(name, "rb") as handle:
                saved = target.save(name, handle)
            if saved != name:
                raise OSError(f"the target stored it as {saved}")
            if _digest(target, name)[0] != digest:
                raise OSError("the copy's content differs from the original")
        except OSError as exc:
            report.failed.append((name, str(exc)))
            tell("failed", name)
            continue
        report.copied.append(name)
        report.bytes += size
        tell("copied", name)
    return report
