"""Writes for the character bible: characters, sheets, reference images, locations, style."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from characters.models import (
    Character,
    Location,
    LocationImage,
    ReferenceImage,
    ReferenceSheet,
    StyleImage,
)
from studio.edits import write_if_unchanged, write_versioned
from studio.images import ImageRejected, header_pixels, process_upload, safe_display_name
from studio.models import Project, StoredImage
from studio.storage import delete_files, fill_stored_image


@dataclass
class UploadItem:
    name: str
    file: IO[bytes]
    view: str = ""
    label: str = ""


@dataclass
class UploadReport:
    saved: list[StoredImage] = field(default_factory=list)
    # (file name as shown to people, reason)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [f"“{name}” {reason}" for name, reason in self.rejected]


_DUPLICATE = "is already in this set (same image uploaded twice)."


def _over_budget(pixels: int) -> str:
    return (
        f"was not uploaded: one upload takes at most {pixels // 1_000_000} megapixels in total. "
        "Upload it again on its own or in a smaller batch."
    )


def _store_images(
    items: Iterable[UploadItem],
    *,
    project_id: int,
    folder: str,
    existing_hashes: set[str],
    build,
) -> UploadReport:
    """Validate each file on its own: good files are kept even when others fail.

    One request decodes at most STUDIO_UPLOAD_MAX_REQUEST_PIXELS in total, so
    a batch of huge images cannot hold a web worker for long; files past that
    budget are refused with a message asking for another batch.
    """
    report = UploadReport()
    seen = set(existing_hashes)
    budget = settings.STUDIO_UPLOAD_MAX_REQUEST_PIXELS
    for item in items:
        shown = safe_display_name(item.name) or "unnamed file"
        pixels = header_pixels(item.file) or 0
        if pixels > budget:
            report.rejected.append((shown, _over_budget(settings.STUDIO_UPLOAD_MAX_REQUEST_PIXELS)))
            continue
        budget -= pixels
        try:
            image = process_upload(item.file)
        except ImageRejected as exc:
            report.rejected.append((shown, exc.reason))
            continue
        if image.sha256 in seen:
            report.rejected.append((shown, _DUPLICATE))
            continue
        instance = build(item)
        fill_stored_image(
            instance, image, project_id=project_id, folder=folder, original_name=shown
        )
        try:
            with transaction.atomic():
                instance.save()
        except IntegrityError:
            # A concurrent upload of the same image won the race.
            delete_files(instance)
            report.rejected.append((shown, _DUPLICATE))
            continue
        except BaseException:
            # The files are written before the row: no row may be left without them,
            # and no file without its row.
            delete_files(instance)
            raise
        seen.add(image.sha256)
        report.saved.append(instance)
    return report


def _require_free_name(siblings: QuerySet, name: str, message: str) -> None:
    """Names are compared without case: "Mara" and "mara" would confuse prompts and people."""
    if siblings.filter(name__iexact=name).exists():
        raise ValidationError(message)


def character_create(
    *, project: Project, name: str, appearance: str = "", notes: str = "", aliases: str = ""
) -> Character:
    """Create a character with an empty "Default" sheet."""
    name = name.strip()
    _require_free_name(
        Character.objects.filter(project=project),
        name,
        f"There is already a character called “{name}” in this project.",
    )
    with transaction.atomic():
        character = Character.objects.create(
            project=project, name=name, appearance=appearance, notes=notes, aliases=aliases
        )
        ReferenceSheet.objects.create(character=character, name="Default", is_default=True)
    return character


def character_update(
    *,
    character: Character,
    name: str,
    appearance: str,
    notes: str,
    aliases: str | None = None,
    version: int | None = None,
) -> Character:
    """Rename or redescribe a character, or change the other names scripts use for them.

    StaleEdit if saved by someone since `version`.
    """
    name = name.strip()
    _require_free_name(
        Character.objects.filter(project_id=character.project_id).exclude(pk=character.pk),
        name,
        f"There is already a character called “{name}” in this project.",
    )
    character.name, character.appearance, character.notes = name, appearance, notes
    fields = ["name", "appearance", "notes"]
    if aliases is not None:
        character.aliases = aliases
        fields.append("aliases")
    write_versioned(character, fields, version=version)
    return character


def character_delete(*, character: Character) -> None:
    """Delete a character, its sheets and images (panels lose it from their cast)."""
    with transaction.atomic():
        character.delete()


def sheet_create(*, character: Character, name: str, addendum: str = "") -> ReferenceSheet:
    """Add a sheet; the first sheet of a character becomes its default."""
    name = name.strip()
    _require_free_name(
        character.sheets.all(), name, f"{character.name} already has a sheet called “{name}”."
    )
    has_default = character.sheets.filter(is_default=True).exists()
    return ReferenceSheet.objects.create(
        character=character, name=name, addendum=addendum, is_default=not has_default
    )


def sheet_update(
    *, sheet: ReferenceSheet, name: str, addendum: str, version: int | None = None
) -> ReferenceSheet:
    """Rename a sheet or change its addendum (StaleEdit if saved by someone since `version`)."""
    name = name.strip()
    _require_free_name(
        sheet.character.sheets.exclude(pk=sheet.pk),
        name,
        f"{sheet.character.name} already has a sheet called “{name}”.",
    )
    sheet.name, sheet.addendum = name, addendum
    write_versioned(sheet, ["name", "addendum"], version=version)
    return sheet


def _flag_only(siblings: QuerySet, pk: int, flag: str) -> None:
    """Set a boolean `flag` on one row and clear it on its siblings, in one transaction.

    Cleared first: a partial unique index allows only one flagged sibling.
    """
    with transaction.atomic():
        siblings.filter(**{flag: True}).exclude(pk=pk).update(**{flag: False})
        siblings.filter(pk=pk).update(**{flag: True})


def sheet_set_default(*, sheet: ReferenceSheet) -> ReferenceSheet:
    """Make this sheet the character's default (the partial unique index allows one)."""
    _flag_only(
        ReferenceSheet.objects.filter(character_id=sheet.character_id), sheet.pk, "is_default"
    )
    sheet.is_default = True
    return sheet


