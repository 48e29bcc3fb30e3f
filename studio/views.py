"""Project, membership and media views. Every object comes through studio.access."""

from __future__ import annotations

import logging
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards.selectors import boards_for_project
from characters.selectors import characters_with_thumbnails, locations_with_thumbnails
from studio import services
from studio.access import Need, invitation_for, membership_for, membership_row_for, project_for
from studio.conditional import conditional_stored_file
from studio.forms import InviteForm, MemberRoleForm, ProjectForm, ProjectSettingsForm
from studio.selectors import project_invitations, project_members, projects_for_user
from studio.storage import StorageUnavailable, open_stored
from workers.selectors import project_spend

log = logging.getLogger(__name__)


@login_required
@require_GET
def project_list(request):
    projects = list(projects_for_user(request.user))
    return render(request, "studio/project_list.html", {"projects": projects})


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        project = services.project_create(user=request.user, **form.cleaned_data)
        messages.success(request, f"Project “{project.name}” created. Start with your cast.")
        return redirect("project_detail", pk=project.pk)
    return render(request, "studio/project_form.html", {"form": form})


@login_required
@require_GET
def project_detail(request, pk):
    access = project_for(request.user, pk)
    project = access.obj
    context = {
        "project": project,
        "access": access,
        "boards": list(boards_for_project(project)),
        "characters": list(characters_with_thumbnails(project)),
        "locations": list(locations_with_thumbnails(project)),
        "style_images": list(project.style_images.order_by("id")[:6]),
        "members": list(project_members(project)),
        "spend": project_spend(project),
    }
    return render(request, "studio/project_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request, pk):
    access = project_for(request.user, pk, Need.MANAGE)
    form = ProjectSettingsForm(request.POST or None, instance=access.obj)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Project settings saved.")
        return redirect("project_detail", pk=access.obj.pk)
    return render(
        request,
        "studio/project_settings.html",
        {"project": access.obj, "form": form, "access": access},
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_members_page(request, pk):
    access = project_for(request.user, pk)
    project = access.obj
    form = InviteForm(request.POST or None)
    if request.method == "POST":
        membership_for(request.user, project.pk, Need.MANAGE)
        if form.is_valid():
            try:
                invitation = services.invitation_create(
                    project=project,
                    identifier=form.cleaned_data["identifier"],
                    role=form.cleaned_data["role"],
                    invited_by=request.user,
                )
            except ValidationError as exc:
                form.add_error("identifier", exc)
            else:
                # The same words whether or not an account matched.
                messages.success(
                    request,
                    f"Invitation sent to “{invitation.identifier}”. They join as "
                    f"{invitation.get_role_display().lower()} once they accept.",
                )
                return redirect("project_members", pk=project.pk)
    context = {
        "project": project,
        "access": access,
        "members": list(project_members(project)),
        "invitations": list(project_invitations(project)) if access.can_manage else [],
        "form": form,
        "roles": MemberRoleForm.base_fields["role"].choices,
        "now": timezone.now(),
    }
    return render(request, "studio/members.html", context)


@login_required
@require_POST
def invitation_resend(request, pk):
    access = invitation_for(request.user, pk, Need.MANAGE)
    try:
        services.invitation_resend(invitation=access.obj, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Invitation sent again to “{access.obj.identifier}”.")
    return redirect("project_members", pk=access.obj.project_id)


@login_required
@require_POST
def invitation_withdraw(request, pk):
    access = invitation_for(request.user, pk, Need.MANAGE)
    if services.invitation_withdraw(invitation=access.obj):
        messages.success(request, f"Invitation to “{access.obj.identifier}” withdrawn.")
    return redirect("project_members", pk=access.obj.project_id)


@login_required
@require_POST
def membership_role(request, pk):
    access = membership_row_for(request.user, pk, Need.MANAGE)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(membership=access.obj, role=form.cleaned_data["role"])
            messages.success(
                request,
                f"{access.obj.user.username} is now {access.obj.get_role_display().lower()}.",
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Pick one of the roles.")
    return redirect("project_members", pk=access.obj.project_id)


@login_required
@require_POST
def membership_remove(request, pk):
    # Anyone may leave; removing someone else takes an owner.
    access = membership_row_for(request.user, pk, Need.READ)
    leaving = access.obj.user_id == request.user.pk
    if not leaving:
        membership_for(request.user, access.obj.project_id, Need.MANAGE)
    try:
        services.membership_remove(membership=access.obj)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("project_members", pk=access.obj.project_id)
    if leaving:
        messages.success(request, f"You left “{access.project.name}”.")
        return redirect("project_list")
    messages.success(request, f"{access.obj.user.username} was removed.")
    return redirect("project_members", pk=access.obj.project_id)


_SERVED_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".pdf": "application/pdf",
    ".zip": "application/zip",
    ".mp4": "video/mp4",
    ".srt": "application/x-subrip",
}
# Downloads rather than pages: the browser saves these under the name asked for.
_ATTACHMENT_TYPES = ("application/pdf", "application/zip", "video/mp4", "application/x-subrip")


@login_required
@require_GET
@conditional_stored_file
def media(request, name):
    """Serve a stored file to members of the project that owns it.

    A bucket that does not answer gives a 503 with a message, never a 500.
    Everything a project owns is stored under `projects/<id>/`, so the
    path alone says whose it is; the name is random, so guessing is no way in.
    """
    path = PurePosixPath(name)
    parts = path.parts
    # ASCII digits only: "²".isdigit() is true, and int() refuses it.
    if len(parts) < 3 or parts[0] != "projects" or ".." in parts or not _ascii_digits(parts[1]):
        raise Http404
    membership_for(request.user, int(parts[1]), Need.READ)
    content_type = _SERVED_TYPES.get(path.suffix.lower())
    if content_type is None:
        raise Http404
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    if content_type in _ATTACHMENT_TYPES:
        headers["Content-Disposition"] = _attachment(
            request.GET.get("as") or path.name, path.suffix
        )
    try:
        return _deliver(name, content_type, headers)
    except FileNotFoundError:
        raise Http404 from None
    except StorageUnavailable:
        log.warning("media %s: the file store did not answer", name, exc_info=True)
        return HttpResponse(
            "The file store is not answering just now. Try again in a minute; "
            "if it lasts, tell the person who runs the studio.",
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": "30", "Cache-Control": "no-store"},
        )


def _deliver(name: str, content_type: str, headers: dict[str, str]) -> HttpResponseBase:
    """Hand over a stored file the way the operator chose (settings, STUDIO_MEDIA_*)."""
    if settings.STUDIO_MEDIA_DELIVERY == "presigned":
        params = {"ResponseContentType": content_type, "ResponseCacheControl": "private"}
        if "Content-Disposition" in headers:
            params["ResponseContentDisposition"] = headers["Content-Disposition"]
        # Signed locally: no request to the bucket, and no HEAD to check the name,
        # which is random and was found through a row anyway.
        link = default_storage.presigned_url(  # type: ignore[attr-defined]
            name, parameters=params, expire=settings.STUDIO_PRESIGNED_TTL_S
        )
        # The link expires: a browser must come back here for a fresh one.
        return HttpResponseRedirect(link, headers={"Cache-Control": "private, no-store"})
    if settings.STUDIO_MEDIA_ACCEL:
        if not default_storage.exists(name):
            raise FileNotFoundError(name)
        handed = HttpResponse(content_type=content_type, headers=headers)
        if settings.STUDIO_MEDIA_ACCEL == "nginx":
            prefix = settings.STUDIO_MEDIA_ACCEL_PREFIX.rstrip("/")
            handed["X-Accel-Redirect"] = f"{prefix}/{name}"
        else:
            handed["X-Sendfile"] = default_storage.path(name)
        return handed
    stream = open_stored(name)
    streamed = FileResponse(stream, content_type=content_type, headers=headers)
    if stream.size is not None:
        streamed["Content-Length"] = str(stream.size)
    return streamed


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _attachment(filename: str, suffix: str) -> str:
    """A safe attachment header: letters (any script), digits, dashes, our own suffix.

    A name beyond ASCII goes out as RFC 6266 filename*, so "灯台" stays "灯台".
    """
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in PurePosixPath(filename).stem)
    stem = stem.strip("-")[:80] or "castboard"
    header = content_disposition_header(True, f"{stem}{suffix.lower()}")
    return header or "attachment"
