"""What a viewer (a producer, a client) sees: the board, and no way to change it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from boards.models import Panel
from studio.models import Membership
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import (
    BoardFactory,
    CastMemberFactory,
    MembershipFactory,
    PanelFactory,
    ReferenceImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

EDIT_CONTROLS = (
    ".drag-handle",
    "[data-move]",
    "[data-pick]",
    "#generate-form",
    "form[action$='/panels/new/']",
    "form[action$='/generate/']",
    "form[action$='/delete/']",
    "a[href$='/edit/']",
    # Viewers may comment (the review loop); nothing else of theirs posts.
    "[hx-post]:not([hx-post*='/comments/'])",
    "[hx-get*='/inline/']",
)


@pytest.fixture
def viewer_board(db):
    viewer = UserFactory(username="producer", password=PASSWORD)
    membership = MembershipFactory(user=viewer, role=Membership.Role.VIEWER)
    reference = ReferenceImageFactory(sheet__character__project=membership.project)
    board = BoardFactory(project=membership.project, name="Crossing")
    panels = [PanelFactory(board=board, position=n, action=f"Beat {n + 1}.") for n in (0, 1)]
    CastMemberFactory(panel=panels[0], character=reference.sheet.character)
    return board


def test_viewer_sees_no_edit_controls(page, viewer_board, shots):
    log_in(page, "producer")
    page.goto(f"/boards/{viewer_board.pk}/")
    expect(page.locator("#panel-grid > [data-panel-id]")).to_have_count(2)
    for selector in EDIT_CONTROLS:
        expect(page.locator(f"main {selector}")).to_have_count(0)
    expect(page.get_by_role("button", name="Generate")).to_have_count(0)
    expect(page.get_by_role("link", name="Open", exact=True)).to_have_count(2)
    screenshot(page, shots, "board-viewer")

    page.get_by_role("link", name="Open", exact=True).first.click()
    expect(page.locator(".panel-readonly")).to_contain_text("Beat 1.")
    # The only form a viewer gets on a panel is the comment box.
    expect(page.locator("main form:not([data-comment-form])")).to_have_count(0)

    character = viewer_board.project.characters.get()
    page.goto(f"/characters/{character.pk}/")
    expect(page.locator("main form")).to_have_count(0)
    expect(page.locator(".js-dropzone, input[type=file]")).to_have_count(0)


def test_viewer_gets_403_on_write_urls(page, viewer_board, problems, shots):
    problems.allow(r"status of 403")
    log_in(page, "producer")

    response = page.goto(f"/boards/{viewer_board.pk}/edit/")
    assert response.status == 403
    expect(page.get_by_text("Your role does not allow this")).to_be_visible()
    screenshot(page, shots, "forbidden")
    # A forged request from the board page itself, with a valid CSRF token, is refused too.
    page.goto(f"/boards/{viewer_board.pk}/")
    status = page.evaluate(
        """async (url) => {
            const token = JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
            const response = await fetch(url, {method: "POST", headers: {"X-CSRFToken": token}});
            return response.status;
        }""",
        f"/boards/{viewer_board.pk}/panels/new/",
    )
    assert status == 403
    assert Panel.objects.filter(board=viewer_board).count() == 2
