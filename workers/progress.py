"""What the board's 2 s progress poll compares: a version of everything it shows.

The page and each answer carry the version they show; the poll computes it
from one query of every panel's job (as plain values) and the spend, and
answers 204 with no body while it is the same. When it is not, the job rows
the client was shown are looked up under its version, so only the cards that
changed are drawn again; a version no longer remembered (another web
process, an expired entry) sends every card under way or just finished.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.core.cache import cache

# Long enough for a board left open in a tab; an entry is a few kB.
_REMEMBER_S = 15 * 60


def version(rows: dict[int, tuple], spend: Decimal, cap: Decimal | None) -> str:
    """The version of a progress answer: each panel's job row (`job_card_rows`) and the
    spend line."""
    text = repr((sorted(rows.items()), str(spend), str(cap)))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def remember(board_id: int, shown: str, rows: dict[int, tuple]) -> None:
    """Keep the job rows a page or an answer of version `shown` was drawn from."""
    cache.set(_key(board_id, shown), rows, _REMEMBER_S)


def changed_since(board_id: int, shown: str, rows: dict[int, tuple]) -> set[int] | None:
    """Panels whose job row differs from what version `shown` showed; None if not known."""
    before = cache.get(_key(board_id, shown)) if shown else None
    if before is None:
        return None
    return {pk for pk in rows.keys() | before.keys() if rows.get(pk) != before.get(pk)}


def _key(board_id: int, shown: str) -> str:
    return f"progress:{board_id}:{shown}"
