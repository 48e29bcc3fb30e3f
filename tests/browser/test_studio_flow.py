"""A new user's first session, driven through headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from boards.models import Panel
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import UserFactory, png_bytes

pytestmark = pytest.mark.browser


def _png(path, color):
    path.write_bytes(png_bytes(color=color, size=(120, 160)))
    return path


def _card_ids(page) -> list[str]:
    return page.locator("#panel-grid > [data-panel-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.panelId)"
    )


def _drop_file(page, selector: str, name: str, data: bytes) -> None:
    """Drop one file on an element the way a file manager would: a DataTransfer in drag events."""
    transfer = page.evaluate_handle(
        """([name, bytes]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
            return transfer;
        }""",
        [name, list(data)],
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def test_new_user_builds_a_character_and_a_board(page, shots, tmp_path):
    UserFactory(username="mira", password=PASSWORD)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/"))
    screenshot(page, shots, "login")
    log_in(page, "mira")
    screenshot(page, shots, "projects-empty")

    page.get_by_role("link", name="Create your first project").click()
    page.get_by_label("Name").fill("Night Ferry")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Night Ferry", level=1)).to_be_visible()

    page.get_by_role("link", name="Add a character").click()
    page.get_by_label("Name").fill("Ines")
    page.get_by_label("Appearance").fill("tall, short grey hair, yellow raincoat")
    page.get_by_role("button", name="Create character").click()
    expect(page.get_by_role("heading", name="Ines", level=1)).to_be_visible()

    # Two images through the drop zone's file input, one dropped on the zone itself.
    front = _png(tmp_path / "ines-front.png", (200, 60, 60))
    other = _png(tmp_path / "ines-pose.png", (60, 120, 200))
    # The drop zone shows once the page's script has taken over the file input: only then
    # does a pick join the list (a person sees the zone before using it).
    expect(page.locator(".js-dropzone")).to_be_visible()
    page.locator(".js-upload-input").set_input_files([str(front), str(other)])
    rows = page.locator(".js-upload-list .upload-item")
    expect(rows).to_have_count(2)
    _drop_file(page, ".js-dropzone", "ines-closeup.png", png_bytes((40, 160, 80), (100, 100)))
    expect(rows).to_have_count(3)
    expect(page.get_by_label("View of ines-front.png")).to_have_value("front")
    page.get_by_label("View of ines-pose.png").select_option("side")
    page.get_by_label("View of ines-closeup.png").select_option("face")
    screenshot(page, shots, "character-upload-picked")
    page.get_by_role("button", name="Upload 3 images").click()

    tiles = page.locator(".ref-grid .ref-tile")
    expect(tiles).to_have_count(3)
    for name, view in (
        ("ines-front.png", "Front"),
        ("ines-pose.png", "Side"),
        ("ines-closeup.png", "Face"),
    ):
        tile = tiles.filter(has_text=name)
        expect(tile.locator(".badge").first).to_have_text(view)
        thumb = tile.locator("img")
        thumb.scroll_into_view_if_needed()
        expect(thumb).to_have_js_property("complete", True)
        assert thumb.evaluate("img => img.naturalWidth") > 0, f"thumbnail of {name} did not load"
    screenshot(page, shots, "character-detail")

    # The view select on a saved image saves as soon as it changes.
    page.get_by_label("View of this image").first.select_option("three_quarter")
    expect(tiles.filter(has_text="ines-front.png").locator(".badge").first).to_have_text(
        "Three-quarter"
    )

    page.get_by_role("link", name="Night Ferry").click()
    screenshot(page, shots, "project-detail")
    page.get_by_role("link", name="Write the first board").click()
    page.get_by_label("Name").fill("Crossing")
    page.get_by_role("button", name="Create board").click()
    expect(page.get_by_role("heading", name="Crossing", level=1)).to_be_visible()
    screenshot(page, shots, "board-empty")

    cards = page.locator("#panel-grid > [data-panel-id]")
    add = page.locator(".page-head").get_by_role("button", name="Add panel")
    for count in (1, 2, 3):
        add.click()
        expect(cards).to_have_count(count)
    expect(page.locator("[data-panel-count]")).to_have_text("3 panels")
    first, second, third = _card_ids(page)

    # Write the first panel in the full editor, with Ines in it.
    cards.first.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Action").fill("Ines boards the ferry in the rain.")
    page.get_by_label("Dialogue").fill("Last crossing tonight?")
    page.get_by_label("Shot type").select_option(label="Close-up")
    page.locator("[data-cast-row] select[name$='-character']").first.select_option(label="Ines")
    screenshot(page, shots, "panel-edit")
    page.get_by_role("button", name="Save panel").click()
    expect(page.locator(".flash")).to_contain_text("Panel 1 saved")
    card = page.locator(f"#panel-{first}")
    expect(card.locator(".chip")).to_have_text("Ines")
    expect(card.locator(".panel-dialogue")).to_contain_text("Last crossing tonight?")
    expect(card.locator(".panel-card-head .badge")).to_have_text("Close-up")

    # Quick edit the second panel in place (htmx swaps the card for a form and back).
    cards.nth(1).get_by_role("link", name="Quick edit").click()
    editing = page.locator(f"#panel-{second}.is-editing")
    editing.get_by_label("Action").fill("The ramp rises behind her.")
    editing.get_by_role("button", name="Save").click()
    expect(page.locator(f"#panel-{second} .panel-action")).to_have_text(
        "The ramp rises behind her."
    )
    screenshot(page, shots, "board-three-panels")

    # Reorder with the arrow buttons: the first panel goes one step right.
    with page.expect_response(re.compile(rf"/panels/{first}/move/")) as moved:
        card.get_by_role("button", name="Move panel 1 right").click()
    assert moved.value.ok
    assert _card_ids(page) == [second, first, third]
    page.reload()
    assert _card_ids(page) == [second, first, third]
    expect(page.locator(f"#panel-{first} [data-number]")).to_have_text("2")

    # Then drag the last card by its handle onto the left half of the first one.
    handle = page.locator(f"#panel-{third} .drag-handle")
    target = page.locator(f"#panel-{second}")
    with page.expect_response(re.compile(rf"/panels/{third}/move/")) as moved:
        handle.drag_to(target, target_position={"x": 10, "y": 60})
    assert moved.value.ok
    assert _card_ids(page) == [third, second, first]
    page.reload()
    assert _card_ids(page) == [third, second, first]
    stored = list(Panel.objects.filter(board__name="Crossing").values_list("pk", flat=True))
    assert [str(pk) for pk in stored] == [third, second, first]
