"""Character bible pages: characters and their sheets, locations, the project style.

Every object comes through studio.access (outsiders 404, viewers 403 on
writes); writes go through characters.services.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import TooManyFilesSent, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from characters import selectors, services
from characters.forms import (
    CharacterForm,
    LocationForm,
    ReferenceImageForm,
    SheetForm,
    StyleForm,
    upload_items,
)
from characters.models import Character, Location, ReferenceImage, ReferenceSheet
from characters.services import UploadItem, UploadReport
from studio import edits
from studio.access import (
    Need,
    character_for,
    location_for,
    location_image_for,
    project_for,
    reference_image_for,
    sheet_for,
    style_image_for,
)
from studio.images import upload_limits
from studio.models import Project

# --- uploads (shared by sheets, locations and style) --------------------------------


class UploadRefused(Exception):
    """The request as a whole cannot be taken (no files, too many files)."""


def _read_upload(request: HttpRequest, *, with_views: bool) -> list[UploadItem]:
    max_files = settings.STUDIO_UPLOAD_MAX_FILES
    too_many = (
        f"Upload at most {max_files} {_plural(max_files, 'image')} at a time; "
        "send the rest in another upload."
    )
    try:
        files = request.FILES.getlist("images")
    except TooManyFilesSent:
        # Django stops parsing past DATA_UPLOAD_MAX_NUMBER_FILES; nothing was read, nothing kept.
        raise UploadRefused(too_many) from None
    # An empty file input still sends one nameless part.
    files = [f for f in files if f.name]
    if not files:
        raise UploadRefused("Choose at least one image (JPEG, PNG or WebP) to upload.")
    if len(files) > max_files:
        raise UploadRefused(too_many)
    return upload_items(files, request.POST, with_views=with_views)


def _report_messages(request: HttpRequest, report: UploadReport) -> None:
    # The flash is the summary; the page lists each refused file beside the drop zone.
    saved, refused = len(report.saved), len(report.rejected)
    if saved:
        messages.success(request, f"{saved} {_plural(saved, 'image')} uploaded.")
    if refused == 1:
        messages.error(request, f"Not uploaded: {report.messages[0]}")
    elif refused:
        messages.error(request, f"{refused} files were not uploaded; the list below says why.")


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else f"{noun}s"


# A partly refused upload is shown on the page the person comes back to, after a
# redirect: the address bar never stays on /upload/, so reloading re-sends nothing.
_REPORT_KEY = "upload_report"


def _upload_context(request: HttpRequest) -> dict:
    return {
        "upload_report": request.session.pop(_REPORT_KEY, None),
        "upload_max_files": settings.STUDIO_UPLOAD_MAX_FILES,
        "upload_limits": upload_limits(),
        "view_choices": ReferenceImage.View.choices,
    }


def _upload_outcome(request, report: UploadReport, back: str) -> HttpResponse:
    """Flash the summary, keep the refused files' reasons for the page, and go back to it."""
    _report_messages(request, report)
    if report.rejected:
        request.session[_REPORT_KEY] = {"saved": len(report.saved), "rejected": report.rejected}
    return redirect(back)


def _refused(request, message: str, back: str) -> HttpResponse:
    messages.error(request, message)
    return redirect(back)


