"""An owner invites a new person by email; they join from the mailed link; the owner is told."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from studio.models import Membership
from tests.browser.conftest import PASSWORD, WIDE, log_in, screenshot
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.browser


def test_a_new_person_joins_from_the_invitation_mail(
    page, chromium, live_server, outbox, problems, shots
):
    owner = UserFactory(username="director", password=PASSWORD)
    project = MembershipFactory(
        user=owner, role=Membership.Role.OWNER, project__name="Tidewater"
    ).project

    log_in(page, "director")
    page.goto(f"/project/{project.pk}/members/")
    page.get_by_label("Username or email").fill("ana@example.org")
    page.get_by_label("Role:", exact=True).select_option("reviewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash")).to_contain_text("Invitation sent to “ana@example.org”")
    expect(page.locator("table.invitations")).to_contain_text("ana@example.org")
    screenshot(page, shots, "members-invited")

    assert [m.to for m in mail.outbox] == [["ana@example.org"]]
    path = re.search(r"https?://[^/\s]+(/invite/\S+/)", mail.outbox[0].body).group(1)
    invitee = chromium.new_context(
        viewport={"width": WIDE, "height": 900}, base_url=live_server.url
    )
    try:
        ana = invitee.new_page()
        ana.goto(path)
        expect(ana.locator("h1")).to_have_text("Join “Tidewater”")
        ana.locator("#id_username").fill("ana")
        ana.locator("#id_first_name").fill("Ana Lima")
        ana.locator("#id_password1").fill("tide-pool-ferry-88")
        ana.locator("#id_password2").fill("tide-pool-ferry-88")
        ana.get_by_role("button", name="Create account and join").click()
        ana.wait_for_url(f"**/project/{project.pk}/")
        expect(ana.locator(".flash")).to_contain_text("you are a reviewer here")
    finally:
        invitee.close()

    page.reload()
    expect(page.locator(".inbox-bell .count")).to_have_text("1")
    page.locator(".inbox-bell").click()
    page.get_by_role("link", name=re.compile("ana accepted your invitation")).click()
    expect(page.locator("table.members")).to_contain_text("ana")
    expect(page.locator(".inbox-bell .count")).to_have_count(0)
