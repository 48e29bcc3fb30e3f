"""ComfyUIBackend against the fake ComfyUI on loopback, and its workflows."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from PIL import Image

from tests import hosted
from tests.fakes.comfyui_server import ComfyConfig, FakeComfyUI
from tests.generation import make_board, states
from workers import registry
from workers.backends.base import (
    InvalidRequest,
    ProviderFailed,
    Reference,
    ResultUnavailable,
    Submission,
)
from workers.backends.comfyui import BUNDLED, ComfyUIBackend, load_workflow, reference_slots


@pytest.fixture(scope="module")
def shared_fake() -> Iterator[FakeComfyUI]:
    with FakeComfyUI() as server:
        yield server


@pytest.fixture
def fake(shared_fake: FakeComfyUI) -> FakeComfyUI:
    shared_fake.config = ComfyConfig(latency_s=0.05)
    shared_fake.reset()
    shared_fake.inputs.clear()
    return shared_fake


@pytest.fixture
def make_backend(fake):
    clients: list[httpx.Client] = []

    def make(workflow: str = "flux2-dev") -> ComfyUIBackend:
        clients.append(httpx.Client())
        return ComfyUIBackend(
            url=fake.base_url, workflow=workflow, max_active=1, timeout_s=2.0, client=clients[-1]
        )

    yield make
    for client in clients:
        client.close()


def _refs(*colours) -> tuple[Reference, ...]:
    return tuple(
        Reference("cast", f"ref {n}", hosted.png(colour), f"{n:064d}")
        for n, colour in enumerate(colours)
    )


def test_bundled_workflows_declare_their_reference_slots(make_backend):
    flux2 = make_backend("flux2-dev").capabilities()
    kontext = make_backend("kontext-dev").capabilities()
    assert (flux2.max_references, flux2.single_input_image) == (4, False)
    assert (kontext.max_references, kontext.single_input_image) == (1, True)
    assert set(BUNDLED) <= set(flux2.models)


def test_workflow_without_the_nodes_castboard_fills_is_refused_at_start_up(tmp_path, settings):
    graph = load_workflow("kontext-dev")
    broken = {
        k: v
        for k, v in graph.items()
        if v["_meta"]["title"] not in ("castboard:seed", "castboard:output")
    }
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(broken))
    settings.STUDIO_BACKEND = "comfyui"
    settings.COMFYUI_URL = "http://127.0.0.1:8188"
    settings.COMFYUI_WORKFLOW = str(path)
    with pytest.raises(ImproperlyConfigured, match=r"lacks .*castboard:seed, castboard:output"):
        registry.check_configuration()


def test_a_round_trip_fills_the_workflow_and_brings_the_image_back(fake, make_backend):
    backend = make_backend()
    request = hosted.request(refs=0, references=_refs((200, 0, 0), (0, 200, 0)), width=1000)
    sub = backend.submit(request)
    graph = fake.submissions()[0].body["prompt"]
    # Two references used: slots 3 and 4 are gone and the chain still links (the fake checks).
    assert reference_slots(graph) == [1, 2]
    titles = {n["_meta"]["title"]: n for n in graph.values()}
    assert titles["castboard:prompt"]["inputs"]["text"] == "Mara runs"
    assert titles["castboard:seed"]["inputs"]["seed"] == 42
    assert (
        titles["castboard:size"]["inputs"]["width"],
        titles["castboard:size"]["inputs"]["height"],
    ) == (1008, 560)
    result = hosted.wait_ready(backend, sub)
    image = Image.open(io.BytesIO(backend.fetch(result.sample_url)))
    assert image.size == (1008, 560)


def test_text_only_request_takes_every_reference_slot_out(fake, make_backend):
    backend = make_backend()
    hosted.wait_ready(backend, backend.submit(hosted.request()))
    graph = fake.submissions()[0].body["prompt"]
    assert reference_slots(graph) == []
    assert fake.uploads() == []


def test_references_are_uploaded_once_per_content_hash(fake, make_backend):
    backend = make_backend()
    refs = _refs((10, 10, 200), (200, 200, 10))
    for seed in (1, 2, 3):
        backend.submit(hosted.request(references=refs, seed=seed))
    assert len(fake.uploads()) == 2
    assert len(fake.submissions()) == 3


def test_kontext_workflow_takes_one_packed_image(fake, make_backend):
    backend = make_backend("kontext-dev")
    with pytest.raises(InvalidRequest, match="pack them"):
        backend.submit(hosted.request(references=_refs((1, 2, 3), (4, 5, 6))))
    assert fake.submissions() == []


def test_execution_error_fails_with_comfyuis_reason(fake, make_backend):
    fake.config.fail_if = "explode"
    backend = make_backend()
    sub = backend.submit(hosted.request("explode the set"))
    with pytest.raises(ProviderFailed, match="CUDA out of memory"):
        hosted.wait_ready(backend, sub)


def test_output_is_fetched_from_the_comfyui_server_only(fake, make_backend):
    backend = make_backend()
    elsewhere = f"http://127.0.0.1:{fake.port('delivery')}/view?filename=x.png&type=output"
    with pytest.raises(ResultUnavailable, match="COMFYUI_URL only"):
        backend.fetch(elsewhere)
    assert fake.downloads() == []


def test_prompts_run_one_at_a_time_like_one_gpu(fake, make_backend):
    fake.config.latency_s = 0.2
    backend = make_backend()
    subs = [backend.submit(hosted.request(seed=n)) for n in range(3)]
    for sub in subs:
        hosted.wait_ready(backend, sub, timeout=3)
    assert fake.max_in_flight >= 2  # queued on the fake GPU, finished in turn


@pytest.mark.django_db(transaction=True)
def test_a_board_generates_on_comfyui_at_no_cost(team, fake, settings, driver):
    from boards.models import Panel
    from workers.services import jobs_request

    settings.COMFYUI_URL = fake.base_url
    board = make_board(team.project, panels=2, cast_per_panel=2)
    panels = list(Panel.objects.filter(board=board).select_related("board__project"))
    jobs = jobs_request(panels=panels, user=team.editor, backend="comfyui").jobs
    driver.run()
    assert states([j.pk for j in jobs]) == ["succeeded", "succeeded"]
    assert {j.estimated_cost for j in jobs} == {0}
    assert not registry.is_paid("comfyui")


def test_submission_records_the_history_url(fake, make_backend):
    backend = make_backend()
    sub = backend.submit(hosted.request())
    assert sub == Submission(
        task_id=sub.task_id, polling_url=f"{fake.base_url}/history/{sub.task_id}", cost=0.0
    )
