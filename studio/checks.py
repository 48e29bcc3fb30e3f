"""Start-up checks run by `manage.py check` (and before `migrate`, `runserver`)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core import checks
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.storage import storage_errors

PROBE_FOLDER = "castboard-probe"


@checks.register("storage")
def bucket_accepts_writes(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """With STUDIO_STORAGE=s3, write and delete a small probe object.

    A bucket with the wrong name, wrong keys or a read-only policy would
    otherwise show up only when the first upload or paid take fails to store.
    """
    if settings.STUDIO_STORAGE != "s3":
        return []
    name = f"{PROBE_FOLDER}/{uuid.uuid4().hex}.txt"
    bucket = settings.AWS_STORAGE_BUCKET_NAME
    try:
        with storage_errors(f"write to the bucket {bucket!r}"):
            default_storage.save(name, ContentFile(b"castboard start-up check\n"))
        with storage_errors(f"remove the probe from {bucket!r}"):
            default_storage.delete(name)
    except OSError as exc:
        return [
            checks.Error(
                str(exc),
                hint=(
                    "Check AWS_STORAGE_BUCKET_NAME, AWS_S3_ENDPOINT_URL and the keys in "
                    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: the studio needs to put, get, "
                    "list and delete objects in that bucket."
                ),
                id="studio.E001",
            )
        ]
    return []
