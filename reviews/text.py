"""Comment bodies as people see them: plain text, links made clickable, @mentions marked.

Nothing a person types becomes markup: every character is escaped, and the
only tags in the result are the links and mention marks made here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# http(s) links up to the next space; trailing punctuation belongs to the sentence.
_LINK = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"
# A mention starts at a word boundary: "mail@example.com" mentions nobody.
MENTION = re.compile(r"(?<![\w@.])@([\w.+-]{1,150})")


def mentioned_names(body: str) -> set[str]:
    """Lower-cased usernames written as @name in the text."""
    return {m.group(1).rstrip(".").lower() for m in MENTION.finditer(body)}


def _link(url: str) -> tuple[str, str]:
    tail = ""
    while url and url[-1] in _TRAILING:
        tail = url[-1] + tail
        url = url[:-1]
    html = f'<a href="{escape(url)}" rel="nofollow noopener noreferrer" target="_blank">{escape(url)}</a>'
    return html, escape(tail)


def _mentions(text: str, members: set[str]) -> str:
    out: list[str] = []
    last = 0
    for m in MENTION.finditer(text):
        name = m.group(1).rstrip(".")
        if name.lower() not in members:
            continue  # a name that is not a member stays plain text: no hint it exists
        out.append(escape(text[last : m.start()]))
        out.append(f'<span class="mention">@{escape(name)}</span>')
        last = m.start() + 1 + len(name)
    out.append(escape(text[last:]))
    return "".join(out)


def render_body(body: str, members: Iterable[str] = ()) -> SafeString:
    """The comment as HTML: escaped text, clickable http(s) links, marked member mentions."""
    names = {n.lower() for n in members}
    out: list[str] = []
    last = 0
    for m in _LINK.finditer(body):
        out.append(_mentions(body[last : m.start()], names))
        html, tail = _link(m.group(0))
        out.append(html + tail)
        last = m.end()
    out.append(_mentions(body[last:], names))
    return mark_safe("".join(out).replace("\n", "<br>"))  # noqa: S308 - every piece escaped above