# --- characters -------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def character_create(request, project_id):
    access = project_for(request.user, project_id, Need.WRITE)
    form = CharacterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            character = services.character_create(project=access.obj, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(
                request,
                f"“{character.name}” created. Upload reference images to the Default sheet.",
            )
            return redirect("character_detail", pk=character.pk)
    context = {"form": form, "project": access.obj, "access": access, "character": None}
    status = 400 if form.errors else 200
    return render(request, "characters/character_form.html", context, status=status)


def _character_page(request, character_id: int, *, sheet_id=None):
    access = character_for(request.user, character_id)
    character = selectors.character_detail(access.obj.pk)
    sheets = list(character.sheets.all())
    chosen = next((s for s in sheets if str(s.pk) == str(sheet_id)), None)
    current = chosen or (sheets[0] if sheets else None)
    context = {
        "character": character,
        "project": access.project,
        "access": access,
        "sheets": sheets,
        "sheet": current,
        **_upload_context(request),
    }
    return render(request, "characters/character_detail.html", context)


def _sheet_url(sheet) -> str:
    return f"{reverse('character_detail', kwargs={'pk': sheet.character_id})}?sheet={sheet.pk}"


@login_required
@require_GET
def character_detail(request, pk):
    return _character_page(request, pk, sheet_id=request.GET.get("sheet"))


@login_required
@require_http_methods(["GET", "POST"])
def character_edit(request, pk):
    access = character_for(request.user, pk, Need.WRITE)
    character = access.obj
    form = CharacterForm(request.POST or None, initial=_character_state(character).values)
    form.opened_on(_character_state(character))
    if request.method == "POST" and form.is_valid():

        def save(values, base):
            version = edits.version_of(base)
            services.character_update(character=character, version=version, **values)

        back = reverse("character_detail", kwargs={"pk": character.pk})
        try:
            merge = edits.save_or_merge(
                request,
                form,
                load=lambda: _character_state(Character.objects.get(pk=character.pk)),
                save=save,
                page=_merge_page(request, f"“{character.name}”", "character", back),
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            if merge:
                return merge
            messages.success(request, f"“{character.name}” saved.")
            return redirect("character_detail", pk=character.pk)
    context = {"form": form, "project": access.project, "access": access, "character": character}
    status = 400 if form.errors else 200
    return render(request, "characters/character_form.html", context, status=status)


def _character_state(character: Character) -> edits.State:
    values = {
        "name": character.name,
        "appearance": character.appearance,
        "notes": character.notes,
        "aliases": character.aliases,
    }
    return edits.State(character.version, values)


def _merge_page(request, what: str, noun: str, back: str) -> dict:
    """The merge page's context: what was saved meanwhile and where "discard" leads."""
    return {"what": what, "noun": noun, "action": request.path, "back": back}


@login_required
@require_POST
def character_delete(request, pk):
    access = character_for(request.user, pk, Need.WRITE)
    name = access.obj.name
    services.character_delete(character=access.obj)
    messages.success(request, f"“{name}” and their reference images were deleted.")
    return redirect("project_detail", pk=access.project.pk)


# --- sheets -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def sheet_create(request, pk):
    access = character_for(request.user, pk, Need.WRITE)
    character = access.obj
    form = SheetForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sheet = services.sheet_create(character=character, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Sheet “{sheet.name}” added. Upload its reference images.")
            return redirect(_sheet_url(sheet))
    context = {"form": form, "project": access.project, "character": character, "sheet": None}
    status = 400 if form.errors else 200
    return render(request, "characters/sheet_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def sheet_edit(request, pk):
    access = sheet_for(request.user, pk, Need.WRITE)
    sheet = access.obj
    form = SheetForm(request.POST or None, initial=_sheet_state(sheet).values)
    form.opened_on(_sheet_state(sheet))
    if request.method == "POST" and form.is_valid():

        def save(values, base):
            services.sheet_update(sheet=sheet, version=edits.version_of(base), **values)

        what = f"the sheet “{sheet.name}” of {sheet.character.name}"
        try:
            merge = edits.save_or_merge(
                request,
                form,
                load=lambda: _sheet_state(ReferenceSheet.objects.get(pk=sheet.pk)),
                save=save,
                page=_merge_page(request, what, "sheet", _sheet_url(sheet)),
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            if merge:
                return merge
            messages.success(request, f"Sheet “{sheet.name}” saved.")
            return redirect(_sheet_url(sheet))
    context = {
        "form": form,
        "project": access.project,
        "character": sheet.character,
        "sheet": sheet,
    }
    status = 400 if form.errors else 200
    return render(request, "characters/sheet_form.html", context, status=status)


def _sheet_state(sheet: ReferenceSheet) -> edits.State:
    return edits.State(sheet.version, {"name": sheet.name, "addendum": sheet.addendum})


@login_required
@require_POST
def sheet_set_default(request, pk):
    access = sheet_for(request.user, pk, Need.WRITE)
    services.sheet_set_default(sheet=access.obj)
    messages.success(request, f"“{access.obj.name}” is now the default sheet.")
    return redirect(_sheet_url(access.obj))


@login_required
@require_POST
def sheet_delete(request, pk):
    access = sheet_for(request.user, pk, Need.WRITE)
    sheet = access.obj
    try:
        services.sheet_delete(sheet=sheet)
    except ValidationError:
        messages.error(
            request,
            f"“{sheet.name}” is the only sheet of {sheet.character.name}, so it cannot be deleted. "
            "Add another sheet first, or delete the character.",
        )
        return redirect(_sheet_url(sheet))
    messages.success(request, f"Sheet “{sheet.name}” and its images were deleted.")
    return redirect("character_detail", pk=sheet.character_id)


@login_required
@require_POST
def sheet_upload(request, pk):
    access = sheet_for(request.user, pk, Need.WRITE)
    sheet = access.obj

    try:
        items = _read_upload(request, with_views=True)
    except UploadRefused as exc:
        return _refused(request, str(exc), _sheet_url(sheet))
    report = services.reference_images_add(sheet=sheet, items=items)
    return _upload_outcome(request, report, _sheet_url(sheet))


# --- reference images ---------------------------------------------------------------


@login_required
@require_POST
def reference_image_edit(request, pk):
    access = reference_image_for(request.user, pk, Need.WRITE)
    image = access.obj
    form = ReferenceImageForm(request.POST)
    if form.is_valid():
        services.reference_image_update(image=image, **form.cleaned_data)
        messages.success(request, f"Image marked as {image.get_view_display().lower()} view.")
    else:
        messages.error(request, "Pick one of the listed views for the image.")
    return redirect(_sheet_url(image.sheet))


@login_required
@require_POST
def reference_image_set_primary(request, pk):
    access = reference_image_for(request.user, pk, Need.WRITE)
    services.reference_image_set_primary(image=access.obj)
    messages.success(request, f"Primary image of “{access.obj.sheet.name}” changed.")
    return redirect(_sheet_url(access.obj.sheet))


@login_required
@require_POST
def reference_image_delete(request, pk):
    access = reference_image_for(request.user, pk, Need.WRITE)
    sheet = access.obj.sheet
    services.reference_image_delete(image=access.obj)
    messages.success(request, "Reference image deleted.")
    return redirect(_sheet_url(sheet))


# --- locations ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def location_create(request, project_id):
    access = project_for(request.user, project_id, Need.WRITE)
    form = LocationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            location = services.location_create(project=access.obj, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"“{location.name}” created. Add pictures of the place.")
            return redirect("location_detail", pk=location.pk)
    context = {"form": form, "project": access.obj, "location": None}
    status = 400 if form.errors else 200
    return render(request, "characters/location_form.html", context, status=status)


def _location_page(request, location_id: int):
    access = location_for(request.user, location_id)
    location = access.obj
    context = {
        "location": location,
        "project": access.project,
        "access": access,
        "images": list(location.images.order_by("id")),
        **_upload_context(request),
    }
    return render(request, "characters/location_detail.html", context)


@login_required
@require_GET
def location_detail(request, pk):
    return _location_page(request, pk)


@login_required
@require_http_methods(["GET", "POST"])
def location_edit(request, pk):
    access = location_for(request.user, pk, Need.WRITE)
    location = access.obj
    form = LocationForm(request.POST or None, initial=_location_state(location).values)
    form.opened_on(_location_state(location))
    if request.method == "POST" and form.is_valid():

        def save(values, base):
            version = edits.version_of(base)
            services.location_update(location=location, version=version, **values)

        back = reverse("location_detail", kwargs={"pk": location.pk})
        try:
            merge = edits.save_or_merge(
                request,
                form,
                load=lambda: _location_state(Location.objects.get(pk=location.pk)),
                save=save,
                page=_merge_page(request, f"the location “{location.name}”", "location", back),
            )
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            if merge:
                return merge
            messages.success(request, f"“{location.name}” saved.")
            return redirect("location_detail", pk=location.pk)
    context = {"form": form, "project": access.project, "location": location}
    status = 400 if form.errors else 200
    return render(request, "characters/location_form.html", context, status=status)


def _location_state(location: Location) -> edits.State:
    values = {"name": location.name, "description": location.description}
    return edits.State(location.version, values)


@login_required
@require_POST
def location_delete(request, pk):
    access = location_for(request.user, pk, Need.WRITE)
    name = access.obj.name
    services.location_delete(location=access.obj)
    messages.success(request, f"Location “{name}” and its images were deleted.")
    return redirect("project_detail", pk=access.project.pk)


@login_required
@require_POST
def location_upload(request, pk):
    access = location_for(request.user, pk, Need.WRITE)
    location = access.obj

    back = reverse("location_detail", kwargs={"pk": location.pk})
    try:
        items = _read_upload(request, with_views=False)
    except UploadRefused as exc:
        return _refused(request, str(exc), back)
    report = services.location_images_add(location=location, items=items)
    return _upload_outcome(request, report, back)


@login_required
@require_POST
def location_image_delete(request, pk):
    access = location_image_for(request.user, pk, Need.WRITE)
    location_id = access.obj.location_id
    services.location_image_delete(image=access.obj)
    messages.success(request, "Location image deleted.")
    return redirect("location_detail", pk=location_id)


# --- project style ------------------------------------------------------------------


def _style_form(project) -> StyleForm:
    form = StyleForm(initial={"style": project.style})
    form.opened_on(edits.State(None, {"style": project.style}))
    return form


def _style_page(request, project_id: int, *, form=None, status=200):
    access = project_for(request.user, project_id)
    project = access.obj
    context = {
        "project": project,
        "access": access,
        "form": form or _style_form(project),
        "images": list(project.style_images.order_by("id")),
        **_upload_context(request),
    }
    return render(request, "characters/style_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def style_detail(request, project_id):
    if request.method == "GET":
        return _style_page(request, project_id)
    access = project_for(request.user, project_id, Need.WRITE)
    project = access.obj
    form = StyleForm(request.POST)
    if not form.is_valid():
        return _style_page(request, project_id, form=form, status=400)

    def save(values, base):
        # The project row has no edit version: the text it showed is the guard.
        seen = base.values["style"] if base else None
        services.style_update(project=project, style=values["style"], seen=seen)

    back = reverse("style_detail", kwargs={"project_id": project.pk})
    merge = edits.save_or_merge(
        request,
        form,
        load=lambda: edits.State(None, {"style": Project.objects.get(pk=project.pk).style}),
        save=save,
        page=_merge_page(request, f"the style of {project.name}", "style", back),
    )
    if merge:
        return merge
    messages.success(request, "Project style saved. New generations will use it.")
    return redirect("style_detail", project_id=access.obj.pk)


@login_required
@require_POST
def style_upload(request, project_id):
    access = project_for(request.user, project_id, Need.WRITE)
    project = access.obj

    back = reverse("style_detail", kwargs={"project_id": project.pk})
    try:
        items = _read_upload(request, with_views=False)
    except UploadRefused as exc:
        return _refused(request, str(exc), back)
    report = services.style_images_add(project=project, items=items)
    return _upload_outcome(request, report, back)


@login_required
@require_POST
def style_image_delete(request, pk):
    access = style_image_for(request.user, pk, Need.WRITE)
    project_id = access.obj.project_id
    services.style_image_delete(image=access.obj)
    messages.success(request, "Style image deleted.")
    return redirect("style_detail", project_id=project_id)
