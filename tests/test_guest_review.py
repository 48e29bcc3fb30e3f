"""Guest review links: one board, read-only, through a token, and nothing else of the studio."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from boards.models import Panel
from reviews.models import Comment, PanelReview, ReviewLink
from reviews.services import comment_create, link_create, panel_status_set, token_hash
from reviews.services import link_revoke as revoke_link
from tests.factories import BoardFactory, PanelFactory, TakeFactory
from tests.test_access_matrix import world  # noqa: F401 - the fixture every URL is built from
from tests.test_animatic_pages import player_data


@pytest.fixture
def shared(team):
    board = BoardFactory(project=team.project, name="Harbour")
    panels = []
    for i in range(3):
        panel = PanelFactory(board=board, action=f"Beat {i}", dialogue=f"Line {i}")
        TakeFactory(panel=panel)  # an earlier take, never shown to guests
        take = TakeFactory(panel=panel)
        Panel.objects.filter(pk=panel.pk).update(selected_take=take)
        panel.refresh_from_db()
        panels.append(panel)
    link, token = link_create(board=board, user=team.owner, allow_comments=True)
    return board, panels, link, token


def guest(token: str, name: str = "Carla", client: Client | None = None, **client_args) -> Client:
    client = client or Client(**client_args)
    response = client.post(reverse("guest_board", args=[token]), {"name": name})
    assert response.status_code == 302
    return client


def test_token_is_random_long_and_only_its_hash_is_stored(team, shared):
    board, _, link, token = shared
    assert len(token) >= 22  # token_urlsafe(24): 192 bits; 128 bits would be 22 characters
    assert link.token_hash == token_hash(token) and token not in link.token_hash
    other = link_create(board=board)[1]
    assert other != token
    assert not ReviewLink.objects.filter(token_hash=token).exists()


def test_guest_gives_a_name_once_and_sees_the_board_read_only(team, shared):
    board, panels, _link, token = shared
    comment_create(board=board, panel=panels[1], author=team.editor, body="Cut earlier here")
    client = Client()
    first = client.get(reverse("guest_board", args=[token]))
    assert "Your name" in first.content.decode() and "Beat 0" not in first.content.decode()
    client.post(reverse("guest_board", args=[token]), {"name": "Carla"})
    page = client.get(reverse("guest_board", args=[token])).content.decode()
    positions = [page.index(f"Beat {i}") for i in range(3)]
    assert positions == sorted(positions)
    assert "Line 2" in page and "Cut earlier here" in page and "Medium" in page
    for panel in panels:
        assert reverse("guest_take", args=[token, panel.selected_take_id]) in page
    # No member URL, no media URL, no other take, no member list.
    assert "/media/" not in page and "/panels/" not in page.replace(f"/r/{token}/panels/", "")
    assert "owner" not in page and "viewer" not in page and "Members" not in page
    assert reverse("project_detail", args=[team.project.pk]) not in page


def test_guest_sees_selected_takes_only(team, shared, world):  # noqa: F811
    _board, panels, _link, token = shared
    client = guest(token)
    selected = panels[0].selected_take
    assert client.get(reverse("guest_take", args=[token, selected.pk])).status_code == 200
    earlier = panels[0].takes.exclude(pk=selected.pk).first()
    assert client.get(reverse("guest_take", args=[token, earlier.pk])).status_code == 404
    # The selected take of a panel on another board of the same project.
    other_board_take = world.take
    Panel.objects.filter(pk=world.panel.pk).update(selected_take=other_board_take)
    assert client.get(reverse("guest_take", args=[token, other_board_take.pk])).status_code == 404
    # The members' media URL of the very take the guest may see.
    assert client.get(selected.file.url).status_code == 404


def _patterns(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _patterns(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def _fill(route: str, world, token: str) -> str:  # noqa: F811
    """A concrete path for a route, with ids of real rows of the project next door."""
    values = {
        "pk": world.panel.pk,
        "project_id": world.project.pk,
        "name": world.take.file.name,
        "token": token,
    }
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), 1)), route)
    path = path.lstrip("^").rstrip("$").replace("\\Z", "")
    return "/" + path


def test_a_guest_crawling_every_url_gets_404_outside_the_shared_board(team, shared, world):  # noqa: F811
    board, _panels, _link, token = shared
    client = guest(token)
    crawled = 0
    for route, pattern in _patterns(get_resolver().url_patterns):
        if pattern.name in ("login", "logout") or route.startswith("r/"):
            continue
        # Try each id the route could take: the project's board, panel, take, comment…
        for pk in {world.board.pk, board.pk, world.panel.pk, world.take.pk, world.project.pk}:
            path = _fill(route, world, token).replace(f"/{world.panel.pk}/", f"/{pk}/")
            for method in ("get", "post"):
                response = getattr(client, method)(path)
                assert response.status_code == 404, (
                    f"{method.upper()} {path}: {response.status_code}"
                )
                crawled += 1
    assert crawled > 200
    # The guest pages themselves work, with the id of a panel of another board refused.
    url = reverse("guest_status", args=[token, world.panel.pk])
    assert client.post(url, {"status": "approved"}).status_code == 404


def test_guest_routes_with_a_wrong_token_or_a_foreign_id_answer_404(team, shared, world):  # noqa: F811
    """The guest pages themselves: an unknown or revoked token, or an id outside the board."""
    board, _panels, _link, token = shared
    revoked, revoked_token = link_create(board=board, allow_comments=True, allow_approvals=True)
    client = guest(token)
    guest(revoked_token, client=client)
    revoke_link(link=revoked)
    Panel.objects.filter(pk=world.panel.pk).update(selected_take=world.take)
    guest_routes = [
        (route, p) for route, p in _patterns(get_resolver().url_patterns) if route.startswith("r/")
    ]
    assert {p.name for _, p in guest_routes} >= {"guest_live", "guest_play", "guest_take"}
    checked = 0
    for route, _pattern in guest_routes:
        for wrong in ("x" * 32, revoked_token):
            for method in ("get", "post"):
                path = _fill(route, world, wrong)
                assert getattr(client, method)(path).status_code in (404, 405), path
                checked += 1
        if "<int:pk>" in route:
            # The shared token with the panel or the take of another board of the project
            # (ids of different tables may be equal, so each route gets its own kind).
            pk = world.take.pk if route.startswith("r/<str:token>/takes/") else world.panel.pk
            path = _fill(route, world, token).replace(f"/{world.panel.pk}/", f"/{pk}/")
            for method in ("get", "post"):
                assert getattr(client, method)(path).status_code in (404, 405), path
                checked += 1
    assert checked >= 24


def test_guests_cannot_tell_members_from_strangers_by_mentions(team, shared):
    board, panels, _, token = shared
    comment_create(board=board, panel=panels[0], author=team.editor, body="@owner @nobody ok?")
    page = guest(token).get(reverse("guest_board", args=[token])).content.decode()
    assert "@owner @nobody ok?" in page and 'class="mention"' not in page


def test_guest_comments_are_marked_as_guest_comments(team, shared):
    _board, panels, link, token = shared
    client = guest(token, "Carla <b>")
    response = client.post(
        reverse("guest_comment", args=[token]), {"panel": panels[0].pk, "body": "Warmer light"}
    )
    assert response.status_code == 302
    comment = Comment.objects.get()
    assert (comment.author, comment.guest_name, comment.guest_link) == (None, "Carla <b>", link)
    page = team.client("viewer").get(reverse("panel_edit", args=[panels[0].pk])).content.decode()
    assert "Carla &lt;b&gt;" in page and 'class="badge badge-guest">guest<' in page


def test_guests_comment_or_approve_only_when_the_link_allows_it(team, shared):
    board, panels, _, _ = shared
    _, token = link_create(board=board)
    client = guest(token)
    url = reverse("guest_comment", args=[token])
    assert client.post(url, {"panel": panels[0].pk, "body": "hi"}).status_code == 404
    status = reverse("guest_status", args=[token, panels[0].pk])
    assert client.post(status, {"status": "approved"}).status_code == 404
    _, approving = link_create(board=board, allow_approvals=True)
    client = guest(approving, "Dana")
    status = reverse("guest_status", args=[approving, panels[0].pk])
    assert client.post(status, {"status": "approved"}).status_code == 302
    row = PanelReview.objects.get(panel=panels[0])
    assert (row.status, row.approved_by, row.approved_by_guest) == ("approved", None, "Dana")
    assert not Comment.objects.exists()


def test_an_expired_link_answers_404(team, shared):
    _board, _, link, token = shared
    client = guest(token)
    ReviewLink.objects.filter(pk=link.pk).update(expires=timezone.now() - timedelta(seconds=1))
    assert client.get(reverse("guest_board", args=[token])).status_code == 404
    assert Client().get(reverse("guest_board", args=[token])).status_code == 404


def test_a_revoked_link_answers_404_at_once_to_guests_already_inside(team, shared):
    _board, panels, link, token = shared
    client = guest(token)
    page = reverse("guest_board", args=[token])
    image = reverse("guest_take", args=[token, panels[0].selected_take_id])
    assert client.get(page).status_code == 200 and client.get(image).status_code == 200
    team.client("editor").post(reverse("link_revoke", args=[link.pk]))
    assert client.get(page).status_code == 404
    assert client.get(image).status_code == 404
    comment = reverse("guest_comment", args=[token])
    assert client.post(comment, {"body": "still here?"}).status_code == 404
    assert not Comment.objects.exists()


def test_an_unknown_token_answers_404(db):
    assert Client().get(reverse("guest_board", args=["x" * 32])).status_code == 404


def test_guest_posts_need_the_csrf_token(shared):
    _board, _panels, _link, token = shared
    client = guest(token, enforce_csrf_checks=False)
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies
    url = reverse("guest_comment", args=[token])
    assert strict.post(url, {"body": "forged"}).status_code == 403
    assert not Comment.objects.exists()


def test_guests_are_throttled_per_link_and_per_address(settings, shared):
    _board, _panels, _link, token = shared
    settings.STUDIO_GUEST_MAX_REQUESTS_LINK = 6
    settings.STUDIO_GUEST_MAX_REQUESTS_ADDRESS = 4
    url = reverse("guest_board", args=[token])
    one = guest(token, REMOTE_ADDR="10.0.0.1")
    codes = [one.get(url, REMOTE_ADDR="10.0.0.1").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]  # 4 per address, counting the name form
    two = guest(token, REMOTE_ADDR="10.0.0.2")
    codes = [two.get(url, REMOTE_ADDR="10.0.0.2").status_code for _ in range(3)]
    assert codes == [200, 429, 429]  # 6 per link, all addresses together
    assert "Too many requests" in two.get(url, REMOTE_ADDR="10.0.0.2").content.decode()


def test_links_page_lists_visits_and_last_opening(team, shared):
    board, _, link, token = shared
    client = guest(token)
    for _ in range(3):
        client.get(reverse("guest_board", args=[token]))
    link.refresh_from_db()
    assert link.visits == 3 and link.last_opened is not None
    page = team.client("editor").get(reverse("board_links", args=[board.pk])).content.decode()
    assert "<td>3</td>" in page and "just now" in page


def test_editor_creates_a_link_and_sees_it_once(team, shared):
    board, *_ = shared
    response = team.client("editor").post(
        reverse("board_links", args=[board.pk]),
        {"label": "Client", "days": "7", "allow_comments": "on"},
    )
    url = re.search(r'value="(http://testserver/r/[^"]+)"', response.content.decode()).group(1)
    link = ReviewLink.objects.get(label="Client")
    assert link.token_hash == token_hash(url.rstrip("/").rsplit("/", 1)[1])
    assert link.allow_comments and not link.allow_approvals
    assert timedelta(days=6, hours=23) < link.expires - timezone.now() <= timedelta(days=7)
    again = team.client("editor").get(reverse("board_links", args=[board.pk])).content.decode()
    assert url not in again


def test_create_and_revoke_review_link_commands(settings, team, shared):
    board, *_ = shared
    settings.STUDIO_PUBLIC_URL = "https://boards.example.com"
    out = io.StringIO()
    call_command("create_review_link", str(board.pk), "--days", "3", "--comments", stdout=out)
    url = out.getvalue().strip().splitlines()[-1]
    assert url.startswith("https://boards.example.com/r/")
    path = url.removeprefix("https://boards.example.com")
    client = guest(path.split("/")[2])
    assert client.get(path).status_code == 200
    link = ReviewLink.objects.latest("id")
    assert link.allow_comments and not link.allow_approvals and link.expires is not None
    call_command("revoke_review_link", url, stdout=io.StringIO())
    assert client.get(path).status_code == 404
    with pytest.raises(Exception, match="No guest link"):
        call_command("revoke_review_link", "not-a-token", stdout=io.StringIO())


# --- the page updates live, like the members' board ------------------------------------------


def _live_url(page: str) -> str:
    """The poll URL (with the version the page shows) from a guest page."""
    return re.search(r'hx-get="([^"]+)"[^>]*data-review-live', page).group(1).replace("&amp;", "&")


def test_guest_page_polls_and_gets_comments_and_statuses_of_others(team, shared):
    board, panels, _link, token = shared
    client = guest(token)
    page = client.get(reverse("guest_board", args=[token])).content.decode()
    poll = _live_url(page)
    assert poll.startswith(reverse("guest_live", args=[token]) + "?v=")
    assert client.get(poll).status_code == 204  # nothing changed: nothing sent
    comment_create(board=board, panel=panels[1], author=team.reviewer, body="Tighter framing")
    panel_status_set(panel=panels[2], status="approved", user=team.reviewer)
    comment_create(board=board, author=team.editor, body="@owner all set?")
    response = client.get(poll)
    assert response.status_code == 200
    live = response.content.decode()
    assert "1 of 3 approved" in live
    threads = live.split(f'<div id="guest-threads-{panels[1].pk}"')[1].split("<div id=")[0]
    assert 'hx-swap-oob="true"' in threads
    assert "Tighter framing" in threads and "reviewer" in threads
    status = re.search(rf'<div id="guest-review-{panels[2].pk}".*?</div>', live, re.S).group(0)
    assert 'data-review-status="approved"' in status
    assert "@owner all set?" in live and 'class="mention"' not in live
    # The answer carries the new version: the next poll is quiet again.
    assert client.get(_live_url(live)).status_code == 204
    # Nothing of the members' side in it: no member page, no media URL, no member poll.
    assert "/media/" not in live and f"/boards/{board.pk}/" not in live
    assert "/panels/" not in live.replace(f"/r/{token}/panels/", "")


def test_guest_poll_costs_the_same_queries_whatever_the_board_size(
    team, shared, django_assert_num_queries
):
    board, _panels, _link, token = shared
    client = guest(token)
    url = reverse("guest_live", args=[token])
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        counts.append(len(queries))
        for i in range(20):
            panel = PanelFactory(board=board)
            Panel.objects.filter(pk=panel.pk).update(selected_take=TakeFactory(panel=panel))
            comment_create(board=board, panel=panel, author=team.editor, body=f"n{i}")
    assert counts[0] == counts[1], counts
    # Nothing changed: the session, the link and the board's version, nothing else.
    version = _live_url(client.get(url).content.decode())
    with django_assert_num_queries(3):
        assert client.get(version).status_code == 204


def test_a_link_revoked_or_expired_while_the_guest_is_on_the_page_fails_the_next_poll(team, shared):
    board, _panels, link, token = shared
    client = guest(token)
    poll = _live_url(client.get(reverse("guest_board", args=[token])).content.decode())
    assert client.get(poll).status_code == 204
    team.client("editor").post(reverse("link_revoke", args=[link.pk]))
    assert client.get(poll).status_code == 404
    _, other = link_create(board=board, days=1)
    client = guest(other, client=client)
    poll = _live_url(client.get(reverse("guest_board", args=[other])).content.decode())
    ReviewLink.objects.filter(token_hash=token_hash(other)).update(
        expires=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(poll).status_code == 404


def test_the_guest_page_has_the_notice_its_script_shows_when_the_link_goes(shared):
    _board, _panels, _link, token = shared
    page = guest(token).get(reverse("guest_board", args=[token])).content.decode()
    assert re.search(r'class="[^"]*hidden[^"]*"[^>]*data-link-gone>[^<]*no longer valid', page)
    assert "reviews/reviews.js" in page


def test_the_guest_poll_needs_a_name_and_only_answers_that_render_are_throttled(settings, shared):
    _board, _panels, _link, token = shared
    url = reverse("guest_live", args=[token])
    assert Client().get(url).status_code == 404  # no name given yet
    settings.STUDIO_GUEST_MAX_REQUESTS_ADDRESS = 3
    client = guest(token)  # the name form is the first request counted
    quiet = _live_url(client.get(url).content.decode())  # the second
    assert [client.get(quiet).status_code for _ in range(6)] == [204] * 6
    assert [client.get(url).status_code for _ in range(2)] == [200, 429]
    assert client.get(quiet).status_code == 204  # a waiting page keeps polling quietly


# --- playing the shared board as an animatic ----------------------------------------------


def test_guest_plays_the_shared_board_with_its_selected_takes_only(team, shared, world):  # noqa: F811
    board, panels, _link, token = shared
    Panel.objects.filter(pk=panels[1].pk).update(duration="3.50")
    unpictured = PanelFactory(board=board, dialogue="Fade out")
    client = guest(token)
    page = client.get(reverse("guest_board", args=[token])).content.decode()
    assert f'href="{reverse("guest_play", args=[token])}"' in page
    response = client.get(reverse("guest_play", args=[token]))
    assert response.status_code == 200
    html = response.content.decode()
    data = player_data(response)
    assert [p["id"] for p in data["panels"]] == [p.pk for p in panels] + [unpictured.pk]
    assert [p["image"] for p in data["panels"]] == [
        reverse("guest_take", args=[token, p.selected_take_id]) for p in panels
    ] + [""]  # the player draws the placeholder card of a panel without a take
    assert data["panels"][1]["seconds"] == 3.5 and data["panels"][3]["dialogue"] == "Fade out"
    assert data["canEdit"] is False and all("durationUrl" not in p for p in data["panels"])
    # The members' player, not a copy of it; and nothing of the members' side.
    assert "data-animatic" in html and "studio/animatic.js" in html
    assert "/media/" not in html and "/panels/" not in html and "/boards/" not in html
    assert "Export MP4" not in html and "Drag the edge" not in html
    # Every picture it plays opens for the guest; the other takes and boards do not.
    for item in data["panels"][:3]:
        assert client.get(item["image"]).status_code == 200
    earlier = panels[0].takes.exclude(pk=panels[0].selected_take_id).first()
    assert client.get(reverse("guest_take", args=[token, earlier.pk])).status_code == 404
    assert client.get(reverse("board_play", args=[board.pk])).status_code == 404
    assert client.get(reverse("board_play", args=[world.board.pk])).status_code == 404


def test_guest_play_needs_a_name_and_a_live_link(team, shared):
    _board, _panels, link, token = shared
    url = reverse("guest_play", args=[token])
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"] == reverse(
        "guest_board", args=[token]
    )
    client = guest(token)
    assert client.get(url).status_code == 200
    team.client("editor").post(reverse("link_revoke", args=[link.pk]))
    assert client.get(url).status_code == 404


def test_guest_play_of_an_empty_board_says_so(team):
    board = BoardFactory(project=team.project)
    _, token = link_create(board=board)
    page = guest(token).get(reverse("guest_play", args=[token])).content.decode()
    assert "Nothing to play yet" in page and "animatic-data" not in page
