"""Findings from an outside attack on the studio, each kept fixed by a test."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from characters.models import ReferenceImage
from studio import services
from studio.models import Membership
from tests.factories import (
    CharacterFactory,
    MembershipFactory,
    ProjectFactory,
    ReferenceSheetFactory,
    UserFactory,
    png_bytes,
)


def _stored_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- 500s ----------------------------------------------------------------------


def test_nul_in_the_log_in_username_is_a_refused_log_in_not_a_crash(db, client):
    response = client.post(reverse("login"), {"username": "ad\x00min", "password": "x"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated


def test_nul_in_an_upload_label_is_dropped_and_the_image_kept(team, settings):
    sheet = ReferenceSheetFactory(character=CharacterFactory(project=team.project))
    upload = SimpleUploadedFile("front.png", png_bytes(), content_type="image/png")
    response = team.client("editor").post(
        reverse("sheet_upload", kwargs={"pk": sheet.pk}),
        {"images": [upload], "label_0": "Front\x00 view\n", "view_0": "front"},
    )
    assert response.status_code in (200, 302)
    (image,) = ReferenceImage.objects.filter(sheet=sheet)
    assert image.label == "Front view"


def test_a_failing_save_leaves_no_files_behind(team, settings, monkeypatch):
    sheet = ReferenceSheetFactory(character=CharacterFactory(project=team.project))

    def explode(self, *args, **kwargs):
        raise ValueError("the database refused the row")

    monkeypatch.setattr(ReferenceImage, "save", explode)
    client = team.client("editor")
    client.raise_request_exception = False
    upload = SimpleUploadedFile("front.png", png_bytes(), content_type="image/png")
    response = client.post(reverse("sheet_upload", kwargs={"pk": sheet.pk}), {"images": [upload]})
    assert response.status_code == 500
    assert _stored_files(settings) == []


@pytest.mark.parametrize("segment", ["%C2%B2", "%D9%A3", "%EF%BC%91"])
def test_media_paths_with_unicode_digits_are_not_found(team, segment):
    response = team.client("owner").get(f"/media/projects/{segment}/refs/x.png")
    assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner_and_no_deadlock(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no row locks to order")
    project = ProjectFactory()
    a = MembershipFactory(project=project, user=UserFactory(), role="owner")
    b = MembershipFactory(project=project, user=UserFactory(), role="owner")
    real_save = Membership.save

    def slow_save(self, *args, **kwargs):
        time.sleep(0.3)  # both transactions hold their locks at the same time
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Membership, "save", slow_save)
    errors: list[BaseException] = []

    def demote(membership):
        try:
            services.membership_change_role(membership=membership, role="editor")
        except Exception as exc:  # collected and judged below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [type(e).__name__ for e in errors] == ["ValidationError"]
    assert Membership.objects.filter(project=project, role="owner").count() == 1


# --- request bodies ------------------------------------------------------------


def test_an_anonymous_oversized_body_is_refused_before_it_is_read(db, settings):
    settings.STUDIO_MAX_ANONYMOUS_REQUEST_BYTES = 4096
    body = b"x" * 5000
    response = Client().generic(
        "POST", reverse("login"), body, content_type="multipart/form-data; boundary=zzz"
    )
    assert response.status_code == 413
    assert b"too much to send at once" in response.content


def test_members_may_send_larger_bodies_up_to_their_own_limit(team, settings):
    settings.STUDIO_MAX_ANONYMOUS_REQUEST_BYTES = 4096
    settings.STUDIO_MAX_REQUEST_BYTES = 64 * 1024
    sheet = ReferenceSheetFactory(character=CharacterFactory(project=team.project))
    url = reverse("sheet_upload", kwargs={"pk": sheet.pk})
    client = team.client("editor")
    small = SimpleUploadedFile("front.png", png_bytes(), content_type="image/png")
    assert client.post(url, {"images": [small]}).status_code in (200, 302)
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * 70_000, content_type="image/png")
    response = client.post(url, {"images": [big]})
    assert response.status_code == 413
    assert ReferenceImage.objects.filter(sheet=sheet).count() == 1


def test_one_upload_decodes_a_bounded_number_of_pixels(team, settings):
    settings.STUDIO_UPLOAD_MAX_REQUEST_PIXELS = 2 * 64 * 64
    sheet = ReferenceSheetFactory(character=CharacterFactory(project=team.project))
    files = [
        SimpleUploadedFile(f"f{i}.png", png_bytes(size=(64, 64), color=(i * 40, 0, 0)))
        for i in range(3)
    ]
    response = team.client("editor").post(
        reverse("sheet_upload", kwargs={"pk": sheet.pk}), {"images": files}, follow=True
    )
    assert ReferenceImage.objects.filter(sheet=sheet).count() == 2
    assert "megapixels in total" in response.content.decode()


# --- error pages ---------------------------------------------------------------


def test_an_unknown_url_shows_the_studio_page_even_with_debug_on(team, settings):
    settings.DEBUG = True
    response = team.client("owner").get("/no/such/page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "Nothing here" in body and "URLconf" not in body


def test_a_refusal_logs_one_line_without_a_traceback(team, caplog):
    board_url = reverse("project_settings", kwargs={"pk": team.project.pk})
    with caplog.at_level(logging.INFO):
        response = team.client("viewer").get(board_url)
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()
    records = [r for r in caplog.records if "Forbidden" in r.getMessage()]
    assert len(records) == 1 and records[0].exc_info is None


def test_the_demo_hint_shows_on_the_log_in_page_only_with_debug_on(db, settings):
    settings.DEBUG = True
    assert "make run" in Client().get(reverse("login")).content.decode()
    settings.DEBUG = False
    assert "make run" not in Client().get(reverse("login")).content.decode()
