"""Two people edit the same panel in two browsers: the second save merges instead of overwriting."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from boards import services
from boards.models import Panel
from tests.browser.conftest import PASSWORD, WIDE, _watch, log_in, screenshot
from tests.factories import (
    BoardFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
    png_bytes,
)
from workers.models import GenerationJob

pytestmark = pytest.mark.browser


def test_second_save_of_a_panel_shows_both_versions_and_keeps_both_changes(
    page, chromium, live_server, problems, shots
):
    project = ProjectFactory(name="Night Ferry")
    for name in ("ana", "ben"):
        MembershipFactory(project=project, user=UserFactory(username=name, password=PASSWORD))
    problems.allow(r"status of 409 \(Conflict\)")  # the merge page answers 409, as it should
    panel = services.panel_create(board=BoardFactory(project=project), action="She waits.")
    other = chromium.new_context(viewport={"width": WIDE, "height": 900}, base_url=live_server.url)
    other.on("page", lambda p: _watch(p, problems))
    try:
        ben = other.new_page()
        log_in(page, "ana")
        log_in(ben, "ben")
        page.goto(f"/panels/{panel.pk}/")
        ben.goto(f"/panels/{panel.pk}/")

        page.get_by_label("Action").fill("She runs for the boat.")
        page.get_by_role("button", name="Save panel").click()
        expect(page.locator(".flash-success")).to_contain_text("saved")

        ben.get_by_label("Dialogue").fill("Wait!\nWait for me!")
        ben.get_by_role("button", name="Save panel").click()
        expect(ben.get_by_role("heading", level=1)).to_contain_text("while you were editing")
        action = ben.locator("fieldset.merge-row", has_text="Action")
        expect(action).to_contain_text("She runs for the boat.")
        expect(action.get_by_role("radio", name="Keep theirs")).to_be_checked()
        dialogue = ben.locator("fieldset.merge-row", has_text="Dialogue")
        expect(dialogue.get_by_role("radio", name="Keep mine")).to_be_checked()
        screenshot(ben, shots, "merge")

        ben.get_by_role("button", name="Save the merged shot").click()
        expect(ben.locator(".flash-success")).to_contain_text("saved")
        panel = Panel.objects.get(pk=panel.pk)
        assert panel.action == "She runs for the boat."
        assert panel.dialogue.replace("\r\n", "\n") == "Wait!\nWait for me!"
    finally:
        other.close()


def test_panel_editor_shows_a_finished_job_without_a_reload_and_keeps_typed_text(page, shots):
    project = ProjectFactory(name="Night Ferry")
    user = UserFactory(username="ana", password=PASSWORD)
    MembershipFactory(project=project, user=user)
    panel = services.panel_create(board=BoardFactory(project=project), action="She waits.")
    job = GenerationJob.objects.create(project=project, panel=panel, backend="sketch")
    log_in(page, "ana")
    page.goto(f"/panels/{panel.pk}/")
    expect(page.locator(f"#gen-{panel.pk}")).to_contain_text("Queued")
    page.get_by_label("Action").fill("Typed, not saved yet")

    # The worker finishes while the page is open.
    take = services.take_upload(
        panel=panel, file=io.BytesIO(png_bytes(size=(160, 90))), name="t.png", user=user
    )
    GenerationJob.objects.filter(pk=job.pk).update(state="succeeded", take=take)

    expect(page.locator(f"#gen-{panel.pk} .gen-state")).to_have_text("Generated", timeout=8_000)
    expect(page.locator("#takes")).to_contain_text("1 take")
    expect(page.locator("#editor-live img")).to_have_count(1)
    expect(page.get_by_label("Action")).to_have_value("Typed, not saved yet")
    screenshot(page, shots, "editor-live")
