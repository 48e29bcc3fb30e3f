"""Member pages of the review loop: comments, approval status, guest links, activity.

Every object comes through the membership of the user (studio.access):
outsiders get 404, and a role too low for the action gets 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards.models import Panel, Take
from reviews import selectors, services
from reviews.forms import CommentEditForm, CommentForm, LinkForm, StatusForm
from reviews.models import Activity, Comment, ReviewLink
from studio.access import Access, Need, board_for, panel_for, project_for, scoped
from studio.http import HtmxHttpRequest


def comment_for(user, pk, need: Need = Need.READ) -> Access[Comment]:
    """A comment of a project the user belongs to, or 404 / 403."""
    return scoped(
        Comment.objects.select_related("board__project"), pk, "board__project_id", user, need
    )


def link_for(user, pk, need: Need = Need.WRITE) -> Access[ReviewLink]:
    """A guest link of a board the user may share, or 404 / 403."""
    return scoped(ReviewLink.objects.select_related("board"), pk, "board__project_id", user, need)


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return fallback


def _thread_url(board_id: int, panel_id: int | None) -> str:
    if panel_id:
        return reverse("panel_edit", args=[panel_id]) + "#comments"
    return reverse("board_notes", args=[board_id])


# --- what the board and panel pages show ------------------------------------------------


def board_review_context(request, access: Access, panels: list, summary: dict) -> dict:
    """What the board page's review parts show; `panels` (with `review_cards`' attributes,
    whose counts are `summary`) narrowed by the open-comments filter."""
    board = access.obj
    only_open = request.GET.get("comments") == "open"
    context = {
        "review": summary,
        "review_version": selectors.board_version(board.pk),
        "review_feed": selectors.board_feed(board),
        "member_names": selectors.member_names(board.project_id),
        "review_only_open": only_open,
        "review_link_count": selectors.link_count(board) if access.can_edit else 0,
    }
    if only_open:
        context["panels"] = [p for p in panels if getattr(p, "open_comments", 0)]
    return context


def panel_review_context(access: Access, panel: Panel) -> dict:
    """What the panel page's review column shows: status, thread, the comment form."""
    return {
        "review_row": selectors.panel_review(panel),
        "thread": selectors.panel_thread(panel),
        "member_names": selectors.member_names(panel.board.project_id),
        "comment_form": CommentForm(initial={"panel": panel.pk}),
    }


def _render_thread(request, access: Access, board, panel: Panel | None) -> HttpResponse:
    threads = selectors.panel_thread(panel) if panel else selectors.board_threads(board)
    context = {
        "threads": threads,
        "board": board,
        "panel": panel,
        "access": access,
        "member_names": selectors.member_names(board.project_id),
    }
    return render(request, "reviews/_threads.html", context)


@login_required
@require_GET
def board_notes(request: HtmxHttpRequest, pk):
    """The threads on the whole board with the form to add one.

    The board page loads them when its review section is opened: with a busy
    board they cost as much as a third of the page's own work, for a section
    most visits never open. Without JS, the link there opens them as a page.
    """
    access = board_for(request.user, pk)
    board = access.obj
    if request.htmx:
        return _render_thread(request, access, board, None)
    context = {
        "board": board,
        "project": access.project,
        "access": access,
        "threads": selectors.board_threads(board),
        "panel": None,
        "member_names": selectors.member_names(board.project_id),
    }
    return render(request, "reviews/board_notes.html", context)


# --- comments ---------------------------------------------------------------------------


@login_required
@require_POST
def comment_create(request: HtmxHttpRequest, pk):
    # Viewers comment too: reading the board is all it takes.
    access = board_for(request.user, pk, Need.READ)
    board = access.obj
    form = CommentForm(request.POST)
    panel = parent = take = None
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        if data["panel"]:
            panel = panel_for(request.user, data["panel"]).obj
        if data["parent"]:
            parent = comment_for(request.user, data["parent"]).obj
        if data["take"]:
            take = Take.objects.filter(pk=data["take"], panel=panel).first() if panel else None
            if take is None:
                error = "That take belongs to another panel."
        if not error:
            try:
                services.comment_create(
                    board=board,
                    panel=panel,
                    parent=parent,
                    author=request.user,
                    take=take,
                    body=data["body"],
                    **{k: data[k] for k in ("x", "y", "w", "h")},
                )
            except ValidationError as exc:
                error = " ".join(exc.messages)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    if request.htmx:
        if error:
            return HttpResponse(error, status=400)
        return _render_thread(request, access, board, parent.panel if parent else panel)
    if error:
        messages.error(request, error + " Nothing was posted.")
    else:
        messages.success(request, "Comment posted.")
    panel_id = parent.panel_id if parent else (panel.pk if panel else None)
    return redirect(_back(request, _thread_url(board.pk, panel_id)))


@login_required
@require_POST
def comment_edit(request: HtmxHttpRequest, pk):
    access = comment_for(request.user, pk)
    comment = access.obj
    if comment.author_id != request.user.pk:
        return HttpResponse("Only the person who wrote a comment can edit it.", status=403)
    form = CommentEditForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write something, in at most 5000 characters; nothing was changed.")
    else:
        services.comment_edit(comment=comment, user=request.user, body=form.cleaned_data["body"])
        messages.success(request, "Comment saved.")
    return redirect(_back(request, _thread_url(comment.board_id, comment.panel_id)))


