"""manage.py revoke_review_link URL_OR_TOKEN"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError

from reviews.models import ReviewLink
from reviews.services import link_revoke, token_hash


def token_from(url_or_token: str) -> str:
    """The token of a guest URL (…/r/<token>/…), or the argument itself."""
    value = url_or_token.strip()
    parts = [p for p in urlsplit(value).path.split("/") if p]
    if "r" in parts and parts.index("r") + 1 < len(parts):
        return parts[parts.index("r") + 1]
    return value


class Command(BaseCommand):
    help = "Revoke a guest review link, given its URL or token; guests lose access at once."

    def add_arguments(self, parser):
        parser.add_argument("url_or_token")

    def handle(self, *args, **options):
        link = ReviewLink.objects.filter(
            token_hash=token_hash(token_from(options["url_or_token"]))
        ).first()
        if link is None:
            raise CommandError("No guest link with that URL or token.")
        if link_revoke(link=link):
            self.stdout.write(f"Revoked guest link {link.pk} of board {link.board_id}.")
        else:
            self.stdout.write(f"Guest link {link.pk} was already revoked.")
