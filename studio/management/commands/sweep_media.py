"""sweep_media: remove stored files that no row points to (Celery beat runs it daily)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from studio.files import media_sweep


class Command(BaseCommand):
    help = "Delete stored files older than a day that no take, image or export points to."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="list what would go, delete nothing"
        )

    def handle(self, *args, dry_run: bool, **options):
        report = media_sweep(dry_run=dry_run)
        for name in report.orphans:
            self.stdout.write(("would remove " if dry_run else "removed ") + name)
        verb = "would free" if dry_run else "freed"
        self.stdout.write(
            f"{len(report.orphans)} file(s) no row points to, {verb} {report.bytes / 1e6:.1f} MB; "
            f"{report.kept_young} younger than a day left alone."
        )
