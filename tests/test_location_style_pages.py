"""Location pages and the project style page, with their image uploads."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, get_resolver, reverse

from characters import services
from characters.models import Location, LocationImage, StyleImage
from studio.models import Project
from tests.factories import png_bytes


def png(name: str, color=(60, 60, 200)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(color=color), content_type="image/png")


def stored(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


@dataclass
class Places:
    project: Project
    location: Location
    location_image: LocationImage
    style_image: StyleImage


@pytest.fixture
def places(team) -> Places:
    """A location with one image, and one style image, in the team's project."""
    project = team.project
    location = services.location_create(project=project, name="Harbour", description="dusk")
    loc_report = services.location_images_add(
        location=location, items=[services.UploadItem(name="quay.png", file=png("quay.png"))]
    )
    style_report = services.style_images_add(
        project=project, items=[services.UploadItem(name="ink.png", file=png("ink.png"))]
    )
    return Places(project, location, loc_report.saved[0], style_report.saved[0])


def _urls(p: Places) -> dict[str, str]:
    loc, project_id = p.location.pk, p.project.pk
    return {
        "location_create": reverse("location_create", kwargs={"project_id": project_id}),
        "location_detail": reverse("location_detail", kwargs={"pk": loc}),
        "location_edit": reverse("location_edit", kwargs={"pk": loc}),
        "location_delete": reverse("location_delete", kwargs={"pk": loc}),
        "location_upload": reverse("location_upload", kwargs={"pk": loc}),
        "location_image_delete": reverse(
            "location_image_delete", kwargs={"pk": p.location_image.pk}
        ),
        "style_detail": reverse("style_detail", kwargs={"project_id": project_id}),
        "style_upload": reverse("style_upload", kwargs={"project_id": project_id}),
        "style_image_delete": reverse("style_image_delete", kwargs={"pk": p.style_image.pk}),
    }


WRITES = [
    ("location_create", lambda: {"name": "Lighthouse", "description": ""}),
    ("location_edit", lambda: {"name": "Harbour", "description": "night"}),
    ("location_delete", dict),
    ("location_upload", lambda: {"images": [png("pier.png", (1, 1, 1))], "label_0": "pier"}),
    ("location_image_delete", dict),
    ("style_detail", lambda: {"style": "loose pencil"}),
    ("style_upload", lambda: {"images": [png("wash.png", (2, 2, 2))]}),
    ("style_image_delete", dict),
]
PAGES = ["location_create", "location_detail", "location_edit", "style_detail"]
WRITE_FORMS = ["location_create", "location_edit"]


def _unchanged(p: Places) -> bool:
    project = Project.objects.get(pk=p.project.pk)
    return (
        project.style == ""
        and list(Location.objects.filter(project=project).values_list("name", "description"))
        == [("Harbour", "dusk")]
        and LocationImage.objects.filter(location=p.location).count() == 1
        and StyleImage.objects.filter(project=project).count() == 1
    )


# --- access -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_editor_can_make_every_write(places, editor_client, name, data):
    response = editor_client.post(_urls(places)[name], data())
    assert response.status_code == 302, response.content[:500]
    assert not _unchanged(places)


