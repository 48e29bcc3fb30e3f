"""A confirmed import saved by the worker: its progress, its status page, all or nothing."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from boards.models import Board, Panel, ScriptImport
from boards.progress import RowProgress
from boards.script import runs, services
from boards.script.selectors import NEW
from boards.tasks import run_script_import
from characters.models import Character
from tests.factories import CharacterFactory
from tests.test_script_import import DRAFT_1


def scenes(count: int) -> str:
    """A script of `count` scenes, each with an action beat and a speech."""
    return "\n".join(
        f"INT. ROOM {n} - DAY #{n}#\n\nMara opens door {n}.\n\nTOM\nLine {n}.\n"
        for n in range(1, count + 1)
    )


def queue(project, text: str, user=None, **choices) -> ScriptImport:
    path = default_storage.save(
        f"projects/{project.pk}/script-imports/test.script", ContentFile(text.encode())
    )
    return runs.script_import_request(
        project=project,
        user=user,
        path=path,
        file_name="keeper.fountain",
        options={"merge_dialogue": False, "single_board": "", "revise": False},
        characters=choices.get("characters", {}),
        locations={},
    )


def test_progress_climbs_through_reading_matching_and_saving_outside_the_transaction(
    team, monkeypatch
):
    monkeypatch.setattr(runs, "WRITE_EVERY_S", 0)
    job = queue(team.project, scenes(40))
    baseline = len(connection.atomic_blocks)
    seen: list[tuple[int, str, bool]] = []
    real_update = RowProgress.__call__
    real_stage = runs._Reporter.stage

    def record() -> None:
        row = ScriptImport.objects.get(pk=job.pk)
        # No transaction of the import's own is open: the poll sees the write at once.
        seen.append((row.progress, row.stage, len(connection.atomic_blocks) == baseline))

    def spy_update(self, done, total):
        real_update(self, done, total)
        record()

    def spy_stage(self, text, percent):
        real_stage(self, text, percent)
        record()

    monkeypatch.setattr(RowProgress, "__call__", spy_update)
    monkeypatch.setattr(runs._Reporter, "stage", spy_stage)
    run_script_import(job.pk)

    percents = [p for p, _, _ in seen]
    assert percents == sorted(percents), percents
    stages = [stage for _, stage, _ in seen]
    assert seen[0][:2] == (runs.READ_END, "Breaking the scenes into boards and panels")
    assert stages.index("Matching cast and locations") > 0
    assert seen[-1][:2] == (runs.MATCH_END, "Saving everything in one step")
    # Breaking down moves scene by scene and matching board by board, not in one jump.
    assert len({p for p in percents if runs.READ_END < p < runs.BREAKDOWN_END}) >= 5
    assert len({p for p in percents if runs.BREAKDOWN_END < p < runs.MATCH_END}) >= 5
    assert all(outside for _, _, outside in seen)
    job.refresh_from_db()
    assert (job.state, job.progress, job.stage) == ("done", 100, "")
    assert job.summary == "Imported keeper.fountain: 40 boards, 80 panels."
    assert Board.objects.filter(project=team.project).count() == 40
    assert not default_storage.exists(job.path)  # the upload goes once it is saved


def test_a_failure_midway_saves_nothing_and_says_why(team, monkeypatch):
    job = queue(team.project, DRAFT_1, characters={"tom": NEW})

    def refuse(panel_ids, casts):
        # Boards, panels and the new character are written by now.
        assert Panel.objects.filter(board__project=team.project).count() == 5
        raise IntegrityError("insert or update on table violates foreign key constraint")

    monkeypatch.setattr(services, "_insert_cast", refuse)
    run_script_import(job.pk)

    job.refresh_from_db()
    assert job.state == "failed" and job.error == runs.CHANGED_MESSAGE
    assert "Nothing was saved" in job.error
    assert not Board.objects.filter(project=team.project).exists()
    assert not Panel.objects.exists()
    assert not Character.objects.filter(project=team.project, name="Tom").exists()
    assert default_storage.exists(job.path)  # kept, so the import can be confirmed again


def test_an_unexpected_error_is_logged_and_the_page_says_nothing_was_saved(
    team, editor_client, monkeypatch
):
    job = queue(team.project, DRAFT_1)

    def crash(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(services, "_insert_panels", crash)
    run_script_import(job.pk)
    page = editor_client.get(reverse("script_import_status", args=[job.pk])).content.decode()
    assert "The import failed unexpectedly. Nothing was saved." in page
    assert "Back to the preview" in page and "hx-trigger" not in page
    assert not Board.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_character_deleted_after_the_confirm_fails_the_commit_and_saves_nothing(
    team, monkeypatch
):
    # This test commits, so the confirm's message would really be sent: the run below
    # stands in for the worker, and no broker is needed.
    sent: list[int] = []
    monkeypatch.setattr(run_script_import, "delay", sent.append)
    # The foreign key is checked when the transaction commits, after every row went in.
    mara = CharacterFactory(project=team.project, name="Mara Quinn")
    job = queue(team.project, DRAFT_1, characters={"mara": mara.pk, "tom": NEW})
    assert sent == [job.pk]  # queued once the import's row was committed
    mara.delete()
    run_script_import(job.pk)
    job.refresh_from_db()
    assert job.state == "failed" and job.error == runs.CHANGED_MESSAGE
    assert not Board.objects.exists() and not Panel.objects.exists()
    assert not Character.objects.filter(name="Tom").exists()


def test_a_run_only_saves_a_queued_import_once(team):
    job = queue(team.project, DRAFT_1)
    run_script_import(job.pk)
    run_script_import(job.pk)
    assert Board.objects.filter(project=team.project).count() == 2


def test_a_double_confirm_queues_one_import(team):
    first = queue(team.project, DRAFT_1)
    again = runs.script_import_request(
        project=team.project,
        user=None,
        path=first.path,
        file_name="keeper.fountain",
        options={},
        characters={},
        locations={},
    )
    assert again.pk == first.pk and ScriptImport.objects.count() == 1


def test_status_polls_while_queued_then_sends_the_person_to_the_boards(team, editor_client):
    job = queue(team.project, DRAFT_1, user=team.editor)
    url = reverse("script_import_status", args=[job.pk])
    with CaptureQueriesContext(connection) as poll:
        waiting = editor_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    # A poll only reads: on SQLite a write would wait for the import's transaction.
    assert [q["sql"] for q in poll if not q["sql"].startswith("SELECT")] == []
    assert 'hx-trigger="every 1s"' in waiting and "<progress" in waiting
    assert "Waiting for a free worker" in waiting and "<html" not in waiting

    run_script_import(job.pk)
    done = editor_client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == reverse("project_detail", args=[team.project.pk]) + "#boards"
    project_page = editor_client.get(done["HX-Redirect"]).content.decode()
    assert "Imported keeper.fountain: 2 boards, 5 panels." in project_page


def test_an_import_whose_worker_went_away_is_given_up_with_nothing_saved(team, editor_client):
    job = queue(team.project, DRAFT_1)
    ScriptImport.objects.filter(pk=job.pk).update(created=job.created - runs.STALE_AFTER)
    page = editor_client.get(reverse("script_import_status", args=[job.pk])).content.decode()
    assert runs.STALE_MESSAGE in page
    run_script_import(job.pk)  # a late delivery finds it failed and does nothing
    assert not Board.objects.exists()


@pytest.mark.parametrize("who, status", [("viewer", 403), ("outsider", 404)])
def test_only_editors_follow_an_import(team, who, status):
    job = queue(team.project, DRAFT_1)
    response = team.client(who).get(reverse("script_import_status", args=[job.pk]))
    assert response.status_code == status
