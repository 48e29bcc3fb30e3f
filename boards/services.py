"""Writes for boards, panels, casts and takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, IntegerField, Max, Value, When

from boards.models import Board, CastMember, Panel, Take
from characters.models import Character, Location, ReferenceSheet
from studio.edits import write_versioned
from studio.images import ImageRejected, process_upload, safe_display_name
from studio.models import Project
from studio.storage import fill_stored_image


def board_create(*, project: Project, name: str, **fields) -> Board:
    """Create a board in the project."""
    board = Board(project=project, name=name.strip(), **fields)
    board.full_clean()
    board.save()
    return board


def board_update(*, board: Board, version: int | None = None, **fields) -> Board:
    """Change a board's name, kind, aspect or description.

    With `version` (the one the edit form opened on) nothing is written once
    someone else has saved the board: StaleEdit is raised instead.
    """
    for key, value in fields.items():
        setattr(board, key, value)
    board.full_clean()
    write_versioned(board, list(fields), version=version)
    return board


def board_delete(*, board: Board) -> None:
    """Delete a board with its panels, takes and exports; their files go after commit."""
    board.delete()


def _lock_board(board_id: int) -> None:
    # Serialises position changes per board: two people reordering or adding
    # at once queue here instead of colliding on the unique position index.
    Board.objects.select_for_update().filter(pk=board_id).values_list("pk", flat=True).first()


# Far above any real position: the first step of a renumbering parks rows here.
_SHADOW = 1_000_000


def _renumber(board_id: int, ordered_ids: list[int]) -> None:
    """Give panels the positions 0..n-1 in this order, in two statements.

    Positions are first moved out of the way (shifted past any real value) so
    the unique (board, position) index never sees two rows on one slot,
    on databases that check it row by row.
    """
    if not ordered_ids:
        return
    panels = Panel.objects.filter(board_id=board_id, pk__in=ordered_ids)
    panels.update(position=F("position") + _SHADOW)
    panels.update(
        position=Case(
            *[When(pk=pk, then=Value(i)) for i, pk in enumerate(ordered_ids)],
            output_field=IntegerField(),
        )
    )


def _ordered_ids(board_id: int) -> list[int]:
    return list(
        Panel.objects.filter(board_id=board_id).order_by("position").values_list("pk", flat=True)
    )


def panel_create(*, board: Board, after: Panel | None = None, **fields) -> Panel:
    """Add a panel at the end of the board, or right after `after`."""
    with transaction.atomic():
        _lock_board(board.pk)
        last = Panel.objects.filter(board=board).aggregate(m=Max("position"))["m"]
        panel = Panel(board=board, position=(last + 1) if last is not None else 0, **fields)
        panel.full_clean(exclude=["selected_take"])
        panel.save()
        if after is not None and after.board_id == board.pk:
            ids = [i for i in _ordered_ids(board.pk) if i != panel.pk]
            ids.insert(ids.index(after.pk) + 1 if after.pk in ids else len(ids), panel.pk)
            _renumber(board.pk, ids)
            panel.refresh_from_db(fields=["position"])
        Board.objects.filter(pk=board.pk).update(updated=panel.created)
    return panel


PANEL_TEXT_FIELDS = (
    "action",
    "dialogue",
    "notes",
    "shot_type",
    "camera_angle",
    "duration",
    "seed",
    "continue_previous",
)


def panel_update(*, panel: Panel, version: int | None = None, **fields) -> Panel:
    """Update the given fields of a panel (and its location, if given), nothing else.

    The location must belong to the panel's project. With `version`, a panel
    saved by someone else since is left alone and StaleEdit is raised.
    """
    location = fields.get("location")
    if location is not None and location.project_id != panel.board.project_id:
        raise ValidationError("That location belongs to another project.")
    for key, value in fields.items():
        if key not in PANEL_TEXT_FIELDS and key != "location":
            raise ValueError(f"{key} is not an editable panel field")
        setattr(panel, key, value)
    panel.full_clean(exclude=["selected_take", "position"])
    write_versioned(panel, list(fields), version=version)
    return panel


def panel_set_crop(*, panel: Panel, focus_x: int, focus_y: int) -> Panel:
    """Store the point (percent across, percent down) comic pages keep in view."""
    if not (0 <= focus_x <= 100 and 0 <= focus_y <= 100):
        raise ValidationError("The crop point must lie inside the picture (0 to 100 %).")
    panel.focus_x, panel.focus_y = focus_x, focus_y
    panel.save(update_fields=["focus_x", "focus_y", "updated"])
    return panel


def panel_delete(*, panel: Panel) -> None:
    """Delete a panel and close the gap in the numbering."""
    board_id = panel.board_id
    with transaction.atomic():
        _lock_board(board_id)
        panel.delete()
        _renumber(board_id, _ordered_ids(board_id))


def panel_move(*, panel: Panel, after_id: int | None) -> Panel:
    """Move a panel to just after another panel of the same board (None: to the front).

    Relative moves keep concurrent edits: a panel someone else added in
    the meantime stays where they put it.
    """
    board_id = panel.board_id
    if after_id == panel.pk:
        # "After itself" is where it already is: a double-submitted drop does nothing.
        panel.refresh_from_db(fields=["position"])
        return panel
    with transaction.atomic():
        _lock_board(board_id)
        ids = [i for i in _ordered_ids(board_id) if i != panel.pk]
        if after_id is None:
            index = 0
        elif after_id in ids:
            index = ids.index(after_id) + 1
        else:
            raise ValidationError("The panel to place it after is not on this board any more.")
        ids.insert(index, panel.pk)
        _renumber(board_id, ids)
    panel.refresh_from_db(fields=["position"])
    return panel


@dataclass(frozen=True)
class CastEntry:
    character_id: int
    sheet_id: int | None = None
    placement: str = ""
    expression: str = ""


def panel_set_cast(*, panel: Panel, entries: list[CastEntry]) -> list[CastMember]:
    """Replace the panel's cast. Characters and sheets must be of the panel's project."""
    project_id = panel.board.project_id
    char_ids = [e.character_id for e in entries]
    if len(set(char_ids)) != len(char_ids):
        raise ValidationError("A character can appear only once in a panel.")
    characters = Character.objects.in_bulk(char_ids)
    sheet_ids = [e.sheet_id for e in entries if e.sheet_id]
    sheets = ReferenceSheet.objects.in_bulk(sheet_ids)
    members = []
    for order, entry in enumerate(entries):
        character = characters.get(entry.character_id)
        if character is None or character.project_id != project_id:
            raise ValidationError("That character is not part of this project.")
        sheet = sheets.get(entry.sheet_id) if entry.sheet_id else None
        if entry.sheet_id and (sheet is None or sheet.character_id != character.pk):
            raise ValidationError(f"That sheet does not belong to {character.name}.")
        members.append(
            CastMember(
                panel=panel,
                character=character,
                sheet=sheet,
                placement=entry.placement[:120],
                expression=entry.expression[:200],
                order=order,
            )
        )
    with transaction.atomic():
        panel.cast.all().delete()
        CastMember.objects.bulk_create(members)
    return members


def panel_save(
    *,
    panel: Panel,
    location: Location | None,
    cast: list[CastEntry],
    version: int | None = None,
    **fields,
) -> Panel:
    """Save the panel editor: fields, location and cast together, or nothing at all.

    The cast is part of the versioned panel: a stale save (StaleEdit) leaves it as is.
    """
    with transaction.atomic():
        panel_update(panel=panel, version=version, location=location, **fields)
        panel_set_cast(panel=panel, entries=cast)
    return panel


def take_select(*, panel: Panel, take: Take) -> Panel:
    """Make `take` the panel's selected take."""
    if take.panel_id != panel.pk:
        raise ValidationError("That take belongs to another panel.")
    Panel.objects.filter(pk=panel.pk).update(selected_take=take)
    panel.selected_take = take
    _review_take_selected(panel, take)
    return panel


def _review_take_selected(panel: Panel, take: Take) -> None:
    # An approval was for the take people saw: a new one goes back to review.
    from reviews.services import review_take_selected

    review_take_selected(panel_id=panel.pk, take_id=take.pk)


def take_upload(*, panel: Panel, file: IO[bytes], name: str, user=None) -> Take:
    """Store a hand-made image as a take and select it."""
    try:
        image = process_upload(file)
    except ImageRejected as exc:
        raise ValidationError(f"“{safe_display_name(name)}” {exc.reason}") from None
    take = Take(panel=panel, kind=Take.Kind.UPLOADED, created_by=user)
    fill_stored_image(
        take,
        image,
        project_id=panel.board.project_id,
        folder="takes",
        original_name=safe_display_name(name),
    )
    with transaction.atomic():
        take.save()
        Panel.objects.filter(pk=panel.pk).update(selected_take=take)
        _review_take_selected(panel, take)
    panel.selected_take = take
    return take
