"""Uploads under attack: random bytes and names, polyglots, SVG, path tricks, too many files.

Requests are built by hand (`multipart`) because Django's test client
strips directories from file names, and attackers do not.
"""

from __future__ import annotations

import io
import secrets
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PIL import Image

from boards.models import Take
from characters.models import LocationImage, ReferenceImage, StyleImage
from tests.factories import (
    BoardFactory,
    CharacterFactory,
    LocationFactory,
    PanelFactory,
    ReferenceSheetFactory,
    png_bytes,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Endpoint:
    name: str
    target: str  # attribute of the `targets` fixture
    kwarg: str
    field: str
    model: type


ENDPOINTS = [
    Endpoint("sheet_upload", "sheet", "pk", "images", ReferenceImage),
    Endpoint("location_upload", "location", "pk", "images", LocationImage),
    Endpoint("style_upload", "project", "project_id", "images", StyleImage),
    Endpoint("take_upload", "panel", "pk", "image", Take),
]
STORED = (ReferenceImage, LocationImage, StyleImage, Take)


@pytest.fixture
def targets(team):
    character = CharacterFactory(project=team.project)
    return {
        "sheet": ReferenceSheetFactory(character=character, name="Default", is_default=True),
        "location": LocationFactory(project=team.project),
        "project": team.project,
        "panel": PanelFactory(board=BoardFactory(project=team.project), position=0),
    }


def url_of(endpoint: Endpoint, targets) -> str:
    return reverse(endpoint.name, kwargs={endpoint.kwarg: targets[endpoint.target].pk})


def multipart(field: str, files: list[tuple[str, bytes]], **fields: str) -> tuple[bytes, str]:
    """A multipart body exactly as given: names are not cleaned on the way."""
    boundary = f"castboard-{secrets.token_hex(12)}"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for filename, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
        )
        parts.append(head.encode("utf-8", "surrogatepass") + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_files(client: Client, url: str, field: str, files, follow=False, **fields):
    body, content_type = multipart(field, files, **fields)
    return client.post(url, data=body, content_type=content_type, follow=follow)


@dataclass(frozen=True)
class State:
    rows: dict[str, set[int]]
    files: set[str]


def stored_state() -> State:
    root = Path(django_settings.MEDIA_ROOT)
    files = (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )
    rows = {m.__name__: set(m.objects.values_list("pk", flat=True)) for m in STORED}
    return State(rows, files)


def assert_clean_outcome(before: State, after: State) -> None:
    """Either nothing new at all, or new rows whose files are exactly the new files."""
    referenced: set[str] = set()
    for model in STORED:
        new = after.rows[model.__name__] - before.rows[model.__name__]
        for row in model.objects.filter(pk__in=new):
            referenced |= {row.file.name, row.thumbnail.name}
            assert "/" not in row.original_name and "\\" not in row.original_name
            assert "\x00" not in row.original_name
    assert after.files - before.files == referenced
    assert before.files <= after.files


def stored_bytes(model) -> list[bytes]:
    root = Path(django_settings.MEDIA_ROOT)
    return [(root / row.file.name).read_bytes() for row in model.objects.all()]


# --- building blocks of hostile files -----------------------------------------------------


def jpeg_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def gif_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("P", (16, 16)).save(buf, "GIF")
    return buf.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size while the file stays tiny (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)
PNG = png_bytes()

REFUSED = {
    "png-signature-then-html": PNG[:8] + HTML,
    "gif-html-polyglot": b"GIF89a/*\x0a\x00\x0a\x00\x00\x00\x00*/=1;" + HTML,
    "real-gif-with-html": gif_bytes() + HTML,
    "svg-with-script": SVG,
    "html": HTML,
    "empty": b"",
    "decompression-bomb": png_claiming(60_000, 60_000),
    "truncated-png": PNG[: len(PNG) // 2],
}
# Valid images with a payload after the image data: kept, but re-encoded without it.
CLEANED = {
    "png-then-html": PNG + HTML,
    "jpeg-then-script": jpeg_bytes() + b"<script>alert(1)</script>",
}


# --- hypothesis: random bytes and names never break an endpoint -------------------------------

names = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "../../x.png",
            "a\\b.png",
            "x\x00.png",
            "..",
            ".",
            "/etc/passwd",
            "C:\\w\\x.png",
            "\u202egnp.js",
        ]
    ),
)
contents = st.one_of(
    st.binary(max_size=600),
    st.binary(max_size=200).map(lambda tail: PNG + tail),
    st.integers(min_value=0, max_value=len(PNG)).map(lambda n: PNG[:n]),
    st.sampled_from(sorted({**REFUSED, **CLEANED}.values())),
)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_random_files_and_names_never_cause_a_server_error(endpoint, targets, editor_client):
    url = url_of(endpoint, targets)

    @hsettings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(files=st.lists(st.tuples(names, contents), min_size=1, max_size=3))
    def attempt(files):
        before = stored_state()
        response = post_files(editor_client, url, endpoint.field, files)
        assert response.status_code < 500, response.status_code
        assert_clean_outcome(before, stored_state())
        for data in stored_bytes(endpoint.model):
            assert b"<script" not in data and b"<html" not in data

    attempt()