def sheet_delete(*, sheet: ReferenceSheet) -> None:
    """Delete a sheet; the last one of a character stays, and a default passes to another."""
    with transaction.atomic():
        others = ReferenceSheet.objects.filter(character_id=sheet.character_id).exclude(pk=sheet.pk)
        if not others.exists():
            raise ValidationError("A character keeps at least one sheet.")
        was_default = sheet.is_default
        sheet.delete()
        if was_default:
            first = others.order_by("name", "id").first()
            assert first is not None  # others.exists() was checked in this transaction
            ReferenceSheet.objects.filter(pk=first.pk).update(is_default=True)


def reference_images_add(*, sheet: ReferenceSheet, items: list[UploadItem]) -> UploadReport:
    """Store uploaded reference images; the first image of a sheet becomes its primary."""
    project_id = sheet.character.project_id
    existing = set(sheet.images.values_list("sha256", flat=True))
    has_primary = sheet.images.filter(is_primary=True).exists()
    valid_views = set(ReferenceImage.View.values)

    def build(item: UploadItem) -> ReferenceImage:
        nonlocal has_primary
        view = item.view if item.view in valid_views else ReferenceImage.View.FRONT
        image = ReferenceImage(
            sheet=sheet, view=view, label=item.label[:120], is_primary=not has_primary
        )
        has_primary = True
        return image

    return _store_images(
        items, project_id=project_id, folder="references", existing_hashes=existing, build=build
    )


def reference_image_update(*, image: ReferenceImage, view: str, label: str = "") -> ReferenceImage:
    """Change the view label of an image."""
    if view not in ReferenceImage.View.values:
        raise ValidationError(f"“{view}” is not a known view.")
    image.view, image.label = view, label[:120]
    image.save(update_fields=["view", "label"])
    return image


def reference_image_set_primary(*, image: ReferenceImage) -> ReferenceImage:
    """Make this image the one shown for its sheet."""
    _flag_only(ReferenceImage.objects.filter(sheet_id=image.sheet_id), image.pk, "is_primary")
    image.is_primary = True
    return image


def reference_image_delete(*, image: ReferenceImage) -> None:
    """Delete an image; if it was primary, the next one takes over."""
    with transaction.atomic():
        sheet_id, was_primary = image.sheet_id, image.is_primary
        image.delete()
        if was_primary:
            nxt = ReferenceImage.objects.filter(sheet_id=sheet_id).order_by("id").first()
            if nxt:
                ReferenceImage.objects.filter(pk=nxt.pk).update(is_primary=True)


def location_create(*, project: Project, name: str, description: str = "") -> Location:
    """Create a location."""
    name = name.strip()
    _require_free_name(
        Location.objects.filter(project=project),
        name,
        f"There is already a location called “{name}”.",
    )
    return Location.objects.create(project=project, name=name, description=description)


def location_update(
    *, location: Location, name: str, description: str, version: int | None = None
) -> Location:
    """Rename or redescribe a location (StaleEdit if saved by someone since `version`)."""
    name = name.strip()
    _require_free_name(
        Location.objects.filter(project_id=location.project_id).exclude(pk=location.pk),
        name,
        f"There is already a location called “{name}”.",
    )
    location.name, location.description = name, description
    write_versioned(location, ["name", "description"], version=version)
    return location


def location_delete(*, location: Location) -> None:
    """Delete a location and its images (panels keep working without it)."""
    with transaction.atomic():
        location.delete()


def location_images_add(*, location: Location, items: list[UploadItem]) -> UploadReport:
    """Store uploaded location images."""
    existing = set(location.images.values_list("sha256", flat=True))
    return _store_images(
        items,
        project_id=location.project_id,
        folder="locations",
        existing_hashes=existing,
        build=lambda item: LocationImage(location=location, label=item.label[:120]),
    )


def location_image_delete(*, image: LocationImage) -> None:
    """Delete one location image."""
    with transaction.atomic():
        image.delete()


def style_update(*, project: Project, style: str, seen: str | None = None) -> Project:
    """Set the project style text.

    With `seen` (the text the form opened with) nothing is written once the
    style was changed by someone else: StaleEdit is raised. The project row
    has no edit version of its own, and the text is the only thing this edits.
    """
    write_if_unchanged(
        Project.objects.filter(pk=project.pk),
        seen=None if seen is None else {"style": seen},
        style=style,
        updated=timezone.now(),
    )
    project.style = style
    return project


def style_images_add(*, project: Project, items: list[UploadItem]) -> UploadReport:
    """Store uploaded style reference images."""
    existing = set(project.style_images.values_list("sha256", flat=True))
    return _store_images(
        items,
        project_id=project.pk,
        folder="style",
        existing_hashes=existing,
        build=lambda item: StyleImage(project=project, label=item.label[:120]),
    )


def style_image_delete(*, image: StyleImage) -> None:
    """Delete one style image."""
    with transaction.atomic():
        image.delete()