@login_required
@require_POST
def comment_delete(request: HtmxHttpRequest, pk):
    access = comment_for(request.user, pk)
    comment = access.obj
    board_id, panel_id = comment.board_id, comment.panel_id
    try:
        services.comment_delete(comment=comment, user=request.user, membership=access.membership)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=403)
    messages.success(request, "Comment deleted.")
    return redirect(_back(request, _thread_url(board_id, panel_id)))


@login_required
@require_POST
def comment_resolve(request: HtmxHttpRequest, pk):
    access = comment_for(request.user, pk)
    comment = access.obj
    # Whoever wrote the thread, and anyone who reviews, may close or reopen it.
    if (comment.parent or comment).author_id != request.user.pk and not access.can_review:
        return HttpResponse("Your role in this project does not allow this.", status=403)
    resolved = request.POST.get("resolved", "1") == "1"
    services.comment_resolve(comment=comment, user=request.user, resolved=resolved)
    if request.htmx:
        panel = comment.panel
        return _render_thread(request, access, comment.board, panel)
    messages.success(request, "Thread resolved." if resolved else "Thread reopened.")
    return redirect(_back(request, _thread_url(comment.board_id, comment.panel_id)))


@login_required
@require_GET
def mention_search(request, project_id):
    """Members whose username starts with what follows the @, for autocomplete."""
    access = project_for(request.user, project_id)
    names = selectors.mention_candidates(access.obj, request.GET.get("q", "")[:150])
    return JsonResponse({"members": names})


# --- approval status --------------------------------------------------------------------


@login_required
@require_POST
def panel_status(request: HtmxHttpRequest, pk):
    access = panel_for(request.user, pk, Need.REVIEW)
    panel = Panel.objects.select_related("board__project").get(pk=access.obj.pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        return HttpResponse(
            "Pick one of: draft, in review, changes requested, approved.", status=400
        )
    services.panel_status_set(panel=panel, status=form.cleaned_data["status"], user=request.user)
    if request.htmx:
        panels = list(Panel.objects.filter(board=panel.board).order_by("position"))
        summary = selectors.review_cards(panel.board, panels)
        this = next(p for p in panels if p.pk == panel.pk)
        context = {
            "panel": this,
            "board": panel.board,
            "access": access,
            "review": summary,
            "review_version": selectors.board_version(panel.board_id),
        }
        return render(request, "reviews/_status_changed.html", context)
    messages.success(request, f"Panel {panel.number}: {panel.review.get_status_display().lower()}.")
    return redirect(
        _back(request, reverse("board_detail", args=[panel.board_id]) + f"#panel-{panel.pk}")
    )


@login_required
@require_POST
def board_send_for_review(request, pk):
    access = board_for(request.user, pk, Need.WRITE)
    moved = services.board_send_for_review(board=access.obj, user=request.user)
    if moved:
        messages.success(
            request,
            f"{moved} panel{'s are' if moved != 1 else ' is'} now in review; reviewers were told.",
        )
    else:
        messages.info(request, "No draft panels: everything is already in review or decided.")
    return redirect("board_detail", pk=access.obj.pk)


def seen_version(request) -> int:
    """The review version a live poll last saw (`?v=`), or -1 when it sent none."""
    try:
        return int(request.GET.get("v", ""))
    except ValueError:
        return -1


@login_required
@require_GET
def board_review_live(request, pk):
    """The board's review parts, only when they changed since version `v` (else 204).

    Polled by every open board page: when nothing changed it costs the access
    check and one indexed read of the board's counter.
    """
    access = board_for(request.user, pk)
    board = access.obj
    version = selectors.board_version(board.pk)
    if seen_version(request) == version:
        return HttpResponse(status=204)
    panels = list(Panel.objects.filter(board=board).order_by("position"))
    context = {
        "board": board,
        "access": access,
        "panels": panels,
        "review": selectors.review_cards(board, panels),
        "review_version": version,
        "review_feed": selectors.board_feed(board),
        "member_names": selectors.member_names(board.project_id),
        "oob": True,
    }
    return render(request, "reviews/_live.html", context)


# --- guest links ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def board_links(request, pk):
    access = board_for(request.user, pk, Need.WRITE)
    board = access.obj
    form = LinkForm(request.POST or None)
    new_url = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            _, token = services.link_create(
                board=board,
                user=request.user,
                days=data["days"],
                allow_comments=data["allow_comments"],
                allow_approvals=data["allow_approvals"],
                label=data["label"],
            )
        except ValidationError as exc:
            form.add_error("days", exc)
        else:
            new_url = request.build_absolute_uri(reverse("guest_board", args=[token]))
            form = LinkForm()
    context = {
        "board": board,
        "project": access.project,
        "access": access,
        "form": form,
        "links": list(selectors.links_for_board(board)),
        "new_url": new_url,
    }
    return render(request, "reviews/links.html", context, status=200)


@login_required
@require_POST
def link_revoke(request, pk):
    access = link_for(request.user, pk, Need.WRITE)
    if services.link_revoke(link=access.obj):
        messages.success(request, "Link revoked: it no longer opens the board, for anyone.")
    return redirect("board_links", pk=access.obj.board_id)


# --- activity ---------------------------------------------------------------------------


@login_required
@require_GET
def board_activity(request, pk):
    access = board_for(request.user, pk)
    board = access.obj
    verb = request.GET.get("what", "")
    if verb not in Activity.Verb.values:
        verb = ""
    context = {
        "board": board,
        "project": access.project,
        "access": access,
        "entries": selectors.board_activity(board, verb),
        "verbs": Activity.Verb.choices,
        "verb": verb,
    }
    return render(request, "reviews/activity.html", context)
