"""Saving shared objects that two people may have open at once.

An edit form carries one signed hidden field, the *base*: the object's
version and the values of the form's fields as the person saw them when the
form opened. Services write with a conditional UPDATE that matches only
that version (`write_versioned`), so a save from a stale form writes nothing
and raises `StaleEdit`. `save_or_merge` then answers a merge page: what is
saved now ("theirs") beside what this person sent ("mine"), with a
keep-theirs / keep-mine choice per field that differs, pre-chosen wherever
only one side changed the field. Sending that page is one more save, guarded
by the version it showed, so a third save in between is caught the same way.
Nothing anyone typed is dropped without being shown first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.core import signing
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

BASE_FIELD = "edit_base"
MERGE_FIELD = (
    "edit_merge"  # sent by the merge page, so a page sent without choices is no plain save
)
CHOICE_PREFIX = "keep_"
THEIRS, MINE = "theirs", "mine"
_SALT = "studio.edits.base"


class StaleEdit(Exception):
    """Someone saved the object after this form was opened; nothing was written."""


@dataclass(frozen=True)
class Base:
    """What an edit form showed when it opened: a version and its fields' values (plain)."""

    version: int | None
    values: dict[str, Any]


@dataclass(frozen=True)
class State:
    """An object as saved now: its version and its fields' values as services take them."""

    version: int | None
    values: dict[str, Any]

    def base(self) -> Base:
        return Base(self.version, {key: plain(value) for key, value in self.values.items()})


def version_of(base: Base | None) -> int | None:
    """The version a save is guarded by (None: an unguarded save, from a form without a base)."""
    return base.version if base else None


def write_versioned(instance: Model, fields: Sequence[str], *, version: int | None) -> None:
    """Write `fields` of a validated instance and add one to its `version`.

    With `version` (the one the person's form opened with) the UPDATE only
    matches while the row still has it, else StaleEdit is raised and nothing
    is written. Without it (scripts, demo data) the write is unconditional.
    Only the named fields are written: a quick edit of three fields leaves
    the others as whoever saved them last left them.
    """
    model = type(instance)
    rows: QuerySet = model._default_manager.filter(pk=instance.pk)
    if version is not None:
        rows = rows.filter(version=version)
    values = {name: getattr(instance, name) for name in fields}
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False):
            values[field.attname] = timezone.now()
    if not rows.update(version=F("version") + 1, **values):
        raise StaleEdit
    if version is None:
        instance.refresh_from_db(fields=["version"])
    else:
        instance.version = version + 1  # type: ignore[attr-defined]


def write_if_unchanged(rows: QuerySet, *, seen: Mapping[str, Any] | None, **values) -> None:
    """UPDATE the row only while its columns still hold `seen` (for rows without a version)."""
    if seen is not None:
        rows = rows.filter(**seen)
    if not rows.update(**values):
        raise StaleEdit


def plain(value: Any) -> Any:
    """A JSON-ready form of a field value, equal for equal values however they were typed."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Plain values compared as people see them: CRLF (how browsers send lines) equals LF."""
    if isinstance(a, str) and isinstance(b, str):
        return a.replace("\r\n", "\n") == b.replace("\r\n", "\n")
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def sign_base(version: int | None, values: Mapping[str, Any]) -> str:
    """The hidden field's value for a form opened on this state."""
    raw = {"v": version, "values": {k: plain(v) for k, v in values.items()}}
    return signing.dumps(raw, salt=_SALT, compress=True)


def _read_base(raw: str) -> Base | None:
    """None when the field was not sent (scripts); raises BadSignature when it was altered."""
    if not raw:
        return None
    data = signing.loads(raw, salt=_SALT)
    return Base(version=data["v"], values=data["values"])


class EditForm(forms.Form):
    """An edit form of a shared object: it carries its base and says how to show its values.

    `merge_fields` lists (key, label) pairs, one per thing the merge page
    offers to keep; `merge_values()` gives this person's values under those keys.
    """

    merge_fields: tuple[tuple[str, str], ...] = ()
    edit_base = forms.CharField(widget=forms.HiddenInput, required=False)
    base_raw = ""

    def clean(self):
        data = super().clean()
        # Kept apart so cleaned_data holds only what services take.
        self.base_raw = data.pop(BASE_FIELD, "")
        return data

    def opened_on(self, state: State) -> None:
        """Record the state the form shows, so its save can tell whether it went stale."""
        keys = [key for key, _ in self.merge_fields]
        self.initial[BASE_FIELD] = sign_base(state.version, {k: state.values[k] for k in keys})

    def merge_values(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key, _ in self.merge_fields}

    def show(self, key: str, value: Any) -> str:
        """A value as people read it on the merge page."""
        if value is None or value == "" or value == []:
            return ""
        field = self.fields.get(key)
        if isinstance(field, forms.BooleanField):
            return "Yes" if value else "No"
        if isinstance(field, forms.ChoiceField):
            # Plain values are strings or ids; the field's choices may hold either.
            labels = {str(k): v for k, v in getattr(field, "choices", ())}
            return str(labels.get(str(plain(value)), value))
        if isinstance(value, Decimal):
            return plain(value)
        return str(value)


