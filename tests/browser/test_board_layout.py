"""Board cards keep every control inside the card, from a phone to a wide screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from studio.models import Membership
from tests.browser.conftest import PASSWORD, log_in
from tests.factories import BoardFactory, MembershipFactory, UserFactory, png_bytes
from tests.test_board_pages import fill_board
from workers.models import GenerationJob

pytestmark = pytest.mark.browser

WIDTHS = (390, 820, 1400)


@pytest.fixture
def busy_board(db):
    """Cards with the most buttons: regenerate and variation, a retry, a redraw."""
    editor = UserFactory(username="artist", password=PASSWORD)
    project = MembershipFactory(user=editor, role=Membership.Role.EDITOR).project
    board = BoardFactory(project=project, name="Harbour")
    fill_board(board, 6)
    panels = list(board.panels.order_by("position").select_related("selected_take"))
    for panel in panels:  # fill_board names the takes' files; the page loads them
        take = panel.selected_take
        for name in (take.file.name, take.thumbnail.name):
            default_storage.save(name, ContentFile(png_bytes(size=(64, 36))))
    GenerationJob.objects.create(
        project=project,
        panel=panels[1],
        backend="sketch",
        state="needs_review",
        error_message="The provider did not answer; it may have made the picture.",
    )
    GenerationJob.objects.create(project=project, panel=panels[2], backend="sketch")
    return board


def test_card_controls_stay_inside_the_card_at_every_width(page, busy_board, tmp_path):
    log_in(page, "artist")
    page.goto(f"/boards/{busy_board.pk}/")
    folder = Path(os.environ.get("CASTBOARD_SHOTS", tmp_path))
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(folder / f"board-{width}.png"), full_page=True)
        outside = page.evaluate(
            """() => [...document.querySelectorAll('.panel-card')].flatMap(card => {
                const box = card.getBoundingClientRect();
                return [...card.querySelectorAll('button, .btn')]
                  .filter(el => el.offsetParent !== null)
                  .filter(el => {
                    const r = el.getBoundingClientRect();
                    return r.right > box.right + 0.5 || r.left < box.left - 0.5;
                  })
                  .map(el => card.id + ': ' + el.textContent.trim());
            })"""
        )
        assert outside == [], f"at {width} px"
