"""Generating a panel from the board with the offline sketch backend."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from studio.models import Membership
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import (
    BoardFactory,
    CastMemberFactory,
    CharacterFactory,
    MembershipFactory,
    PanelFactory,
    ReferenceImageFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser


def test_generate_on_a_card_shows_the_new_frame(page, settings, shots):
    # No Celery worker runs here: eager mode runs the job inside the POST, and the
    # sketch backend draws at once, so the board is done when the redirect lands.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.STUDIO_BACKEND = "sketch"
    user = UserFactory(username="mira", password=PASSWORD)
    membership = MembershipFactory(user=user, role=Membership.Role.EDITOR)
    reference = ReferenceImageFactory(sheet__character__project=membership.project)
    board = BoardFactory(project=membership.project, name="Crossing")
    panel = PanelFactory(board=board, action="Ines waits on the pier.")
    CastMemberFactory(panel=panel, character=reference.sheet.character)

    log_in(page, "mira")
    page.goto(f"/boards/{board.pk}/")
    frame = page.locator(f"#frame-{panel.pk}")
    expect(frame).to_have_class(re.compile(r"\bframe-empty\b"))
    expect(frame).to_contain_text("Not generated yet")

    page.locator(f"#gen-{panel.pk}").get_by_role("button", name="Generate").click()
    page.wait_for_url(f"**/boards/{board.pk}/")
    page.reload()

    expect(page.locator(f"#gen-{panel.pk} .gen-state")).to_have_text("Generated")
    image = frame.locator("img")
    expect(frame).not_to_have_class(re.compile(r"\bframe-empty\b"))
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0, "the generated frame did not load"
    expect(page.locator(f"#gen-{panel.pk}")).to_contain_text("Regenerate")
    screenshot(page, shots, "board-generated")


def test_board_warns_about_missing_references_and_chains_a_continuing_panel(page, settings, shots):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.STUDIO_BACKEND = "sketch"
    user = UserFactory(username="mira", password=PASSWORD)
    membership = MembershipFactory(user=user, role=Membership.Role.EDITOR)
    reference = ReferenceImageFactory(sheet__character__project=membership.project)
    mara = CharacterFactory(project=membership.project, name="Mara")
    board = BoardFactory(project=membership.project, name="Crossing")
    first = PanelFactory(board=board, action="Ines waits on the pier.")
    second = PanelFactory(board=board, action="She turns to the sea.", continue_previous=True)
    CastMemberFactory(panel=first, character=reference.sheet.character)
    CastMemberFactory(panel=second, character=mara)

    log_in(page, "mira")
    page.goto(f"/boards/{board.pk}/")
    expect(page.locator("[data-unreferenced]")).to_contain_text("Mara has no reference images")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Generate board").click()
    page.wait_for_url(f"**/boards/{board.pk}/")
    page.reload()

    assert questions and "Mara has no reference images" in questions[0]
    expect(page.locator(f"#gen-{first.pk} .gen-state")).to_have_text("Generated")
    expect(page.locator(f"#gen-{second.pk}")).to_contain_text("Made without references for Mara")
    second.refresh_from_db()
    first.refresh_from_db()
    previous = [r for r in second.selected_take.request["references"] if r["role"] == "previous"]
    assert [r["id"] for r in previous] == [first.selected_take_id]

    # A new take on the first panel: the second is marked, and one click draws it again.
    page.goto(f"/panels/{first.pk}/")
    page.get_by_label("Change this take").first.fill("make it night")
    page.locator("#takes").get_by_role("button", name="Edit").first.click()
    page.wait_for_url(f"**/panels/{first.pk}/**")
    page.locator("#takes").get_by_role("button", name="Use this take").first.click()
    page.goto(f"/boards/{board.pk}/")
    stale = page.locator(f"#gen-{second.pk}")
    expect(stale).to_contain_text("Previous panel changed")
    screenshot(page, shots, "board-previous-changed")
    stale.locator("form:has(input[name=continuity])").get_by_role("button").click()
    page.wait_for_url(f"**/boards/{board.pk}/")
    page.reload()
    expect(page.locator(f"#gen-{second.pk}")).not_to_contain_text("Previous panel changed")
    screenshot(page, shots, "board-chained")
