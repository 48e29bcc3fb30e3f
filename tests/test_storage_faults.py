"""The bucket stops answering while a take is stored or an export is written.

Jobs are driven in-process against the fake provider over real HTTP; the
bucket is moto's server on loopback, "down" meaning a loopback port where
nothing listens.
"""

from __future__ import annotations

import io
import zipfile

import pytest

from boards.models import Panel
from tests.fakes.bfl_server import FakeBFL, FakeConfig
from tests.generation import make_board, use_fake_bfl
from tests.s3 import closed_port_url, use_bucket
from workers.models import GenerationJob
from workers.pipeline import store as pipeline
from workers.services import jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State


@pytest.fixture
def fake():
    with FakeBFL(FakeConfig(latency_s=0.05)) as server:
        yield server


def _panels(board):
    return list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )


def _bucket_down_for_first_stores(monkeypatch, settings, bucket, failures: int) -> list[str]:
    """The bucket is unreachable while the first `failures` takes are stored, then back."""
    real = pipeline.fill_stored_image
    outcomes: list[str] = []

    def store(*args, **kwargs):
        down = len(outcomes) < failures
        use_bucket(settings, bucket, endpoint=closed_port_url() if down else None)
        try:
            result = real(*args, **kwargs)
        except OSError:
            outcomes.append("failed")
            raise
        finally:
            use_bucket(settings, bucket)  # references are read from it between stores
        outcomes.append("stored")
        return result

    monkeypatch.setattr(pipeline, "fill_stored_image", store)
    monkeypatch.setattr(pipeline, "STORE_RETRY_S", 0.2)
    return outcomes


def test_bucket_down_during_a_paid_store_retries_and_pays_once(
    team, bucket, settings, fake, driver, monkeypatch
):
    use_fake_bfl(settings, fake)
    board = make_board(team.project, panels=1, cast_per_panel=1)
    outcomes = _bucket_down_for_first_stores(monkeypatch, settings, bucket, failures=2)
    job = jobs_request(panels=_panels(board), user=team.editor, backend="bfl").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert outcomes == ["failed", "failed", "stored"]
    assert job.state == State.SUCCEEDED and job.error_code == ""
    assert len(fake.submissions()) == 1  # fetched again from the finished task, not paid again
    assert job.take.file.name in bucket.object_keys()
    assert Panel.objects.get(pk=job.panel_id).selected_take_id == job.take_id


def test_bucket_down_during_a_free_store_draws_again_and_succeeds(
    team, bucket, settings, driver, monkeypatch
):
    board = make_board(team.project, panels=1, cast_per_panel=1)
    outcomes = _bucket_down_for_first_stores(monkeypatch, settings, bucket, failures=1)
    job = jobs_request(panels=_panels(board), user=team.editor, backend="sketch").jobs[0]
    driver.run()
    job.refresh_from_db()
    assert outcomes == ["failed", "stored"]
    assert job.state == State.SUCCEEDED
    # Only the stored take's two files: the failed attempt left nothing behind.
    takes = [k for k in bucket.object_keys() if "/takes/" in k]
    assert sorted(takes) == sorted([job.take.file.name, job.take.thumbnail.name])


def test_a_paid_job_waiting_on_the_bucket_says_so(
    team, bucket, settings, fake, driver, monkeypatch
):
    use_fake_bfl(settings, fake)
    settings.STUDIO_POLL_DEADLINE_S = 5
    board = make_board(team.project, panels=1, cast_per_panel=1)
    _bucket_down_for_first_stores(monkeypatch, settings, bucket, failures=1000)
    job = jobs_request(panels=_panels(board), user=team.editor, backend="bfl").jobs[0]
    with pytest.raises(AssertionError, match="did not settle"):
        driver.run(timeout=2)
    job.refresh_from_db()
    assert job.state == State.POLLING and job.error_code == "storage_retry"
    assert "storing it is being retried" in job.error_message
    assert len(fake.submissions()) == 1


def test_bucket_down_during_an_export_fails_with_a_reason_and_a_rerun_works(team, bucket, settings):
    from boards.export_services import STORAGE_MESSAGE, export_defaults, export_run
    from boards.models import Export
    from tests.factories import BoardFactory, PanelFactory, TakeFactory

    board = BoardFactory(project=team.project)
    for _ in range(2):
        take = TakeFactory(panel=PanelFactory(board=board))
        Panel.objects.filter(pk=take.panel_id).update(selected_take=take)
    use_bucket(settings, bucket, endpoint=closed_port_url())
    first = Export.objects.create(board=board, format="zip", options=export_defaults(board))
    failed = export_run(first.pk)
    assert failed is not None and failed.state == Export.State.FAILED
    assert failed.error == STORAGE_MESSAGE and failed.file.name == ""

    use_bucket(settings, bucket)
    again = Export.objects.create(board=board, format="zip", options=export_defaults(board))
    done = export_run(again.pk)
    assert done is not None and done.state == Export.State.DONE
    assert done.file.name in bucket.object_keys()
    assert [k for k in bucket.object_keys() if "/exports/" in k] == [done.file.name]
    # The images were read from the bucket, not left out as unreadable.
    body = bucket.client().get_object(Bucket=bucket.name, Key=done.file.name)["Body"].read()
    pictures = [n for n in zipfile.ZipFile(io.BytesIO(body)).namelist() if n.endswith(".png")]
    assert len(pictures) == 2
