"""Two people saving the same object from forms opened on the same version lose nothing.

Each edit form of a shared object is opened by two members; the first saves,
the second saves from the now stale form and gets a merge page with both
versions, pre-chosen where only one side changed a field; sending it keeps both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse

from boards import services as board_services
from boards.models import Board, CastMember, Panel
from characters import services as bible
from characters.models import Character, Location, ReferenceSheet
from studio.edits import StaleEdit
from studio.models import Project
from tests.factories import BoardFactory, CharacterFactory, LocationFactory
from tests.html_forms import form_data, form_index

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def open_form(client: Client, url: str, marker: str, **headers) -> dict:
    page = client.get(url, **headers)
    assert page.status_code == 200
    return form_data(page.content, form_index(page.content, marker))


def merge_form(response) -> dict:
    """The merge page's form as it stands, with its pre-chosen answers."""
    return form_data(response.content, form_index(response.content, "merge-form"))


@dataclass
class Case:
    url: Callable[[object], str]
    make: Callable[[Project], object]
    theirs: tuple[str, str]  # the field the first person changes, and to what
    mine: tuple[str, str]  # the field the second person changes, and to what
    marker: str = 'method="post" class="card stack"'
    headers: dict | None = None


def _panel(project: Project) -> Panel:
    board = BoardFactory(project=project)
    return board_services.panel_create(board=board, action="She waits.", dialogue="")


