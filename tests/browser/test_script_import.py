"""A writer imports a script through the pages: upload, preview, change a match, confirm."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from boards.models import Board, Panel
from characters.models import Character
from studio.models import Membership
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import CharacterFactory, LocationFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.browser

SCRIPT = Path(__file__).parent.parent / "scripts" / "lighthouse.fountain"


@pytest.fixture
def writer(db, settings):
    # No Celery worker runs here: eager mode saves the confirmed import inside the
    # POST, so its status page is done and moves on to the boards at once.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    user = UserFactory(username="writer", password=PASSWORD)
    membership = MembershipFactory(user=user, role=Membership.Role.EDITOR)
    CharacterFactory(project=membership.project, name="Mara Quinn")
    LocationFactory(project=membership.project, name="Lighthouse")
    return membership.project


def test_import_with_preview_and_a_changed_match(page, writer, shots):
    log_in(page, "writer")
    page.goto(f"/project/{writer.pk}/")
    page.get_by_role("link", name="Import script").click()
    screenshot(page, shots, "script-upload")
    page.get_by_label("Script file").set_input_files(str(SCRIPT))
    page.get_by_role("button", name="Read the script").click()

    expect(page.locator("h1")).to_have_text("The Keeper")
    expect(page.get_by_label("Character for MARA")).to_have_value(
        str(Character.objects.get(name="Mara Quinn").pk)
    )
    page.get_by_label("Character for TOM").select_option(label="+ Create character “Tom”")
    page.locator("details.script-board").first.click()
    screenshot(page, shots, "script-preview")
    assert not Board.objects.filter(project=writer).exists()

    page.get_by_role("button", name="Create 3 boards").click()
    expect(page.locator(".flash-success")).to_contain_text("Imported lighthouse.fountain: 3 boards")
    tom = Character.objects.get(project=writer, name="Tom")
    assert (
        Panel.objects.filter(board__project=writer, cast__character=tom).count() == 2
    )  # his speech and "Tom follows"
    screenshot(page, shots, "script-imported")


def test_unreadable_file_shows_what_and_where(page, writer, shots, tmp_path):
    bad = tmp_path / "broken.fdx"
    bad.write_text(
        '<?xml version="1.0"?>\n<FinalDraft><Content>\n<Paragraph Type="Action"><Text>x</Paragraph>'
    )
    log_in(page, "writer")
    page.goto(f"/project/{writer.pk}/script/import/")
    page.get_by_label("Script file").set_input_files(str(bad))
    page.get_by_role("button", name="Read the script").click()
    expect(page.locator(".errorlist")).to_contain_text(
        "broken.fdx, line 3, column 35: The Final Draft file is damaged"
    )
    screenshot(page, shots, "script-error")


def test_revised_draft_preview_shows_the_diff_then_updates(page, writer, shots, tmp_path):
    from tests.test_script_import import DRAFT_1, DRAFT_2

    first, second = tmp_path / "keeper.fountain", tmp_path / "keeper-v2.fountain"
    first.write_text(DRAFT_1)
    second.write_text(DRAFT_2)
    log_in(page, "writer")
    for path in (first, second):
        page.goto(f"/project/{writer.pk}/script/import/")
        page.get_by_label("Script file").set_input_files(str(path))
        page.get_by_role("button", name="Read the script").click()
        if path == first:
            page.get_by_role("button", name="Create 2 boards").click()
            expect(page.locator(".flash-success")).to_be_visible()

    expect(page.locator("details.script-board").first).to_contain_text(
        "2 kept · 1 changed · 1 new · 0 cut"
    )
    expect(page.locator("ins").first).to_have_text(
        "Mara climbs the spiral stairs to the old lamp room."
    )
    screenshot(page, shots, "script-diff")
    page.get_by_role("button", name="Update the boards").click()
    expect(page.locator(".flash-success")).to_contain_text("Updated keeper-v2.fountain: 3 boards")
    board = Board.objects.get(project=writer, name="1 INT. LIGHTHOUSE - NIGHT")
    page.goto(f"/boards/{board.pk}/")
    expect(page.locator(".panel-card .badge-warn")).to_have_text(["Script changed"])
    screenshot(page, shots, "script-board-after")
    page.get_by_role("button", name="Mark as seen").click()
    expect(page.locator(".panel-card .badge-warn")).to_have_count(0)
    assert not Panel.objects.filter(board=board, script_state="changed").exists()
