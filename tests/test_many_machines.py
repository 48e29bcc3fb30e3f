"""The many-machines drill: web and two workers share only PostgreSQL, Redis and a bucket.

Each worker runs with its own STUDIO_VAR_DIR (no shared disk); the bucket is
moto's S3 server on loopback. A board generates on one worker type, exports
run on the other, every image reaches a member and none an outsider, and no
process writes anything under any var/media.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from boards.export_services import export_defaults, export_request
from boards.models import Export, Panel, Take
from tests import workers_harness
from tests.generation import make_board
from tests.workers_harness import is_redis, start_worker_process, wait_for
from workers.models import GenerationJob
from workers.services import jobs_request

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
harness = workers_harness.harness
fake_provider = workers_harness.fake_provider


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "media" in p.relative_to(root).parts]


def test_web_and_two_workers_with_separate_disks_share_only_database_broker_and_bucket(
    team, harness, bucket, settings
):
    if not is_redis(harness.broker_url) or connection.vendor != "postgresql":
        pytest.skip(
            "machines without a shared disk need a network broker and database: run with "
            "CELERY_BROKER_URL=redis://… and DATABASE_URL=postgres://…"
        )
    machines = []
    for name, queues in (("gen", ("generation", "default")), ("exp", ("exports", "default"))):
        env = {**harness.worker_env(), **bucket.env()}
        env.pop("STUDIO_MEDIA_ROOT")
        env["STUDIO_VAR_DIR"] = str(harness.root / f"machine-{name}" / "var")
        worker = start_worker_process(env, harness.root / f"{name}.log", name=name, queues=queues)
        harness.workers.append(worker)
        machines.append(harness.root / f"machine-{name}")

    board = make_board(team.project, panels=3, cast_per_panel=1)
    panels = list(Panel.objects.filter(board=board).select_related("board__project"))
    jobs = jobs_request(panels=panels, user=team.editor, backend="bfl").jobs
    settled = harness.wait_settled([j.pk for j in jobs], timeout=60)
    assert set(settled.values()) == {GenerationJob.State.SUCCEEDED}, harness.logs()

    form = {k: v for k, v in export_defaults(board).items() if k != "format"}
    exports = [
        export_request(board=board, user=team.editor, format=f, **form) for f in ("pdf", "zip")
    ]
    wait_for(
        lambda: all(
            Export.objects.get(pk=e.pk).state in (Export.State.DONE, Export.State.FAILED)
            for e in exports
        ),
        60,
        what="both exports",
        describe=harness.logs,
    )
    for export in exports:
        export.refresh_from_db()
        assert export.state == Export.State.DONE, export.error
        assert export.file.name in bucket.object_keys()

    takes = list(Take.objects.filter(panel__board=board))
    names = [f.name for t in takes for f in (t.file, t.thumbnail)] + [e.file.name for e in exports]
    keys = bucket.object_keys()
    for name in names:
        assert name in keys
        assert team.client("viewer").get(f"/media/{name}").status_code == 200
        assert team.client("outsider").get(f"/media/{name}").status_code == 404
    for root in [*machines, Path(settings.MEDIA_ROOT)]:
        assert _files_under(root) == [], f"files written to local media under {root}"
