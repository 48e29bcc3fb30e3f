"""Region edits through the studio: the page's mask, the job, the new take and its provenance.

Jobs run in this process (`driver`); the bfl backend is the fake provider on loopback.
"""

from __future__ import annotations

import base64
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image, ImageChops, ImageDraw

from boards.models import Panel, Take
from tests.fakes.bfl_server import FakeBFL, FakeConfig, sample_colour
from tests.generation import make_board, use_fake_bfl
from workers.backends import masks
from workers.backends.bfl import BFLBackend
from workers.models import GenerationJob
from workers.services import job_request_edit, job_retry, jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State
JPEG_TOLERANCE = 24


def painted(size, boxes) -> bytes:
    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    for box in boxes:
        draw.rectangle(box, fill=(235, 64, 52, 255))
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return buf.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def opened(field) -> Image.Image:
    with field.open("rb") as fh:
        image = Image.open(io.BytesIO(fh.read()))
        image.load()
    return image.convert("RGB") if image.mode != "L" else image


def largest_change(a: Image.Image, b: Image.Image, where: Image.Image) -> int:
    r, g, b_ = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).split()
    diff = ImageChops.lighter(ImageChops.lighter(r, g), b_)
    return ImageChops.multiply(diff, where).getextrema()[1]  # type: ignore[index]


def outside(mask: Image.Image) -> Image.Image:
    return mask.point(lambda v: 255 if v == 0 else 0)


def inside(mask: Image.Image) -> Image.Image:
    return mask.point(lambda v: 255 if v == 255 else 0)


def first_take(team, driver, backend=None) -> Take:
    board = make_board(team.project, panels=1, cast_per_panel=1)
    panels = list(Panel.objects.filter(board=board).select_related("board__project"))
    jobs_request(panels=panels, user=team.editor, backend=backend)
    driver.run()
    return Take.objects.get()


