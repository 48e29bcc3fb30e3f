from __future__ import annotations

from django.db import models
from django.db.models import Q

from studio.models import Project, StoredImage


class Character(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="characters")
    name = models.CharField(max_length=120)
    # Canonical appearance: the words every prompt with this character carries.
    appearance = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # One more on each edit; a form saves only while it matches (studio.edits).
    version = models.PositiveIntegerField(default=1, editable=False)
    # Other names a script calls them by ("MAC, The Keeper"), comma-separated.
    aliases = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Prompts and packed reference boards name characters; two of the same name confuse both.
            models.UniqueConstraint(fields=["project", "name"], name="character_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.split(",") if a.strip()]


class ReferenceSheet(models.Model):
    """One look of a character ("Default", "Winter outfit", "Ten years older")."""

    character = models.ForeignKey(Character, models.CASCADE, related_name="sheets")
    name = models.CharField(max_length=120)
    # Added to the character's appearance text when this sheet is used.
    addendum = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    # One more on each edit; a form saves only while it matches (studio.edits).
    version = models.PositiveIntegerField(default=1, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["character", "name"], name="sheet_unique_name"),
            # Serves "the default sheet of character X" and keeps it single.
            models.UniqueConstraint(
                fields=["character"], condition=Q(is_default=True), name="sheet_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.character.name}: {self.name}"


class ReferenceImage(StoredImage):
    class View(models.TextChoices):
        FRONT = "front", "Front"
        SIDE = "side", "Side"
        BACK = "back", "Back"
        THREE_QUARTER = "three_quarter", "Three-quarter"
        FACE = "face", "Face"
        EXPRESSION = "expression", "Expression"
        FULL_BODY = "full_body", "Full body"
        DETAIL = "detail", "Detail"

    sheet = models.ForeignKey(ReferenceSheet, models.CASCADE, related_name="images")
    view = models.CharField(max_length=20, choices=View.choices, default=View.FRONT)
    label = models.CharField(max_length=120, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sheet", "sha256"], name="refimage_unique_in_sheet"),
            # Serves "the primary image of sheet X" (thumbnails on lists) and keeps it single.
            models.UniqueConstraint(
                fields=["sheet"], condition=Q(is_primary=True), name="refimage_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sheet} ({self.get_view_display()})"


class Location(models.Model):
    project = models.ForeignKey(Project, models.CASCADE, related_name="locations")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    # One more on each edit; a form saves only while it matches (studio.edits).
    version = models.PositiveIntegerField(default=1, editable=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="location_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class LocationImage(StoredImage):
    location = models.ForeignKey(Location, models.CASCADE, related_name="images")
    label = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["location", "sha256"], name="locimage_unique"),
        ]


class StyleImage(StoredImage):
    """Style references of the project (DESIGN §4 "project style")."""

    project = models.ForeignKey(Project, models.CASCADE, related_name="style_images")
    label = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="styleimage_unique"),
        ]
