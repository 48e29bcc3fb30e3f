"""Script import pages: upload, preview (matches and options changeable), confirm.

The uploaded file waits in storage between the preview and the confirm,
under the project's folder; the session remembers which file is whose.
Nothing is saved to the project before the confirm; the confirm queues
the saving (one transaction) and the status page shows its progress.
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards.models import ScriptImport
from boards.script import runs, selectors, services
from boards.script.breakdown import Options
from boards.script.document import ScriptError
from boards.script.forms import ScriptOptionsForm, ScriptUploadForm
from boards.script.selectors import NEW, Preview, script_boards
from characters.models import Character, Location
from studio.access import Need, panel_for, project_for, scoped
from studio.http import HtmxHttpRequest

_SESSION = "script_imports"  # {project id: {"path": stored file, "name": uploaded name}}
# Boards listed in the preview; the rest are counted, so a huge script stays a page.
PREVIEW_BOARDS = 300


def _pending(request, project_id: int) -> dict | None:
    return request.session.get(_SESSION, {}).get(str(project_id))


def _forget(request, project_id: int) -> None:
    pending = request.session.get(_SESSION, {})
    entry = pending.pop(str(project_id), None)
    request.session[_SESSION] = pending
    if entry:
        default_storage.delete(entry["path"])


def _stash(request, project_id: int, data: bytes, name: str, options: dict) -> None:
    _forget(request, project_id)
    path = default_storage.save(
        f"projects/{project_id}/script-imports/{secrets.token_hex(16)}.script", ContentFile(data)
    )
    pending = request.session.get(_SESSION, {})
    pending[str(project_id)] = {"path": path, "name": name, "options": options}
    request.session[_SESSION] = pending


@login_required
@require_http_methods(["GET", "POST"])
def script_import(request, project_id):
    """Upload a script; it is read at once, so a bad file is refused here with what and where."""
    access = project_for(request.user, project_id, Need.WRITE)
    project = access.obj
    can_revise = bool(script_boards(project))
    form = ScriptUploadForm(request.POST or None, request.FILES or None, can_revise=can_revise)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        try:
            selectors.script_preview(
                project=project,
                data=data,
                name=upload.name,
                options=form.options(),
                revise=False,
            )
        except ScriptError as exc:
            where = f", {exc.where}" if exc.where else ""
            form.add_error("file", f"{upload.name}{where}: {exc.message} Nothing was saved.")
        else:
            options = {
                "merge_dialogue": form.cleaned_data["merge_dialogue"],
                "single_board": form.cleaned_data["single_board"],
                "revise": form.cleaned_data.get("revise", False),
            }
            _stash(request, project.pk, data, upload.name, options)
            return redirect("script_preview", project_id=project.pk)
    return render(
        request,
        "boards/script_import.html",
        {"project": project, "access": access, "form": form, "can_revise": can_revise},
    )


def _choices(data, prefix: str, count: int) -> dict[str, int | str | None]:
    """The preview's selects (`<prefix>_<i>` with `<prefix>_key_<i>`) as name key -> choice."""
    chosen: dict[str, int | str | None] = {}
    for i in range(count):
        key = data.get(f"{prefix}_key_{i}")
        value = data.get(f"{prefix}_{i}", "")
        if key is None:
            continue
        if value == NEW:
            chosen[key] = NEW
        elif value.isdigit():
            chosen[key] = int(value)
        else:
            chosen[key] = None
    return chosen


def _apply_choices(preview: Preview, cues: dict, places: dict) -> None:
    """Mark each preview row with what its select shows: the person's choice, else the match."""
    for rows, chosen in ((preview.cues, cues), (preview.places, places)):
        for row in rows:
            choice = chosen.get(row.key, row.match)
            row.choice = "" if choice is None else str(choice)


def _valid_ids(project, cues: dict, places: dict) -> None:
    """Choices must name this project's characters and locations (a forged id is refused)."""
    people = set(Character.objects.filter(project=project).values_list("pk", flat=True))
    spots = set(Location.objects.filter(project=project).values_list("pk", flat=True))
    for chosen, allowed in ((cues, people), (places, spots)):
        for key, value in chosen.items():
            if isinstance(value, int) and value not in allowed:
                chosen[key] = None


