"""import_script PROJECT_ID PATH [--dry-run] [--merge-dialogue] [--single-board NAME] [--create-missing]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from boards.script.breakdown import Options
from boards.script.document import ScriptError
from boards.script.selectors import script_boards, script_preview
from boards.script.services import script_import
from studio.models import Project


class Command(BaseCommand):
    help = (
        "Import a Fountain or Final Draft script into a project: one board per scene. "
        "Run again with a revised file to update the boards it made."
    )

    def add_arguments(self, parser):
        parser.add_argument("project_id", type=int)
        parser.add_argument("path", help="a .fountain, .spmd, .txt or .fdx file")
        parser.add_argument("--dry-run", action="store_true", help="report, save nothing")
        parser.add_argument(
            "--merge-dialogue",
            action="store_true",
            help="put dialogue into the preceding action panel",
        )
        parser.add_argument(
            "--single-board", metavar="NAME", default="", help="one board with every scene"
        )
        parser.add_argument(
            "--create-missing",
            action="store_true",
            help="create characters and locations the project does not have yet",
        )

    def handle(self, *args, project_id, path, dry_run, merge_dialogue, single_board, **options):
        project = Project.objects.filter(pk=project_id).first()
        if project is None:
            raise CommandError(f"No project with id {project_id}.")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        revise = bool(script_boards(project))
        try:
            preview = script_preview(
                project=project,
                data=data,
                name=path,
                options=Options(merge_dialogue=merge_dialogue, single_board=single_board),
                revise=revise,
            )
        except ScriptError as exc:
            raise CommandError(f"Cannot import {path}: {exc}") from None
        result = script_import(
            project=project,
            preview=preview,
            file_name=path.rsplit("/", 1)[-1],
            create_missing=options["create_missing"],
            dry_run=dry_run,
        )
        for line in result.boards:
            where = ", ".join(line.locations) or "no location"
            cast = ", ".join(line.cast) or "no cast"
            change = ""
            if not line.created:
                change = (
                    f" | kept {line.kept}, changed {line.changed}, new {line.new}, gone {line.gone}"
                )
            self.stdout.write(
                f"{line.name} | {line.panels} panels | cast: {cast} | location: {where}{change}"
            )
        verb = "would import" if dry_run else ("updated" if revise else "imported")
        self.stdout.write(
            f"{verb}: {len(result.boards)} boards, {result.panel_count} panels, "
            f"{len(result.matched)} names matched, {len(result.unmatched)} unmatched"
            + (f" ({', '.join(result.unmatched)})" if result.unmatched else "")
            + (" - nothing saved (dry run)" if dry_run else "")
        )
