"""Board pages: boards, panel cards, the panel editor, quick edit and takes."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards import services
from boards.models import Board, CastMember, Panel, Take
from tests.factories import (
    BoardFactory,
    CharacterFactory,
    LocationFactory,
    ProjectFactory,
    ReferenceSheetFactory,
    png_bytes,
)

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def board(team) -> Board:
    return BoardFactory(project=team.project, name="Opening")


def add_panels(board: Board, n: int, **fields) -> list[Panel]:
    return [services.panel_create(board=board, **fields) for _ in range(n)]


def order(board: Board) -> list[int]:
    return list(board.panels.order_by("position").values_list("pk", flat=True))


def fill_board(board: Board, n: int) -> None:
    """n panels, each with two cast members, a location and a selected take, in bulk."""
    project = board.project
    characters = [CharacterFactory(project=project) for _ in range(4)]
    sheets = [ReferenceSheetFactory(character=c) for c in characters]
    locations = [LocationFactory(project=project) for _ in range(3)]
    start = board.panels.count()
    panels = Panel.objects.bulk_create(
        Panel(board=board, position=start + i, action=f"Beat {i}", location=locations[i % 3])
        for i in range(n)
    )
    CastMember.objects.bulk_create(
        CastMember(panel=p, character=characters[(i + k) % 4], sheet=sheets[(i + k) % 4], order=k)
        for i, p in enumerate(panels)
        for k in range(2)
    )
    takes = Take.objects.bulk_create(
        Take(
            panel=p,
            kind=Take.Kind.UPLOADED,
            file=f"projects/{project.pk}/takes/{p.pk}.png",
            thumbnail=f"projects/{project.pk}/takes/thumbs/{p.pk}.jpg",
            sha256=f"{p.pk:064x}",
            width=64,
            height=36,
        )
        for p in panels
    )
    for panel, take in zip(panels, takes, strict=True):
        panel.selected_take = take
    Panel.objects.bulk_update(panels, ["selected_take"])


# --- the board page ----------------------------------------------------------------------


def test_board_page_shows_panels_in_order_with_cards(team, board, viewer_client):
    fill_board(board, 3)
    first = board.panels.get(position=0)
    services.panel_move(panel=first, after_id=board.panels.get(position=2).pk)
    response = viewer_client.get(reverse("board_detail", args=[board.pk]))
    assert response.status_code == 200
    shown = [p.pk for p in response.context["panels"]]
    assert shown == order(board)
    body = response.content.decode()
    assert "Beat 1" in body and "/media/projects/" in body
    assert first.cast.first().character.name in body


@pytest.mark.parametrize(
    ("duration", "shown"),
    [("3.50", "3.5 s"), ("4.00", "4 s"), ("2.25", "2.25 s"), ("120", "120 s")],
)
def test_card_shows_duration_as_an_artist_writes_it(board, viewer_client, duration, shown):
    add_panels(board, 1, duration=duration)
    body = viewer_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert f">{shown}</span>" in body


def test_board_without_panels_shows_empty_state(board, editor_client):
    response = editor_client.get(reverse("board_detail", args=[board.pk]))
    assert response.status_code == 200
    assert "No panels yet" in response.content.decode()


def test_panel_without_take_shows_not_generated_placeholder(board, editor_client):
    add_panels(board, 1)
    body = editor_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert "Not generated yet" in body and "frame-empty" in body


def test_viewer_sees_no_edit_controls(board, viewer_client):
    panel = add_panels(board, 2)[0]
    body = viewer_client.get(reverse("board_detail", args=[board.pk])).content.decode()
    assert reverse("panel_delete", args=[panel.pk]) not in body
    assert reverse("panel_move", args=[panel.pk]) not in body
    assert reverse("panel_create", args=[board.pk]) not in body


# Session, user, board, membership; the cards' panels, cast, sheets with images, jobs,
# review statuses and open comments; the spend; 5 for the review bar (its version, the feed,
# the member names, the guest links; the whole-board notes load when opened): see
# tests/test_review_comments.py.
BOARD_QUERIES = 15
# Cards not cached yet: their panels, their cast, their jobs.
CARD_RENDER_QUERIES = 3


@pytest.mark.parametrize("panels", [10, 200])
def test_board_page_answers_in_a_fixed_number_of_queries(team, editor_client, panels):
    board = BoardFactory(project=team.project, name=f"Board of {panels}")
    fill_board(board, panels)
    url = reverse("board_detail", args=[board.pk])
    counts = []
    for _ in range(2):  # every card rendered, then every card from the cache
        with CaptureQueriesContext(connection) as ctx:
            response = editor_client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count('class="chip"') == 2 * panels
        counts.append(len(ctx.captured_queries))

    assert counts == [BOARD_QUERIES + CARD_RENDER_QUERIES, BOARD_QUERIES], "\n".join(
        q["sql"][:150] for q in ctx.captured_queries
    )
    assert len(response.context["panels"]) == panels


# --- boards ----------------------------------------------------------------------------------


def test_editor_creates_board(team, editor_client):
    url = reverse("board_create", args=[team.project.pk])
    response = editor_client.post(url, {"name": "Chase", "kind": "comic", "aspect": "4:3"})
    board = Board.objects.get(name="Chase")
    assert response.status_code == 302 and response.url == reverse("board_detail", args=[board.pk])
    assert (board.project, board.kind, board.aspect) == (team.project, "comic", "4:3")


def test_custom_aspect_without_size_is_refused_with_a_message(team, editor_client):
    url = reverse("board_create", args=[team.project.pk])
    response = editor_client.post(url, {"name": "Odd", "kind": "storyboard", "aspect": "custom"})
    assert response.status_code == 200
    assert "needs a width and a height" in response.content.decode()
    assert not Board.objects.filter(name="Odd").exists()


def test_custom_aspect_board_gets_the_closest_frame_shape(team, editor_client):
    url = reverse("board_create", args=[team.project.pk])
    editor_client.post(
        url,
        {
            "name": "Wide",
            "kind": "storyboard",
            "aspect": "custom",
            "custom_width": 24,
            "custom_height": 10,
        },
    )
    board = Board.objects.get(name="Wide")
    response = editor_client.get(reverse("board_detail", args=[board.pk]))
    assert response.context["frame_class"] == "ar-2_39-1"


def test_editor_edits_and_deletes_board(team, board, editor_client):
    response = editor_client.post(
        reverse("board_edit", args=[board.pk]),
        {"name": "Renamed", "kind": "storyboard", "aspect": "1:1"},
    )
    assert response.status_code == 302
    board.refresh_from_db()
    assert (board.name, board.aspect) == ("Renamed", "1:1")
    response = editor_client.post(reverse("board_delete", args=[board.pk]))
    assert response.url == reverse("project_detail", args=[team.project.pk])
    assert not Board.objects.filter(pk=board.pk).exists()


# --- panels ------------------------------------------------------------------------------------


def test_panel_create_without_js_adds_at_end_and_opens_editor(board, editor_client):
    existing = add_panels(board, 2)
    response = editor_client.post(reverse("panel_create", args=[board.pk]))
    panel = board.panels.exclude(pk__in=[p.pk for p in existing]).get()
    assert response.url == reverse("panel_edit", args=[panel.pk])
    assert panel.position == 2


def test_panel_create_with_htmx_returns_the_card_and_new_order(board, editor_client):
    add_panels(board, 1)
    response = editor_client.post(reverse("panel_create", args=[board.pk]), **HTMX)
    panel = board.panels.get(position=1)
    assert response.status_code == 200
    assert f'id="panel-{panel.pk}"' in response.content.decode()
    trigger = json.loads(response.headers["HX-Trigger-After-Swap"])
    assert [row["id"] for row in trigger["panelsChanged"]["order"]] == order(board)


def test_panel_edit_saves_every_field_location_and_cast(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    hero = CharacterFactory(project=team.project, name="Mara")
    winter = ReferenceSheetFactory(character=hero, name="Winter", is_default=False)
    sidekick = CharacterFactory(project=team.project, name="Olu")
    dock = LocationFactory(project=team.project, name="Dock")
    data = panel_post(
        action="Mara runs",
        dialogue="Wait!",
        notes="Rain",
        shot_type="cu",
        camera_angle="low",
        duration="2.5",
        seed="42",
        continue_previous="on",
        location=dock.pk,
        cast=[
            {"character": hero.pk, "sheet": winter.pk, "placement": "left", "expression": "afraid"},
            {"character": sidekick.pk},
        ],
    )
    response = editor_client.post(reverse("panel_edit", args=[panel.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    panel.refresh_from_db()
    assert (panel.action, panel.dialogue, panel.notes) == ("Mara runs", "Wait!", "Rain")
    assert (panel.shot_type, panel.camera_angle, str(panel.duration)) == ("cu", "low", "2.50")
    assert (panel.seed, panel.continue_previous, panel.location) == (42, True, dock)
    cast = list(panel.cast.order_by("order"))
    assert [(m.character, m.sheet, m.placement, m.expression) for m in cast] == [
        (hero, winter, "left", "afraid"),
        (sidekick, None, "", ""),
    ]


def panel_post(*, cast: list[dict] | None = None, **fields) -> dict:
    """A panel editor POST as the browser sends it, with the cast formset."""
    cast = cast or []
    data = {
        "action": "",
        "dialogue": "",
        "notes": "",
        "shot_type": "ms",
        "camera_angle": "eye",
        "duration": "",
        "seed": "",
        "location": "",
        "cast-TOTAL_FORMS": str(len(cast)),
        "cast-INITIAL_FORMS": "0",
        "cast-MIN_NUM_FORMS": "0",
        "cast-MAX_NUM_FORMS": "1000",
    }
    data.update({k: str(v) for k, v in fields.items()})
    for i, row in enumerate(cast):
        for key, value in row.items():
            data[f"cast-{i}-{key}"] = str(value)
    return data


def test_panel_editor_lists_characters_sheets_and_locations(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    sheet = ReferenceSheetFactory(character=CharacterFactory(project=team.project), name="Rainy")
    LocationFactory(project=team.project, name="Lighthouse")
    response = editor_client.get(reverse("panel_edit", args=[panel.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert sheet.character.name in body and "Rainy" in body and "Lighthouse" in body
    assert body.count('name="cast-0-character"') == 1 and 'name="cast-2-character"' in body


def test_cast_picker_refuses_character_of_another_project(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    stranger = CharacterFactory(project=ProjectFactory())
    response = editor_client.post(
        reverse("panel_edit", args=[panel.pk]),
        panel_post(action="changed", cast=[{"character": stranger.pk}]),
    )
    assert response.status_code == 400
    panel.refresh_from_db()
    assert panel.action == "" and not panel.cast.exists()


def test_cast_picker_refuses_sheet_of_another_character(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    mara = CharacterFactory(project=team.project)
    other_sheet = ReferenceSheetFactory(character=CharacterFactory(project=team.project))
    response = editor_client.post(
        reverse("panel_edit", args=[panel.pk]),
        panel_post(cast=[{"character": mara.pk, "sheet": other_sheet.pk}]),
    )
    assert response.status_code == 400
    assert "belongs to another character" in response.content.decode()
    assert not panel.cast.exists()


def test_cast_picker_refuses_a_character_twice(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    mara = CharacterFactory(project=team.project)
    response = editor_client.post(
        reverse("panel_edit", args=[panel.pk]),
        panel_post(cast=[{"character": mara.pk}, {"character": mara.pk}]),
    )
    assert response.status_code == 400 and not panel.cast.exists()


def test_location_of_another_project_is_refused(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    elsewhere = LocationFactory(project=ProjectFactory())
    response = editor_client.post(
        reverse("panel_edit", args=[panel.pk]), panel_post(location=elsewhere.pk)
    )
    assert response.status_code == 400
    panel.refresh_from_db()
    assert panel.location is None


def test_blank_and_removed_cast_rows_are_ignored(team, board, editor_client):
    panel = add_panels(board, 1)[0]
    mara = CharacterFactory(project=team.project)
    CastMember.objects.create(panel=panel, character=CharacterFactory(project=team.project))
    data = panel_post(cast=[{"character": ""}, {"character": mara.pk}])
    data["cast-TOTAL_FORMS"] = "4"  # rows 2 and 3 were removed in the page: not posted
    response = editor_client.post(reverse("panel_edit", args=[panel.pk]), data)
    assert response.status_code == 302
    assert [m.character for m in panel.cast.all()] == [mara]


def test_panel_inline_get_returns_form_and_post_returns_card(board, editor_client):
    panel = add_panels(board, 1, action="old")[0]
    url = reverse("panel_inline", args=[panel.pk])
    form = editor_client.get(url, **HTMX)
    assert form.status_code == 200 and 'name="dialogue"' in form.content.decode()
    response = editor_client.post(
        url, {"action": "new beat", "dialogue": "Hello", "shot_type": "ews"}, **HTMX
    )
    assert response.status_code == 200
    assert (
        "new beat" in response.content.decode() and 'name="action"' not in response.content.decode()
    )
    panel.refresh_from_db()
    assert (panel.action, panel.dialogue, panel.shot_type) == ("new beat", "Hello", "ews")


def test_panel_inline_keeps_location_and_cast(team, board, editor_client):
    dock = LocationFactory(project=team.project)
    panel = add_panels(board, 1, location=dock)[0]
    CastMember.objects.create(panel=panel, character=CharacterFactory(project=team.project))
    editor_client.post(
        reverse("panel_inline", args=[panel.pk]),
        {"action": "x", "dialogue": "", "shot_type": "ms"},
        **HTMX,
    )
    panel.refresh_from_db()
    assert panel.location == dock and panel.cast.count() == 1


def test_panel_inline_invalid_shot_type_returns_form_with_error(board, editor_client):
    panel = add_panels(board, 1, action="old")[0]
    response = editor_client.post(
        reverse("panel_inline", args=[panel.pk]),
        {"action": "new", "dialogue": "", "shot_type": "bogus"},
        **HTMX,
    )
    assert 'name="action"' in response.content.decode()
    panel.refresh_from_db()
    assert panel.action == "old"


def test_panel_delete_renumbers(board, editor_client):
    panels = add_panels(board, 3)
    response = editor_client.post(reverse("panel_delete", args=[panels[0].pk]))
    assert response.url == reverse("board_detail", args=[board.pk])
    assert list(board.panels.order_by("position").values_list("pk", "position")) == [
        (panels[1].pk, 0),
        (panels[2].pk, 1),
    ]


def test_panel_delete_with_htmx_sends_new_order(board, editor_client):
    panels = add_panels(board, 2)
    response = editor_client.post(reverse("panel_delete", args=[panels[0].pk]), **HTMX)
    trigger = json.loads(response.headers["HX-Trigger-After-Swap"])
    assert trigger["panelsChanged"]["order"] == [{"id": panels[1].pk, "number": 1}]


# --- takes ---------------------------------------------------------------------------------


def test_take_upload_stores_and_selects(board, editor_client):
    panel = add_panels(board, 1)[0]
    upload = SimpleUploadedFile("sketch.png", png_bytes(), content_type="image/png")
    response = editor_client.post(reverse("take_upload", args=[panel.pk]), {"image": upload})
    assert response.status_code == 302
    panel.refresh_from_db()
    assert panel.selected_take.kind == Take.Kind.UPLOADED
    page = editor_client.get(reverse("panel_edit", args=[panel.pk]))
    assert page.context["takes"] == [panel.selected_take]


def test_take_upload_of_a_non_image_is_refused_with_a_message(board, editor_client):
    panel = add_panels(board, 1)[0]
    upload = SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")
    response = editor_client.post(
        reverse("take_upload", args=[panel.pk]), {"image": upload}, follow=True
    )
    assert not panel.takes.exists()
    assert any(m.level_tag == "error" for m in response.context["messages"])


def upload_take(panel: Panel, color=(10, 20, 30)) -> Take:
    return services.take_upload(panel=panel, file=io.BytesIO(png_bytes(color)), name="t.png")


def test_take_select_changes_selected_take(board, editor_client):
    panel = add_panels(board, 1)[0]
    first = upload_take(panel)
    upload_take(panel, (90, 90, 90))
    response = editor_client.post(reverse("take_select", args=[first.pk]), {"panel": panel.pk})
    assert response.status_code == 302
    panel.refresh_from_db()
    assert panel.selected_take == first


def test_take_select_of_another_panels_take_is_refused(board, editor_client):
    mine, other = add_panels(board, 2)
    own = upload_take(mine)
    foreign = upload_take(other)
    response = editor_client.post(
        reverse("take_select", args=[foreign.pk]), {"panel": mine.pk}, follow=True
    )
    mine.refresh_from_db()
    assert mine.selected_take == own
    assert any(m.level_tag == "error" for m in response.context["messages"])


# --- access: every view -----------------------------------------------------------------------


def view_calls(team, board):
    """(method, url, data, is_write) for every board view, against real objects."""
    panel, neighbour = add_panels(board, 2)
    take = upload_take(panel)
    upload = {"image": SimpleUploadedFile("t.png", png_bytes(), content_type="image/png")}
    return [
        ("get", reverse("board_create", args=[team.project.pk]), {}, True),
        ("post", reverse("board_create", args=[team.project.pk]), {"name": "X"}, True),
        ("get", reverse("board_detail", args=[board.pk]), {}, False),
        ("get", reverse("board_edit", args=[board.pk]), {}, True),
        ("post", reverse("board_edit", args=[board.pk]), {"name": "X"}, True),
        ("post", reverse("panel_create", args=[board.pk]), {}, True),
        ("get", reverse("panel_edit", args=[panel.pk]), {}, False),
        ("post", reverse("panel_edit", args=[panel.pk]), panel_post(), True),
        ("get", reverse("panel_inline", args=[panel.pk]), {}, True),
        ("post", reverse("panel_inline", args=[panel.pk]), {"shot_type": "ms"}, True),
        ("post", reverse("panel_move", args=[panel.pk]), {"after": neighbour.pk}, True),
        ("post", reverse("take_upload", args=[panel.pk]), upload, True),
        ("post", reverse("take_select", args=[take.pk]), {}, True),
        ("post", reverse("panel_delete", args=[panel.pk]), {}, True),
        ("post", reverse("board_delete", args=[board.pk]), {}, True),
    ]


def test_viewer_gets_403_on_every_write_and_reads_pages(team, board, viewer_client):
    for method, url, data, is_write in view_calls(team, board):
        response = getattr(viewer_client, method)(url, data)
        assert response.status_code == (403 if is_write else 200), (method, url)
    assert Board.objects.filter(pk=board.pk).exists()


def test_outsider_gets_404_everywhere(team, board, outsider_client):
    for method, url, data, _ in view_calls(team, board):
        response = getattr(outsider_client, method)(url, data)
        assert response.status_code == 404, (method, url)
    assert board.panels.count() == 2


def test_anonymous_is_sent_to_login(board, client):
    response = client.get(reverse("board_detail", args=[board.pk]))
    assert response.status_code == 302 and reverse("login") in response.url
