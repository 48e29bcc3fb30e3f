"""Writes for projects and memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from studio.models import Membership, Project


def project_create(*, user, name: str, description: str = "") -> Project:
    """Create a project with the user as its owner."""
    with transaction.atomic():
        project = Project.objects.create(name=name.strip(), description=description)
        Membership.objects.create(project=project, user=user, role=Membership.Role.OWNER)
    return project


def membership_add(*, project: Project, identifier: str, role: str) -> Membership:
    """Add an existing user, found by username or email, to the project."""
    identifier = identifier.strip()
    User = get_user_model()
    users = list(
        User.objects.filter(Q(username__iexact=identifier) | Q(email__iexact=identifier))[:2]
    )
    if not identifier or not users:
        raise ValidationError(f"No user with the username or email “{identifier}”.")
    if len(users) > 1:
        raise ValidationError(f"“{identifier}” matches several users; use the username.")
    user = users[0]
    if Membership.objects.filter(project=project, user=user).exists():
        raise ValidationError(f"{user.username} is already a member of this project.")
    return Membership.objects.create(project=project, user=user, role=Membership.Role(role))


def _lock_owners(project_id: int) -> list[Membership]:
    """Lock every owner row of the project, always in id order.

    Two owners changing each other's roles at once then queue behind one
    another instead of each locking one row and deadlocking on the other;
    the second sees what the first committed.
    """
    return list(
        Membership.objects.select_for_update()
        .filter(project_id=project_id, role=Membership.Role.OWNER)
        .order_by("pk")
    )


def _ensure_an_owner_remains(membership: Membership) -> None:
    """Refuse, under the owners' lock, a change that would leave the project without one."""
    owners = _lock_owners(membership.project_id)
    is_owner = any(o.pk == membership.pk for o in owners)
    if is_owner and len(owners) == 1:
        raise ValidationError("A project needs at least one owner: make someone else owner first.")


def membership_change_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last owner cannot step down."""
    role = Membership.Role(role)
    with transaction.atomic():
        if role != Membership.Role.OWNER:
            _ensure_an_owner_remains(membership)
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member (or leave); the last owner cannot."""
    with transaction.atomic():
        _ensure_an_owner_remains(membership)
        membership.delete()
