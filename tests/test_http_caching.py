"""Browsers keep what does not change: static files for good, stored files until they change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.templatetags.static import static
from django.test import Client

from tests.factories import BoardFactory, PanelFactory, TakeFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def production_static_backend() -> str:
    """The static files storage studio.settings picks with debug off, as a server starts it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="studio.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY="x" * 64,
        DJANGO_ALLOWED_HOSTS="castboard.example",
    )
    code = "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def production_static(settings, tmp_path):
    """Static files collected by the production storage and served by WhiteNoise, debug off."""
    backend = production_static_backend()
    assert backend == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": backend}}
    call_command("collectstatic", interactive=False, verbosity=0)
    return Client()  # a new client loads WhiteNoise with these settings


def test_static_files_are_cached_for_good_under_their_hashed_names(production_static):
    url = static("studio/app.css")
    assert url != "/static/studio/app.css"  # the name carries the content's hash

    response = production_static.get(url)

    assert response.status_code == 200
    assert "max-age=315360000" in response["Cache-Control"]
    assert "immutable" in response["Cache-Control"]


def test_static_files_are_sent_compressed_to_browsers_that_accept_it(production_static):
    url = static("studio/app.js")
    plain = production_static.get(url)
    packed = production_static.get(url, headers={"Accept-Encoding": "gzip"})

    assert packed["Content-Encoding"] in ("gzip", "br")
    assert "Accept-Encoding" in packed["Vary"]
    assert int(packed["Content-Length"]) < int(plain["Content-Length"])


# --- stored files (takes, thumbnails) -----------------------------------------------------


@pytest.fixture
def take(team):
    return TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))


def test_stored_file_carries_etag_and_last_modified(team, take):
    response = team.client("viewer").get(take.file.url)
    assert response.status_code == 200
    assert response["ETag"].startswith('"') and response["Last-Modified"].endswith("GMT")
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_unchanged_stored_file_is_answered_304_without_the_bytes(team, take):
    viewer = team.client("viewer")
    first = viewer.get(take.file.url)

    by_etag = viewer.get(take.file.url, headers={"If-None-Match": first["ETag"]})
    by_date = viewer.get(take.file.url, headers={"If-Modified-Since": first["Last-Modified"]})

    for response in (by_etag, by_date):
        assert response.status_code == 304
        assert response.content == b""
        assert response["ETag"] == first["ETag"]
        assert response["Cache-Control"] == "private, max-age=3600"


def test_stored_file_with_another_etag_is_sent_again(team, take):
    response = team.client("viewer").get(take.file.url, headers={"If-None-Match": '"older"'})
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_file_written_again_under_its_name_gets_a_new_etag(team, take):
    viewer = team.client("viewer")
    before = viewer.get(take.file.url)["ETag"]
    path = Path(take.file.path)
    path.write_bytes(path.read_bytes() + b"\0")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))

    response = viewer.get(take.file.url, headers={"If-None-Match": before})

    assert response.status_code == 200 and response["ETag"] != before


def test_outsider_with_a_valid_etag_still_gets_404(team, take):
    etag = team.client("viewer").get(take.file.url)["ETag"]
    response = team.client("outsider").get(take.file.url, headers={"If-None-Match": etag})
    assert response.status_code == 404
