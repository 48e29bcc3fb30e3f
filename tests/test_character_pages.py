"""Character pages: characters, reference sheets, reference images and their uploads."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from characters import services
from characters.forms import guess_view, upload_items
from characters.models import Character, ReferenceImage, ReferenceSheet
from tests.factories import png_bytes


def png(name: str, color=(200, 60, 60)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(color=color), content_type="image/png")


def stored(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


@dataclass
class Bible:
    character: Character
    default: ReferenceSheet
    winter: ReferenceSheet
    image: ReferenceImage


@pytest.fixture
def bible(team) -> Bible:
    """A character with two sheets; the default one holds one uploaded image."""
    character = services.character_create(project=team.project, name="Mara", appearance="red coat")
    default = character.sheets.get()
    winter = services.sheet_create(character=character, name="Winter")
    report = services.reference_images_add(
        sheet=default,
        items=[
            services.UploadItem(name="mara_front.png", file=png("mara_front.png"), view="front")
        ],
    )
    return Bible(character, default, winter, report.saved[0])


def _urls(b: Bible) -> dict[str, str]:
    return {
        "character_detail": reverse("character_detail", kwargs={"pk": b.character.pk}),
        "character_create": reverse(
            "character_create", kwargs={"project_id": b.character.project_id}
        ),
        "character_edit": reverse("character_edit", kwargs={"pk": b.character.pk}),
        "character_delete": reverse("character_delete", kwargs={"pk": b.character.pk}),
        "sheet_create": reverse("sheet_create", kwargs={"pk": b.character.pk}),
        "sheet_edit": reverse("sheet_edit", kwargs={"pk": b.winter.pk}),
        "sheet_set_default": reverse("sheet_set_default", kwargs={"pk": b.winter.pk}),
        "sheet_delete": reverse("sheet_delete", kwargs={"pk": b.winter.pk}),
        "sheet_upload": reverse("sheet_upload", kwargs={"pk": b.default.pk}),
        "reference_image_edit": reverse("reference_image_edit", kwargs={"pk": b.image.pk}),
        "reference_image_set_primary": reverse(
            "reference_image_set_primary", kwargs={"pk": b.image.pk}
        ),
        "reference_image_delete": reverse("reference_image_delete", kwargs={"pk": b.image.pk}),
    }


# (url name, POST data) for every write; files are built fresh per test.
WRITES = [
    ("character_create", lambda: {"name": "Jon", "appearance": "", "notes": ""}),
    ("character_edit", lambda: {"name": "Mara K.", "appearance": "a", "notes": "n"}),
    ("character_delete", dict),
    ("sheet_create", lambda: {"name": "Older", "addendum": "grey hair"}),
    ("sheet_edit", lambda: {"name": "Snow", "addendum": "scarf"}),
    ("sheet_set_default", dict),
    ("sheet_delete", dict),
    ("sheet_upload", lambda: {"images": [png("mara_side.png", (10, 200, 10))]}),
    ("reference_image_edit", lambda: {"view": "side", "label": ""}),
    ("reference_image_set_primary", dict),
    ("reference_image_delete", dict),
]
FORM_PAGES = ["character_create", "character_edit", "sheet_create", "sheet_edit"]


# --- access -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_editor_can_make_every_write(bible, editor_client, name, data):
    response = editor_client.post(_urls(bible)[name], data())
    assert response.status_code == 302, response.content[:500]


@pytest.mark.parametrize(("name", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_viewer_gets_403_on_every_write(bible, viewer_client, name, data):
    response = viewer_client.post(_urls(bible)[name], data())
    assert response.status_code == 403
    assert Character.objects.filter(name="Mara", appearance="red coat").exists()
    assert ReferenceSheet.objects.filter(character=bible.character).count() == 2
    assert ReferenceImage.objects.filter(sheet__character=bible.character).count() == 1


@pytest.mark.parametrize(("name", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_outsider_gets_404_on_every_write(bible, outsider_client, name, data):
    response = outsider_client.post(_urls(bible)[name], data())
    assert response.status_code == 404
    assert ReferenceImage.objects.filter(sheet__character=bible.character).count() == 1


@pytest.mark.parametrize("name", ["character_detail", *FORM_PAGES])
def test_editor_opens_every_page(bible, editor_client, name):
    assert editor_client.get(_urls(bible)[name]).status_code == 200


@pytest.mark.parametrize("name", FORM_PAGES)
def test_viewer_gets_403_on_edit_forms(bible, viewer_client, name):
    assert viewer_client.get(_urls(bible)[name]).status_code == 403


@pytest.mark.parametrize("name", ["character_detail", *FORM_PAGES])
def test_outsider_gets_404_on_every_page(bible, outsider_client, name):
    assert outsider_client.get(_urls(bible)[name]).status_code == 404


def test_viewer_reads_character_page_without_edit_controls(bible, viewer_client):
    urls = _urls(bible)
    response = viewer_client.get(urls["character_detail"])
    assert response.status_code == 200
    body = response.content.decode()
    assert "red coat" in body
    assert bible.image.thumbnail.url in body
    for name in ("character_delete", "sheet_upload", "reference_image_delete", "character_edit"):
        assert urls[name] not in body


def test_anonymous_visitor_is_sent_to_login(bible, client):
    response = client.get(_urls(bible)["character_detail"])
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


# --- characters and sheets ------------------------------------------------------------------


def test_creating_a_character_gives_it_a_default_sheet(team, editor_client):
    url = reverse("character_create", kwargs={"project_id": team.project.pk})
    response = editor_client.post(url, {"name": "Ines", "appearance": "short", "notes": ""})
    character = Character.objects.get(project=team.project, name="Ines")
    assert response["Location"] == reverse("character_detail", kwargs={"pk": character.pk})
    assert list(character.sheets.values_list("name", "is_default")) == [("Default", True)]


def test_duplicate_character_name_keeps_the_typed_form(bible, editor_client):
    url = reverse("character_create", kwargs={"project_id": bible.character.project_id})
    response = editor_client.post(url, {"name": "mara", "appearance": "typed text", "notes": ""})
    assert response.status_code == 400
    body = response.content.decode()
    assert "already a character called" in body
    assert "typed text" in body


def test_editing_a_character_saves_its_text(bible, editor_client):
    editor_client.post(
        _urls(bible)["character_edit"], {"name": "Mara", "appearance": "blue coat", "notes": "x"}
    )
    bible.character.refresh_from_db()
    assert (bible.character.appearance, bible.character.notes) == ("blue coat", "x")


def test_sheet_rename_and_addendum_persist(bible, editor_client):
    editor_client.post(_urls(bible)["sheet_edit"], {"name": "Snow", "addendum": "wool scarf"})
    bible.winter.refresh_from_db()
    assert (bible.winter.name, bible.winter.addendum) == ("Snow", "wool scarf")


def test_set_default_sheet_persists(bible, editor_client):
    editor_client.post(_urls(bible)["sheet_set_default"])
    defaults = ReferenceSheet.objects.filter(character=bible.character, is_default=True)
    assert list(defaults) == [bible.winter]


def test_character_page_shows_the_chosen_sheet_tab(bible, editor_client):
    url = _urls(bible)["character_detail"]
    response = editor_client.get(f"{url}?sheet={bible.winter.pk}")
    assert response.context["sheet"] == bible.winter
    assert editor_client.get(url).context["sheet"] == bible.default


def test_last_sheet_cannot_be_deleted_and_the_page_says_why(bible, editor_client):
    bible.winter.delete()
    url = reverse("sheet_delete", kwargs={"pk": bible.default.pk})
    response = editor_client.post(url, follow=True)
    assert ReferenceSheet.objects.filter(pk=bible.default.pk).exists()
    assert "cannot be deleted" in response.content.decode()


def test_deleting_the_default_sheet_passes_default_on_and_removes_files(
    bible, editor_client, django_capture_on_commit_callbacks
):
    files = [bible.image.file.name, bible.image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        editor_client.post(reverse("sheet_delete", kwargs={"pk": bible.default.pk}))
    bible.winter.refresh_from_db()
    assert bible.winter.is_default
    assert not any(stored(name) for name in files)


def test_deleting_a_character_removes_its_files_after_commit(
    bible, editor_client, django_capture_on_commit_callbacks
):
    files = [bible.image.file.name, bible.image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = editor_client.post(_urls(bible)["character_delete"])
    assert response["Location"] == reverse(
        "project_detail", kwargs={"pk": bible.character.project_id}
    )
    assert not Character.objects.filter(pk=bible.character.pk).exists()
    # Files stay until the transaction has committed: a rollback must not lose them.
    assert all(stored(name) for name in files)
    for callback in callbacks:
        callback()
    assert not any(stored(name) for name in files)


# --- reference images --------------------------------------------------------------------


def test_upload_saves_every_file_with_thumbnail_hash_and_chosen_view(bible, editor_client):
    url = _urls(bible)["sheet_upload"]
    files = [png("a.png", (1, 2, 3)), png("b.png", (4, 5, 6))]
    response = editor_client.post(url, {"images": files, "view_0": "side", "view_1": "face"})
    assert response.status_code == 302
    new = list(bible.default.images.exclude(pk=bible.image.pk).order_by("id"))
    assert [(i.original_name, i.view) for i in new] == [("a.png", "side"), ("b.png", "face")]
    for image in new:
        assert stored(image.file.name) and stored(image.thumbnail.name)
        with default_storage.open(image.file.name) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == image.sha256
        assert image.file.name.startswith(f"projects/{bible.character.project_id}/")
        assert not image.is_primary


def test_first_image_of_a_sheet_becomes_primary(bible, editor_client):
    url = reverse("sheet_upload", kwargs={"pk": bible.winter.pk})
    editor_client.post(url, {"images": [png("w1.png", (9, 9, 9)), png("w2.png", (8, 8, 8))]})
    assert list(bible.winter.images.values_list("original_name", "is_primary")) == [
        ("w1.png", True),
        ("w2.png", False),
    ]


def test_view_is_guessed_from_the_file_name_when_no_view_was_sent(bible, editor_client):
    files = [png("mara_back.png", (1, 1, 1)), png("mara three-quarter.png", (2, 2, 2))]
    editor_client.post(_urls(bible)["sheet_upload"], {"images": files})
    views = dict(bible.default.images.values_list("original_name", "view"))
    assert views["mara_back.png"] == "back"
    assert views["mara three-quarter.png"] == "three_quarter"


def test_mixed_upload_keeps_the_good_files_and_names_the_bad_one(bible, editor_client):
    files = [
        png("good1.png", (1, 100, 1)),
        SimpleUploadedFile("notes.txt", b"not an image at all", content_type="text/plain"),
        png("good2.png", (2, 100, 2)),
    ]
    response = editor_client.post(
        _urls(bible)["sheet_upload"],
        {"images": files, "view_0": "side", "view_1": "face", "view_2": "back"},
        follow=True,
    )
    assert response.redirect_chain == [
        (_urls(bible)["character_detail"] + f"?sheet={bible.default.pk}", 302)
    ]
    body = response.content.decode()
    assert "notes.txt" in body
    assert "is not a JPEG, PNG or WebP image" in body
    names = dict(bible.default.images.values_list("original_name", "view"))
    assert names == {"mara_front.png": "front", "good1.png": "side", "good2.png": "back"}


def test_upload_where_nothing_is_saved_answers_400_with_the_reasons(bible, editor_client):
    bad = SimpleUploadedFile("empty.png", b"", content_type="image/png")
    response = editor_client.post(_urls(bible)["sheet_upload"], {"images": [bad]}, follow=True)
    assert response.redirect_chain[0][1] == 302 and response.status_code == 200
    assert "empty.png" in response.content.decode()
    assert bible.default.images.count() == 1


def test_duplicate_image_in_one_sheet_is_reported(bible, editor_client):
    twice = [png("one.png", (5, 5, 5)), png("again.png", (5, 5, 5)), png("old.png")]
    response = editor_client.post(_urls(bible)["sheet_upload"], {"images": twice}, follow=True)
    assert response.redirect_chain[0][1] == 302
    body = response.content.decode()
    assert "again.png" in body and "old.png" in body
    assert "already in this set" in body
    assert sorted(bible.default.images.values_list("original_name", flat=True)) == [
        "mara_front.png",
        "one.png",
    ]


def test_the_same_image_may_go_on_another_sheet(bible, editor_client):
    url = reverse("sheet_upload", kwargs={"pk": bible.winter.pk})
    assert editor_client.post(url, {"images": [png("same.png")]}).status_code == 302
    assert bible.winter.images.get().sha256 == bible.image.sha256


def test_upload_without_files_answers_400(bible, editor_client):
    response = editor_client.post(_urls(bible)["sheet_upload"], {"view_0": "side"}, follow=True)
    assert response.redirect_chain[0][1] == 302
    assert "Choose at least one image" in response.content.decode()


def test_more_files_than_the_studio_limit_are_refused(bible, editor_client, settings):
    settings.STUDIO_UPLOAD_MAX_FILES = 2
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 100
    files = [png(f"f{i}.png", (i, i, i)) for i in range(3)]
    response = editor_client.post(_urls(bible)["sheet_upload"], {"images": files}, follow=True)
    assert response.redirect_chain[0][1] == 302
    assert "at most 2 images" in response.content.decode()
    assert bible.default.images.count() == 1


def test_more_files_than_django_parses_are_refused_with_a_message(bible, editor_client, settings):
    settings.STUDIO_UPLOAD_MAX_FILES = 2
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = [png(f"f{i}.png", (i, i, i)) for i in range(3)]
    response = editor_client.post(_urls(bible)["sheet_upload"], {"images": files})
    assert response.status_code == 400
    assert "at most 2 images" in response.content.decode()
    assert bible.default.images.count() == 1


def test_set_primary_image_persists(bible, editor_client):
    report = services.reference_images_add(
        sheet=bible.default, items=[services.UploadItem(name="s.png", file=png("s.png", (0, 0, 9)))]
    )
    second = report.saved[0]
    editor_client.post(reverse("reference_image_set_primary", kwargs={"pk": second.pk}))
    assert list(bible.default.images.filter(is_primary=True)) == [second]


def test_changing_the_view_of_an_image_persists(bible, editor_client):
    editor_client.post(_urls(bible)["reference_image_edit"], {"view": "expression", "label": ""})
    bible.image.refresh_from_db()
    assert bible.image.view == "expression"


def test_unknown_view_is_refused_with_a_message(bible, editor_client):
    response = editor_client.post(
        _urls(bible)["reference_image_edit"], {"view": "upside_down"}, follow=True
    )
    bible.image.refresh_from_db()
    assert bible.image.view == "front"
    assert "Pick one of the listed views" in response.content.decode()


def test_deleting_an_image_removes_its_files_only_after_commit(
    bible, editor_client, django_capture_on_commit_callbacks
):
    files = [bible.image.file.name, bible.image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        editor_client.post(_urls(bible)["reference_image_delete"])
    assert not ReferenceImage.objects.filter(pk=bible.image.pk).exists()
    assert all(stored(name) for name in files)
    for callback in callbacks:
        callback()
    assert not any(stored(name) for name in files)


def test_character_page_query_count_does_not_grow_with_images(bible, editor_client):
    url = _urls(bible)["character_detail"]
    with CaptureQueriesContext(connection) as few:
        editor_client.get(url)
    for i in range(4):
        sheet = bible.winter if i % 2 else bible.default
        color = (i * 40, 10, 10)
        services.reference_images_add(
            sheet=sheet, items=[services.UploadItem(name=f"{i}.png", file=png(f"{i}.png", color))]
        )
    with CaptureQueriesContext(connection) as many:
        editor_client.get(url)
    assert len(many) == len(few), "\n".join(q["sql"] for q in many.captured_queries)


# --- pure helpers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "view"),
    [
        ("mara_front.png", "front"),
        ("Mara-Side.JPG", "side"),
        ("back.webp", "back"),
        ("mara_three_quarter.png", "three_quarter"),
        ("mara 3q three-quarters.png", "three_quarter"),
        ("face_closeup.png", "face"),
        ("expressions_sheet.png", "expression"),
        ("full body.png", "full_body"),
        ("hands_detail.png", "detail"),
        ("backpack.png", ""),
        ("surface.png", ""),
        ("IMG_1234.png", ""),
    ],
)
def test_guess_view_reads_whole_words_of_the_file_name(filename, view):
    assert guess_view(filename) == view


def test_upload_items_pair_each_file_with_its_field_by_position():
    files = [png("x_side.png"), png("y.png"), png("z.png")]
    data = {"view_1": "face", "view_2": "nonsense", "label_0": " Left "}
    items = upload_items(files, data, with_views=True)
    assert [(i.name, i.view, i.label) for i in items] == [
        ("x_side.png", "side", "Left"),
        ("y.png", "face", ""),
        ("z.png", "front", ""),
    ]


def test_failed_upload_goes_back_to_the_sheet_so_a_reload_sends_nothing(bible, editor_client):
    bad = SimpleUploadedFile("empty.png", b"", content_type="image/png")
    response = editor_client.post(_urls(bible)["sheet_upload"], {"images": [bad]})
    sheet_page = _urls(bible)["character_detail"] + f"?sheet={bible.default.pk}"
    assert response.status_code == 302 and response["Location"] == sheet_page
    shown = editor_client.get(sheet_page).content.decode()
    assert "“empty.png”" in shown and "not uploaded" in shown
    # The reasons are shown once, on the page the person came back to.
    assert "“empty.png”" not in editor_client.get(sheet_page).content.decode()
