"""The money rules of DESIGN §5 for the fal and replicate backends, jobs driven in-process.

Every test runs once per backend against its loopback fake: a whole board, the
provider cap, a 429 storm, moderation, a 5xx on submit, an expired result and
a result on a host not allowed. What each counts is what matters: submissions
(never two for one job) and what is left on the job for a person to read.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from boards.models import Panel, Take
from tests.fakes.fal_server import FakeFal, FalConfig
from tests.fakes.replicate_server import FakeReplicate, ReplicateConfig
from tests.generation import make_board, states, use_fake_provider
from workers import registry
from workers.models import GenerationJob
from workers.services import jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State
FAKES = {"fal": (FakeFal, FalConfig), "replicate": (FakeReplicate, ReplicateConfig)}


@pytest.fixture(params=list(FAKES))
def provider(request, settings):
    fake_class, config_class = FAKES[request.param]
    with fake_class(config_class(latency_s=0.05)) as fake:
        use_fake_provider(settings, fake)
        yield request.param, fake


def request_board(team, *, name: str, panels: int = 1) -> list[GenerationJob]:
    board = make_board(team.project, panels=panels, cast_per_panel=2)
    chosen = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    return jobs_request(panels=chosen, user=team.editor, backend=name).jobs


def test_board_generates_and_each_job_costs_the_declared_price(team, provider, driver):
    name, fake = provider
    jobs = request_board(team, name=name, panels=3)
    driver.run()
    assert states([j.pk for j in jobs]) == [State.SUCCEEDED] * 3
    assert len(fake.submissions()) == 3
    for job in GenerationJob.objects.filter(pk__in=[j.pk for j in jobs]):
        refs = len(job.request["references"])
        price = registry.backend_class(name).price(
            job.model, job.request["width"], job.request["height"], refs
        )
        assert job.estimated_cost == job.cost == Decimal(str(price)).quantize(Decimal("0.01"))
        assert job.cost > 0  # a paid backend is never priced at zero
        assert Take.objects.get(jobs=job).backend == name


def test_provider_cap_is_never_exceeded(team, provider, driver, settings):
    name, fake = provider
    setattr(settings, f"{name.upper()}_MAX_ACTIVE", 2)
    fake.config.latency_s = 0.3
    jobs = request_board(team, name=name, panels=5)
    driver.run(timeout=30)
    assert states([j.pk for j in jobs]) == [State.SUCCEEDED] * 5
    assert fake.max_in_flight <= 2


def test_429_storm_waits_and_completes_with_one_submission_per_job(team, provider, driver):
    name, fake = provider
    fake.config.force_429 = 6
    fake.config.retry_after = "0.2"
    jobs = request_board(team, name=name, panels=2)
    driver.run(timeout=30)
    assert states([j.pk for j in jobs]) == [State.SUCCEEDED] * 2
    assert fake.count_429 == 6
    assert len(fake.tasks) == 2  # refused submits created nothing; accepted ones once each


def test_moderation_fails_with_its_reason_and_is_not_retried(team, provider, driver):
    name, fake = provider
    fake.config.moderate_if = "Panel 0"
    (job,) = request_board(team, name=name)
    driver.run()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "moderated")
    assert "refused" in job.error_message or "flagged" in job.error_message
    assert len(fake.submissions()) == 1


def test_5xx_on_submit_needs_review_and_is_not_resubmitted(team, provider, driver):
    name, fake = provider
    fake.config.submit_fail_times = 1
    fake.config.submit_fail_after_record = True
    (job,) = request_board(team, name=name)
    driver.run()
    job.refresh_from_db()
    assert job.state == State.NEEDS_REVIEW and "billed again" in job.error_message
    assert len(fake.submissions()) == 1


def test_expired_result_needs_review_without_a_second_submission(team, provider, driver):
    name, fake = provider
    fake.config.sample_ttl_s = 0.0
    (job,) = request_board(team, name=name)
    driver.run()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.NEEDS_REVIEW, "result_unavailable")
    assert len(fake.submissions()) == 1
    assert not Take.objects.exists()


def test_result_on_a_host_not_allowed_is_refused_without_download(team, provider, driver, settings):
    name, fake = provider
    setting = f"{name.upper()}_RESULT_HOSTS"
    setattr(settings, setting, ["media.example.com"])
    (job,) = request_board(team, name=name)
    driver.run()
    job.refresh_from_db()
    assert (job.state, job.error_code) == (State.FAILED, "result_refused")
    assert setting in job.error_message
    assert fake.downloads() == []
    assert len(fake.submissions()) == 1
