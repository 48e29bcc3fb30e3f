"""Comments on panels and boards: threads, mentions, moderation, live parts, query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Panel
from reviews.models import Comment
from reviews.services import comment_create, link_create
from studio.models import Notification
from tests.factories import BoardFactory, PanelFactory, TakeFactory, UserFactory
from tests.test_board_pages import BOARD_QUERIES, CARD_RENDER_QUERIES, fill_board


@pytest.fixture
def board(team):
    return BoardFactory(project=team.project, name="Harbour")


@pytest.fixture
def panel(board):
    panel = PanelFactory(board=board)
    take = TakeFactory(panel=panel)
    Panel.objects.filter(pk=panel.pk).update(selected_take=take)
    panel.refresh_from_db()
    return panel


def notified(kind: str | None = None) -> set[int]:
    return {n.recipient_id for n in Notification.objects.all() if kind is None or n.kind == kind}


def post(client, board, **data):
    return client.post(reverse("comment_create", args=[board.pk]), data)


def test_viewer_comments_on_a_panel_pinned_to_its_selected_take(team, board, panel):
    response = post(team.client("viewer"), board, panel=panel.pk, body="Too dark?")
    assert response.status_code == 302 and response.url.endswith("#comments")
    comment = Comment.objects.get()
    assert (comment.panel, comment.take, comment.author) == (
        panel,
        panel.selected_take,
        team.viewer,
    )


def test_board_comment_and_reply_share_one_thread_and_the_author_hears(team, board, panel):
    post(team.client("viewer"), board, body="Whole board: pacing is slow")
    root = Comment.objects.get()
    assert root.panel is None
    # A reply to a reply still joins the first comment of the thread.
    post(team.client("editor"), board, parent=root.pk, body="Agreed")
    post(team.client("owner"), board, parent=Comment.objects.latest("id").pk, body="Cutting two")
    assert Comment.objects.filter(parent=root).count() == 2
    assert team.viewer.pk in notified("reply") and team.editor.pk in notified("reply")
    assert team.owner.pk not in notified()  # the one who acted is never told


def test_board_notes_load_when_asked_and_a_note_posted_without_js_lands_on_them(team, board):
    viewer = team.client("viewer")
    response = post(viewer, board, body="Whole board: pacing is slow")
    notes = reverse("board_notes", args=[board.pk])
    assert response.status_code == 302 and response.url == notes
    # The board page lists the note among the newest, but carries only the way to the
    # threads, not the threads themselves.
    page = viewer.get(reverse("board_detail", args=[board.pk])).content.decode()
    thread = f'id="comment-{Comment.objects.get().pk}"'
    assert "pacing is slow" in page and thread not in page
    assert f'hx-get="{notes}"' in page and f'href="{notes}"' in page
    # htmx asks for the threads alone; a plain visit gets them as a page of their own.
    fragment = viewer.get(notes, headers={"HX-Request": "true"}).content.decode()
    assert "pacing is slow" in fragment and thread in fragment and "<html" not in fragment
    assert fragment.lstrip().startswith('<div class="threads" id="threads-board-')
    full = viewer.get(notes).content.decode()
    assert "pacing is slow" in full and "<html" in full and "Note to the whole team" in full
    # The notification of a board note links there too.
    post(team.client("editor"), board, parent=Comment.objects.get().pk, body="Agreed")
    assert Notification.objects.get(recipient=team.viewer).url == notes


def test_the_feed_names_who_wrote_where_newest_first_and_sharing_counts_the_links(
    team, board, panel
):
    from reviews.selectors import FEED_SIZE

    post(team.client("viewer"), board, body="Whole board: pacing is slow")
    comment_create(board=board, panel=panel, guest_name="Carla", body="Bigger ferry?")
    for i in range(FEED_SIZE - 1):
        post(team.client("editor"), board, panel=panel.pk, body=f"Shot note {i}")
    owner = team.client("owner")
    page = owner.get(reverse("board_detail", args=[board.pk])).content.decode()
    feed = page[
        page.index('id="review-feed"') : page.index("</ol>", page.index('id="review-feed"'))
    ]
    items = feed.split('<li class="review-feed-item">')[1:]
    assert len(items) == FEED_SIZE  # the oldest, the viewer's note, fell off
    assert f"Shot note {FEED_SIZE - 2}" in items[0] and "Bigger ferry?" in items[-1]
    assert "Carla" in items[-1] and "badge-guest" in items[-1]
    assert f'href="{reverse("panel_edit", args=[panel.pk])}#comment-' in items[-1]
    assert "shot 1" in items[-1] and team.editor.username in items[0]
    assert "Share with a guest</a>" in page
    link_create(board=board, user=team.owner)
    link_create(board=board, user=team.owner)
    page = owner.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "Share with a guest (2)</a>" in page
    # The feed alone, after a note on the board: "on the board", no panel link.
    post(team.client("viewer"), board, body="Whole board again")
    page = owner.get(reverse("board_detail", args=[board.pk])).content.decode()
    newest = page.split('<li class="review-feed-item">')[1]
    assert "Whole board again" in newest and "on the board" in newest
    assert team.viewer.username in newest and "badge-guest" not in newest


def test_comment_text_is_escaped_and_links_made_clickable(team, board, panel):
    body = "<script>alert(1)</script> <b>bold</b> see https://example.com/ref?a=1&b=2. javascript:alert(1)"
    post(team.client("editor"), board, panel=panel.pk, body=body)
    page = team.client("editor").get(reverse("panel_edit", args=[panel.pk])).content.decode()
    assert "<script>alert(1)" not in page and "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert (
        '<a href="https://example.com/ref?a=1&amp;b=2" rel="nofollow noopener noreferrer"' in page
    )
    assert 'href="javascript' not in page


def test_mention_of_a_member_notifies_them_and_is_marked(team, board, panel):
    post(team.client("editor"), board, panel=panel.pk, body="@Reviewer what do you think?")
    assert notified("mention") == {team.reviewer.pk}
    page = team.client("editor").get(reverse("panel_edit", args=[panel.pk])).content.decode()
    assert '<span class="mention">@Reviewer</span>' in page


def test_mention_of_a_non_member_notifies_nobody_and_leaks_nothing(team, board, panel):
    UserFactory(username="stranger")
    post(team.client("editor"), board, panel=panel.pk, body="@stranger @outsider @nobody look")
    assert notified() == set()
    page = team.client("editor").get(reverse("panel_edit", args=[panel.pk])).content.decode()
    # Existing and made-up names look the same: plain text, no mark, no link.
    assert "@stranger @outsider @nobody look" in page
    assert 'class="mention">@stranger' not in page and 'class="mention">@outsider' not in page
    # Autocomplete lists members only.
    url = reverse("mention_search", args=[team.project.pk])
    assert team.client("editor").get(url, {"q": "st"}).json() == {"members": []}
    assert team.client("editor").get(url, {"q": "out"}).json() == {"members": []}
    assert team.client("editor").get(url, {"q": "re"}).json() == {"members": ["reviewer"]}


def test_only_the_author_edits_and_owners_moderate(team, board, panel):
    comment = comment_create(board=board, panel=panel, author=team.viewer, body="first")
    edit = reverse("comment_edit", args=[comment.pk])
    assert team.client("editor").post(edit, {"body": "hijack"}).status_code == 403
    assert team.client("viewer").post(edit, {"body": "second"}).status_code == 302
    comment.refresh_from_db()
    assert comment.body == "second" and comment.edited is not None
    delete = reverse("comment_delete", args=[comment.pk])
    assert team.client("editor").post(delete).status_code == 403
    assert team.client("owner").post(delete).status_code == 302
    assert not Comment.objects.exists()


def test_an_empty_comment_is_refused_with_a_message(team, board, panel):
    client = team.client("editor")
    response = post(client, board, panel=panel.pk, body="   ")
    assert response.status_code == 302 and not Comment.objects.exists()
    page = client.get(response.url).content.decode()
    assert "Write something before posting the comment." in page


def test_a_point_or_rectangle_must_lie_on_the_image(team, board, panel):
    client = team.client("editor")
    post(client, board, panel=panel.pk, body="here", x="0.25", y="0.5")
    post(client, board, panel=panel.pk, body="area", x="0.1", y="0.1", w="0.3", h="0.2")
    post(client, board, panel=panel.pk, body="off", x="0.9", y="0.1", w="0.3", h="0.2")
    post(client, board, panel=panel.pk, body="far off", x="1.5", y="0.1")
    rows = {c.body: (c.x, c.y, c.w, c.h) for c in Comment.objects.all()}
    assert rows == {"here": (0.25, 0.5, None, None), "area": (0.1, 0.1, 0.3, 0.2)}


def test_resolve_and_reopen_change_the_cards_open_count(team, board, panel):
    comment = comment_create(board=board, panel=panel, author=team.viewer, body="fix the hand")
    comment_create(board=board, panel=panel, parent=comment, author=team.editor, body="on it")
    board_url = reverse("board_detail", args=[board.pk])
    client = team.client("editor")
    assert 'data-open-comments="1"' in client.get(board_url).content.decode()
    url = reverse("comment_resolve", args=[comment.pk])
    # Viewers may resolve only their own threads; reviewers and up any thread.
    other = comment_create(board=board, panel=panel, author=team.editor, body="mine")
    assert (
        team.client("viewer").post(reverse("comment_resolve", args=[other.pk])).status_code == 403
    )
    team.client("reviewer").post(url, {"resolved": "1"})
    assert 'data-open-comments="1"' in client.get(board_url).content.decode()  # "mine" is open
    comment.refresh_from_db()
    assert comment.resolved is not None and comment.resolved_by == team.reviewer
    team.client("viewer").post(url, {"resolved": "0"})
    comment.refresh_from_db()
    assert comment.resolved is None
    assert 'data-open-comments="2"' in client.get(board_url).content.decode()


def test_board_filter_shows_only_panels_with_open_comments(team, board, panel):
    quiet = PanelFactory(board=board)
    comment_create(board=board, panel=panel, author=team.viewer, body="open")
    url = reverse("board_detail", args=[board.pk])
    everything = team.client("viewer").get(url)
    assert [p.pk for p in everything.context["panels"]] == [panel.pk, quiet.pk]
    only_open = team.client("viewer").get(url, {"comments": "open"})
    assert [p.pk for p in only_open.context["panels"]] == [panel.pk]
    assert f'id="panel-{quiet.pk}"' not in only_open.content.decode()


def test_pinned_take_stays_beside_its_comment_when_a_newer_take_is_selected(team, board, panel):
    first_take = panel.selected_take
    comment_create(board=board, panel=panel, author=team.viewer, body="her coat is wrong")
    newer = TakeFactory(panel=panel)
    team.client("editor").post(reverse("take_select", args=[newer.pk]), {"panel": panel.pk})
    page = team.client("viewer").get(reverse("panel_edit", args=[panel.pk])).content.decode()
    thread = page[page.index("her coat is wrong") - 2000 : page.index("her coat is wrong") + 1500]
    assert "Written about an earlier take" in thread
    assert first_take.thumbnail.url in thread


def test_panel_page_shows_the_thread_beside_the_image(team, board, panel):
    comment_create(board=board, panel=panel, author=team.viewer, body="Nice light")
    page = team.client("viewer").get(reverse("panel_edit", args=[panel.pk])).content.decode()
    aside = page[page.index('class="panel-editor-side"') :]
    assert "Nice light" in aside[: aside.index("</aside>")]


def test_guest_comments_notify_makers_and_panel_comments_notify_the_artist(team, board, panel):
    Panel.objects.filter(pk=panel.pk).update(
        selected_take=TakeFactory(panel=panel, created_by=team.editor)
    )
    panel.refresh_from_db()
    comment_create(board=board, panel=panel, author=team.reviewer, body="lovely")
    assert notified("comment") == {team.editor.pk}
    Notification.objects.all().delete()
    comment_create(board=board, panel=panel, guest_name="Client Carla", body="more red")
    assert notified("guest_comment") == {team.owner.pk, team.editor.pk}


# --- live parts and query counts --------------------------------------------------------


def test_live_poll_answers_204_until_a_comment_arrives_then_shows_it(team, board, panel):
    client = team.client("reviewer")
    page = client.get(reverse("board_detail", args=[board.pk]))
    version = page.context["review_version"]
    live = reverse("board_review_live", args=[board.pk])
    assert client.get(live, {"v": version}).status_code == 204
    comment_create(board=board, panel=panel, guest_name="Carla", body="Make it rain")
    response = client.get(live, {"v": version})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Make it rain" in body and 'id="review-feed"' in body
    assert f'id="review-card-{panel.pk}"' in body and 'data-open-comments="1"' in body
    assert client.get(live, {"v": response.context["review_version"]}).status_code == 204


def test_live_poll_query_counts_are_pinned(team, board, django_assert_num_queries):
    fill_board(board, 30)
    panels = list(board.panels.all())
    for i, p in enumerate(panels):
        comment_create(board=board, panel=p, author=team.viewer, body=f"note {i}")
    client = team.client("viewer")
    live = reverse("board_review_live", args=[board.pk])
    version = client.get(reverse("board_detail", args=[board.pk])).context["review_version"]
    # session, user, board, membership, counter
    with django_assert_num_queries(5):
        assert client.get(live, {"v": version}).status_code == 204
    # ... plus panels, statuses, open counts, feed, member names
    with django_assert_num_queries(10):
        assert client.get(live, {"v": version - 1}).status_code == 200


def test_board_page_query_count_is_pinned_with_and_without_comments(team, editor_client):
    from reviews.models import PanelReview

    quiet = BoardFactory(project=team.project, name="Quiet")
    busy = BoardFactory(project=team.project, name="Busy")
    fill_board(quiet, 200)
    fill_board(busy, 200)
    panels = list(busy.panels.all())
    authors = [team.viewer, team.editor, team.reviewer]
    # 1,000 comments: 750 threads (every 50th on the board itself), 250 replies.
    roots = Comment.objects.bulk_create(
        Comment(
            board=busy,
            panel=None if i % 50 == 0 else panels[i % 200],
            author=authors[i % 3],
            body=f"@editor note {i}",
        )
        for i in range(750)
    )
    Comment.objects.bulk_create(
        Comment(board=busy, panel=roots[i].panel, parent=roots[i], author=team.owner, body="ok")
        for i in range(0, 750, 3)
    )
    PanelReview.objects.bulk_create(
        PanelReview(panel=p, board=busy, status="approved") for p in panels[::4]
    )
    link_create(board=busy, user=team.owner)
    counts = {}
    for board in (quiet, busy):
        with CaptureQueriesContext(connection) as ctx:
            response = editor_client.get(reverse("board_detail", args=[board.pk]))
        assert response.status_code == 200
        counts[board.name] = len(ctx.captured_queries)
    assert Comment.objects.filter(board=busy).count() == 1000
    assert "50 of 200 approved" in response.content.decode()
    # Each card drawn (a first visit); 6 of them for the review parts (statuses, open counts,
    # counter, newest comments, member names, guest links: the whole-board threads load when
    # their section opens), the rest as tests/test_board_pages.py counts them.
    first_visit = BOARD_QUERIES + CARD_RENDER_QUERIES
    assert counts == {"Quiet": first_visit, "Busy": first_visit}, counts


def test_progress_poll_query_count_does_not_change_with_comments(team, board, panel):
    from workers.models import GenerationJob

    GenerationJob.objects.create(project=team.project, panel=panel, backend="sketch")
    client = team.client("viewer")
    url = reverse("board_progress", args=[board.pk])
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for i in range(20):
        comment_create(board=board, panel=panel, author=team.viewer, body=f"c{i}")
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(before) == len(after)
