"""Reads for the generation pipeline and its pages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from boards.models import Board, CastMember, Panel, Take
from characters.models import LocationImage, ReferenceImage, ReferenceSheet, StyleImage
from studio.models import Project, StoredImage
from studio.prepared import PreparedRows
from studio.storage import read_stored
from workers import registry
from workers.compiler import CastSpec, ImageSpec, PanelSpec, continued_from, reference_gone
from workers.models import GenerationJob


def _reader(name: str, label: str = "") -> Callable[[], bytes]:
    def load() -> bytes:
        try:
            return read_stored(name)
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
    mask = manifest.get("mask")
    if mask and mask.get("file"):
        found[("mask", 0)] = mask_spec(mask["file"], mask["sha256"])
    for model, ids in wanted.items():
        rows = {row.pk: row for row in model._default_manager.filter(pk__in=ids)}
        for ref in manifest["references"]:
            row = rows.get(ref["id"]) if _ROLE_MODELS[ref["role"]] is model else None
            if row is not None:
                found[(ref["role"], row.pk)] = image_spec(row, view=getattr(row, "view", ""))
    return found


def mask_spec(name: str, sha256: str) -> ImageSpec:
    """The stored mask of a region edit, as the compiler takes it."""
    return ImageSpec(
        id=0,
        sha256=sha256,
        label="the painted mask",
        load=_reader(name, "the painted mask"),
        file=name,
    )


def default_seed(panel: Panel) -> int:
    """A panel without a chosen seed keeps one stable seed, so unchanged inputs match."""
    return panel.seed if panel.seed is not None else (panel.pk * 7919 + 104729) % (2**31)


def panel_spec(
    panel: Panel,
    *,
    seed: int | None = None,
    edit_source: Take | None = None,
    instruction: str = "",
    mask: ImageSpec | None = None,
    region: str = "",
) -> PanelSpec:
    """Everything the compiler needs about one panel, in a fixed number of queries."""
    spec = panel_specs([panel], seeds={panel.pk: seed})[panel.pk]
    if edit_source is None and not instruction:
        return spec
    return replace(
        spec,
        edit_source=image_spec(edit_source, label="the image to edit") if edit_source else None,
        instruction=instruction,
        mask=mask,
        region=region,
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
    previous = _previous_takes(rows)

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
    return {
        pk: image_spec(before.selected_take, label="previous panel")
        for pk, before in previous_panels(panels).items()
        if before.selected_take
    }


def previous_panels(panels: list[Panel]) -> dict[int, Panel]:
    """For panels that continue the previous one: the panel just before each (with its
    selected take), in one query."""
    continuing = [p for p in panels if p.continue_previous and p.position > 0]
    if not continuing:
        return {}
    by_board: dict[int, list[Panel]] = {}
    for row in (
        Panel.objects.filter(board_id__in={p.board_id for p in continuing})
        .select_related("selected_take")
        .order_by("position")
    ):
        by_board.setdefault(row.board_id, []).append(row)
    found = {}
    for panel in continuing:
        before = [p for p in by_board.get(panel.board_id, []) if p.position < panel.position]
        if before:
            found[panel.pk] = before[-1]
    return found


def project_spend(project: Project) -> Decimal:
    """Credits spent or committed: real costs where known, estimates for work under way.

    Every board page and progress poll asks: a prepared read (studio.prepared).
    """
    rows = _SPEND.rows(project.pk)
    # To the cent, as the columns hold it: SQLite sums a decimal column as a float.
    return sum(rows[0], Decimal("0")).quantize(_CENT) if rows else Decimal("0")


_CENT = Decimal("0.01")
_SPEND = PreparedRows(
    GenerationJob,
    lambda project_id: (
        GenerationJob.objects.filter(project_id=project_id)
        .order_by()
        .values("project_id")
        .annotate(
            known=Coalesce(Sum("cost"), Decimal("0")),
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
        .values_list("known", "pending")
    ),
)


_UNSUCCESSFUL = ("failed", "cancelled", "needs_review")


def latest_jobs_by_panel(board: Board) -> dict[int, GenerationJob]:
    """The job that says how each panel of a board stands, in one query (see `_state_jobs`)."""
    return _state_jobs(GenerationJob.objects.filter(panel__board=board))


def panel_state_jobs(panels: list[Panel]) -> dict[int, GenerationJob]:
    """The job that says how each of these panels stands, in one query (see `_state_jobs`)."""
    return _state_jobs(GenerationJob.objects.filter(panel__in=panels))


# What a card's generation line shows of a job, as plain values (`job_card_rows`).
JOB_CARD_FIELDS = (
    "id",
    "state",
    "progress",
    "error_code",
    "error_message",
    "backend",
    "model",
    "after__panel__position",
)


def job_card_rows(board: Board) -> dict[int, tuple]:
    """For each panel of the board: JOB_CARD_FIELDS of the job `latest_jobs_by_panel` gives,
    in one query and without model instances (the board page keys its cards with them)."""
    return {row[0]: row[1:] for row in _JOB_CARD_ROWS.rows(board.pk)}


# Compiled once (studio.prepared): every board page and progress poll reads it.
_JOB_CARD_ROWS = PreparedRows(
    GenerationJob,
    lambda board_id: GenerationJob.objects.filter(
        pk__in=_newest_ids(GenerationJob.objects.filter(panel__board_id=board_id))
    ).values_list("panel_id", *JOB_CARD_FIELDS),
)


def jobs_by_panel(job_ids) -> dict[int, GenerationJob]:
    """These jobs, by their panel, as `latest_jobs_by_panel` loads them."""
    return {
        job.panel_id: job
        for job in GenerationJob.objects.filter(pk__in=job_ids).select_related("after__panel")
    }


def _newest_ids(jobs) -> Subquery:
    """Each panel's newest job, leaving out edits that did not work.

    A failed edit leaves the panel as it was: it is reported on the take it
    came from (`failed_edits`), not as the panel's state.
    """
    return Subquery(
        jobs.exclude(kind=GenerationJob.Kind.EDIT, state__in=_UNSUCCESSFUL)
        .values("panel_id")
        .annotate(last=Max("id"))
        .values("last")
    )


def _state_jobs(jobs) -> dict[int, GenerationJob]:
    """Each panel's newest job (see `_newest_ids`)."""
    return jobs_by_panel(_newest_ids(jobs))