def upper_left_mask(take: Take, feather: int = 0) -> bytes:
    w, h = take.width, take.height
    prepared = masks.prepare_mask(
        painted((w, h), [(0, 0, w // 3, h // 3)]), (w, h), feather=feather
    )
    return masks.encode(prepared)


def test_sketch_region_edit_keeps_pixels_outside_and_stores_the_mask_with_the_take(
    team, driver, settings
):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    mask = upper_left_mask(take, feather=8)
    job = job_request_edit(take=take, instruction="make it night", user=team.editor, mask=mask)
    assert job.mask.name.startswith(f"projects/{team.project.pk}/masks/")
    assert job.request["mask"]["region"].startswith("in the upper left")
    driver.run()
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.error_message
    child = job.take
    assert child.parent_id == take.pk and child.kind == Take.Kind.EDITED
    # Provenance: the take keeps its own copy of the mask, byte for byte.
    assert child.mask.name and child.mask.name != job.mask.name
    with child.mask.open("rb") as fh:
        assert fh.read() == mask
    prepared = masks.load(mask)
    before, after = opened(take.file), opened(child.file)
    assert largest_change(before, after, outside(prepared)) <= JPEG_TOLERANCE
    assert largest_change(before, after, inside(prepared)) > 60


def test_a_different_mask_is_a_different_request(team, driver, settings):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    plain = job_request_edit(take=take, instruction="mirror", user=team.editor)
    driver.run()
    region = job_request_edit(
        take=take, instruction="mirror", user=team.editor, mask=upper_left_mask(take)
    )
    assert region.fingerprint != plain.fingerprint
    assert "mask" not in plain.request


def test_model_without_masks_gets_the_region_in_words_and_the_rest_put_back(
    team, driver, settings, monkeypatch
):
    # A backend without a fill model keeps the project's model for a region edit.
    monkeypatch.setattr(BFLBackend, "fill_model", "")
    with FakeBFL(FakeConfig(latency_s=0.05)) as fake:
        use_fake_bfl(settings, fake)
        take = first_take(team, driver, backend="bfl")
        mask = upper_left_mask(take, feather=4)
        job = job_request_edit(
            take=take, instruction="add a red kite", user=team.editor, backend="bfl", mask=mask
        )
        driver.run()
        sent = fake.submissions()[-1].body
    job.refresh_from_db()
    assert job.state == State.SUCCEEDED, job.error_message
    # flux-2-pro takes no mask: the instruction names the region instead.
    assert "mask" not in sent
    assert "add a red kite, only in the upper left of the picture" in sent["prompt"]
    prepared = masks.load(mask)
    before, after = opened(take.file), opened(job.take.file)
    assert after.size == before.size
    assert largest_change(before, after, outside(prepared)) <= JPEG_TOLERANCE
    # Inside, the provider's picture (the fake paints a flat colour per prompt).
    colour = sample_colour(sent)
    centre = after.getpixel((take.width // 8, take.height // 8))
    assert max(abs(a - b) for a, b in zip(centre, colour, strict=True)) <= JPEG_TOLERANCE


def test_mask_that_does_not_fit_the_take_is_refused_and_nothing_is_stored(team, driver, settings):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    wrong = masks.encode(masks.prepare_mask(painted((10, 10), [(0, 0, 4, 4)]), (10, 10)))
    with pytest.raises(ValidationError, match="does not fit this take"):
        job_request_edit(take=take, instruction="night", user=team.editor, mask=wrong)
    assert not GenerationJob.objects.filter(kind="edit").exists()
    _, files = (
        default_storage.listdir(f"projects/{team.project.pk}/masks")
        if default_storage.exists(f"projects/{team.project.pk}/masks")
        else ([], [])
    )
    assert files == []


def test_retry_of_a_failed_region_edit_sends_the_same_mask(team, driver, settings):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    mask = upper_left_mask(take)
    # The sketch backend refuses words it does not know: the job fails.
    failed = job_request_edit(take=take, instruction="add a kite", user=team.editor, mask=mask)
    driver.run()
    failed.refresh_from_db()
    assert failed.state == State.FAILED
    GenerationJob.objects.filter(pk=failed.pk).update(instruction="make it night")
    failed.refresh_from_db()
    again = job_retry(job=failed, user=team.editor)
    assert isinstance(again, GenerationJob) and again.mask.name != failed.mask.name
    with again.mask.open("rb") as fh:
        assert fh.read() == mask
    driver.run()
    again.refresh_from_db()
    assert again.state == State.SUCCEEDED and again.take.mask


def test_mask_files_die_with_their_job_and_take(team, driver, settings):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    job = job_request_edit(
        take=take, instruction="make it night", user=team.editor, mask=upper_left_mask(take)
    )
    driver.run()
    job.refresh_from_db()
    names = [job.mask.name, job.take.mask.name]
    assert all(default_storage.exists(n) for n in names)
    child = job.take
    job.delete()
    assert not default_storage.exists(names[0]) and default_storage.exists(names[1])
    child.delete()
    assert not default_storage.exists(names[1])


# ---------------------------------------------------------------- the pages


def test_region_page_posts_a_painted_mask_and_queues_a_region_edit(team, driver, settings):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    client = team.client("editor")
    page = client.get(reverse("take_region", args=[take.pk]))
    assert page.status_code == 200
    assert b"data-region-canvas" in page.content and b"region.js" in page.content
    # The page paints at the take's size; feather and invert come as form fields.
    drawing = painted((take.width, take.height), [(0, 0, take.width // 2, take.height - 1)])
    response = client.post(
        reverse("take_region_edit", args=[take.pk]),
        {"instruction": "make it night", "mask": data_url(drawing), "feather": "6", "invert": "on"},
    )
    assert response.status_code == 302 and response.url.endswith("#takes")
    job = GenerationJob.objects.get(kind="edit")
    prepared = masks.load(default_storage.open(job.mask.name).read())
    # Inverted: the right half (not painted) is what changes.
    assert prepared.getpixel((take.width - 5, take.height // 2)) == 255
    assert prepared.getpixel((5, take.height // 2)) == 0
    driver.run()
    page = client.get(reverse("panel_edit", args=[take.panel_id]))
    assert b"data-compare-slider" in page.content and b"in a painted region" in page.content


@pytest.mark.parametrize(
    ("mask", "message"),
    [
        ("", "Paint over the part of the picture to change"),
        ("data:image/png;base64,!!!", "did not arrive whole"),
        ("EMPTY", "The mask is empty"),
    ],
)
def test_region_edit_refuses_a_missing_or_empty_mask_with_a_message(
    team, driver, settings, mask, message
):
    settings.STUDIO_BACKEND = "sketch"
    take = first_take(team, driver)
    if mask == "EMPTY":
        mask = data_url(painted((take.width, take.height), []))
    client = team.client("editor")
    response = client.post(
        reverse("take_region_edit", args=[take.pk]),
        {"instruction": "make it night", "mask": mask},
        follow=True,
    )
    assert message in response.content.decode()
    assert not GenerationJob.objects.filter(kind="edit").exists()
