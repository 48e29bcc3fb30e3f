"""The board page's panel cards, rendered once per change and kept in the `cards` cache.

A card costs a millisecond or more of template work and a board has
hundreds, while between two visits almost none of them changes. So each card
is keyed by exactly what it shows, read as plain values in a fixed number of
queries (no model instances): the panel's fields, its cast, location and
selected take, its generation job, the continuity and reference warnings,
its review status and open comments, its place in the order, the board's
kind and shape, the viewer's rights, and the card templates themselves. A key
not in the cache is rendered from the models as before and stored.

Cards hold forms, and forms hold the viewer's CSRF token: a card is cached
with a slot in its place, filled per request, so one cached card serves
every viewer with the same rights.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import caches
from django.db.models import Model
from django.db.models.fields.files import FieldFile
from django.middleware.csrf import get_token
from django.template import Engine
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import mark_safe

from boards.models import Board, CastMember, Panel
from boards.selectors import board_panels
from reviews.selectors import review_cards
from studio.access import Access
from studio.http import attach
from studio.prepared import PreparedRows
from workers import selectors as jobs

# What a card shows of its panel. Value paths, read with values_list() for the
# key and from the loaded models to check a fresh render against it.
PANEL_FIELDS = (
    "pk",
    "position",
    "shot_type",
    "camera_angle",
    "duration",
    "action",
    "dialogue",
    "script_state",
    "location_id",
    "location__name",
    "selected_take_id",
    "selected_take__thumbnail",
    "selected_take__file",
    "selected_take__request__without_references",
    "continue_previous",
)
CAST_FIELDS = (*jobs.CAST_ROW_FIELDS, "sheet__name", "placement")

# The templates a card is drawn from: editing one makes every key new.
CARD_TEMPLATES = (
    "boards/_panel_card.html",
    "boards/_panel_frame.html",
    "boards/script_state.html",
    "boards/_panel_generation.html",
    "workers/_panel_status.html",
    "reviews/_card_review.html",
    "reviews/_card_review_body.html",
)
# Stands for the viewer's CSRF token in a cached card. Autoescaped text never
# contains it: "<" always comes out as "&lt;".
SLOT = "<csrf-slot>"
_ESCAPED_SLOT = str(escape(SLOT))


@dataclass(eq=False)
class Card:
    """A panel as the board page's loop shows it: its card's HTML, its number and duration."""

    pk: int
    position: int
    duration: Decimal | None
    html: str = ""
    # The job the card shows (workers.selectors.JOB_CARD_FIELDS; None: never
    # generated) and the cast drawn without references: the page's progress
    # bar and warning add them up.
    job: tuple | None = None
    unreferenced: tuple[str, ...] = ()
    previous_changed: bool = False
    scene: str = ""  # Panel.scene: the group heading the board page puts before it

    @property
    def number(self) -> int:
        return self.position + 1


def board_cards(request, access: Access[Board]) -> tuple[list[Card], dict]:
    """Every panel of the board in order, each with its card's HTML for this viewer, and
    the board's review counts (`reviews.selectors.review_cards`).

    A fixed number of queries whatever the board's size, plus, for cards not
    in the cache, the queries that render them. Each card also carries what
    the rest of the page reads: review status and open comments, job state,
    the cast without references.
    """
    board = access.obj
    rows = _PANEL_ROWS.rows(board.pk)
    # The scene heads a run of cards on the page, outside any card: not part of a key.
    cards = [Card(pk=row[0], position=row[1], duration=row[4], scene=row[-1]) for row in rows]
    rows = [row[:-1] for row in rows]
    mark_moves(cards, [card.pk for card in cards])
    review = review_cards(board, cards)  # type: ignore[arg-type]  # reads pk, attaches status
    casts: dict[int, list[tuple]] = {}
    members = _CAST_ROWS.rows(board.pk)
    for member in members:
        casts.setdefault(member[0], []).append(member)
    unreferenced = jobs.unreferenced_on_board(board.pk, members)
    job_rows = jobs.job_card_rows(board)
    stale = _previous_changed([row[0] for row in rows if row[-1]])
    shared = _shared_key(board, access)
    keys = {}
    for row, card in zip(rows, cards, strict=True):
        card.unreferenced = tuple(unreferenced.get(card.pk, ()))
        card.job = job_rows.get(card.pk)
        card.previous_changed = card.pk in stale
        keys[card.pk] = _key(shared, row, casts.get(card.pk, ()), card.job, card)
    cache = caches["cards"]
    found = cache.get_many(list(keys.values()))
    html = {card.pk: found[keys[card.pk]] for card in cards if keys[card.pk] in found}
    missing = [card for card in cards if card.pk not in html]
    if missing:
        fresh = _render(board, access, missing, shared)
        # A panel that changed since its key was read is shown as it is now but not
        # stored under the old key: that key may come back (an edit undone).
        cache.set_many({key: text for pk, (key, text) in fresh.items() if key == keys[pk]})
        html.update({pk: text for pk, (_, text) in fresh.items()})
    token = get_token(request)
    shown = [card for card in cards if card.pk in html]  # less one deleted meanwhile
    for card in shown:
        # Rendered by the template engine, escaped there; the token is letters and digits.
        card.html = mark_safe(html[card.pk].replace(_ESCAPED_SLOT, token))  # noqa: S308
    return shown, review


# The board's panels and cast as plain rows, compiled once (studio.prepared).
_PANEL_ROWS = PreparedRows(
    Panel,
    lambda board_id: (
        Panel.objects.filter(board_id=board_id)
        .order_by("position")
        .values_list(*PANEL_FIELDS, "scene")
    ),
)
_CAST_ROWS = PreparedRows(
    CastMember,
    lambda board_id: jobs.cast_row_query(CastMember.objects.filter(panel__board_id=board_id)),
)


def mark_moves(panels: Sequence[object], order: list[int]) -> None:
    """Give each card's "move left/right" forms the `after` value they post without JS."""
    index = {pk: i for i, pk in enumerate(order)}
    for panel in panels:
        i = index.get(panel.pk, 0)  # type: ignore[attr-defined]
        attach(
            panel,
            is_first=i == 0,
            is_last=i == len(order) - 1,
            left_after=order[i - 2] if i >= 2 else None,
            right_after=order[i + 1] if i + 1 < len(order) else None,
        )


