"""Reads for the generation pipeline and its pages."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django.core.files.storage import default_storage
from django.db.models import Count, Max, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from boards.models import Board, Panel, Take
from characters.models import LocationImage, ReferenceImage, ReferenceSheet, StyleImage
from studio.models import Project, StoredImage
from workers.compiler import CastSpec, ImageSpec, PanelSpec
from workers.models import GenerationJob


def _reader(name: str) -> Callable[[], bytes]:
    def load() -> bytes:
        with default_storage.open(name, "rb") as fh:
            return fh.read()

    return load


def image_spec(image: StoredImage, *, view: str = "", label: str = "") -> ImageSpec:
    return ImageSpec(
        id=image.pk, sha256=image.sha256, view=view, label=label, load=_reader(image.file.name)
    )


def default_seed(panel: Panel) -> int:
    """A panel without a chosen seed keeps one stable seed, so unchanged inputs match."""
    return panel.seed if panel.seed is not None else (panel.pk * 7919 + 104729) % (2**31)


def panel_spec(
    panel: Panel, *, seed: int | None = None, edit_source: Take | None = None, instruction: str = ""
) -> PanelSpec:
    """Everything the compiler needs about one panel, in a fixed number of queries."""
    panel = Panel.objects.select_related("board__project", "location").get(pk=panel.pk)
    board: Board = panel.board
    project: Project = board.project
    cast = list(panel.cast.select_related("character", "sheet").order_by("order", "id"))
    sheet_ids = {m.sheet_id for m in cast if m.sheet_id}
    defaults = {
        s.character_id: s
        for s in ReferenceSheet.objects.filter(
            character_id__in=[m.character_id for m in cast if not m.sheet_id], is_default=True
        )
    }
    sheet_ids |= {s.pk for s in defaults.values()}
    images_by_sheet: dict[int, list[ReferenceImage]] = {}
    for image in ReferenceImage.objects.filter(sheet_id__in=sheet_ids).order_by("id"):
        images_by_sheet.setdefault(image.sheet_id, []).append(image)

    members = []
    for m in cast:
        sheet = m.sheet or defaults.get(m.character_id)
        images = images_by_sheet.get(sheet.pk, []) if sheet else []
        members.append(
            CastSpec(
                name=m.character.name,
                appearance=m.character.appearance,
                sheet_name=sheet.name if sheet else "",
                addendum=sheet.addendum if sheet else "",
                placement=m.placement,
                expression=m.expression,
                images=tuple(image_spec(im, view=im.view, label=im.label) for im in images),
            )
        )

    location_images: tuple[ImageSpec, ...] = ()
    if panel.location_id:
        location_images = tuple(
            image_spec(im, label=im.label)
            for im in LocationImage.objects.filter(location_id=panel.location_id).order_by("id")
        )
    style_images = tuple(
        image_spec(im, label=im.label)
        for im in StyleImage.objects.filter(project=project).order_by("id")
    )
    previous = None
    if panel.continue_previous and panel.position > 0:
        prev = (
            Panel.objects.filter(board_id=board.pk, position__lt=panel.position)
            .select_related("selected_take")
            .order_by("-position")
            .first()
        )
        if prev and prev.selected_take:
            previous = image_spec(prev.selected_take, label="previous panel")
    return PanelSpec(
        shot_type=panel.shot_type,
        camera_angle=panel.camera_angle,
        action=panel.action,
        dialogue=panel.dialogue,
        style=project.style,
        location_name=panel.location.name if panel.location else "",
        location_description=panel.location.description if panel.location else "",
        location_images=location_images,
        style_images=style_images,
        cast=tuple(members),
        previous_take=previous,
        aspect=board.aspect,
        ratio=board.ratio,
        seed=default_seed(panel) if seed is None else seed,
        edit_source=image_spec(edit_source, label="the image to edit") if edit_source else None,
        instruction=instruction,
    )


def project_spend(project: Project) -> Decimal:
    """Credits spent or committed: real costs where known, estimates for work under way."""
    totals = GenerationJob.objects.filter(project=project).aggregate(
        known=Coalesce(Sum("cost", filter=Q(cost__isnull=False)), Decimal("0")),
        pending=Coalesce(
            Sum(
                "estimated_cost",
                filter=Q(
                    cost__isnull=True, state__in=[*GenerationJob.ACTIVE_STATES, "needs_review"]
                ),
            ),
            Decimal("0"),
        ),
    )
    return totals["known"] + totals["pending"]


def active_jobs_for_board(board: Board) -> QuerySet[GenerationJob]:
    """Jobs of a board that are still moving or wait for a person."""
    return GenerationJob.objects.filter(
        panel__board=board, state__in=[*GenerationJob.ACTIVE_STATES, "needs_review"]
    ).order_by("panel__position", "-created")


def latest_jobs_by_panel(board: Board) -> dict[int, GenerationJob]:
    """The newest job of each panel of a board, in one query."""
    newest = (
        GenerationJob.objects.filter(panel__board=board)
        .values("panel_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    return {job.panel_id: job for job in GenerationJob.objects.filter(pk__in=Subquery(newest))}


def recent_jobs(panel: Panel, limit: int = 8) -> list[GenerationJob]:
    """A panel's latest jobs, newest first, for its editor."""
    return list(GenerationJob.objects.filter(panel=panel).order_by("-created", "-id")[:limit])


def board_progress(board: Board) -> dict[str, int]:
    """Counts of the board's latest jobs by state, for the progress bar."""
    counts = (
        GenerationJob.objects.filter(panel__board=board, state__in=GenerationJob.ACTIVE_STATES)
        .values("state")
        .annotate(n=Count("id"))
    )
    return {row["state"]: row["n"] for row in counts}
