"""Pages of the person rather than of a project: invitations, inbox, account, sign-up.

Each row here belongs to the logged-in person and is fetched with them in
the filter, so another person's row answers 404, like a row that does not exist.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studio import notifications, services
from studio.forms import AccountCreateForm, NotifySettingsForm, SignupForm
from studio.models import Invitation, Membership, Notification

_BACKEND = "studio.throttle.ThrottledModelBackend"


# --- invitations --------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def invitation_open(request, token):
    """The link from the invitation mail: accept, decline, or create an account first."""
    invitation = services.invitation_open(token)
    if invitation is None:
        return render(request, "studio/invitation_gone.html", status=404)
    user = request.user
    wrong_account = (
        user.is_authenticated and invitation.user_id is not None and invitation.user_id != user.pk
    )
    needs_login = not user.is_authenticated and invitation.user_id is not None
    form = None
    if not user.is_authenticated and invitation.user_id is None:
        form = AccountCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and not wrong_account and not needs_login:
        if request.POST.get("answer") == "decline" and user.is_authenticated:
            services.invitation_decline(invitation=invitation, user=user)
            messages.info(request, f"You declined the invitation to “{invitation.project.name}”.")
            return redirect("project_list")
        try:
            if form is not None:
                if form.is_valid():
                    user, membership = services.user_create_from_invitation(
                        invitation=invitation,
                        username=form.cleaned_data["username"],
                        first_name=form.cleaned_data["first_name"],
                        password=form.cleaned_data["password1"],
                    )
                    login(request, user, backend=_BACKEND)
                    return _welcome(request, invitation, membership)
            else:
                membership = services.invitation_accept(invitation=invitation, user=user)
                return _welcome(request, invitation, membership)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("project_list" if user.is_authenticated else "login")
    context = {
        "invitation": invitation,
        "form": form,
        "wrong_account": wrong_account,
        "needs_login": needs_login,
        "login_url": f"{reverse('login')}?next={request.path}",
    }
    return render(request, "studio/invitation_open.html", context)


def _welcome(request, invitation: Invitation, membership: Membership):
    # A member who accepts another invitation keeps the role they had.
    role = membership.get_role_display().lower()
    article = "an" if role[0] in "aeiou" else "a"
    messages.success(
        request, f"Welcome to “{invitation.project.name}”: you are {article} {role} here."
    )
    return redirect("project_detail", pk=invitation.project_id)


def _my_pending(request, pk) -> Invitation:
    return get_object_or_404(
        Invitation.objects.select_related("project"),
        pk=pk,
        user=request.user,
        state=Invitation.State.PENDING,
        expires__gt=timezone.now(),
    )


@login_required
@require_GET
def invitations(request):
    """Invitations waiting for the logged-in person."""
    pending = (
        Invitation.objects.filter(
            user=request.user, state=Invitation.State.PENDING, expires__gt=timezone.now()
        )
        .select_related("project", "invited_by")
        .order_by("-sent")
    )
    return render(request, "studio/invitations.html", {"invitations": list(pending)})


@login_required
@require_POST
def invitation_accept(request, pk):
    invitation = _my_pending(request, pk)
    try:
        membership = services.invitation_accept(invitation=invitation, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("invitations")
    return _welcome(request, invitation, membership)


@login_required
@require_POST
def invitation_decline(request, pk):
    invitation = _my_pending(request, pk)
    services.invitation_decline(invitation=invitation, user=request.user)
    messages.info(request, f"You declined the invitation to “{invitation.project.name}”.")
    return redirect("invitations")


# --- inbox --------------------------------------------------------------------------


@login_required
@require_GET
def inbox(request):
    # The count in the top bar is kept on the user row; the inbox page is
    # where it is put right if rows went away with a deleted project.
    notifications.unread_count_refresh(user=request.user)
    context = {"notifications": notifications.inbox_for(request.user)}
    return render(request, "studio/inbox.html", context)


@login_required
@require_GET
def notification_open(request, pk):
    """Follow a notification to its spot, marking it read on the way."""
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.notification_mark_read(notification=note)
    if not url_has_allowed_host_and_scheme(note.url, allowed_hosts=None):
        return redirect("inbox")
    return redirect(note.url)


@login_required
@require_POST
def notification_read(request, pk):
    note = get_object_or_404(Notification, pk=pk, recipient=request.user)
    notifications.notification_mark_read(notification=note)
    return redirect("inbox")


@login_required
@require_POST
def notifications_read_all(request):
    changed = notifications.notifications_mark_all_read(user=request.user)
    if changed:
        messages.success(
            request, f"Marked {changed} notification{'s' if changed != 1 else ''} read."
        )
    return redirect("inbox")


# --- the person's own settings ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    form = NotifySettingsForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        notifications.user_set_notify_email(
            user=request.user, mode=form.cleaned_data["notify_email"]
        )
        messages.success(request, "Saved: " + request.user.get_notify_email_display().lower())
        return redirect("account")
    return render(request, "studio/account.html", {"form": form})


@csrf_exempt  # mail programs POST here without a form; the signed token is the authority
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """Turn notification email off from the link in a mail, without logging in.

    GET asks with one button (link checkers in mail systems open every link,
    and must not unsubscribe anyone); mail programs' own button POSTs here
    directly (RFC 8058).
    """
    person = notifications.unsubscribe_user(token)
    if person is None:
        raise Http404
    done = False
    if request.method == "POST":
        notifications.user_set_notify_email(user=person, mode=person.NotifyEmail.OFF)
        done = True
    return render(request, "studio/unsubscribe.html", {"person": person, "done": done})


@require_http_methods(["GET", "POST"])
def signup(request):
    """Open sign-up, only when the operator turned it on (STUDIO_SIGNUP)."""
    if not settings.STUDIO_SIGNUP:
        raise Http404
    if request.user.is_authenticated:
        return redirect("project_list")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.user_create(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password1"],
            first_name=form.cleaned_data["first_name"],
        )
        login(request, user, backend=_BACKEND)
        messages.success(request, "Welcome to Castboard. Start with a project of your own.")
        return redirect("project_list")
    return render(request, "registration/signup.html", {"form": form})
