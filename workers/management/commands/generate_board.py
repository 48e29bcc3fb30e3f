"""generate_board BOARD_ID [--backend NAME] [--variation] [--wait] [--timeout S]"""

from __future__ import annotations

import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from boards.models import Board, Panel
from workers.models import GenerationJob
from workers.services import jobs_request


class Command(BaseCommand):
    help = "Queue generation for every panel of a board; with --wait, report each panel's outcome."

    def add_arguments(self, parser):
        parser.add_argument("board_id", type=int)
        parser.add_argument(
            "--backend", help="backend name (default: the project's, else STUDIO_BACKEND)"
        )
        parser.add_argument("--variation", action="store_true", help="new seeds: never reuse takes")
        parser.add_argument("--wait", action="store_true", help="wait until every panel is done")
        parser.add_argument(
            "--timeout", type=float, default=600.0, help="seconds to wait (default 600)"
        )

    def handle(self, *args, board_id, backend, variation, wait, timeout, **options):
        board = Board.objects.select_related("project").filter(pk=board_id).first()
        if board is None:
            raise CommandError(f"No board with id {board_id}.")
        panels = list(
            Panel.objects.filter(board=board).select_related("board__project").order_by("position")
        )
        if not panels:
            raise CommandError(f"Board {board_id} (“{board.name}”) has no panels.")
        try:
            outcome = jobs_request(panels=panels, user=None, variation=variation, backend=backend)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Board {board.pk} “{board.name}”: {outcome.summary()}")
        if not wait:
            return
        job_ids = [j.pk for j in outcome.jobs]
        busy = [p.pk for p in outcome.busy]
        deadline = time.monotonic() + timeout
        while True:
            jobs = {j.panel_id: j for j in self._latest(job_ids, busy)}
            if all(not j.is_active for j in jobs.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        failed = 0
        refused = {p.pk for p in outcome.refused}
        for panel in panels:
            job = jobs.get(panel.pk)
            if panel.pk in refused:
                line, failed = "refused (spending cap)", failed + 1
            elif job is None:
                line = "unchanged, kept its take"
            elif job.state == GenerationJob.State.SUCCEEDED:
                line = f"done (take {job.take_id})"
            elif job.is_active:
                line, failed = (
                    f"still {job.get_state_display().lower()} (timed out waiting)",
                    failed + 1,
                )
            else:
                line, failed = (
                    f"{job.get_state_display().lower()}: {job.error_message or job.error_code}",
                    failed + 1,
                )
            self.stdout.write(f"  panel {panel.number:>3}: {line}")
        self.stdout.write(f"{len(panels) - failed} of {len(panels)} panels ready, {failed} failed.")
        if failed:
            raise SystemExit(1)

    @staticmethod
    def _latest(job_ids, busy_panel_ids):
        from django.db.models import Q

        return GenerationJob.objects.filter(
            Q(pk__in=job_ids)
            | Q(panel_id__in=busy_panel_ids, state__in=GenerationJob.ACTIVE_STATES)
        ).order_by("created")
