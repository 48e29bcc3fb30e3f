"""Read a page's form the way a browser would submit it, for tests that use the test client."""

from __future__ import annotations

from html.parser import HTMLParser


class _FormReader(HTMLParser):
    def __init__(self, index: int) -> None:
        super().__init__(convert_charrefs=True)
        self.index, self.seen = index, -1
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self.action: str | None = None
        self._textarea: str | None = None
        self._text = ""
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.seen += 1
            self.inside = self.seen == self.index
            if self.inside:
                self.action = a.get("action")
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "on"))
            elif kind not in ("submit", "button", "file", "reset"):
                self.fields.append((name, a.get("value") or ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""
        elif tag == "select" and name:
            self._select, self._options = name, []
        elif tag == "option" and self._select is not None:
            self._options.append((a.get("value") or "", "selected" in a))

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "textarea" and self._textarea is not None:
            # Browsers drop the one newline that may follow <textarea>.
            text = self._text[1:] if self._text.startswith("\n") else self._text
            self.fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "select" and self._select is not None:
            chosen = [v for v, selected in self._options if selected] or [
                v for v, _ in self._options[:1]
            ]
            self.fields.extend((self._select, v) for v in chosen)
            self._select = None


def form_data(html: str | bytes, index: int = 0) -> dict[str, str | list[str]]:
    """The fields the `index`-th form of the page sends as it stands (one value, or a list)."""
    reader = _FormReader(index)
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    data: dict[str, str | list[str]] = {}
    for name, value in reader.fields:
        if name in data:
            old = data[name]
            data[name] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            data[name] = value
    return data


def form_index(html: str | bytes, marker: str) -> int:
    """The index of the first form whose opening tag contains `marker`."""
    text = html.decode() if isinstance(html, bytes) else html
    position = text.index(marker)
    return text[:position].count("<form") - 1
