"""Template helpers for the review parts that other apps' templates include."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from reviews.selectors import review_cards
from reviews.text import render_body

register = template.Library()


@register.filter
def comment_html(body: str, members) -> SafeString:
    """A comment's text as safe HTML: escaped, links clickable, member mentions marked."""
    return render_body(body, members or ())


@register.filter
def ago(when) -> str:
    """ "just now", "5 minutes ago", "2 days ago"."""
    from django.utils import timezone
    from django.utils.timesince import timesince

    if when is None:
        return ""
    if (timezone.now() - when).total_seconds() < 60:
        return "just now"
    return timesince(when).split(",")[0] + " ago"


@register.inclusion_tag("reviews/_card_review_body.html", takes_context=True)
def card_review(context, panel):
    """A card's status and open-comment badge.

    The board page attaches both to every panel at once; a card rendered on
    its own (after a quick edit or an add) looks its panel up here.
    """
    if not hasattr(panel, "review_status"):
        review_cards(panel.board, [panel])
    return {
        "panel": panel,
        "access": context.get("access"),
        "csrf_token": context.get("csrf_token"),
        "oob": False,
    }