# What a card shows that the page works out for the whole board.
_CARRIED = (
    "is_first",
    "is_last",
    "left_after",
    "right_after",
    "review_status",
    "review_label",
    "open_comments",
    "unreferenced",
    "previous_changed",
)


def _key(shared: tuple, panel_row, cast, job_row, card: Card) -> str:
    """The cache key of a card: a digest of everything it shows (PANEL_FIELDS of its
    panel, CAST_FIELDS of its cast, JOB_CARD_FIELDS of its job, the _CARRIED values)."""
    carried = tuple(getattr(card, name) for name in _CARRIED)
    parts = (shared, tuple(panel_row), tuple(map(tuple, cast)), job_row and tuple(job_row))
    text = repr((*parts, carried))
    return "card:" + hashlib.blake2b(text.encode(), digest_size=20).hexdigest()


def _shared_key(board: Board, access: Access) -> tuple:
    from boards.views import frame_class  # the view module owns the frame shapes

    return (
        _templates_digest(),
        settings.MEDIA_URL,
        board.kind,
        frame_class(board),
        access.can_edit,
        access.can_review,
    )


def _render(
    board: Board, access: Access, missing: list[Card], shared: tuple
) -> dict[int, tuple[str, str]]:
    """Render the cards not in the cache from the models; for each, the key of what was
    drawn (it differs from the page's if the panel changed in between) and the HTML."""
    from boards.views import frame_class

    panels = board_panels(board, ids=[card.pk for card in missing])
    by_pk = {card.pk: card for card in missing}
    state_jobs = jobs.panel_state_jobs(panels)
    for panel in panels:
        # With `latest_job`, what `workers.selectors.panels_generation` would attach.
        attach(panel, **{name: getattr(by_pk[panel.pk], name) for name in _CARRIED})
        attach(panel, latest_job=state_jobs.get(panel.pk))
    context = {
        "board": board,
        "access": access,
        "frame_class": frame_class(board),
        "csrf_token": SLOT,
    }
    found = {}
    for panel in panels:
        job = panel.latest_job  # type: ignore[attr-defined]
        html = _squeeze(render_to_string("boards/_panel_card.html", {**context, "panel": panel}))
        key = _key(
            shared,
            _values(panel, PANEL_FIELDS),
            [_values(m, CAST_FIELDS) for m in panel.cast.all()],
            _values(job, jobs.JOB_CARD_FIELDS) if job else None,
            by_pk[panel.pk],
        )
        found[panel.pk] = (key, html)
    return found


def _squeeze(html: str) -> str:
    """The card with each run of blank lines and indentation cut to one line break: a
    fifth of its bytes, which every page carries. (A card has no <pre> or <textarea>.)"""
    return _BLANKS.sub("\n", html)


_BLANKS = re.compile(r"\s*\n\s*")


def _values(obj: Model, paths: Iterable[str]) -> tuple:
    """What values_list(*paths) gives for this row, read from the loaded model."""
    return tuple(_value(obj, path) for path in paths)


def _value(obj: object, path: str) -> object:
    for name in path.split("__"):
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name)
    if isinstance(obj, FieldFile):
        return obj.name
    return obj


def _previous_changed(ids: list[int]) -> set[int]:
    """Continuing panels whose take no longer follows the previous panel (two queries,
    none when no panel continues another)."""
    if not ids:
        return set()
    return jobs.previous_changed(
        list(Panel.objects.filter(pk__in=ids).select_related("selected_take"))
    )


def _templates_digest() -> str:
    """A digest of the card templates' source (cached by the template loader, and
    reloaded with it when a development server sees a template change)."""
    digest = hashlib.blake2b(digest_size=8)
    engine = Engine.get_default()
    for name in CARD_TEMPLATES:
        digest.update(engine.get_template(name).source.encode())
    return digest.hexdigest()
