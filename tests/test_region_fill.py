"""Region edits on the paid backends, each against its loopback fake.

A region edit goes to the backend's fill model, whatever model the project
generates with, and that model receives the take and the mask in its
protocol's form; on a backend without a fill model the project's model
receives the region in words, and the pixels outside the mask are put back
from the take.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageDraw

from boards.models import Panel, Take
from tests.fakes.bfl_server import FakeBFL, FakeConfig
from tests.fakes.comfyui_server import FakeComfyUI
from tests.generation import fake_for, make_board, use_fake, use_fake_bfl
from workers import registry
from workers.backends import masks
from workers.models import GenerationJob
from workers.services import job_request_edit, jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
JPEG_TOLERANCE = 24


@dataclass
class Provider:
    name: str
    model_setting: str
    plain_model: str
    other_model: str  # another model without masks
    fill_model: str
    fill_path: str

    def fake(self):
        return fake_for(self.name, latency_s=0.05)

    def point_at(self, settings, fake) -> None:
        use_fake(settings, self.name, fake)

    def inputs(self, recorded) -> dict[str, Any]:
        if self.name == "comfyui":
            # The workflow's nodes by title: the prompt, and the images LoadImage nodes name.
            nodes = {n["_meta"]["title"]: n["inputs"] for n in recorded.body["prompt"].values()}
            found = {"prompt": nodes["castboard:prompt"]["text"]}
            found["image"] = nodes["castboard:reference 1"]["image"]
            if "castboard:mask" in nodes:
                found["mask"] = nodes["castboard:mask"]["image"]
            return found
        return recorded.body["input"] if self.name == "replicate" else recorded.body


PROVIDERS = [
    Provider(
        "bfl",
        "BFL_MODEL",
        "flux-2-pro",
        "flux-kontext-pro",
        "flux-pro-1.0-fill",
        "/v1/flux-pro-1.0-fill",
    ),
    Provider(
        "fal",
        "FAL_MODEL",
        "fal-ai/flux-2-pro",
        "fal-ai/flux-pro/kontext",
        "fal-ai/flux-pro/v1/fill",
        "/fal-ai/flux-pro/v1/fill",
    ),
    Provider(
        "replicate",
        "REPLICATE_MODEL",
        "black-forest-labs/flux-2-pro",
        "black-forest-labs/flux-kontext-pro",
        "black-forest-labs/flux-fill-pro",
        "/v1/models/black-forest-labs/flux-fill-pro/predictions",
    ),
    Provider("comfyui", "COMFYUI_WORKFLOW", "kontext-dev", "flux2-dev", "fill-dev", "/prompt"),
]
# What each protocol calls the two images of a fill request.
FIELDS = {
    "bfl": ("image", "mask"),
    "fal": ("image_url", "mask_url"),
    "replicate": ("image", "mask"),
    "comfyui": ("image", "mask"),  # uploaded, then named in LoadImage nodes
}


def sent_bytes(fake, value: str) -> bytes:
    """The bytes behind an image input: bare base64, a data: URI, or a file uploaded to the fake."""
    if isinstance(fake, FakeComfyUI):
        return fake.inputs[value]
    if value.startswith("data:"):
        return base64.b64decode(value.split(",", 1)[1])
    if value.startswith("http"):
        return fake.files[value.rsplit("/", 1)[-1]]
    return base64.b64decode(value)


def first_take(team, driver, backend: str) -> Take:
    board = make_board(team.project, panels=1, cast_per_panel=1)
    panels = list(Panel.objects.filter(board=board).select_related("board__project"))
    jobs_request(panels=panels, user=team.editor, backend=backend)
    driver.run()
    return Take.objects.get()


def upper_left(take: Take) -> bytes:
    w, h = take.width, take.height
    canvas = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).rectangle((0, 0, w // 3, h // 3), fill=(255, 0, 0, 255))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return masks.encode(masks.prepare_mask(buf.getvalue(), (w, h), feather=4))


def send_kite_edit(team, driver, backend: str) -> tuple[Take, bytes, GenerationJob]:
    """A first take, then "add a red kite" in its upper left third, run to the end."""
    take = first_take(team, driver, backend)
    mask = upper_left(take)
    job = job_request_edit(
        take=take, instruction="add a red kite", user=team.editor, backend=backend, mask=mask
    )
    driver.run()
    return take, mask, job


def picture(field) -> Image.Image:
    with field.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    return image.convert("RGB")


def largest_change_outside(a: Image.Image, b: Image.Image, mask: Image.Image) -> int:
    r, g, b_ = ImageChops.difference(a, b).split()
    diff = ImageChops.lighter(ImageChops.lighter(r, g), b_)
    outside = mask.point(lambda v: 255 if v == 0 else 0)
    return ImageChops.multiply(diff, outside).getextrema()[1]  # type: ignore[index]


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
@pytest.mark.parametrize("chosen_by", ["studio default", "project"])
def test_region_edit_goes_to_the_fill_model_with_the_take_and_the_mask_in_its_protocols_form(
    team, driver, settings, provider, chosen_by
):
    with provider.fake() as fake:
        provider.point_at(settings, fake)
        setattr(settings, provider.model_setting, provider.plain_model)
        if chosen_by == "project":
            # Another model without masks, picked on the project: it does not matter either.
            team.project.backend, team.project.model = provider.name, provider.other_model
            team.project.save()
        take, mask, job = send_kite_edit(team, driver, provider.name)
        sent = fake.submissions()[-1]
        inputs = provider.inputs(sent)
        image_field, mask_field = FIELDS[provider.name]
        with take.file.open("rb") as fh:
            assert sent_bytes(fake, inputs[image_field]) == fh.read()
        assert sent_bytes(fake, inputs[mask_field]) == mask
    assert sent.path == provider.fill_path
    assert "add a red kite" in inputs["prompt"]
    # The model takes the mask itself: no region in words.
    assert "upper left" not in inputs["prompt"]
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED, job.error_message
    assert job.model == provider.fill_model and job.take.mask
    assert take.model != provider.fill_model  # the project kept generating with its own


def test_a_plain_edit_stays_on_the_projects_model(team, driver, settings):
    with FakeBFL(FakeConfig(latency_s=0.05)) as fake:
        use_fake_bfl(settings, fake)
        take = first_take(team, driver, "bfl")
        job = job_request_edit(
            take=take, instruction="make it night", user=team.editor, backend="bfl"
        )
        driver.run()
        assert fake.submissions()[-1].path == "/v1/flux-2-pro"
    job.refresh_from_db()
    assert job.model == "flux-2-pro"


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_model_without_masks_gets_the_region_in_words_and_the_rest_put_back(
    team, driver, settings, provider, monkeypatch
):
    # As a backend that offers no fill model would be (e.g. a server without the Fill weights).
    monkeypatch.setattr(registry.backend_class(provider.name), "fill_model", "")
    with provider.fake() as fake:
        provider.point_at(settings, fake)
        setattr(settings, provider.model_setting, provider.plain_model)
        take, mask, job = send_kite_edit(team, driver, provider.name)
        inputs = provider.inputs(fake.submissions()[-1])
    assert "add a red kite, only in the upper left of the picture" in inputs["prompt"]
    assert not {"mask", "mask_url"} & set(inputs)
    job.refresh_from_db()
    assert job.state == GenerationJob.State.SUCCEEDED, job.error_message
    before, after = picture(take.file), picture(job.take.file)
    assert after.size == before.size
    assert largest_change_outside(before, after, masks.load(mask)) <= JPEG_TOLERANCE


def test_fill_model_refuses_a_plain_generation_with_a_message(team, driver, settings):
    with FakeBFL(FakeConfig(latency_s=0.05)) as fake:
        use_fake_bfl(settings, fake)
        settings.BFL_MODEL = "flux-pro-1.0-fill"
        board = make_board(team.project, panels=1, cast_per_panel=1)
        panels = list(Panel.objects.filter(board=board).select_related("board__project"))
        job = jobs_request(panels=panels, user=team.editor, backend="bfl").jobs[0]
        driver.run()
        assert fake.submissions() == []
    job.refresh_from_db()
    assert job.state == GenerationJob.State.FAILED
    assert "only changes a painted region" in job.error_message