@pytest.mark.parametrize(("name", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_viewer_gets_403_on_every_write(places, viewer_client, name, data):
    assert viewer_client.post(_urls(places)[name], data()).status_code == 403
    assert _unchanged(places)


@pytest.mark.parametrize(("name", "data"), WRITES, ids=[w[0] for w in WRITES])
def test_outsider_gets_404_on_every_write(places, outsider_client, name, data):
    assert outsider_client.post(_urls(places)[name], data()).status_code == 404
    assert _unchanged(places)


@pytest.mark.parametrize("name", PAGES)
def test_editor_opens_every_page(places, editor_client, name):
    assert editor_client.get(_urls(places)[name]).status_code == 200


@pytest.mark.parametrize("name", ["location_detail", "style_detail"])
def test_viewer_reads_pages_without_edit_controls(places, viewer_client, name):
    urls = _urls(places)
    response = viewer_client.get(urls[name])
    assert response.status_code == 200
    body = response.content.decode()
    for write in ("location_upload", "location_image_delete", "style_upload", "style_image_delete"):
        assert urls[write] not in body


@pytest.mark.parametrize("name", WRITE_FORMS)
def test_viewer_gets_403_on_edit_forms(places, viewer_client, name):
    assert viewer_client.get(_urls(places)[name]).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_outsider_gets_404_on_every_page(places, outsider_client, name):
    assert outsider_client.get(_urls(places)[name]).status_code == 404


def test_every_character_bible_url_takes_pk_or_project_id():
    resolver = get_resolver("characters.urls")
    for pattern in resolver.url_patterns:
        assert isinstance(pattern, URLPattern)
        kwargs = set(pattern.pattern.converters)
        assert kwargs in ({"pk"}, {"project_id"}), pattern.name


# --- locations --------------------------------------------------------------------------


def test_creating_a_location_opens_its_page(team, editor_client):
    url = reverse("location_create", kwargs={"project_id": team.project.pk})
    response = editor_client.post(url, {"name": "Pier", "description": "wet planks"})
    location = Location.objects.get(project=team.project, name="Pier")
    assert response["Location"] == reverse("location_detail", kwargs={"pk": location.pk})


def test_duplicate_location_name_keeps_the_typed_form(places, editor_client):
    url = _urls(places)["location_create"]
    response = editor_client.post(url, {"name": "harbour", "description": "typed words"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "already a location called" in body and "typed words" in body


def test_location_upload_keeps_labels_thumbnails_and_hashes(places, editor_client):
    files = [png("a.png", (10, 0, 0)), png("b.png", (20, 0, 0))]
    data = {"images": files, "label_0": "Quay at dusk", "label_1": ""}
    assert editor_client.post(_urls(places)["location_upload"], data).status_code == 302
    new = list(places.location.images.exclude(pk=places.location_image.pk).order_by("id"))
    assert [(i.original_name, i.label) for i in new] == [("a.png", "Quay at dusk"), ("b.png", "")]
    for image in new:
        assert stored(image.file.name) and stored(image.thumbnail.name)
        assert len(image.sha256) == 64


def test_mixed_location_upload_keeps_good_files_and_names_the_bad_one(places, editor_client):
    files = [
        png("good1.png", (0, 90, 0)),
        SimpleUploadedFile("broken.png", b"\x89PNG\r\n\x1a\nnot really", content_type="image/png"),
        png("good2.png", (0, 91, 0)),
    ]
    response = editor_client.post(_urls(places)["location_upload"], {"images": files}, follow=True)
    assert response.redirect_chain == [(_urls(places)["location_detail"], 302)]
    body = response.content.decode()
    assert "broken.png" in body and "damaged" in body
    names = set(places.location.images.values_list("original_name", flat=True))
    assert names == {"quay.png", "good1.png", "good2.png"}


def test_location_upload_of_only_duplicates_answers_400(places, editor_client):
    response = editor_client.post(
        _urls(places)["location_upload"], {"images": [png("q2.png")]}, follow=True
    )
    assert response.redirect_chain == [(_urls(places)["location_detail"], 302)]
    assert "q2.png" in response.content.decode()
    assert places.location.images.count() == 1


def test_location_upload_over_the_file_limit_is_refused(places, editor_client, settings):
    settings.STUDIO_UPLOAD_MAX_FILES = 1
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 1
    files = [png("x.png", (3, 3, 3)), png("y.png", (4, 4, 4))]
    response = editor_client.post(_urls(places)["location_upload"], {"images": files})
    assert response.status_code == 400
    assert "at most 1 image at a time" in response.content.decode()
    assert places.location.images.count() == 1


def test_deleting_a_location_image_removes_files_after_commit(
    places, editor_client, django_capture_on_commit_callbacks
):
    image = places.location_image
    files = [image.file.name, image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        editor_client.post(_urls(places)["location_image_delete"])
    assert not LocationImage.objects.filter(pk=image.pk).exists()
    assert all(stored(name) for name in files)
    for callback in callbacks:
        callback()
    assert not any(stored(name) for name in files)


def test_deleting_a_location_removes_it_and_its_files(
    places, editor_client, django_capture_on_commit_callbacks
):
    files = [places.location_image.file.name, places.location_image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(_urls(places)["location_delete"])
    assert response["Location"] == reverse("project_detail", kwargs={"pk": places.project.pk})
    assert not Location.objects.filter(pk=places.location.pk).exists()
    assert not any(stored(name) for name in files)


# --- style ------------------------------------------------------------------------------


def test_style_text_is_saved_and_shown(places, editor_client):
    url = _urls(places)["style_detail"]
    response = editor_client.post(url, {"style": "ink line art, flat muted colours"})
    assert response["Location"] == url
    places.project.refresh_from_db()
    assert places.project.style == "ink line art, flat muted colours"
    assert "ink line art" in editor_client.get(url).content.decode()


def test_viewer_sees_style_text_and_images(places, viewer_client):
    Project.objects.filter(pk=places.project.pk).update(style="grey wash")
    body = viewer_client.get(_urls(places)["style_detail"]).content.decode()
    assert "grey wash" in body
    assert places.style_image.thumbnail.url in body


def test_style_upload_keeps_good_files_and_reports_bad_ones(places, editor_client):
    files = [
        png("tone.png", (7, 7, 7)),
        SimpleUploadedFile("clip.gif", b"GIF89a\x01\x00\x01\x00", content_type="image/gif"),
    ]
    response = editor_client.post(
        _urls(places)["style_upload"], {"images": files, "label_0": "tone"}, follow=True
    )
    assert response.redirect_chain == [(_urls(places)["style_detail"], 302)]
    assert "clip.gif" in response.content.decode()
    labels = dict(places.project.style_images.values_list("original_name", "label"))
    assert labels == {"ink.png": "", "tone.png": "tone"}


def test_style_upload_without_files_answers_400(places, editor_client):
    response = editor_client.post(_urls(places)["style_upload"], {}, follow=True)
    assert response.redirect_chain == [(_urls(places)["style_detail"], 302)]
    assert "Choose at least one image" in response.content.decode()


def test_deleting_a_style_image_removes_files_after_commit(
    places, editor_client, django_capture_on_commit_callbacks
):
    image = places.style_image
    files = [image.file.name, image.thumbnail.name]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = editor_client.post(_urls(places)["style_image_delete"])
    assert response["Location"] == _urls(places)["style_detail"]
    assert all(stored(name) for name in files)
    for callback in callbacks:
        callback()
    assert not StyleImage.objects.filter(pk=image.pk).exists()
    assert not any(stored(name) for name in files)
