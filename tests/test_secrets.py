"""The provider API key never leaves the request header: not in rows, logs, pages, messages or exports.

A distinctive key runs real generations against the fake provider (success,
moderation, a refused key, an unknown outcome); then everything the studio
keeps or shows is searched for it.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import zipfile
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from boards.export_services import export_options, export_write
from boards.models import Panel
from tests.fakes.bfl_server import FakeBFL, FakeConfig
from tests.generation import make_board, use_fake_bfl
from workers.models import GenerationJob
from workers.services import jobs_request

pytestmark = pytest.mark.django_db(transaction=True)
State = GenerationJob.State

KEY = f"bflkey-{secrets.token_hex(16)}-canary"
WRONG_KEY = f"bflkey-{secrets.token_hex(16)}-refused"
MODERATE = "MODERATE-THIS-PANEL"


@pytest.fixture
def fake():
    with FakeBFL(FakeConfig(api_key=KEY, latency_s=0.05, moderate_request_if=MODERATE)) as server:
        yield server


@pytest.fixture
def bfl(settings, fake):
    settings.STUDIO_BACKEND = "bfl"
    use_fake_bfl(settings, fake, key=KEY)
    return fake


@pytest.fixture
def all_logs(caplog):
    """Every logger at DEBUG, SQL included, into caplog."""
    caplog.set_level(logging.DEBUG)
    for name in list(logging.root.manager.loggerDict):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True
    yield caplog
    connection.force_debug_cursor = False


def generate(panels, user) -> GenerationJob:
    outcome = jobs_request(panels=panels, user=user, backend="bfl")
    return outcome.jobs


def database_text() -> str:
    """Every column of every row of every model, as text."""
    return json.dumps(
        {m._meta.label: list(m.objects.values()) for m in apps.get_models()}, default=str
    )


def export_text(board) -> list[bytes]:
    """The PDF (raw and as extracted text) and every member of the ZIP."""
    found = []
    pdf = io.BytesIO()
    options = export_options({"layout": "3x2", "cover": True, "cast_sheet": True})
    export_write(board, format="pdf", options=options, out=pdf)
    found.append(pdf.getvalue())
    reader = PdfReader(io.BytesIO(pdf.getvalue()))
    found.append("\n".join(page.extract_text() for page in reader.pages).encode())
    found.append(json.dumps(reader.metadata or {}, default=str).encode())
    archive = io.BytesIO()
    export_write(board, format="zip", options=options, out=archive)
    with zipfile.ZipFile(io.BytesIO(archive.getvalue())) as zipped:
        found += [zipped.read(name) for name in zipped.namelist()]
    return found


def test_the_api_key_is_found_nowhere(team, bfl, driver, all_logs, settings):
    board = make_board(team.project, panels=4, cast_per_panel=1)
    team.project.backend = "bfl"
    team.project.save(update_fields=["backend"])
    panels = list(
        Panel.objects.filter(board=board).select_related("board__project").order_by("position")
    )
    Panel.objects.filter(pk=panels[1].pk).update(action=f"A fight. {MODERATE}")
    panels[1].refresh_from_db()

    generate(panels[:2], team.editor)
    driver.run()
    # A refused key: the wrong one must not leak either.
    settings.BFL_API_KEY = WRONG_KEY
    generate([panels[2]], team.editor)
    driver.run()
    settings.BFL_API_KEY = KEY
    # A server error after the provider recorded the task: outcome unknown.
    bfl.config.submit_fail_times = 1
    bfl.config.submit_fail_after_record = True
    generate([panels[3]], team.editor)
    driver.run()

    jobs = {j.panel_id: j for j in GenerationJob.objects.all()}
    outcomes = [(jobs[p.pk].state, jobs[p.pk].error_code) for p in panels]
    assert outcomes[0] == (State.SUCCEEDED, "")
    assert outcomes[1] == (State.FAILED, "moderated")
    assert outcomes[2] == (State.FAILED, "auth")
    assert outcomes[3][0] == State.NEEDS_REVIEW
    # The fake saw the key where it belongs: in the x-key header.
    assert any(r.headers.get("x-key") == KEY for r in bfl.requests)

    client = team.client("owner")
    pages = [
        client.get(reverse("board_detail", args=[board.pk])),
        client.get(reverse("board_progress", args=[board.pk])),
        client.get(reverse("project_detail", args=[team.project.pk])),
        client.get(reverse("board_export", args=[board.pk])),
    ]
    pages += [client.get(reverse("panel_edit", args=[p.pk])) for p in panels]
    pages += [client.get(reverse("job_status", args=[j.pk])) for j in jobs.values()]
    assert all(page.status_code == 200 for page in pages)
    messages = [jobs[p.pk].error_message for p in panels]
    assert all(messages[1:]), "failed jobs explain themselves"

    haystacks = {
        "database": database_text().encode(),
        "logs": all_logs.text.encode(),
        "log arguments": repr([(r.msg, r.args) for r in all_logs.records]).encode(),
        "pages": b"\n".join(page.content for page in pages),
        "page headers": repr([dict(page.headers) for page in pages]).encode(),
        "job status": json.dumps(
            [page.json() for page in pages if page.get("Content-Type") == "application/json"]
        ).encode(),
        "error messages": "\n".join(messages).encode(),
        "export": b"\n".join(export_text(board)),
        "media": b"\n".join(
            p.read_bytes() for p in Path(django_settings.MEDIA_ROOT).rglob("*") if p.is_file()
        ),
    }
    assert len(all_logs.records) > 20, "logging was captured"
    for secret in (KEY, WRONG_KEY):
        leaks = [name for name, text in haystacks.items() if secret.encode() in text]
        assert leaks == [], f"the API key appears in: {', '.join(leaks)}"
