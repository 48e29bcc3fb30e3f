"""migrate_media: copy every stored file to the bucket (or back) before switching STUDIO_STORAGE."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from studio.media_migration import TARGETS, media_migrate


class Command(BaseCommand):
    help = (
        "Copy every file rows point to into the other storage, checking each by sha256. "
        "Changes nothing the studio uses: switch STUDIO_STORAGE yourself once it reports success. "
        "Safe to run again: files already copied are checked, not copied."
    )

    def add_arguments(self, parser):
        parser.add_argument("--to", required=True, choices=TARGETS, help="where files should go")
        parser.add_argument("--dry-run", action="store_true", help="list what would be copied")

    def handle(self, *args, to: str, dry_run: bool, **options):
        verbosity = options.get("verbosity", 1)

        def progress(verb: str, name: str) -> None:
            if verbosity > 1 or verb in ("missing", "failed"):
                self.stdout.write(f"{verb}: {name}")

        try:
            report = media_migrate(to=to, dry_run=dry_run, progress=progress)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        verb = "would copy" if dry_run else "copied"
        self.stdout.write(
            f"{len(report.copied)} file(s) {verb} ({report.bytes / 1e6:.1f} MB), "
            f"{len(report.already)} already there and checked."
        )
        for name, why in report.failed:
            self.stderr.write(f"could not copy {name}: {why}")
        if report.missing:
            self.stderr.write(
                f"{len(report.missing)} file(s) named by rows are missing from the current "
                "storage; they cannot be copied (see the list above)."
            )
        if not report.verified:
            raise CommandError(
                "Not every file is at the target: keep STUDIO_STORAGE as it is, fix the above "
                "and run this command again (files already copied are not copied twice)."
            )
        if dry_run:
            self.stdout.write("Dry run: nothing was copied.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Every file is at the target and checked. Now set STUDIO_STORAGE={to} for the "
                "web processes and every worker, and restart them."
            )
        )
