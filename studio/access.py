"""The one way any view reaches a row: through the project membership of the user.

Every helper returns the object with the caller's membership, raises Http404
when the user is not a member (the same answer as "does not exist") and
PermissionDenied (403) when the member's role is too low for the need.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from typing import Any, Generic, TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404

from studio.models import Membership, Project
from studio.prepared import PreparedRows, fields_of, instance_from


class Need(IntEnum):
    READ = 0  # look, download, comment
    REVIEW = 1  # set approval status; no change to content
    WRITE = 2
    MANAGE = 3


_LEVEL = {
    Membership.Role.VIEWER: Need.READ,
    Membership.Role.REVIEWER: Need.REVIEW,
    Membership.Role.EDITOR: Need.WRITE,
    Membership.Role.OWNER: Need.MANAGE,
}

T = TypeVar("T", bound=Model)


@dataclass(frozen=True)
class Access(Generic[T]):
    obj: T
    membership: Membership

    @property
    def project(self) -> Project:
        return self.membership.project

    @property
    def can_edit(self) -> bool:
        return self.membership.can_edit

    @property
    def can_review(self) -> bool:
        return self.membership.can_review

    @property
    def can_manage(self) -> bool:
        return self.membership.can_manage


# Every request of a member goes through these two reads: compiled once (studio.prepared).
_MEMBERSHIP_FIELDS = fields_of(Membership)
_MEMBERSHIP = PreparedRows(
    Membership,
    lambda project_id, user_id: (
        Membership.objects.filter(project_id=project_id, user_id=user_id)
        .order_by("pk")
        .values_list(*_MEMBERSHIP_FIELDS, *(f"project__{name}" for name in fields_of(Project)))[:1]
    ),
    arity=2,
)


def membership_for(user, project_id: int, need: Need = Need.READ) -> Membership:
    """The user's membership in the project (its project loaded with it), or 404 / 403."""
    if not user.is_authenticated:
        raise Http404
    rows = _MEMBERSHIP.rows(project_id, user.pk)
    if not rows:
        raise Http404
    split = len(_MEMBERSHIP_FIELDS)
    membership = instance_from(Membership, rows[0][:split])
    membership.project = instance_from(Project, rows[0][split:])  # as select_related would
    if _LEVEL[Membership.Role(membership.role)] < need:
        raise PermissionDenied("Your role in this project does not allow this.")
    return membership


def scoped(queryset: QuerySet[T], pk, project_field: str, user, need: Need) -> Access[T]:
    """The row `pk` of the queryset with the user's membership of its project, or 404 / 403.

    `project_field` leads from the row to its project's id ("board__project_id").
    """
    obj = queryset.filter(pk=_int_or_404(pk)).first()
    if obj is None:
        raise Http404
    # Follows e.g. "board__project_id" from the row to its project's id.
    project_id: Any = obj
    for part in project_field.split("__"):
        project_id = getattr(project_id, part)
    return Access(obj, membership_for(user, project_id, need))


def project_for(user, pk, need: Need = Need.READ) -> Access[Project]:
    membership = membership_for(user, _int_or_404(pk), need)
    return Access(membership.project, membership)


def _int_or_404(pk) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise Http404 from None


def character_for(user, pk, need: Need = Need.READ):
    from characters.models import Character

    return scoped(Character.objects.all(), pk, "project_id", user, need)


def sheet_for(user, pk, need: Need = Need.READ):
    from characters.models import ReferenceSheet

    qs = ReferenceSheet.objects.select_related("character")
    return scoped(qs, pk, "character__project_id", user, need)


def reference_image_for(user, pk, need: Need = Need.READ):
    from characters.models import ReferenceImage

    qs = ReferenceImage.objects.select_related("sheet__character")
    return scoped(qs, pk, "sheet__character__project_id", user, need)


def location_for(user, pk, need: Need = Need.READ):
    from characters.models import Location

    return scoped(Location.objects.all(), pk, "project_id", user, need)


def location_image_for(user, pk, need: Need = Need.READ):
    from characters.models import LocationImage

    qs = LocationImage.objects.select_related("location")
    return scoped(qs, pk, "location__project_id", user, need)


def style_image_for(user, pk, need: Need = Need.READ):
    from characters.models import StyleImage

    return scoped(StyleImage.objects.all(), pk, "project_id", user, need)


def board_for(user, pk, need: Need = Need.READ):
    from boards.models import Board

    rows = _board_rows().rows(_int_or_404(pk))
    if not rows:
        raise Http404
    board = instance_from(Board, rows[0])
    return Access(board, membership_for(user, board.project_id, need))


@cache
def _board_rows() -> PreparedRows:
    """A board by id, compiled once (built on first use: boards' models import this module)."""
    from boards.models import Board

    return PreparedRows(
        Board, lambda pk: Board.objects.filter(pk=pk).values_list(*fields_of(Board))
    )


def panel_for(user, pk, need: Need = Need.READ):
    from boards.models import Panel

    return scoped(Panel.objects.select_related("board"), pk, "board__project_id", user, need)


def take_for(user, pk, need: Need = Need.READ):
    from boards.models import Take

    qs = Take.objects.select_related("panel__board")
    return scoped(qs, pk, "panel__board__project_id", user, need)


def membership_row_for(user, pk, need: Need = Need.MANAGE):
    """A membership row of a project the user may manage (member management pages)."""
    return scoped(Membership.objects.select_related("user"), pk, "project_id", user, need)


def invitation_for(user, pk, need: Need = Need.MANAGE):
    """An invitation of a project the user may manage (re-send, withdraw)."""
    from studio.models import Invitation

    qs = Invitation.objects.select_related("project", "invited_by")
    return scoped(qs, pk, "project_id", user, need)


def job_for(user, pk, need: Need = Need.READ):
    from workers.models import GenerationJob

    return scoped(GenerationJob.objects.select_related("panel"), pk, "project_id", user, need)


def export_for(user, pk, need: Need = Need.READ):
    from boards.models import Export

    qs = Export.objects.select_related("board__project", "requested_by")
    return scoped(qs, pk, "board__project_id", user, need)