# --- hostile files one by one ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("kind", sorted(REFUSED))
def test_non_images_and_polyglots_are_refused_and_store_nothing(
    endpoint, kind, targets, editor_client
):
    before = stored_state()
    response = post_files(
        editor_client, url_of(endpoint, targets), endpoint.field, [("a.png", REFUSED[kind])]
    )
    assert response.status_code in (302, 400)
    assert stored_state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("kind", sorted(CLEANED))
def test_payload_after_a_real_image_is_dropped_on_re_encoding(
    endpoint, kind, targets, editor_client, team
):
    before = stored_state()
    post_files(
        editor_client, url_of(endpoint, targets), endpoint.field, [("pic.png", CLEANED[kind])]
    )
    assert_clean_outcome(before, stored_state())
    row = endpoint.model.objects.get()
    data = Path(django_settings.MEDIA_ROOT, row.file.name).read_bytes()
    assert b"<script" not in data and b"<html" not in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.format in ("PNG", "JPEG", "WEBP")
    served = team.client("viewer").get(row.file.url)
    assert served["Content-Type"].startswith("image/")
    assert served["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize(
    "name", ["../../x.png", "a\\b.png", "..\\..\\evil.png", "x\x00.png", "/etc/passwd.png"]
)
def test_path_tricks_in_names_stay_inside_the_project_folder(
    endpoint, name, targets, editor_client, team, tmp_path
):
    before = stored_state()
    post_files(editor_client, url_of(endpoint, targets), endpoint.field, [(name, PNG)])
    after = stored_state()
    assert_clean_outcome(before, after)
    prefix = f"projects/{team.project.pk}/"
    assert after.files - before.files and all(f.startswith(prefix) for f in after.files)
    # Nothing was written beside the media folder either.
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and "media" not in p.parts]
    assert outside == []
    row = endpoint.model.objects.get()
    assert row.original_name and not {"/", "\\", "\x00"} & set(row.original_name)


def test_a_hostile_name_is_shown_escaped_in_the_refusal(targets, editor_client):
    name = '<img src=x onerror="alert(1)">.png'
    response = post_files(
        editor_client, url_of(ENDPOINTS[0], targets), "images", [(name, HTML)], follow=True
    )
    assert response.redirect_chain[0][1] == 302
    body = response.content.decode()
    assert "<img src=x" not in body and "&lt;img src=x" in body


def test_an_oversized_file_is_refused(targets, editor_client, settings):
    settings.STUDIO_UPLOAD_MAX_BYTES = 2_000
    noisy = io.BytesIO()
    Image.frombytes("RGB", (64, 64), secrets.token_bytes(64 * 64 * 3)).save(noisy, "PNG")
    before = stored_state()
    response = post_files(
        editor_client,
        url_of(ENDPOINTS[1], targets),
        "images",
        [("big.png", noisy.getvalue())],
        follow=True,
    )
    assert response.redirect_chain[0][1] == 302 and "is larger than" in response.content.decode()
    assert stored_state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_more_files_than_django_parses_get_the_too_many_files_page(endpoint, targets, team):
    client = Client(enforce_csrf_checks=True)
    client.force_login(team.editor)
    client.get(reverse("project_list"))
    token = client.cookies["csrftoken"].value
    limit = django_settings.DATA_UPLOAD_MAX_NUMBER_FILES
    files = [(f"p{i}.png", png_bytes((i, 0, 0))) for i in range(limit + 1)]
    before = stored_state()
    response = post_files(
        client, url_of(endpoint, targets), endpoint.field, files, csrfmiddlewaretoken=token
    )
    assert response.status_code == 400
    assert "Too many files in one upload" in response.content.decode()
    assert stored_state() == before


@pytest.mark.parametrize("name", ["../../x.png", "a\\b.png", "x\x00.png", "dir/\u202egnp.js"])
def test_services_keep_only_a_safe_display_name(name, targets):
    # Django's parser already cuts directories from uploads; other callers
    # (commands, a future API) reach the services with the name as given.
    from boards.services import take_upload
    from characters.services import UploadItem, location_images_add

    report = location_images_add(
        location=targets["location"], items=[UploadItem(name, io.BytesIO(PNG))]
    )
    take = take_upload(panel=targets["panel"], file=io.BytesIO(PNG), name=name)
    for shown in (report.saved[0].original_name, take.original_name):
        assert shown and not {"/", "\\", "\x00", "\u202e"} & set(shown)
