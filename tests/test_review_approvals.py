"""Approval status per panel: who may set it, what approving records, send for review."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from boards.models import Panel
from reviews.models import PanelReview
from reviews.services import panel_status_set
from studio.models import Notification
from tests.factories import BoardFactory, PanelFactory, TakeFactory, png_bytes


@pytest.fixture
def board(team):
    board = BoardFactory(project=team.project, name="Harbour")
    for _ in range(3):
        panel = PanelFactory(board=board)
        Panel.objects.filter(pk=panel.pk).update(selected_take=TakeFactory(panel=panel))
    return board


def status_of(panel) -> str:
    row = PanelReview.objects.filter(panel=panel).first()
    return row.status if row else "draft"


def test_reviewer_approves_and_the_row_records_who_and_which_take(team, board):
    panel = board.panels.order_by("position").first()
    response = team.client("reviewer").post(
        reverse("panel_status", args=[panel.pk]), {"status": "approved"}
    )
    assert response.status_code == 302
    row = PanelReview.objects.get(panel=panel)
    assert (row.status, row.approved_by, row.approved_take_id) == (
        "approved",
        team.reviewer,
        panel.selected_take_id,
    )
    assert {n.recipient_id for n in Notification.objects.filter(kind="status")} == {
        team.owner.pk,
        team.editor.pk,
    }


def test_viewer_cannot_set_a_status(team, board):
    panel = board.panels.first()
    url = reverse("panel_status", args=[panel.pk])
    assert team.client("viewer").post(url, {"status": "approved"}).status_code == 403
    assert status_of(panel) == "draft"


def test_an_unknown_status_is_refused(team, board):
    panel = board.panels.first()
    url = reverse("panel_status", args=[panel.pk])
    assert team.client("reviewer").post(url, {"status": "great"}).status_code == 400
    assert status_of(panel) == "draft"


def test_board_header_counts_approvals(team, board):
    first = board.panels.order_by("position").first()
    panel_status_set(panel=first, status="approved", user=team.reviewer)
    page = team.client("viewer").get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "1 of 3 approved" in page
    assert '<progress id="review-bar" max="3" value="1">' in page
    assert "2 draft" in page and "1 approved" in page


def test_htmx_approval_answers_the_card_and_the_new_count(team, board):
    panel = board.panels.order_by("position").first()
    response = team.client("reviewer").post(
        reverse("panel_status", args=[panel.pk]), {"status": "approved"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert f'id="review-card-{panel.pk}"' in body and 'data-review-status="approved"' in body
    assert 'id="review-summary" class="review-summary" hx-swap-oob="true"' in body
    assert "1 of 3 approved" in body


def test_send_for_review_moves_only_drafts_and_tells_the_reviewers(team, board):
    first, second, third = board.panels.order_by("position")
    panel_status_set(panel=first, status="approved", user=team.reviewer)
    Notification.objects.all().delete()
    url = reverse("board_send_for_review", args=[board.pk])
    assert team.client("reviewer").post(url).status_code == 403
    team.client("editor").post(url)
    assert [status_of(p) for p in (first, second, third)] == ["approved", "in_review", "in_review"]
    assert list(Notification.objects.values_list("recipient_id", "kind")) == [
        (team.reviewer.pk, "status")
    ]
    # Nothing left to send: nobody hears again.
    Notification.objects.all().delete()
    team.client("editor").post(url)
    assert not Notification.objects.exists()


def test_a_new_selected_take_puts_an_approved_panel_back_in_review(team, board):
    panel, other = board.panels.order_by("position")[:2]
    panel_status_set(panel=panel, status="approved", user=team.reviewer)
    panel_status_set(panel=other, status="approved", user=team.reviewer)
    newer = TakeFactory(panel=panel)
    team.client("editor").post(reverse("take_select", args=[newer.pk]), {"panel": panel.pk})
    assert status_of(panel) == "in_review"
    row = PanelReview.objects.get(panel=panel)
    assert row.approved_by == team.reviewer  # who approved the earlier take is kept
    # An uploaded take is selected too, so it also reopens the review.
    upload = SimpleUploadedFile("fix.png", png_bytes(), content_type="image/png")
    team.client("editor").post(reverse("take_upload", args=[other.pk]), {"image": upload})
    assert status_of(other) == "in_review"


def test_reselecting_the_approved_take_keeps_the_approval(team, board):
    panel = board.panels.order_by("position").first()
    panel.refresh_from_db()
    panel_status_set(panel=panel, status="approved", user=team.reviewer)
    approved = panel.selected_take
    team.client("editor").post(reverse("take_select", args=[approved.pk]), {"panel": panel.pk})
    assert status_of(panel) == "approved"