@dataclass
class MergeRow:
    key: str
    label: str
    theirs: str
    mine: str
    chosen: str  # THEIRS, MINE, or "" when both changed it and the person must choose
    undecided: bool


def _rows(
    form: EditForm, base: Base | None, mine: dict, now: State, picked: Mapping[str, str]
) -> list[MergeRow]:
    """The fields that differ, each pre-chosen where only one side changed it.

    `picked` holds choices from a merge page sent before; a choice stands as
    long as their value of that field is still the one it was made against.
    """
    seen = base.values if base is not None else {}
    rows = []
    for key, label in form.merge_fields:
        p_mine, p_theirs = plain(mine[key]), plain(now.values[key])
        if _same(p_mine, p_theirs):
            continue
        theirs_unchanged = key in seen and _same(p_theirs, seen[key])
        if key in picked and (base is None or theirs_unchanged):
            chosen = picked[key]
        elif key in seen and _same(p_mine, seen[key]):
            chosen = THEIRS  # only they changed it
        elif theirs_unchanged:
            chosen = MINE  # only this person changed it
        else:
            chosen = ""
        theirs, yours = form.show(key, now.values[key]), form.show(key, mine[key])
        rows.append(MergeRow(key, label, theirs, yours, chosen, undecided=not chosen))
    return rows


def _resend(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """This person's submitted fields, sent again as hidden inputs by the merge page."""
    skip = {"csrfmiddlewaretoken", BASE_FIELD, MERGE_FIELD}
    getlist = getattr(data, "getlist", lambda k: [data[k]])
    return [
        (name, value)
        for name in data
        if name not in skip and not name.startswith(CHOICE_PREFIX)
        for value in getlist(name)
    ]


def _unchanged_since(now: State, base: Base, keys: Sequence[str]) -> bool:
    return all(
        key in base.values and _same(plain(now.values[key]), base.values[key]) for key in keys
    )


def save_or_merge(
    request: HttpRequest,
    form: EditForm,
    *,
    load: Callable[[], State],
    save: Callable[[dict[str, Any], Base | None], None],
    page: Mapping[str, Any],
    template: str = "studio/edit_conflict.html",
) -> HttpResponse | None:
    """Save a valid edit form, or answer the merge page when the object moved on.

    `load` reads the object as saved now; `save(values, base)` calls the
    service guarded by `base` (None: unguarded) and raises StaleEdit when the
    guard fails. Returns None once saved, and the caller answers as usual.
    A ValidationError from `save` reaches the caller untouched.
    `page` is the merge page's context: `what` (e.g. "panel 3"), `action`
    (the form's URL) and `back` (where "discard my changes" leads).
    """
    keys = [key for key, _ in form.merge_fields]
    mine = form.merge_values()

    def merge_page(
        now: State, base: Base | None, error: str = "", picked: Mapping[str, str] | None = None
    ) -> HttpResponse:
        rows = _rows(form, base, mine, now, picked or {})
        context = {
            **page,
            "rows": rows,
            "same": len(keys) - len(rows),
            "resend": _resend(request.POST),
            "base": sign_base(now.version, {key: now.values[key] for key in keys}),
            "error": error,
        }
        # htmx swaps only successful answers; a full page says 409 Conflict.
        status = 200 if request.headers.get("HX-Request") else 409
        return render(request, template, context, status=status)

    try:
        base = _read_base(form.base_raw)
    except signing.BadSignature:
        # An altered base guards nothing: show both versions rather than guess.
        return merge_page(load(), None)
    choices = {
        key: request.POST[CHOICE_PREFIX + key]
        for key in keys
        if CHOICE_PREFIX + key in request.POST
    }
    if MERGE_FIELD in request.POST:
        # The merge page was sent: its base is the state it showed.
        now = load()
        if base is None or now.version != base.version or not _unchanged_since(now, base, keys):
            return merge_page(now, base, picked=choices)  # saved again meanwhile
        merged, missing = {}, []
        for key, label in form.merge_fields:
            if _same(plain(mine[key]), plain(now.values[key])):
                merged[key] = mine[key]
            elif choices.get(key) in (THEIRS, MINE):
                merged[key] = now.values[key] if choices[key] == THEIRS else mine[key]
            else:
                missing.append(label)
        if missing:
            error = "Choose a version to keep for: " + ", ".join(missing) + "."
            return merge_page(now, None, error, choices)
        try:
            save(merged, base)
            return None
        except StaleEdit:
            return merge_page(load(), base, picked=choices)
    try:
        save(mine, base)
        return None
    except StaleEdit:
        now = load()
    if base is not None and _unchanged_since(now, base, keys):
        # Saved meanwhile without touching what this form edits (another form,
        # or no change at all): nothing of theirs would be overwritten.
        try:
            save(mine, now.base())
            return None
        except StaleEdit:
            now = load()
    return merge_page(now, base)
