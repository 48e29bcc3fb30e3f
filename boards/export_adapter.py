"""Models to export records: a frozen snapshot of a board for the renderers.

The renderers (boards.exports) never see a model. Reading everything here,
in a fixed number of queries, means a 500-panel board costs the same number
of round trips as a 5-panel one, and a background export renders from a
consistent snapshot even if someone edits the board meanwhile.
"""

from __future__ import annotations

import io
from collections import defaultdict
from typing import BinaryIO, cast

from django.db.models import Prefetch
from django.utils import timezone

from boards.exports import ExportBoard, ExportCastMember, ExportPanel
from boards.exports.document import BoardKind
from boards.models import Board, CastMember, Panel, Take
from characters.models import Character, ReferenceImage
from reviews.selectors import review_cards
from studio.storage import StorageUnavailable, read_stored


class StoreDown(RuntimeError):
    """The file store did not answer while an export read its images.

    Not an OSError on purpose: renderers skip one unreadable or missing file
    (a placeholder in its frame), but an outage must fail the whole export
    with its reason instead of making a board of placeholders.
    """


def open_stored(name: str) -> BinaryIO:
    """Open a stored image for an exporter by its storage name: local folder or bucket alike."""
    try:
        # Images are small and renderers seek in them: read once, hand over bytes.
        return io.BytesIO(read_stored(name))
    except StorageUnavailable as exc:
        raise StoreDown(str(exc)) from exc


def _aspect_label(board: Board) -> str:
    if board.aspect == Board.Aspect.CUSTOM:
        return f"{board.custom_width}:{board.custom_height}"
    return board.aspect


def _panel_record(panel: Panel, *, review: bool) -> ExportPanel:
    take: Take | None = panel.selected_take
    extra: dict[str, str] = {}
    if take is not None:
        extra = {
            "take_id": str(take.pk),
            "take_kind": take.kind,
            "seed": "" if take.seed is None else str(take.seed),
            "backend": take.backend,
            "model": take.model,
        }
    return ExportPanel(
        shot=str(panel.number),
        position=panel.position,
        action=panel.action,
        dialogue=panel.dialogue,
        notes=panel.notes,
        shot_type=panel.get_shot_type_display(),
        camera_angle=panel.get_camera_angle_display(),
        duration_s=None if panel.duration is None else float(panel.duration),
        location=panel.location.name if panel.location else "",
        cast=tuple(member.character.name for member in panel.cast.all()),
        image_name=(take.file.name or None) if take is not None else None,
        image_sha256=take.sha256 if take is not None else None,
        focus=(panel.focus_x / 100, panel.focus_y / 100),
        extra=extra,
        # review_cards attached these; without the review option they stay unset.
        review_status=getattr(panel, "review_status", "") if review else "",
        review_label=getattr(panel, "review_label", "") if review else "",
        open_comments=getattr(panel, "open_comments", 0) if review else 0,
    )


def _cast_sheet(board: Board) -> tuple[ExportCastMember, ...]:
    """Characters appearing on the board, by name, with their default sheet's images."""
    characters = list(
        Character.objects.filter(appearances__panel__board=board).distinct().order_by("name", "id")
    )
    if not characters:
        return ()
    images = ReferenceImage.objects.filter(
        sheet__is_default=True, sheet__character__in=[c.pk for c in characters]
    ).values_list("sheet__character_id", "file")
    paths: dict[int, list[str]] = defaultdict(list)
    # Primary image first: it is the one the cast sheet shows largest.
    for character_id, name in images.order_by("-is_primary", "id"):
        if name:
            paths[character_id].append(name)
    return tuple(
        ExportCastMember(name=c.name, appearance=c.appearance, image_names=tuple(paths[c.pk]))
        for c in characters
    )


def board_snapshot(board: Board, *, cast_sheet: bool = True, review: bool = False) -> ExportBoard:
    """The board as the renderers want it: panels in shot order with their selected takes.

    Costs four queries (panels, their cast, characters, reference images)
    whatever the panel count; two when cast_sheet is False, and two more
    (statuses, open-comment counts) with review. `board.project` should be
    loaded already (select_related), or it costs one more.
    """
    panels = list(
        Panel.objects.filter(board=board)
        .select_related("selected_take", "location")
        .prefetch_related(
            Prefetch(
                "cast",
                queryset=CastMember.objects.select_related("character").order_by("order", "id"),
            )
        )
        .order_by("position")
    )
    if review:
        review_cards(board, panels)
    return ExportBoard(
        project=board.project.name,
        board=board.name,
        # Board.Kind's values are exactly BoardKind's; the column only holds those.
        kind=cast(BoardKind, board.kind),
        aspect_ratio=board.ratio,
        aspect_label=_aspect_label(board),
        date=timezone.localdate(),
        panels=tuple(_panel_record(p, review=review) for p in panels),
        cast=_cast_sheet(board) if cast_sheet else (),
        opener=open_stored,
    )
