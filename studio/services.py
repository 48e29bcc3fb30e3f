"""Writes for projects, memberships, invitations and accounts."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from studio.mail import mail_send
from studio.models import Invitation, Membership, Project


def project_create(*, user, name: str, description: str = "") -> Project:
    """Create a project with the user as its owner."""
    with transaction.atomic():
        project = Project.objects.create(name=name.strip(), description=description)
        Membership.objects.create(project=project, user=user, role=Membership.Role.OWNER)
    return project


def invitation_create(*, project: Project, identifier: str, role: str, invited_by) -> Invitation:
    """Invite someone, by username or email, to join the project with a role.

    The answer is the same whether an account matches or not: a link goes by
    email to the address typed (or to the account's address for a username)
    and into the account's in-app list when there is one, and nothing about
    the match is ever shown to the project. Inviting the same name again
    sends the pending invitation again.
    """
    identifier = identifier.strip()
    if not identifier:
        raise ValidationError("Type a username or an email address.")
    is_email = "@" in identifier
    if is_email:
        try:
            validate_email(identifier)
        except ValidationError:
            raise ValidationError(
                f"“{identifier}” is not an email address: check it, or type a username."
            ) from None
    role = Membership.Role(role)
    _refuse_past_daily_limit(invited_by)
    pending = Invitation.objects.filter(
        project=project, identifier__iexact=identifier, state=Invitation.State.PENDING
    ).first()
    if pending is not None:
        Invitation.objects.filter(pk=pending.pk).update(role=role)
        pending.role = role
        return invitation_resend(invitation=pending, by=invited_by)
    User = get_user_model()
    if is_email:
        # With open sign-up anyone can type any address into an account, so an
        # address proves nothing: only the mailed link decides who accepts.
        matches = (
            []
            if settings.STUDIO_SIGNUP
            else list(User.objects.filter(email__iexact=identifier, is_active=True)[:2])
        )
        # Two accounts share the address: the link decides who accepts.
        user = matches[0] if len(matches) == 1 else None
        email = identifier
    else:
        user = User.objects.filter(username__iexact=identifier, is_active=True).first()
        email = user.email if user else ""
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        invitation = Invitation.objects.create(
            project=project,
            identifier=identifier,
            email=email,
            user=user,
            role=role,
            invited_by=invited_by,
            token_hash=invitation_token_hash(token),
            sent=now,
            expires=now + timedelta(days=settings.STUDIO_INVITATION_DAYS),
        )
        _invitation_deliver(invitation, token)
    return invitation


# Each invitation mails someone who did not ask for it: one person's
# invitations (and re-sends) per day are capped so the studio is no spam relay.
INVITATIONS_PER_DAY = 50


def _refuse_past_daily_limit(invited_by) -> None:
    since = timezone.now() - timedelta(days=1)
    if (
        Invitation.objects.filter(invited_by=invited_by, sent__gte=since).count()
        >= INVITATIONS_PER_DAY
    ):
        raise ValidationError(
            f"You sent {INVITATIONS_PER_DAY} invitations in the last day, the most the studio "
            "sends for one person. Try again tomorrow, or ask your operator to add accounts."
        )


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_resend(*, invitation: Invitation, by) -> Invitation:
    """Send a pending (or expired) invitation again, from `by`, with a new link and expiry.

    The old link stops working, so a forwarded or leaked one can be retired.
    """
    _refuse_past_daily_limit(by)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        changed = Invitation.objects.filter(
            pk=invitation.pk, state=Invitation.State.PENDING
        ).update(
            token_hash=invitation_token_hash(token),
            invited_by=by,
            sent=now,
            expires=now + timedelta(days=settings.STUDIO_INVITATION_DAYS),
        )
        if not changed:
            raise ValidationError("This invitation was already answered or withdrawn.")
        invitation.refresh_from_db()
        _invitation_deliver(invitation, token)
    return invitation


def _invitation_deliver(invitation: Invitation, token: str) -> None:
    from studio.notifications import absolute, inbox_add

    inviter = invitation.invited_by.get_username() if invitation.invited_by else "Someone"
    project = invitation.project
    text = f"{inviter} invited you to “{project.name}” as {invitation.get_role_display().lower()}."
    if invitation.user is not None:
        # Their own mail below says it all; the inbox line must not mail again.
        inbox_add(
            people=[invitation.user],
            kind="invitation",
            project=None,
            text=text,
            url=reverse("invitations"),
            email=False,
        )
    if invitation.email:
        context = {
            "invitation": invitation,
            "inviter": inviter,
            "project": project,
            "link": absolute(reverse("invitation_open", args=[token])),
            "days": settings.STUDIO_INVITATION_DAYS,
        }
        mail_send(
            to=[invitation.email],
            subject=f"{inviter} invited you to {project.name} on Castboard",
            body=render_to_string("studio/email/invitation.txt", context),
        )


def invitation_withdraw(*, invitation: Invitation) -> bool:
    """Withdraw a pending invitation (its link and in-app entry stop working) or clear a declined one."""
    with transaction.atomic():
        changed = Invitation.objects.filter(
            pk=invitation.pk, state__in=[Invitation.State.PENDING, Invitation.State.DECLINED]
        ).update(state=Invitation.State.WITHDRAWN, answered=timezone.now())
        if changed and invitation.user_id:
            _invitation_notes_read(invitation.user_id)
    return bool(changed)


def _invitation_notes_read(user_id: int) -> None:
    from studio.notifications import notifications_mark_read_where

    notifications_mark_read_where(user_id=user_id, kind="invitation")


def invitation_open(token: str) -> Invitation | None:
    """The pending, unexpired invitation a link's token belongs to, or None."""
    if not token or len(token) > 100:
        return None
    return (
        Invitation.objects.select_related("project", "invited_by", "user")
        .filter(
            token_hash=invitation_token_hash(token),
            state=Invitation.State.PENDING,
            expires__gt=timezone.now(),
        )
        .first()
    )


def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Join the project with the invited role (a member already keeps the role they have)."""
    from studio.notifications import notify

    with transaction.atomic():
        changed = Invitation.objects.filter(
            pk=invitation.pk, state=Invitation.State.PENDING, expires__gt=timezone.now()
        ).update(state=Invitation.State.ACCEPTED, answered=timezone.now(), user=user)
        if not changed:
            raise ValidationError(
                "This invitation is no longer valid: it was withdrawn, answered or has "
                "expired. Ask the project's owner to invite you again."
            )
        membership, _ = Membership.objects.get_or_create(
            project=invitation.project, user=user, defaults={"role": invitation.role}
        )
        _invitation_notes_read(user.pk)
        if invitation.invited_by_id:
            notify(
                recipients=[invitation.invited_by_id],
                kind="invitation_accepted",
                project=invitation.project,
                text=f"{user.get_username()} accepted your invitation to “{invitation.project.name}”.",
                url=reverse("project_members", args=[invitation.project_id]),
                actor=user,
            )
    return membership


def invitation_decline(*, invitation: Invitation, user) -> bool:
    """Say no to an invitation; the project learns only that it was declined."""
    with transaction.atomic():
        changed = Invitation.objects.filter(
            pk=invitation.pk, state=Invitation.State.PENDING
        ).update(state=Invitation.State.DECLINED, answered=timezone.now())
        _invitation_notes_read(user.pk)
    return bool(changed)


def user_create(*, username: str, email: str, password: str, first_name: str = ""):
    """Create an active person with a usable password (sign-up and accepted invitations)."""
    User = get_user_model()
    user = User(username=username, email=email, first_name=first_name)
    user.set_password(password)
    user.save()
    return user


def user_create_from_invitation(
    *, invitation: Invitation, username: str, first_name: str, password: str
) -> tuple[Any, Membership]:
    """Create the invitee's account with the invited address and let them in."""
    with transaction.atomic():
        user = user_create(
            username=username, email=invitation.email, password=password, first_name=first_name
        )
        membership = invitation_accept(invitation=invitation, user=user)
    return user, membership


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
