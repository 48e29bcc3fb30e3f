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