def panels_finished_since(board: Board, since) -> set[int]:
    """Panels of the board with a job (of any kind) that finished since `since`."""
    return set(
        GenerationJob.objects.filter(panel__board=board, finished__gte=since).values_list(
            "panel_id", flat=True
        )
    )


def failed_edits(panel: Panel) -> dict[int, GenerationJob]:
    """For each take of the panel whose newest edit did not work: that edit job."""
    newest: dict[int, GenerationJob] = {}
    for job in GenerationJob.objects.filter(
        panel=panel, kind=GenerationJob.Kind.EDIT, source_take__isnull=False
    ).order_by("created", "id"):
        newest[job.source_take_id] = job  # type: ignore[index]
    return {
        take_id: job
        for take_id, job in newest.items()
        if job.state in _UNSUCCESSFUL and job.error_code not in ("retried", "dismissed")
    }


def instruction_words(project: Project) -> tuple[str, ...]:
    """The edit instructions the project's backend understands, when it knows only a few."""
    try:
        backend = registry.get_backend(project.backend or registry.default_backend())
    except LookupError:
        return ()
    return tuple(getattr(backend, "edit_words", ()))


def previous_changed(panels: list[Panel]) -> set[int]:
    """Continuing panels whose selected take was made from another take of the previous panel
    than the one selected there now (or from none): they need drawing again."""
    changed = set()
    for pk, before in previous_panels(panels).items():
        panel = next(p for p in panels if p.pk == pk)
        take = panel.selected_take
        if take is None or take.kind == Take.Kind.UPLOADED or before.selected_take_id is None:
            continue  # nothing generated to go stale, or an artist's own drawing
        if continued_from(take.request) != before.selected_take_id:
            changed.add(pk)
    return changed


def unreferenced_cast(panels: list[Panel]) -> dict[int, list[str]]:
    """For each panel: the cast members whose sheet there has no reference images, by name.

    They would be drawn from their description only; pages say so before
    anyone asks for the panel. Three queries for any number of panels.
    """
    return unreferenced_in(cast_rows(CastMember.objects.filter(panel__in=panels)))


