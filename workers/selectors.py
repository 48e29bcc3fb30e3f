"""Reads for the generation pipeline and its pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from django.core.files.storage import default_storage
from django.db.models import Count, Max, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from boards.models import Board, CastMember, Panel, Take
from characters.models import LocationImage, ReferenceImage, ReferenceSheet, StyleImage
from studio.models import Project, StoredImage
from workers.compiler import CastSpec, ImageSpec, PanelSpec, reference_gone
from workers.models import GenerationJob


def _reader(name: str, label: str = "") -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            with default_storage.open(name, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            raise LookupError(reference_gone(label)) from None

    return load


def image_spec(image: StoredImage, *, view: str = "", label: str = "") -> ImageSpec:
    name = image.file.name
    assert name is not None  # the file field is required, so every saved row has one
    return ImageSpec(
        id=image.pk,
        sha256=image.sha256,
        view=view,
        label=label,
        load=_reader(name, label),
        file=name,
    )


_ROLE_MODELS: dict[str, type[StoredImage]] = {
    "cast": ReferenceImage,
    "location": LocationImage,
    "style": StyleImage,
    "previous": Take,
    "edit_source": Take,
}


def request_images(manifest: dict) -> dict[tuple[str, int], ImageSpec]:
    """The stored images a job's manifest names, by (role, id).

    Stored images never change in place (a new picture is a new row and a new
    file), so the file names the manifest recorded are read directly; a file
    deleted since fails when it is read. Manifests written before file names
    were recorded are looked up, in one query per image table.
    """
    found: dict[tuple[str, int], ImageSpec] = {}
    wanted: dict[type[StoredImage], set[int]] = {}
    for ref in manifest.get("references", []):
        if ref.get("file"):
            found[(ref["role"], ref["id"])] = ImageSpec(
                id=ref["id"],
                sha256=ref["sha256"],
                label=ref["label"],
                load=_reader(ref["file"], ref["label"]),
                file=ref["file"],
            )
        else:
            wanted.setdefault(_ROLE_MODELS[ref["role"]], set()).add(ref["id"])
    for model, ids in wanted.items():
        rows = {row.pk: row for row in model._default_manager.filter(pk__in=ids)}
        for ref in manifest["references"]:
            row = rows.get(ref["id"]) if _ROLE_MODELS[ref["role"]] is model else None
            if row is not None:
                found[(ref["role"], row.pk)] = image_spec(row, view=getattr(row, "view", ""))
    return found


def default_seed(panel: Panel) -> int:
    """A panel without a chosen seed keeps one stable seed, so unchanged inputs match."""
    return panel.seed if panel.seed is not None else (panel.pk * 7919 + 104729) % (2**31)


def panel_spec(
    panel: Panel, *, seed: int | None = None, edit_source: Take | None = None, instruction: str = ""
) -> PanelSpec:
    """Everything the compiler needs about one panel, in a fixed number of queries."""
    spec = panel_specs([panel], seeds={panel.pk: seed})[panel.pk]
    if edit_source is None and not instruction:
        return spec
    return replace(
        spec,
        edit_source=image_spec(edit_source, label="the image to edit") if edit_source else None,
        instruction=instruction,
    )


def panel_specs(panels: list[Panel], *, seeds: dict[int, int | None]) -> dict[int, PanelSpec]:
    """Specs for many panels of one board at once, in a fixed number of queries."""
    ids = [p.pk for p in panels]
    rows = list(
        Panel.objects.filter(pk__in=ids)
        .select_related("board__project", "location")
        .order_by("position")
    )
    if not rows:
        return {}
    casts: dict[int, list[CastMember]] = {}
    for member in (
        CastMember.objects.filter(panel_id__in=ids)
        .select_related("character", "sheet")
        .order_by("order", "id")
    ):
        casts.setdefault(member.panel_id, []).append(member)
    everyone = [m for members in casts.values() for m in members]
    defaults = {
        sheet.character_id: sheet
        for sheet in ReferenceSheet.objects.filter(
            character_id__in={m.character_id for m in everyone if not m.sheet_id}, is_default=True
        )
    }
    sheet_ids = {m.sheet_id for m in everyone if m.sheet_id} | {s.pk for s in defaults.values()}
    images_by_sheet: dict[int, tuple[ImageSpec, ...]] = {}
    for image in ReferenceImage.objects.filter(sheet_id__in=sheet_ids).order_by("id"):
        spec = image_spec(image, view=image.view, label=image.label)
        images_by_sheet[image.sheet_id] = (*images_by_sheet.get(image.sheet_id, ()), spec)
    images_by_location: dict[int, tuple[ImageSpec, ...]] = {}
    location_ids = {p.location_id for p in rows if p.location_id}
    for place_image in LocationImage.objects.filter(location_id__in=location_ids).order_by("id"):
        spec = image_spec(place_image, label=place_image.label)
        images_by_location[place_image.location_id] = (
            *images_by_location.get(place_image.location_id, ()),
            spec,
        )
    project: Project = rows[0].board.project
    style_images = tuple(
        image_spec(im, label=im.label)
        for im in StyleImage.objects.filter(project=project).order_by("id")
    )
    previous = _previous_takes([p for p in rows if p.continue_previous and p.position > 0])

    specs = {}
    for panel in rows:
        board: Board = panel.board
        members = []
        for m in casts.get(panel.pk, []):
            sheet = m.sheet or defaults.get(m.character_id)
            members.append(
                CastSpec(
                    name=m.character.name,
                    appearance=m.character.appearance,
                    sheet_name=sheet.name if sheet else "",
                    addendum=sheet.addendum if sheet else "",
                    placement=m.placement,
                    expression=m.expression,
                    images=images_by_sheet.get(sheet.pk, ()) if sheet else (),
                )
            )
        seed = seeds.get(panel.pk)
        specs[panel.pk] = PanelSpec(
            shot_type=panel.shot_type,
            camera_angle=panel.camera_angle,
            action=panel.action,
            dialogue=panel.dialogue,
            style=project.style,
            location_name=panel.location.name if panel.location else "",
            location_description=panel.location.description if panel.location else "",
            location_images=images_by_location.get(panel.location_id, ())
            if panel.location_id
            else (),
            style_images=style_images,
            cast=tuple(members),
            previous_take=previous.get(panel.pk),
            aspect=board.aspect,
            ratio=board.ratio,
            seed=default_seed(panel) if seed is None else seed,
        )
    return specs


def _previous_takes(panels: list[Panel]) -> dict[int, ImageSpec]:
    """For panels that continue the previous one: that panel's selected take."""
    if not panels:
        return {}
    board_ids = {p.board_id for p in panels}
    by_board: dict[int, list[Panel]] = {}
    for row in (
        Panel.objects.filter(board_id__in=board_ids)
        .select_related("selected_take")
        .order_by("position")
    ):
        by_board.setdefault(row.board_id, []).append(row)
    found = {}
    for panel in panels:
        before = [p for p in by_board.get(panel.board_id, []) if p.position < panel.position]
        if before and before[-1].selected_take:
            found[panel.pk] = image_spec(before[-1].selected_take, label="previous panel")
    return found


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