CASES = {
    "board": Case(
        url=lambda b: reverse("board_edit", args=[b.pk]),
        make=lambda p: BoardFactory(project=p, name="Opening", description="Dawn"),
        theirs=("name", "Cold open"),
        mine=("description", "Dawn at the harbour, fog."),
    ),
    "panel editor": Case(
        url=lambda panel: reverse("panel_edit", args=[panel.pk]),
        make=_panel,
        theirs=("action", "She runs for the boat."),
        mine=("dialogue", "Wait!\nWait for me!"),
        marker='id="panel-form"',
    ),
    "panel card": Case(
        url=lambda panel: reverse("panel_inline", args=[panel.pk]),
        make=_panel,
        theirs=("action", "She runs for the boat."),
        mine=("dialogue", "Wait!"),
        marker="hx-post",
        headers=HTMX,
    ),
    "character": Case(
        url=lambda c: reverse("character_edit", args=[c.pk]),
        make=lambda p: CharacterFactory(project=p, name="Mara", appearance="red coat"),
        theirs=("name", "Mara Vos"),
        mine=("appearance", "red coat, grey scarf"),
    ),
    "sheet": Case(
        url=lambda s: reverse("sheet_edit", args=[s.pk]),
        make=lambda p: bible.sheet_create(character=CharacterFactory(project=p), name="Winter"),
        theirs=("name", "Winter outfit"),
        mine=("addendum", "heavy wool coat"),
    ),
    "location": Case(
        url=lambda loc: reverse("location_edit", args=[loc.pk]),
        make=lambda p: LocationFactory(project=p, name="Quay", description="stone"),
        theirs=("name", "North quay"),
        mine=("description", "wet stone, gulls"),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_second_stale_save_shows_both_versions_and_merge_keeps_both_changes(team, name):
    case = CASES[name]
    obj = case.make(team.project)
    url, headers = case.url(obj), case.headers or {}
    first, second = team.client("owner"), team.client("editor")
    theirs_form = open_form(first, url, case.marker, **headers)
    mine_form = open_form(second, url, case.marker, **headers)

    saved = first.post(url, {**theirs_form, case.theirs[0]: case.theirs[1]}, **headers)
    assert saved.status_code in (200, 302)
    stale = second.post(url, {**mine_form, case.mine[0]: case.mine[1]}, **headers)

    # Nothing written yet, and the page shows theirs beside mine.
    assert stale.status_code == (200 if headers else 409)
    obj.refresh_from_db()
    assert getattr(obj, case.theirs[0]) == case.theirs[1]
    assert getattr(obj, case.mine[0]) != case.mine[1]
    text = stale.content.decode()
    assert "Keep theirs" in text and "Keep mine" in text
    assert case.theirs[1] in text and case.mine[1].split("\n")[0] in text

    # Only one side changed each field: the page has chosen for the person already.
    choices = merge_form(stale)
    assert choices[f"keep_{case.theirs[0]}"] == "theirs"
    assert choices[f"keep_{case.mine[0]}"] == "mine"
    merged = second.post(url, choices, **headers)
    assert merged.status_code in (200, 302)
    obj.refresh_from_db()
    assert getattr(obj, case.theirs[0]) == case.theirs[1]
    assert getattr(obj, case.mine[0]).replace("\r\n", "\n") == case.mine[1]


def test_field_changed_by_both_must_be_chosen_and_either_side_can_win(team, editor_client):
    mara = CharacterFactory(project=team.project, name="Mara", appearance="red coat")
    url = reverse("character_edit", args=[mara.pk])
    owner = team.client("owner")
    theirs = open_form(owner, url, 'class="card stack"')
    mine = open_form(editor_client, url, 'class="card stack"')
    owner.post(url, {**theirs, "appearance": "blue coat"})
    stale = editor_client.post(url, {**mine, "appearance": "green coat"})
    assert stale.status_code == 409
    assert "Changed by both" in stale.content.decode()
    choices = merge_form(stale)
    assert "keep_appearance" not in choices  # nobody chose for them

    incomplete = editor_client.post(url, choices)
    assert incomplete.status_code == 409
    assert "Choose a version to keep for: Appearance" in incomplete.content.decode()
    mara.refresh_from_db()
    assert mara.appearance == "blue coat"

    editor_client.post(url, {**choices, "keep_appearance": "mine"})
    mara.refresh_from_db()
    assert mara.appearance == "green coat"


def test_merge_page_sent_after_a_third_save_merges_again(team, editor_client):
    loc = LocationFactory(project=team.project, name="Quay", description="stone")
    url = reverse("location_edit", args=[loc.pk])
    mine = open_form(editor_client, url, 'class="card stack"')
    bible.location_update(location=loc, name="North quay", description="stone")
    stale = editor_client.post(url, {**mine, "description": "wet stone"})
    bible.location_update(location=loc, name="South quay", description="stone")

    again = editor_client.post(url, merge_form(stale))

    assert again.status_code == 409 and "South quay" in again.content.decode()
    # The choice made for the description still stands; the name, changed again, is asked anew.
    assert merge_form(again)["keep_description"] == "mine"
    assert "keep_name" not in merge_form(again)
    loc.refresh_from_db()
    assert (loc.name, loc.description) == ("South quay", "stone")


def test_style_saved_meanwhile_offers_both_texts(team, editor_client):
    url = reverse("style_detail", args=[team.project.pk])
    owner = team.client("owner")
    theirs = open_form(owner, url, 'class="card stack"')
    mine = open_form(editor_client, url, 'class="card stack"')
    owner.post(url, {**theirs, "style": "loose pencil"})
    stale = editor_client.post(url, {**mine, "style": "ink wash"})
    assert stale.status_code == 409
    assert "loose pencil" in stale.content.decode() and "ink wash" in stale.content.decode()
    assert Project.objects.get(pk=team.project.pk).style == "loose pencil"
    editor_client.post(url, {**merge_form(stale), "keep_style": "theirs"})
    assert Project.objects.get(pk=team.project.pk).style == "loose pencil"


def test_panel_merge_can_keep_their_cast_and_my_dialogue(team, editor_client):
    panel = _panel(team.project)
    mara = CharacterFactory(project=team.project, name="Mara")
    url = reverse("panel_edit", args=[panel.pk])
    owner = team.client("owner")
    theirs = open_form(owner, url, 'id="panel-form"')
    mine = open_form(editor_client, url, 'id="panel-form"')
    owner.post(url, {**theirs, "cast-0-character": str(mara.pk), "cast-0-placement": "left"})
    stale = editor_client.post(url, {**mine, "dialogue": "Now!"})
    assert stale.status_code == 409
    assert "Mara, default sheet, left" in stale.content.decode()
    choices = merge_form(stale)
    assert (choices["keep_cast"], choices["keep_dialogue"]) == ("theirs", "mine")

    editor_client.post(url, choices)

    panel.refresh_from_db()
    assert panel.dialogue == "Now!"
    assert list(panel.cast.values_list("character_id", "placement")) == [(mara.pk, "left")]


def test_quick_edit_after_a_full_edit_of_other_fields_saves_without_asking(team, editor_client):
    panel = _panel(team.project)
    url = reverse("panel_inline", args=[panel.pk])
    quick = open_form(editor_client, url, "hx-post", **HTMX)
    board_services.panel_update(panel=Panel.objects.get(pk=panel.pk), notes="Fog rolls in.")

    card = editor_client.post(url, {**quick, "dialogue": "Wait!"}, **HTMX)

    assert card.status_code == 200 and "merge-form" not in card.content.decode()
    panel.refresh_from_db()
    assert (panel.notes, panel.dialogue) == ("Fog rolls in.", "Wait!")


def test_an_altered_base_shows_the_merge_page_instead_of_saving(team, editor_client):
    board = BoardFactory(project=team.project, name="Opening")
    url = reverse("board_edit", args=[board.pk])
    form = open_form(editor_client, url, 'class="card stack"')
    response = editor_client.post(url, {**form, "name": "Mine", "edit_base": "forged"})
    assert response.status_code == 409
    assert Board.objects.get(pk=board.pk).name == "Opening"


def test_stale_version_writes_nothing_in_the_service(team):
    mara = CharacterFactory(project=team.project, name="Mara")
    bible.character_update(character=mara, name="Mara", appearance="a", notes="", version=1)
    with pytest.raises(StaleEdit):
        bible.character_update(
            character=Character.objects.get(pk=mara.pk),
            name="X",
            appearance="b",
            notes="",
            version=1,
        )
    assert Character.objects.values_list("name", "appearance", "version").get(pk=mara.pk) == (
        "Mara",
        "a",
        2,
    )


def test_stale_panel_save_leaves_the_cast_alone(team):
    panel = _panel(team.project)
    mara = CharacterFactory(project=team.project)
    board_services.panel_update(panel=panel, action="moved on")
    with pytest.raises(StaleEdit):
        board_services.panel_save(
            panel=Panel.objects.get(pk=panel.pk),
            location=None,
            cast=[board_services.CastEntry(mara.pk)],
            version=1,
            action="stale",
        )
    assert not CastMember.objects.filter(panel=panel).exists()
    assert Panel.objects.get(pk=panel.pk).action == "moved on"


def test_versions_count_saves_of_sheets_and_locations(team):
    sheet = bible.sheet_create(character=CharacterFactory(project=team.project), name="A")
    bible.sheet_update(sheet=sheet, name="B", addendum="")
    loc = LocationFactory(project=team.project)
    bible.location_update(location=loc, name="Dock", description="", version=1)
    assert ReferenceSheet.objects.get(pk=sheet.pk).version == 2
    assert Location.objects.get(pk=loc.pk).version == 2