# A cast member as the board's cards and the reference check read it, without model instances.
CAST_ROW_FIELDS = ("panel_id", "character_id", "character__name", "sheet_id", "order", "pk")


def cast_rows(members) -> list[tuple]:
    """`members` (a CastMember queryset) as plain rows: CAST_ROW_FIELDS, then the sheet's
    name and the placement note, in cast order."""
    return list(cast_row_query(members))


def cast_row_query(members) -> QuerySet:
    """The values_list() query `cast_rows` reads."""
    return members.order_by("order", "pk").values_list(*CAST_ROW_FIELDS, "sheet__name", "placement")


def unreferenced_in(rows: list[tuple]) -> dict[int, list[str]]:
    """`unreferenced_cast` over rows from `cast_rows`: at most two more queries."""
    if not rows:
        return {}
    defaults = dict(
        ReferenceSheet.objects.filter(
            character_id__in={row[1] for row in rows if not row[3]}, is_default=True
        ).values_list("character_id", "pk")
    )

    def sheet_of(row: tuple) -> int | None:
        return row[3] or defaults.get(row[1])

    with_images = set(
        ReferenceImage.objects.filter(sheet_id__in={sheet_of(row) for row in rows} - {None})
        .values_list("sheet_id", flat=True)
        .distinct()
    )
    found: dict[int, list[str]] = {}
    for row in rows:  # already in cast order
        if sheet_of(row) not in with_images:
            found.setdefault(row[0], []).append(row[2])
    return found


# Every sheet of the characters cast on a board: whose, which, the default?, has images?
_BOARD_SHEETS = PreparedRows(
    ReferenceSheet,
    lambda board_id: (
        ReferenceSheet.objects.filter(
            character_id__in=CastMember.objects.filter(panel__board_id=board_id).values(
                "character_id"
            )
        )
        .annotate(has_images=Exists(ReferenceImage.objects.filter(sheet_id=OuterRef("pk"))))
        .values_list("character_id", "pk", "is_default", "has_images")
    ),
)


def unreferenced_on_board(board_id: int, rows: list[tuple]) -> dict[int, list[str]]:
    """`unreferenced_in` for rows from `cast_rows` of a whole board, in one query compiled
    once (the board page asks on every visit)."""
    if not rows:
        return {}
    sheets = _BOARD_SHEETS.rows(board_id)
    defaults = {character: pk for character, pk, is_default, _ in sheets if is_default}
    with_images = {pk for _, pk, _, has_images in sheets if has_images}
    found: dict[int, list[str]] = {}
    for row in rows:  # already in cast order
        if (row[3] or defaults.get(row[1])) not in with_images:
            found.setdefault(row[0], []).append(row[2])
    return found


def panels_generation(panels: list[Panel], jobs: dict[int, GenerationJob]) -> list[str]:
    """Give each panel what its generation status shows; returns the names of characters
    without reference images across these panels (for the generate actions' warning).

    `jobs`: the job that says how each panel stands (`latest_jobs_by_panel`).
    Attaches `latest_job`,
    `previous_changed` and `unreferenced` (names) to each panel.
    """
    stale = previous_changed(panels)
    missing = unreferenced_cast(panels)
    for panel in panels:
        panel.latest_job = jobs.get(panel.pk)  # type: ignore[attr-defined]
        panel.previous_changed = panel.pk in stale  # type: ignore[attr-defined]
        panel.unreferenced = missing.get(panel.pk, [])  # type: ignore[attr-defined]
    return sorted({name for names in missing.values() for name in names})


def recent_jobs(panel: Panel, limit: int = 8) -> list[GenerationJob]:
    """A panel's latest jobs, newest first, for its editor."""
    return list(GenerationJob.objects.filter(panel=panel).order_by("-created", "-id")[:limit])


def polling_job_for_task(backend: str, task_id: str) -> int | None:
    """The id of the backend's job polling provider task `task_id`, if one is."""
    return (
        GenerationJob.objects.filter(
            backend=backend, state=GenerationJob.State.POLLING, provider_task_id=task_id
        )
        .values_list("pk", flat=True)
        .first()
    )
