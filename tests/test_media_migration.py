"""migrate_media: every file copied between the local folder and the bucket, checked, resumable."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from studio.files import referenced_names
from tests.factories import BoardFactory, PanelFactory, TakeFactory, png_bytes
from tests.s3 import name_bucket, new_bucket

pytestmark = pytest.mark.django_db


@pytest.fixture
def local_takes(team):
    board = BoardFactory(project=team.project)
    return [TakeFactory(panel=PanelFactory(board=board)) for _ in range(3)]


@pytest.fixture
def target(moto_endpoint, settings):
    """A bucket named in the settings while the studio still stores files locally."""
    made = new_bucket(moto_endpoint)
    name_bucket(settings, made)
    return made


def _run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("migrate_media", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_dry_run_counts_the_files_and_copies_nothing(local_takes, target):
    output = _run("--to", "s3", "--dry-run")
    assert "6 file(s) would copy" in output and "Dry run" in output
    assert target.object_keys() == []


def test_every_file_is_copied_under_its_own_name_and_the_setting_to_change_is_printed(
    local_takes, target
):
    output = _run("--to", "s3")
    assert target.object_keys() == sorted(referenced_names())
    body = target.client().get_object(Bucket=target.name, Key=local_takes[0].file.name)["Body"]
    assert body.read() == png_bytes()
    assert "6 file(s) copied" in output
    assert "Now set STUDIO_STORAGE=s3" in output
    # Nothing was switched: the studio still reads its local files.
    assert default_storage.exists(local_takes[0].file.name)
    assert not hasattr(default_storage, "bucket_name")


def test_a_second_run_copies_only_what_is_missing_or_differs(local_takes, target):
    _run("--to", "s3")
    client = target.client()
    gone, spoiled = local_takes[0].file.name, local_takes[1].file.name
    client.delete_object(Bucket=target.name, Key=gone)
    client.put_object(Bucket=target.name, Key=spoiled, Body=b"half a file")
    output = _run("--to", "s3", "-v", "2")
    assert f"copied: {gone}" in output and f"copied: {spoiled}" in output
    assert "2 file(s) copied" in output and "4 already there and checked" in output
    assert client.get_object(Bucket=target.name, Key=spoiled)["Body"].read() == png_bytes()


def test_a_file_missing_from_the_source_stops_the_switch(local_takes, target):
    lost = local_takes[2].thumbnail.name
    default_storage.delete(lost)
    with pytest.raises(CommandError, match="keep STUDIO_STORAGE as it is"):
        _run("--to", "s3")
    assert lost not in target.object_keys()
    assert len(target.object_keys()) == 5


def test_files_come_back_from_the_bucket_to_the_local_folder(team, bucket, settings):
    take = TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))
    output = _run("--to", "local")
    assert "Now set STUDIO_STORAGE=local" in output
    assert (settings.MEDIA_ROOT / take.file.name).read_bytes() == png_bytes()
    assert (settings.MEDIA_ROOT / take.thumbnail.name).exists()


def test_migrating_to_where_the_files_already_are_is_refused(local_takes):
    with pytest.raises(CommandError, match="already stores its files in local"):
        _run("--to", "local")
