"""seed_demo: an idempotent demo project, so the studio looks alive on first start."""

from __future__ import annotations

import io
import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from boards import services as board_services
from boards.models import Board, Panel
from characters import demo_art
from characters import services as bible
from characters.models import Character, Location
from studio.models import Membership, Project

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "castboard-demo"  # noqa: S105 - a public demo account, printed on purpose
PROJECT_NAME = "Harbour Lights"
SHEET_VIEWS = ("full_body", "face", "side")

# (shot, angle, location, cast [(name, placement, expression)], action, dialogue, notes, duration)
PANELS = [
    (
        "ews",
        "high",
        "Harbour at dusk",
        [],
        "The harbour at dusk. Boats rock on a rising swell; the lighthouse blinks on the headland.",
        "",
        "Establishing shot. Wind picks up.",
        4,
    ),
    (
        "ws",
        "eye",
        "Harbour at dusk",
        [("Mara Voss", "left", "determined"), ("Tobias Kern", "right", "worried")],
        "Mara strides down the quay towards Tobias, who is coiling a rope by his boat.",
        "",
        "",
        3,
    ),
    (
        "ms",
        "eye",
        "Harbour at dusk",
        [("Tobias Kern", "center", "frowning")],
        "Tobias looks up at the darkening sky.",
        "TOBIAS: You're not taking her out tonight. Not in this.",
        "",
        3,
    ),
    (
        "mcu",
        "low",
        "Harbour at dusk",
        [("Mara Voss", "center", "jaw set")],
        "Mara pulls her coat tight against the wind.",
        "MARA: The Aurora's lamp went dark an hour ago. Someone has to go.",
        "",
        3.5,
    ),
    (
        "fs",
        "eye",
        "Harbour at dusk",
        [("Pip", "left", "out of breath"), ("Mara Voss", "right", "surprised")],
        "Pip runs up the pier in a yellow raincoat, boots splashing.",
        "PIP: Wait! I saw a light on the rocks!",
        "Pip enters frame left.",
        2.5,
    ),
    (
        "cu",
        "eye",
        "Harbour at dusk",
        [("Pip", "center", "wide-eyed")],
        "Close on Pip, pointing out to sea.",
        "PIP: There. By the old lighthouse.",
        "",
        2,
    ),
    (
        "ws",
        "overhead",
        "Cliff path",
        [("Mara Voss", "left", ""), ("Pip", "right", "")],
        "Mara and Pip climb the cliff path towards the lighthouse, lantern swinging.",
        "",
        "Time cut: later that night.",
        4,
    ),
    (
        "ms",
        "eye",
        "Lighthouse interior",
        [("Mara Voss", "left", "focused"), ("Tobias Kern", "right", "reluctant")],
        "Inside the lamp room, Tobias holds the lantern while Mara checks the dead lamp.",
        "MARA: The wick's been cut.",
        "",
        3,
    ),
    (
        "ecu",
        "eye",
        "Lighthouse interior",
        [("Tobias Kern", "center", "guilty")],
        "Tobias's eyes dart away.",
        "",
        "Hold on the silence.",
        2,
    ),
    (
        "ws",
        "low",
        "Lighthouse interior",
        [
            ("Pip", "center", "triumphant"),
            ("Mara Voss", "left", "relieved"),
            ("Tobias Kern", "right", "smiling"),
        ],
        "The lamp flares back to life; beams sweep across the three of them.",
        "PIP: We did it!",
        "End of scene.",
        4,
    ),
]


class Command(BaseCommand):
    help = "Create (once) a demo user and project with a cast, locations, style and a board."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="create the demo account even with debug off (its password is public)",
        )

    def handle(self, *args, force: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Debug is off, so this looks like a production install: the demo account's "
                "password is public. Run with --force if you really want it here."
            )
        User = get_user_model()
        user, created_user = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com", "first_name": "Demo"}
        )
        if created_user:
            user.set_password(DEMO_PASSWORD)
            user.save()
        project = Project.objects.filter(name=PROJECT_NAME, memberships__user=user).first()
        if project is None:
            with transaction.atomic():
                project = self._create_project(user)
            self.stdout.write(self.style.SUCCESS(f"Created the demo project “{PROJECT_NAME}”."))
        else:
            self.stdout.write(f"The demo project “{PROJECT_NAME}” exists already; left as it is.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at http://127.0.0.1:{os.environ.get('STUDIO_PORT', '8000')}/ with username “{DEMO_USERNAME}” and password "
                f"“{DEMO_PASSWORD if created_user or user.check_password(DEMO_PASSWORD) else '(changed)'}”."
            )
        )
        if not settings.DEBUG:
            self.stdout.write(
                self.style.WARNING(
                    "This demo account has a public password: remove it in production."
                )
            )

    def _create_project(self, user) -> Project:
        from studio.services import project_create

        project = project_create(
            user=user,
            name=PROJECT_NAME,
            description="A short coastal mystery: a lighthouse goes dark on a stormy night.",
        )
        bible.style_update(project=project, style=demo_art.DEMO_STYLE)
        bible.style_images_add(project=project, items=[_item("style.png", demo_art.style_image())])

        for demo in demo_art.DEMO_CHARACTERS:
            character = bible.character_create(
                project=project, name=demo.name, appearance=demo.appearance, notes=demo.notes
            )
            for i, variant in enumerate(demo.variants):
                if i == 0:
                    sheet = character.sheets.get(is_default=True)
                    bible.sheet_update(sheet=sheet, name=variant.name, addendum=variant.description)
                else:
                    sheet = bible.sheet_create(
                        character=character, name=variant.name, addendum=variant.description
                    )
                items = [
                    _item(
                        f"{demo.name}-{variant.name}-{view}.png",
                        demo_art.character_sheet_image(demo.name, view, variant=variant.name),
                        view=view,
                    )
                    for view in SHEET_VIEWS
                ]
                bible.reference_images_add(sheet=sheet, items=items)

        for demo_location in demo_art.DEMO_LOCATIONS:
            location = bible.location_create(
                project=project, name=demo_location.name, description=demo_location.description
            )
            bible.location_images_add(
                location=location,
                items=[
                    _item(f"{demo_location.name}.png", demo_art.location_image(demo_location.name))
                ],
            )

        board = board_services.board_create(
            project=project,
            name="Scene 1: The dark lamp",
            description="Mara, Tobias and Pip relight the lighthouse.",
            kind=Board.Kind.STORYBOARD,
            aspect=Board.Aspect.WIDE,
        )
        characters = {c.name: c for c in Character.objects.filter(project=project)}
        locations = {loc.name: loc for loc in Location.objects.filter(project=project)}
        for shot, angle, place, cast, action, dialogue, notes, duration in PANELS:
            panel = board_services.panel_create(
                board=board,
                action=action,
                dialogue=dialogue,
                notes=notes,
                shot_type=shot,
                camera_angle=angle,
                duration=duration,
                location=locations[place],
            )
            board_services.panel_set_cast(
                panel=panel,
                entries=[
                    board_services.CastEntry(characters[name].pk, None, placement, expression)
                    for name, placement, expression in cast
                ],
            )
        assert Panel.objects.filter(board=board).count() == len(PANELS)
        assert Membership.objects.filter(project=project, user=user, role="owner").exists()
        return project


def _item(name: str, data: bytes, view: str = "") -> bible.UploadItem:
    return bible.UploadItem(name=name, file=io.BytesIO(data), view=view)
