"""Files in an S3-compatible bucket (moto's server on loopback): storing, serving, failing."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from botocore.exceptions import EndpointConnectionError
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from boards import services as boards
from boards.models import Take
from studio.storage import StorageUnavailable
from tests.factories import BoardFactory, PanelFactory, TakeFactory, png_bytes
from tests.s3 import closed_port_url, use_bucket

pytestmark = pytest.mark.django_db


def _take(team) -> Take:
    return TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))


def test_take_files_go_to_the_bucket_and_nothing_to_the_media_folder(team, bucket, settings):
    take = _take(team)
    assert bucket.object_keys() == sorted([take.file.name, take.thumbnail.name])
    assert not (settings.MEDIA_ROOT).exists() or not any(settings.MEDIA_ROOT.rglob("*.*"))


def test_page_links_go_through_the_media_view_not_the_bucket(team, bucket):
    take = _take(team)
    assert take.file.url == f"/media/{take.file.name}"


def test_member_gets_the_bytes_streamed_and_outsider_gets_404(team, bucket):
    take = _take(team)
    response = team.client("viewer").get(take.file.url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert int(response["Content-Length"]) == len(png_bytes())
    assert b"".join(response.streaming_content) == png_bytes()
    assert team.client("outsider").get(take.file.url).status_code == 404


def test_presigned_delivery_redirects_members_to_a_short_lived_link(team, bucket, settings):
    settings.STUDIO_MEDIA_DELIVERY = "presigned"
    settings.STUDIO_PRESIGNED_TTL_S = 120
    take = _take(team)
    response = team.client("viewer").get(take.file.url)
    assert response.status_code == 302
    link = response["Location"]
    query = parse_qs(urlsplit(link).query)
    assert query["X-Amz-Expires"] == ["120"] and "X-Amz-Signature" in query
    fetched = httpx.get(link)
    assert fetched.status_code == 200 and fetched.content == png_bytes()
    assert fetched.headers["content-type"] == "image/png"
    assert team.client("outsider").get(take.file.url).status_code == 404


def test_presigned_export_link_names_the_download(team, bucket, settings):
    settings.STUDIO_MEDIA_DELIVERY = "presigned"
    name = default_storage.save(
        f"projects/{team.project.pk}/exports/x.pdf", io.BytesIO(b"%PDF-1.4 board")
    )
    link = team.client("viewer").get(f"/media/{name}?as=Harbour lights.pdf")["Location"]
    fetched = httpx.get(link)
    assert fetched.content == b"%PDF-1.4 board"
    assert fetched.headers["content-disposition"] == 'attachment; filename="Harbour-lights.pdf"'


def test_stored_objects_carry_no_public_grant(team, bucket):
    take = _take(team)
    for key in (take.file.name, take.thumbnail.name):
        grants = bucket.client().get_object_acl(Bucket=bucket.name, Key=key)["Grants"]
        assert [g for g in grants if "AllUsers" in g["Grantee"].get("URI", "")] == []
        assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


def test_a_missing_object_is_404(team, bucket):
    response = team.client("owner").get(f"/media/projects/{team.project.pk}/takes/gone.png")
    assert response.status_code == 404


def test_media_view_says_503_when_the_bucket_does_not_answer(team, bucket, settings):
    take = _take(team)
    use_bucket(settings, bucket, endpoint=closed_port_url())
    response = team.client("viewer").get(take.file.url)
    assert response.status_code == 503
    assert "file store is not answering" in response.content.decode()
    assert response["Retry-After"] == "30"


def test_check_passes_and_leaves_no_probe_behind(bucket, capsys):
    call_command("check")
    assert bucket.object_keys() == []


def test_check_fails_clearly_when_the_bucket_refuses_writes(bucket, settings):
    # A name the keys cannot write to: the store answers, and refuses.
    settings.AWS_STORAGE_BUCKET_NAME = "castboard-no-such-bucket"
    settings.STORAGES = {**settings.STORAGES}
    with pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "studio.E001" in str(caught.value)
    assert "castboard-no-such-bucket" in str(caught.value)
    assert "AWS_STORAGE_BUCKET_NAME" in str(caught.value)


def test_check_fails_clearly_when_the_bucket_does_not_answer(bucket, settings):
    use_bucket(settings, bucket, endpoint=closed_port_url())
    with pytest.raises(SystemCheckError, match="did not answer"):
        call_command("check")


def test_a_failed_upload_leaves_no_row_and_no_object(team, bucket, settings):
    panel = PanelFactory(board=BoardFactory(project=team.project))
    use_bucket(settings, bucket, endpoint=closed_port_url())
    with pytest.raises(StorageUnavailable):
        boards.take_upload(panel=panel, file=io.BytesIO(png_bytes()), name="frame.png")
    assert not Take.objects.filter(panel=panel).exists()
    use_bucket(settings, bucket)
    assert bucket.object_keys() == []


def test_an_upload_cut_off_after_its_first_file_takes_that_file_back(team, bucket, monkeypatch):
    panel = PanelFactory(board=BoardFactory(project=team.project))
    real_save = default_storage.save
    calls = []

    def second_write_fails(name, content, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise EndpointConnectionError(endpoint_url=bucket.endpoint)
        return real_save(name, content, **kwargs)

    monkeypatch.setattr(default_storage, "save", second_write_fails)
    with pytest.raises(StorageUnavailable, match="did not answer"):
        boards.take_upload(panel=panel, file=io.BytesIO(png_bytes()), name="frame.png")
    assert len(calls) == 2
    assert not Take.objects.filter(panel=panel).exists()
    assert bucket.object_keys() == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"STUDIO_STORAGE": "ftp"}, "STUDIO_STORAGE='ftp': use local or s3"),
        ({"STUDIO_STORAGE": "s3"}, "STUDIO_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME"),
        ({"STUDIO_MEDIA_DELIVERY": "presigned"}, "presigned needs STUDIO_STORAGE=s3"),
        (
            {"STUDIO_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b", "STUDIO_MEDIA_ACCEL": "nginx"},
            "STUDIO_MEDIA_ACCEL serves files from a local folder",
        ),
    ],
)
def test_storage_settings_refuse_what_cannot_work(env, message):
    from tests.test_studio import _settings_run

    result = _settings_run({"DJANGO_DEBUG": "true", **env})
    assert result.returncode != 0 and message in result.stderr
