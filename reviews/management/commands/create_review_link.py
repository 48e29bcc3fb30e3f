"""manage.py create_review_link BOARD_ID [--days N] [--comments] [--approvals]

Prints the absolute guest URL on its last line (scripts read that line).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from boards.models import Board
from reviews.services import link_create


class Command(BaseCommand):
    help = "Create a guest review link for one board and print its URL."

    def add_arguments(self, parser):
        parser.add_argument("board_id", type=int)
        parser.add_argument("--days", type=int, default=None, help="expire after N days")
        parser.add_argument("--comments", action="store_true", help="guests may comment")
        parser.add_argument("--approvals", action="store_true", help="guests may approve")
        parser.add_argument("--label", default="", help="who the link is for (shown to members)")

    def handle(self, *args, **options):
        board = Board.objects.filter(pk=options["board_id"]).select_related("project").first()
        if board is None:
            raise CommandError(f"No board with id {options['board_id']}.")
        try:
            link, token = link_create(
                board=board,
                days=options["days"],
                allow_comments=options["comments"],
                allow_approvals=options["approvals"],
                label=options["label"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        rights = [
            r
            for r, on in (("comment", link.allow_comments), ("approve", link.allow_approvals))
            if on
        ]
        expiry = f"until {link.expires:%Y-%m-%d %H:%M} UTC" if link.expires else "until revoked"
        self.stdout.write(
            f"Guest link {link.pk} for board {board.pk} “{board.name}” in “{board.project.name}”: "
            f"guests may {' and '.join(rights) or 'only look'}, {expiry}."
        )
        self.stdout.write(settings.STUDIO_PUBLIC_URL + reverse("guest_board", args=[token]))
