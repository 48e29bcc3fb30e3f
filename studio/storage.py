"""Where stored bytes go: random names under `projects/<project id>/`.

The media view finds the owning project from that prefix, so everything a
project owns must be stored through here. The storage is a local folder or an
S3-compatible bucket (`STUDIO_STORAGE`); callers see the same functions and
the same two failures either way: `FileNotFoundError` for a missing file and
`StorageUnavailable` when the store does not answer or refuses.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage

from studio.images import ProcessedImage
from studio.models import StoredImage

# Bytes handed on per read when a stored file is streamed.
STREAM_CHUNK = 256 * 1024
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


class StorageUnavailable(OSError):
    """The file store did not answer, or refused (a bucket down, unreachable or denying writes).

    An OSError, like a full local disk, so code that already survives a disk
    error survives a bucket outage the same way.
    """


@contextlib.contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn the bucket client's errors into FileNotFoundError or StorageUnavailable.

    `action` completes "while trying to ..." in the message an operator reads.
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in _MISSING_CODES:
            raise FileNotFoundError(f"No stored file (while trying to {action}).") from exc
        reason = error.get("Message") or code or str(exc)
        raise StorageUnavailable(
            f"The file store refused while trying to {action}: {reason}"
        ) from exc
    except BotoCoreError as exc:
        raise StorageUnavailable(
            f"The file store did not answer while trying to {action}: {exc}"
        ) from exc


def is_bucket(storage: Storage | None = None) -> bool:
    """True when files live in an S3-compatible bucket rather than a local folder."""
    return hasattr(storage or default_storage, "bucket_name")


def project_prefix(project_id: int) -> str:
    return f"projects/{project_id}/"


def save_bytes(project_id: int, folder: str, extension: str, data: bytes) -> str:
    """Store bytes under a random name and return the storage name."""
    return save_stream(project_id, folder, extension, ContentFile(data))


def save_stream(project_id: int, folder: str, extension: str, stream: IO[bytes] | File) -> str:
    """Store a file object (read in chunks, never whole) under a random name; the storage name.

    Raises StorageUnavailable (or another OSError) and leaves nothing under
    the name when the write fails half-way.
    """
    name = f"{project_prefix(project_id)}{folder}/{uuid.uuid4().hex}.{extension.lstrip('.')}"
    content = stream if isinstance(stream, File) else File(stream, name=name)
    try:
        with storage_errors("store a file"):
            return default_storage.save(name, content)
    except OSError:
        # A full disk leaves a truncated file behind under the name we chose.
        with contextlib.suppress(OSError), storage_errors("remove a half-written file"):
            default_storage.delete(name)
        raise


def delete_stored(name: str) -> None:
    """Remove one stored file; a missing file is not an error."""
    with storage_errors("delete a file"):
        default_storage.delete(name)


class StoredStream:
    """A stored file opened for reading in chunks, with its size when the store knows it."""

    def __init__(self, raw: IO[bytes], size: int | None) -> None:
        self._raw = raw
        self.size = size

    def read(self, amount: int = -1) -> bytes:
        with storage_errors("read a file"):
            return self._raw.read(amount) if amount >= 0 else self._raw.read()

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> StoredStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stored(name: str) -> StoredStream:
    """Open a stored file for streaming: a local file, or one GET on the bucket.

    Django's S3 file object copies the whole object to a temporary file on
    first read; the bucket's own response body is read as it arrives instead.
    Raises FileNotFoundError or StorageUnavailable.
    """
    storage = default_storage
    if is_bucket(storage):
        with storage_errors("read a file"):
            key = storage._normalize_name(name)  # type: ignore[attr-defined]
            got = storage.bucket.Object(key).get()  # type: ignore[attr-defined]
        return StoredStream(got["Body"], got.get("ContentLength"))
    handle = storage.open(name, "rb")
    return StoredStream(handle, storage.size(name))


def read_stored(name: str) -> bytes:
    """The whole content of a small stored file (an image); FileNotFoundError or StorageUnavailable."""
    with open_stored(name) as stream:
        return stream.read()


def fill_stored_image(
    instance: StoredImage,
    image: ProcessedImage,
    *,
    project_id: int,
    folder: str,
    original_name: str = "",
) -> StoredImage:
    """Write the image and its thumbnail and set the StoredImage fields (not saved)."""
    instance.file.name = save_bytes(project_id, folder, image.extension, image.data)
    thumb_ext = "webp" if image.thumbnail_content_type == "image/webp" else "jpg"
    try:
        instance.thumbnail.name = save_bytes(
            project_id, f"{folder}/thumbs", thumb_ext, image.thumbnail
        )
    except OSError:
        # No row will name the image without its thumbnail: take it back now.
        delete_files(instance)
        raise
    instance.sha256 = image.sha256
    instance.width = image.width
    instance.height = image.height
    instance.original_name = original_name[:255]
    return instance


def delete_files(instance: StoredImage) -> None:
    """Remove the stored files of a row being deleted (after its transaction commits)."""
    from studio.files import file_fields

    for name in file_fields(type(instance)):
        field = getattr(instance, name)
        if field and field.name:
            with contextlib.suppress(OSError):
                delete_stored(field.name)
