"""Guest review: one board, read-only, through a link, without an account.

A guest sees the panels in order with their selected takes, shot, action,
dialogue and comments, and nothing else. The link is looked up on every
request, so a revoked or expired link answers 404 at once, also to guests
already on the page. `GuestScopeMiddleware` answers 404 to a guest on any
other page of the studio.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from boards.animatic_views import player_context
from boards.models import Panel
from boards.selectors import board_playlist
from boards.views import frame_class
from reviews import selectors, services
from reviews.forms import CommentForm, GuestNameForm, StatusForm
from reviews.models import GuestHit, ReviewLink
from reviews.views import seen_version
from studio.http import attach
from studio.throttle import client_address

SESSION_KEY = "review_guest"  # {link id: display name}


def _limits() -> tuple[int, int, timedelta]:
    return (
        getattr(settings, "STUDIO_GUEST_MAX_REQUESTS_LINK", 600),
        getattr(settings, "STUDIO_GUEST_MAX_REQUESTS_ADDRESS", 300),
        timedelta(seconds=getattr(settings, "STUDIO_GUEST_WINDOW_S", 300)),
    )


def active_link(token: str) -> ReviewLink | None:
    """The link this token opens, if it is neither revoked nor expired.

    The hash is looked up by index, then compared again in constant time, so
    neither the lookup nor the comparison tells how close a guess was.
    """
    if not token or len(token) > 100:
        return None
    digest = services.token_hash(token)
    now = timezone.now()
    link = (
        ReviewLink.objects.select_related("board__project")
        .filter(token_hash=digest, revoked__isnull=True)
        .filter(Q(expires__isnull=True) | Q(expires__gt=now))
        .first()
    )
    if link is None or not hmac.compare_digest(link.token_hash, digest):
        return None
    return link


def _throttled(request: HttpRequest, link: ReviewLink) -> bool:
    """Count this request; True when the link or the address asked too often in the window."""
    per_link, per_address, window = _limits()
    now = timezone.now()
    since = now - window
    address = client_address(request)
    recent = GuestHit.objects.filter(created__gte=since)
    if (
        recent.filter(link=link).count() >= per_link
        or recent.filter(address=address).count() >= per_address
    ):
        return True
    GuestHit.objects.create(link=link, address=address, created=now)
    GuestHit.objects.filter(created__lt=since).delete()
    return False


def _guest(request: HttpRequest, token: str) -> tuple[ReviewLink, str]:
    """The link and the guest's name ("" until given); 404 for a link that does not open."""
    link = active_link(token)
    if link is None:
        raise Http404
    names = request.session.get(SESSION_KEY) or {}
    return link, names.get(str(link.pk), "")


def _too_many() -> HttpResponse:
    return HttpResponse(
        "Too many requests through this link. Wait a few minutes, then reload.", status=429
    )


@require_http_methods(["GET", "POST"])
def guest_board(request, token):
    link, name = _guest(request, token)
    if _throttled(request, link):
        return _too_many()
    board = link.board
    form = GuestNameForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            names = dict(request.session.get(SESSION_KEY) or {})
            names[str(link.pk)] = form.cleaned_data["name"]
            request.session[SESSION_KEY] = names
            return redirect("guest_board", token=token)
    elif name:
        services.link_opened(link=link)
    if not name:
        return render(request, "reviews/guest_name.html", {"form": form, "board": board})
    return render(request, "reviews/guest_board.html", _board_context(link, token, name))


def _board_context(link: ReviewLink, token: str, name: str) -> dict:
    """What the guest page and its live poll show, in a fixed number of queries."""
    board = link.board
    panels = list(
        Panel.objects.filter(board=board).select_related("selected_take").order_by("position")
    )
    summary = selectors.review_cards(board, panels)
    threads = selectors.guest_threads(board)
    for panel in panels:
        attach(panel, threads=threads.get(panel.pk, []))
    return {
        "link": link,
        "token": token,
        "guest_name": name,
        "board": board,
        "panels": panels,
        "board_threads": threads.get(None, []),
        "review": summary,
        "review_version": selectors.board_version(board.pk),
        "review_live_url": reverse("guest_live", args=[token]),
        "frame_class": frame_class(board),
        # No mention marks for guests: a marked name would tell them who is a member.
        "member_names": [],
    }


