"""Owner, reviewer and guest in three browsers at once: share, comment, approve, all live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from boards.models import Panel
from studio.models import Membership
from tests.browser.conftest import PASSWORD, WIDE, _watch, log_in, screenshot
from tests.factories import (
    BoardFactory,
    MembershipFactory,
    PanelFactory,
    ProjectFactory,
    TakeFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


def _context(chromium, live_server, problems):
    context = chromium.new_context(
        viewport={"width": WIDE, "height": 900}, base_url=live_server.url
    )
    context.set_default_timeout(15_000)
    context.on("page", lambda p: _watch(p, problems))
    return context


def _mark_loaded(page) -> None:
    """A flag that only a reload would clear: the test checks it is still there at the end."""
    page.evaluate("window.__sameDocument = true")


def _same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def test_owner_shares_guest_comments_reviewer_approves_live(chromium, live_server, problems, shots):
    project = ProjectFactory(name="Night Ferry")
    owner = UserFactory(username="olga", password=PASSWORD)
    reviewer = UserFactory(username="rémi", password=PASSWORD)
    MembershipFactory(project=project, user=owner, role=Membership.Role.OWNER)
    MembershipFactory(project=project, user=reviewer, role=Membership.Role.REVIEWER)
    board = BoardFactory(project=project, name="Crossing")
    panels = []
    for i in range(3):
        panel = PanelFactory(board=board, action=f"Ines boards the ferry, beat {i + 1}.")
        Panel.objects.filter(pk=panel.pk).update(selected_take=TakeFactory(panel=panel))
        panels.append(panel)
    first = panels[0]
    board_url = f"/boards/{board.pk}/"

    contexts = [_context(chromium, live_server, problems) for _ in range(3)]
    try:
        owner_page, reviewer_page, guest_page = (c.new_page() for c in contexts)

        # The owner creates a guest link that lets guests comment.
        log_in(owner_page, "olga")
        owner_page.goto(board_url)
        owner_page.get_by_role("link", name="Share with a guest").click()
        owner_page.get_by_label("Who is it for?").fill("Client, first cut")
        owner_page.get_by_label("Guests may comment").check()
        owner_page.get_by_role("button", name="Create link").click()
        guest_url = owner_page.locator("[data-new-link]").input_value()
        assert re.match(rf"{re.escape(live_server.url)}/r/[\w-]{{22,}}/$", guest_url), guest_url
        screenshot(owner_page, shots, "links")

        # Owner and reviewer watch the board; from here on neither page reloads.
        owner_page.goto(board_url)
        expect(owner_page.locator("[data-approved-count]")).to_have_text("0 of 3 approved")
        _mark_loaded(owner_page)
        log_in(reviewer_page, "rémi")
        reviewer_page.goto(board_url)
        _mark_loaded(reviewer_page)
        card = reviewer_page.locator(f"#panel-{first.pk}")
        expect(card.locator(".review-open")).to_have_count(0)

        # The guest opens the link, gives a name once, and comments on the first shot.
        guest_page.goto(guest_url)
        guest_page.get_by_label("Your name").fill("Carla")
        guest_page.get_by_role("button", name="Open the board").click()
        expect(guest_page.get_by_role("heading", name="Crossing", level=1)).to_be_visible()
        expect(guest_page.locator(".guest-panel img").first).to_have_js_property("complete", True)
        guest_page.get_by_label("Comment on shot 1").fill("Can the ferry be bigger?")
        guest_page.get_by_role("button", name="Post comment").first.click()
        expect(guest_page.locator(".comment-body").first).to_have_text("Can the ferry be bigger?")
        screenshot(guest_page, shots, "guest")
        _mark_loaded(guest_page)  # from here on the guest page does not reload either
        guest_first = guest_page.locator(f"#panel-{first.pk}")

        # The reviewer sees it arrive without a reload, and approves the shot on its card.
        expect(card.locator(".review-open")).to_have_text("1 open comment", timeout=10_000)
        reviewer_page.locator("#review summary").click()
        expect(reviewer_page.locator("#review-feed")).to_contain_text("Can the ferry be bigger?")
        expect(reviewer_page.locator("#review-feed .badge-guest")).to_have_text("guest")
        card.get_by_role("button", name="Approve panel 1").click()
        expect(card.locator(".review-status")).to_have_text("Approved")
        expect(reviewer_page.locator("[data-approved-count]")).to_have_text("1 of 3 approved")
        screenshot(reviewer_page, shots, "board-reviewer")

        # The owner's count changes without a reload.
        expect(owner_page.locator("[data-approved-count]")).to_have_text(
            "1 of 3 approved", timeout=10_000
        )
        expect(owner_page.locator(f"#panel-{first.pk} .review-status")).to_have_text("Approved")
        assert _same_document(owner_page) and _same_document(reviewer_page)
        # The guest sees the approval too, without a reload.
        expect(guest_first.locator(".review-status")).to_have_text("Approved", timeout=10_000)
        expect(guest_page.locator("[data-approved-count]")).to_have_text("1 of 3 approved")

        # The reviewer answers the whole team, picking the owner from the @ autocomplete;
        # the note appears on the owner's board, still without a reload.
        note = reviewer_page.get_by_label("Note to the whole team")
        note.press_sequentially("Fine by me @ol")
        expect(reviewer_page.locator(".mention-menu li")).to_have_text(["@olga"])
        note.press("Enter")
        expect(note).to_have_value("Fine by me @olga ")
        reviewer_page.locator("#comments-board").get_by_role("button", name="Post comment").click()
        expect(reviewer_page.locator("#comments-board .mention")).to_have_text("@olga")
        owner_page.locator("#review summary").click()
        expect(owner_page.locator("#review-feed")).to_contain_text("Fine by me", timeout=10_000)
        assert _same_document(owner_page) and _same_document(reviewer_page)

        # The reviewer answers the guest on the first shot: the guest sees the reply arrive
        # under their comment, marked with the reviewer's name, still without a reload.
        reviewer_page.goto(f"/panels/{first.pk}/")
        guests_thread = reviewer_page.locator("#comments .thread").first
        guests_thread.locator(".reply-box summary").click()
        guests_thread.get_by_label("Reply", exact=True).fill("Yes, we'll go wider.")
        guests_thread.get_by_role("button", name="Reply", exact=True).click()
        expect(reviewer_page.locator("#comments .reply")).to_contain_text("we'll go wider")
        reply = guest_first.locator(".thread .reply")
        expect(reply).to_contain_text("Yes, we'll go wider.", timeout=10_000)
        expect(reply.locator(".comment-who")).to_have_text("rémi")
        expect(guest_page.locator("#guest-threads-board")).to_contain_text("Fine by me @olga")
        assert _same_document(guest_page)
        screenshot(guest_page, shots, "guest-live")

        # The panel page shows the guest's thread beside the image, marked as a guest comment;
        # a click on the image pins the owner's reply-to-all to that spot.
        owner_page.goto(f"/panels/{first.pk}/")
        thread = owner_page.locator("#comments .thread").first
        expect(thread.locator(".comment-who")).to_have_text(["Carla", "rémi"])
        expect(thread.locator(".badge-guest")).to_have_count(1)
        image = owner_page.locator(".panel-editor-side .frame")
        image.click(position={"x": 40, "y": 30})
        expect(image.locator(".mark.is-draft.is-point")).to_have_count(1)
        owner_page.get_by_label("Comment on this shot").fill("The ferry's bow, here")
        owner_page.locator("#comments [data-comment-form]").get_by_role(
            "button", name="Post comment"
        ).click()
        pinned = owner_page.locator("#comments .thread").nth(1)
        expect(pinned.locator(".badge-mark")).to_have_text("spot")
        expect(image.locator(".mark.is-point:not(.is-draft)")).to_have_count(1)
        screenshot(owner_page, shots, "panel-thread")

        # The owner revokes the link while the guest is on the page: the guest's next poll
        # gets a 404 and the page says the link is no longer valid.
        problems.allow(r"status of 404")  # the browser's own line for the poll's 404
        owner_page.goto(f"/boards/{board.pk}/links/")
        owner_page.once("dialog", lambda dialog: dialog.accept())
        owner_page.get_by_role("button", name="Revoke").click()
        expect(owner_page.locator(".badge-bad")).to_contain_text("revoked")
        gone = guest_page.locator("[data-link-gone]")
        expect(gone).to_be_visible(timeout=10_000)
        expect(gone).to_contain_text("no longer valid")
        expect(guest_page.get_by_label("Comment on shot 2")).to_be_disabled()
        expect(guest_page.get_by_role("link", name="Play")).to_be_hidden()
        assert _same_document(guest_page)
        screenshot(guest_page, shots, "guest-revoked")
    finally:
        for context in contexts:
            context.close()
    assert not problems.seen, "console or page errors:\n" + "\n".join(problems.seen)
