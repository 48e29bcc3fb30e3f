"""Files die with their rows: deleted after commit, and swept when something slips through."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from boards import services as boards
from boards.models import Export
from characters import services as bible
from studio.celery import app
from tests.factories import (
    BoardFactory,
    CharacterFactory,
    PanelFactory,
    ReferenceImageFactory,
    ReferenceSheetFactory,
    TakeFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _names(*rows) -> list[str]:
    return [f.name for row in rows for f in (row.file, getattr(row, "thumbnail", None)) if f]


def _exists(names) -> list[bool]:
    return [default_storage.exists(n) for n in names]


def _export_with_file(board) -> Export:
    name = default_storage.save(
        f"projects/{board.project_id}/exports/e.pdf", ContentFile(b"%PDF-1.4 test")
    )
    return Export.objects.create(board=board, format="pdf", state="done", file=name)


def test_deleting_a_board_deletes_its_takes_and_exports_files(team):
    board = BoardFactory(project=team.project)
    takes = [TakeFactory(panel=PanelFactory(board=board)) for _ in range(2)]
    export = _export_with_file(board)
    names = _names(*takes, export)
    client = team.client("owner")
    assert client.get(reverse("media", args=[names[0]])).status_code == 200
    boards.board_delete(board=board)
    assert _exists(names) == [False] * len(names)
    assert client.get(reverse("media", args=[names[0]])).status_code == 404


def test_deleting_a_panel_deletes_its_takes_files_and_no_others(team):
    board = BoardFactory(project=team.project)
    doomed, kept = (TakeFactory(panel=PanelFactory(board=board)) for _ in range(2))
    boards.panel_delete(panel=doomed.panel)
    assert _exists(_names(doomed)) == [False, False]
    assert _exists(_names(kept)) == [True, True]


def test_deleting_a_character_deletes_its_reference_images(team):
    image = ReferenceImageFactory(
        sheet=ReferenceSheetFactory(character=CharacterFactory(project=team.project))
    )
    names = _names(image)
    bible.character_delete(character=image.sheet.character)
    assert _exists(names) == [False] * len(names)


def test_a_rolled_back_delete_keeps_the_files(team):
    take = TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))
    with pytest.raises(RuntimeError), transaction.atomic():
        take.panel.board.delete()
        raise RuntimeError("changed my mind")
    assert _exists(_names(take)) == [True, True]


def _orphan(name: str, *, age_s: float) -> str:
    stored = default_storage.save(name, ContentFile(b"left behind"))
    then = time.time() - age_s
    os.utime(default_storage.path(stored), (then, then))
    return stored


def test_sweep_media_removes_old_orphans_only(team):
    take = TakeFactory(panel=PanelFactory(board=BoardFactory(project=team.project)))
    old = _orphan(f"projects/{team.project.pk}/takes/old.jpg", age_s=2 * 86400)
    young = _orphan(f"projects/{team.project.pk}/takes/young.jpg", age_s=60)
    out = io.StringIO()
    call_command("sweep_media", "--dry-run", stdout=out)
    assert f"would remove {old}" in out.getvalue() and young not in out.getvalue()
    assert _exists([old, young]) == [True, True]
    out = io.StringIO()
    call_command("sweep_media", stdout=out)
    assert f"removed {old}" in out.getvalue()
    assert "1 file(s)" in out.getvalue() and "1 younger than a day" in out.getvalue()
    assert _exists([old, young]) == [False, True]
    assert _exists(_names(take)) == [True, True]


def test_beat_runs_the_media_sweep_daily():
    entry = app.conf.beat_schedule["sweep-media"]
    app.loader.import_default_modules()  # what a worker does at start: find every tasks.py
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}


def test_a_panel_with_an_edited_take_can_be_deleted(team):
    panel = PanelFactory(board=BoardFactory(project=team.project))
    original = TakeFactory(panel=panel)
    edit = TakeFactory(panel=panel, kind="edited", parent=original, instruction="make it night")
    names = _names(original, edit)
    boards.panel_delete(panel=panel)
    assert _exists(names) == [False] * len(names)