@require_GET
def guest_live(request, token):
    """The guest page's live parts, only when the board's review changed since `v` (else 204).

    The same poll as the members' board (reviews.views.board_review_live),
    answered from the link: a revoked or expired link answers 404, which the
    page turns into "this link is no longer valid". Quiet polls (204) are not
    counted by the throttle: one every few seconds would use up a guest's
    allowance, and they cost two indexed reads. A poll that renders the board
    is counted like any other guest request.
    """
    link, name = _guest(request, token)
    if not name:
        raise Http404
    if seen_version(request) == selectors.board_version(link.board_id):
        return HttpResponse(status=204)
    if _throttled(request, link):
        return _too_many()
    context = {**_board_context(link, token, name), "oob": True}
    return render(request, "reviews/_guest_live.html", context)


def _back_to_board(token: str, panel_id: int | None) -> HttpResponse:
    url = reverse("guest_board", args=[token])
    return redirect(f"{url}#panel-{panel_id}" if panel_id else url)


@require_POST
def guest_comment(request, token):
    link, name = _guest(request, token)
    if not link.allow_comments or not name:
        raise Http404
    if _throttled(request, link):
        return _too_many()
    board = link.board
    form = CommentForm(request.POST)
    panel = parent = None
    if form.is_valid():
        data = form.cleaned_data
        if data["panel"]:
            panel = Panel.objects.filter(pk=data["panel"], board=board).first()
            if panel is None:
                raise Http404
        if data["parent"]:
            parent = board.comments.filter(pk=data["parent"]).first()
            if parent is None:
                raise Http404
        try:
            services.comment_create(
                board=board,
                panel=panel,
                parent=parent,
                guest_name=name,
                guest_link=link,
                body=data["body"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Comment posted. Thank you!")
    else:
        messages.error(request, "Write something (at most 5000 characters); nothing was posted.")
    panel_id = parent.panel_id if parent else (panel.pk if panel else None)
    return _back_to_board(token, panel_id)


@require_POST
def guest_status(request, token, pk):
    link, name = _guest(request, token)
    if not link.allow_approvals or not name:
        raise Http404
    if _throttled(request, link):
        return _too_many()
    panel = Panel.objects.filter(pk=pk, board=link.board).select_related("board__project").first()
    if panel is None:
        raise Http404
    form = StatusForm(request.POST)
    if form.is_valid():
        services.panel_status_set(panel=panel, status=form.cleaned_data["status"], guest_name=name)
        messages.success(request, f"Panel {panel.number}: saved.")
    return _back_to_board(token, panel.pk)


@require_GET
def guest_take(request, token, pk):
    """The image of a selected take of the shared board; any other take is 404."""
    link, name = _guest(request, token)
    if not name:
        raise Http404
    panel = (
        Panel.objects.filter(board=link.board, selected_take_id=pk)
        .select_related("selected_take")
        .first()
    )
    if panel is None or panel.selected_take is None:
        raise Http404
    take = panel.selected_take
    field = take.thumbnail if request.GET.get("size") == "thumb" and take.thumbnail else take.file
    if not field or not default_storage.exists(field.name):
        raise Http404
    content_type = "image/png" if field.name.lower().endswith(".png") else "image/jpeg"
    if field.name.lower().endswith(".webp"):
        content_type = "image/webp"
    response = FileResponse(default_storage.open(field.name, "rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
def guest_play(request, token):
    """The shared board as an animatic, in the members' player, with the guest's take URLs."""
    link, name = _guest(request, token)
    if not name:
        return redirect("guest_board", token=token)
    if _throttled(request, link):
        return _too_many()
    board = link.board
    panels = board_playlist(board)
    context = {
        **player_context(
            board,
            panels,
            can_edit=False,
            image_url=lambda take: reverse("guest_take", args=[token, take.pk]),
        ),
        "token": token,
        "guest_name": name,
    }
    return render(request, "reviews/guest_play.html", context)


# Paths a guest may still reach: the guest pages, static files, and logging in.
_GUEST_OPEN = ("/r/", "/static/", "/login/", "/logout/")


class GuestScopeMiddleware:
    """A guest (no account, a guest name in the session) gets 404 outside the guest pages.

    Without it they would be sent to the log-in page, which tells them the
    page exists; with it, the studio is the one shared board and nothing else.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            (user is None or not user.is_authenticated)
            and request.session.get(SESSION_KEY)
            and not request.path.startswith(_GUEST_OPEN)
        ):
            raise Http404
        return self.get_response(request)
