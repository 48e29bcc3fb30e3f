"""Helpers for generation tests: a board with a cast, and a synchronous job driver."""

from __future__ import annotations

import contextlib
import importlib
import io
import time
from collections import deque

from PIL import Image

from boards.models import Board, Panel
from boards.services import CastEntry, panel_create, panel_set_cast
from characters.services import (
    UploadItem,
    character_create,
    location_create,
    location_images_add,
    reference_images_add,
)
from workers import pipeline
from workers.models import GenerationJob
from workers.services import jobs_request


def png(colour, size=(96, 128)) -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", size, (235, 235, 235))
    image.paste(
        Image.new("RGB", (size[0] // 2, size[1] * 3 // 4), colour), (size[0] // 4, size[1] // 8)
    )
    image.save(buf, "PNG")
    return buf.getvalue()


def use_fake_bfl(settings, fake, *, key: str | None = None) -> None:
    """Point the bfl backend at a fake provider on loopback."""
    settings.BFL_API_KEY = key or fake.config.api_key
    settings.BFL_BASE_URL = fake.base_url
    settings.BFL_RESULT_HOSTS = ["127.0.0.1"]
    settings.BFL_POLLING_ORIGINS = [fake.poll_base_url]
    settings.BFL_MODEL = "flux-2-pro"
    settings.BFL_MAX_ACTIVE = 24


def use_fake_provider(settings, fake) -> None:
    """Point the backend a fake stands in for (fal, replicate, comfyui) at it, as its env() says."""
    for name, value in fake.env().items():
        setattr(settings, name, value.split(",") if name.endswith("_RESULT_HOSTS") else value)


FAKE_CLASSES = {
    "bfl": ("tests.fakes.bfl_server", "FakeBFL", "FakeConfig"),
    "fal": ("tests.fakes.fal_server", "FakeFal", "FalConfig"),
    "replicate": ("tests.fakes.replicate_server", "FakeReplicate", "ReplicateConfig"),
    "comfyui": ("tests.fakes.comfyui_server", "FakeComfyUI", "ComfyConfig"),
}


def fake_for(backend: str, **switches):
    """A loopback fake (not started) of `backend`'s provider, its config switches set."""
    module_name, fake_name, config_name = FAKE_CLASSES[backend]
    module = importlib.import_module(module_name)
    return getattr(module, fake_name)(getattr(module, config_name)(**switches))


def use_fake(settings, backend: str, fake) -> None:
    """Point `backend` at its started fake."""
    if backend == "bfl":
        use_fake_bfl(settings, fake)
    else:
        use_fake_provider(settings, fake)


PUBLIC_URL = "https://boards.example.com"


@contextlib.contextmanager
def fake_with_webhooks(settings, backend: str, *, secret: str, **switches):
    """`backend`'s fake, started and pointed at, with the studio taking its webhooks."""
    with fake_for(backend, **switches) as fake:
        use_fake(settings, backend, fake)
        settings.STUDIO_PUBLIC_URL = PUBLIC_URL
        setattr(settings, f"{backend.upper()}_WEBHOOK_SECRET", secret)
        yield fake


def submitted_jobs(team, backend: str, panels: int = 1) -> list[GenerationJob]:
    """Jobs for a new board's panels, sent to `backend` and polling; their poll chains are
    left for the test to run or not."""
    board = make_board(team.project, panels=panels, cast_per_panel=1)
    chosen = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    jobs = jobs_request(panels=chosen, user=team.editor, backend=backend).jobs
    for job in jobs:
        pipeline.job_start(job.pk)
        job.refresh_from_db()
        assert job.state == GenerationJob.State.POLLING and job.provider_task_id
    return jobs


def make_board(project, *, panels: int = 3, cast_per_panel: int = 2) -> Board:
    """A board whose panels each cast distinct characters with their own reference images."""
    colours = [(200, 40, 40), (40, 160, 60), (230, 200, 40), (60, 80, 200)]
    characters = []
    for i, colour in enumerate(colours[: max(1, cast_per_panel)]):
        character = character_create(
            project=project, name=f"Hero {i}", appearance=f"hero number {i}"
        )
        sheet = character.sheets.get()
        reference_images_add(
            sheet=sheet,
            items=[
                UploadItem(f"h{i}-face.png", io.BytesIO(png(colour, (96, 96))), view="face"),
                UploadItem(f"h{i}-body.png", io.BytesIO(png(colour)), view="full_body"),
            ],
        )
        characters.append(character)
    location = location_create(project=project, name="Quay")
    location_images_add(
        location=location, items=[UploadItem("quay.png", io.BytesIO(png((90, 90, 140), (160, 90))))]
    )
    board = Board.objects.create(project=project, name="Test board")
    for n in range(panels):
        panel = panel_create(
            board=board, action=f"Panel {n} action", shot_type="ms", location=location
        )
        panel_set_cast(
            panel=panel,
            entries=[CastEntry(c.pk, None, "left") for c in characters[:cast_per_panel]],
        )
    return board


class Driver:
    """Runs pipeline steps in this process, honouring countdowns, until jobs settle.

    Stands in for Celery in unit tests: `start_job.delay` / `apply_async`
    are routed here by the `driver` fixture.
    """

    def __init__(self):
        self.queue: deque[pipeline.Step] = deque()

    def send(self, step: pipeline.Step) -> None:
        self.queue.append(step)

    def run(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        timers: list[tuple[float, pipeline.Step]] = []
        while time.monotonic() < deadline:
            now = time.monotonic()
            while self.queue:
                step = self.queue.popleft()
                timers.append((now + step.countdown, step))
            if not timers:
                return
            timers.sort(key=lambda t: t[0])
            due, step = timers.pop(0)
            if due > now:
                time.sleep(due - now)
            if step.task == "download":
                nxt = pipeline.job_download(step.job_id, step.url)
            elif step.task == "start":
                nxt = pipeline.job_start(step.job_id)
            elif step.task == "cancel":
                nxt = pipeline.job_cancel_at_provider(step.job_id)
            else:
                nxt = pipeline.job_poll(step.job_id)
            self.queue.extend(nxt.flatten())
        raise AssertionError("jobs did not settle in time")


def states(job_ids) -> list[str]:
    return list(
        GenerationJob.objects.filter(pk__in=job_ids).order_by("pk").values_list("state", flat=True)
    )
