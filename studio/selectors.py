"""Reads for project pages."""

from __future__ import annotations

from django.db.models import Case, Count, IntegerField, OuterRef, QuerySet, Subquery, Value, When

from studio.models import Invitation, Membership, Project


def projects_for_user(user) -> QuerySet[Project]:
    """The user's projects with their role and board count, for the project list."""
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(my_role=Subquery(role), board_count=Count("boards", distinct=True))
        .order_by("name", "id")
    )


def project_members(project: Project) -> QuerySet[Membership]:
    """Members with their user rows, owners first, then by how much they may do."""
    rank = Case(
        *(When(role=role, then=Value(i)) for i, role in enumerate(Membership.Role.values)),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by(rank, "user__username")
    )


def project_invitations(project: Project) -> QuerySet[Invitation]:
    """Invitations not accepted or withdrawn (pending, expired or declined), newest first.

    Only what the owner typed is shown from these rows: never the account or
    address an identifier matched.
    """
    return (
        Invitation.objects.filter(
            project=project, state__in=[Invitation.State.PENDING, Invitation.State.DECLINED]
        )
        .select_related("invited_by")
        .order_by("-sent", "-id")
    )
