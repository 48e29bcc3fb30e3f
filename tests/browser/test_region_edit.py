"""Region edits in the browser: paint a mask with a mouse and a finger, send, compare."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

from studio.models import Membership
from tests.browser.conftest import PASSWORD, log_in, screenshot
from tests.factories import (
    BoardFactory,
    MembershipFactory,
    PanelFactory,
    TakeFactory,
    UserFactory,
    png_bytes,
)
from workers.backends import masks
from workers.models import GenerationJob

pytestmark = pytest.mark.browser


def painted_at(page, x: float, y: float) -> bool:
    """Whether the mask canvas is painted at a point given as shares of its width and height."""
    return page.locator("[data-region-canvas]").evaluate(
        """(canvas, [x, y]) => canvas.getContext("2d")
              .getImageData(Math.floor(x * canvas.width), Math.floor(y * canvas.height), 1, 1)
              .data[3] > 128""",
        [x, y],
    )


def touch_stroke(page, points) -> None:
    """A one-finger stroke, sent as real touch input through the browser's DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    first, *rest = points
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [first]})
    for point in rest:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_paint_with_mouse_and_touch_send_and_compare(page, settings, shots):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.STUDIO_BACKEND = "sketch"
    user = UserFactory(username="mira", password=PASSWORD)
    membership = MembershipFactory(user=user, role=Membership.Role.EDITOR)
    board = BoardFactory(project=membership.project, name="Crossing")
    panel = PanelFactory(board=board, action="Ines waits on the pier.")
    project_id = membership.project.pk
    take = TakeFactory(
        panel=panel,
        file=ContentFile(
            png_bytes((200, 180, 120), (640, 360)), name=f"projects/{project_id}/t/a.png"
        ),
        width=640,
        height=360,
    )
    panel.selected_take = take
    panel.save()

    log_in(page, "mira")
    page.goto(f"/panels/{panel.pk}/")
    page.get_by_role("link", name="Change part…").click()
    expect(page.get_by_role("heading", name="Change part of this take")).to_be_visible()
    canvas = page.locator("[data-region-canvas]")
    box = canvas.bounding_box()
    assert box is not None

    # A mouse stroke across the upper left.
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.25, steps=8)
    page.mouse.up()
    assert painted_at(page, 0.2, 0.22)
    assert not painted_at(page, 0.8, 0.75)

    # A finger stroke across the lower right.
    touch_stroke(
        page,
        [
            {"x": box["x"] + box["width"] * x, "y": box["y"] + box["height"] * 0.75}
            for x in (0.65, 0.7, 0.75, 0.8, 0.85)
        ],
    )
    assert painted_at(page, 0.8, 0.75), "the touch stroke did not paint"

    page.get_by_label("What should change there").fill("make it night")
    screenshot(page, shots, "region-editor")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(f"**/panels/{panel.pk}/#takes")

    job = GenerationJob.objects.get(kind="edit")
    assert job.state == "succeeded", job.error_message
    with job.mask.open("rb") as fh:
        mask = masks.load(fh.read())
    assert mask.getpixel((int(640 * 0.2), int(360 * 0.22))) == 255  # the mouse stroke
    assert mask.getpixel((int(640 * 0.8), int(360 * 0.75))) == 255  # the touch stroke
    assert mask.getpixel((int(640 * 0.5), int(360 * 0.5))) == 0

    # The new take shows before and after: a slider and a toggle.
    slider = page.locator("[data-compare-slider]")
    expect(slider).to_have_count(1)
    expect(slider).to_be_visible()
    after = page.locator("[data-compare-after]")
    slider.fill("20")
    expect(after).to_have_css("clip-path", "inset(0px 0px 0px 20%)")
    toggle = page.get_by_role("button", name="Show before")
    toggle.click()
    expect(after).to_be_hidden()
    expect(page.get_by_role("button", name="Show after")).to_be_visible()
    page.locator("#takes").scroll_into_view_if_needed()
    screenshot(page, shots, "region-compare")
