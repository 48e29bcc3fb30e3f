"""Reads for the character bible."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery

from characters.models import Character, Location, LocationImage, ReferenceImage, ReferenceSheet
from studio.models import Project


def characters_with_thumbnails(project: Project) -> QuerySet[Character]:
    """Characters with the thumbnail of their default sheet's primary image, in one query."""
    thumb = ReferenceImage.objects.filter(
        sheet__character=OuterRef("pk"), sheet__is_default=True
    ).order_by("-is_primary", "id")
    return (
        Character.objects.filter(project=project)
        .annotate(
            thumb_name=Subquery(thumb.values("thumbnail")[:1]),
            sheet_count=Count("sheets", distinct=True),
        )
        .order_by("name", "id")
    )


def locations_with_thumbnails(project: Project) -> QuerySet[Location]:
    """Locations with the thumbnail of their first image, in one query."""
    thumb = LocationImage.objects.filter(location=OuterRef("pk")).order_by("id")
    return (
        Location.objects.filter(project=project)
        .annotate(thumb_name=Subquery(thumb.values("thumbnail")[:1]))
        .order_by("name", "id")
    )


def character_detail(character_id: int) -> Character:
    """A character with every sheet and image, for the character page."""
    return Character.objects.prefetch_related(
        Prefetch(
            "sheets",
            queryset=ReferenceSheet.objects.order_by("-is_default", "name", "id").prefetch_related(
                Prefetch("images", queryset=ReferenceImage.objects.order_by("-is_primary", "id"))
            ),
        )
    ).get(pk=character_id)


def cast_choices(project: Project) -> list[Character]:
    """Characters with their sheets, for the cast picker."""
    return list(
        Character.objects.filter(project=project)
        .prefetch_related(
            Prefetch("sheets", queryset=ReferenceSheet.objects.order_by("-is_default", "name"))
        )
        .order_by("name")
    )