@login_required
@require_http_methods(["GET", "POST"])
def script_preview(request, project_id):
    """What the import will make; matches and options can be changed, then confirmed."""
    access = project_for(request.user, project_id, Need.WRITE)
    project = access.obj
    pending = _pending(request, project.pk)
    if pending is None:
        messages.info(request, "Choose a script file to import first.")
        return redirect("script_import", project_id=project.pk)
    if request.method == "POST" and request.POST.get("action") == "cancel":
        _forget(request, project.pk)
        messages.info(request, "Import cancelled; nothing was saved.")
        return redirect("project_detail", pk=project.pk)
    can_revise = bool(script_boards(project))
    form = ScriptOptionsForm(
        request.POST if request.method == "POST" else None,
        initial=pending.get("options", {}),
        can_revise=can_revise,
    )
    options_ok = form.is_valid() if request.method == "POST" else True
    cleaned = form.cleaned_data if request.method == "POST" and options_ok else pending["options"]
    options = Options(
        merge_dialogue=bool(cleaned.get("merge_dialogue")),
        single_board=(cleaned.get("single_board") or "").strip(),
    )
    revise = can_revise and bool(cleaned.get("revise"))
    try:
        with default_storage.open(pending["path"], "rb") as fh:
            data = fh.read()
        preview = selectors.script_preview(
            project=project, data=data, name=pending["name"], options=options, revise=revise
        )
    except (ScriptError, OSError):
        _forget(request, project.pk)
        messages.error(request, "The uploaded script is no longer available; upload it again.")
        return redirect("script_import", project_id=project.pk)
    cues = _choices(request.POST, "cue", len(preview.cues)) if request.method == "POST" else {}
    places = (
        _choices(request.POST, "place", len(preview.places)) if request.method == "POST" else {}
    )
    _valid_ids(project, cues, places)
    if request.method == "POST" and request.POST.get("action") == "confirm" and options_ok:
        job = runs.script_import_request(
            project=project,
            user=request.user,
            path=pending["path"],
            file_name=pending["name"],
            options={**cleaned, "revise": revise},
            characters=cues,
            locations=places,
        )
        return redirect("script_import_status", pk=job.pk)
    else:
        pending["options"] = {**cleaned, "revise": revise}
        request.session.modified = True
    _apply_choices(preview, cues, places)
    return render(
        request,
        "boards/script_preview.html",
        {
            "project": project,
            "access": access,
            "form": form,
            "preview": preview,
            "file_name": pending["name"],
            "boards": preview.boards[:PREVIEW_BOARDS],
            "more_boards": max(0, len(preview.boards) - PREVIEW_BOARDS),
            "diff": (preview.diff or [])[:PREVIEW_BOARDS],
            "revise": revise,
            "characters": Character.objects.filter(project=project).only("pk", "name"),
            "locations": Location.objects.filter(project=project).only("pk", "name"),
            "NEW": NEW,
        },
    )


def script_import_for(user, pk, need: Need = Need.WRITE):
    """A script import of one of the user's projects, or 404 / 403 (only editors import)."""
    qs = ScriptImport.objects.select_related("project")
    return scoped(qs, pk, "project_id", user, need)


def _boards_url(job: ScriptImport) -> str:
    if len(job.board_ids) == 1:
        return reverse("board_detail", kwargs={"pk": job.board_ids[0]})
    return reverse("project_detail", kwargs={"pk": job.project_id}) + "#boards"


@login_required
@require_GET
def script_import_status(request: HtmxHttpRequest, pk: int):
    """How far the saving got; once done, on to the boards with what was made."""
    access = script_import_for(request.user, pk)
    job = access.obj
    if runs.script_import_give_up_if_stale(job):
        job.refresh_from_db()
    if job.state == ScriptImport.State.DONE:
        pending = _pending(request, job.project_id)
        if pending and pending["path"] == job.path:
            _forget(request, job.project_id)
        messages.success(request, job.summary)
        if request.htmx:
            # htmx follows this header; the link is for a client that does not.
            response = HttpResponse(f'<a href="{_boards_url(job)}">Open the boards</a>')
            response["HX-Redirect"] = _boards_url(job)
            return response
        return redirect(_boards_url(job))
    context = {"job": job, "project": access.project, "access": access}
    if request.htmx:
        return render(request, "boards/script_import_status.html", context)
    return render(request, "boards/script_import_status_page.html", context)


@login_required
@require_POST
def panel_script_seen(request: HtmxHttpRequest, pk: int):
    """An editor has read a changed beat's new text: the mark goes (htmx: the badge goes)."""
    access = panel_for(request.user, pk, Need.WRITE)
    panel = access.obj
    services.panel_script_seen(panel=panel)
    if request.htmx:
        return render(request, "boards/script_state.html", {"panel": panel, "access": access})
    return redirect(reverse("board_detail", kwargs={"pk": panel.board_id}) + f"#panel-{panel.pk}")
