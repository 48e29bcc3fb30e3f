"""Reads for project pages."""

from __future__ import annotations

from django.db.models import Count, OuterRef, QuerySet, Subquery

from studio.models import Membership, Project


def projects_for_user(user) -> QuerySet[Project]:
    """The user's projects with their role and board count, for the project list."""
    role = Membership.objects.filter(project=OuterRef("pk"), user=user).values("role")[:1]
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(my_role=Subquery(role), board_count=Count("boards", distinct=True))
        .order_by("name", "id")
    )


def project_members(project: Project) -> QuerySet[Membership]:
    """Members with their user rows, owners first."""
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("role", "user__username")
    )
