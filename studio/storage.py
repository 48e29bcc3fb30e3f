"""Where image bytes go: random names under `projects/<project id>/`.

The media view finds the owning project from that prefix, so everything a
project owns must be stored through here.
"""

from __future__ import annotations

import contextlib
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.images import ProcessedImage
from studio.models import StoredImage


def project_prefix(project_id: int) -> str:
    return f"projects/{project_id}/"


def save_bytes(project_id: int, folder: str, extension: str, data: bytes) -> str:
    """Store bytes under a random name and return the storage name."""
    name = f"{project_prefix(project_id)}{folder}/{uuid.uuid4().hex}.{extension.lstrip('.')}"
    try:
        return default_storage.save(name, ContentFile(data))
    except OSError:
        # A full disk leaves a truncated file behind under the name we chose.
        with contextlib.suppress(OSError):
            default_storage.delete(name)
        raise


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
    instance.thumbnail.name = save_bytes(project_id, f"{folder}/thumbs", thumb_ext, image.thumbnail)
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
            default_storage.delete(field.name)
