"""Forms of the character bible pages, and the reading of multi-file uploads.

Forms only check shapes; names that clash, the last sheet and so on are the
services' business (they raise ValidationError, which views attach here).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence

from django import forms
from django.core.files.uploadedfile import UploadedFile

from characters.models import ReferenceImage
from characters.services import UploadItem
from studio.edits import EditForm

NAME_MAX = 120
LABEL_MAX = 120

# Longest first, so "three_quarter" and "full_body" win over their parts.
_VIEW_WORDS: list[tuple[str, str]] = [
    (r"three[\s_\-.]*quarters?", ReferenceImage.View.THREE_QUARTER),
    (r"full[\s_\-.]*body", ReferenceImage.View.FULL_BODY),
    (r"expressions?", ReferenceImage.View.EXPRESSION),
    (r"front", ReferenceImage.View.FRONT),
    (r"side", ReferenceImage.View.SIDE),
    (r"back", ReferenceImage.View.BACK),
    (r"face", ReferenceImage.View.FACE),
    (r"details?", ReferenceImage.View.DETAIL),
]


def guess_view(filename: str) -> str:
    """The view a file name announces ("anna_side.png" is a side view), or "" when none.

    Mirrors the guess characters.js makes in the browser, so a page used
    without JavaScript files images the same way.
    """
    stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    for pattern, view in _VIEW_WORDS:
        # Word-ish boundaries: "backpack" is not a back view, "frontal" not a front one.
        if re.search(rf"(?<![a-z0-9])(?:{pattern})(?![a-z])", stem):
            return str(view)
    return ""


def _single_line(text: str) -> str:
    """A label as one line of text: control characters (NUL, newlines, ...) dropped.

    PostgreSQL refuses NUL in text; the others would only garble the label.
    """
    return "".join(c for c in text if unicodedata.category(c) != "Cc").strip()


def upload_items(
    files: Sequence[UploadedFile], data: Mapping[str, str], *, with_views: bool
) -> list[UploadItem]:
    """Pair each uploaded file with its `view_<i>` / `label_<i>` field, by position.

    A missing or unknown view falls back to a guess from the file name, then to "front".
    """
    items = []
    for index, upload in enumerate(files):
        name = upload.name or ""
        label = _single_line(data.get(f"label_{index}") or "")[:LABEL_MAX]
        view = ""
        if with_views:
            view = (data.get(f"view_{index}") or "").strip()
            if view not in ReferenceImage.View.values:
                view = guess_view(name) or ReferenceImage.View.FRONT
        items.append(UploadItem(name=name, file=upload, view=view, label=label))
    return items


class CharacterForm(EditForm):
    merge_fields = (
        ("name", "Name"),
        ("appearance", "Appearance"),
        ("notes", "Notes"),
        ("aliases", "Other names"),
    )

    name = forms.CharField(max_length=NAME_MAX)
    appearance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What every picture of this character must show: age, build, hair, "
        "clothes, colours. Goes into every prompt with them.",
    )
    notes = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For the team only; never sent to the image model.",
    )
    aliases = forms.CharField(
        required=False,
        max_length=500,
        help_text="Other names the script uses for them, separated by commas "
        "(“Mac, The Keeper”). Script import matches cues by these too.",
    )

    def clean_aliases(self) -> str:
        names = [a.strip() for a in self.cleaned_data["aliases"].split(",")]
        return ", ".join(dict.fromkeys(a for a in names if a))


class SheetForm(EditForm):
    merge_fields = (("name", "Name"), ("addendum", "Description addendum"))

    name = forms.CharField(
        max_length=NAME_MAX, help_text="For example “Winter outfit” or “Ten years older”."
    )
    addendum = forms.CharField(
        label="Description addendum",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added to the appearance text when a panel uses this sheet.",
    )


class ReferenceImageForm(forms.Form):
    view = forms.ChoiceField(choices=ReferenceImage.View.choices)
    label = forms.CharField(max_length=LABEL_MAX, required=False)


class LocationForm(EditForm):
    merge_fields = (("name", "Name"), ("description", "Description"))

    name = forms.CharField(max_length=NAME_MAX)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the place looks like: time of day, light, materials, key props.",
    )


class StyleForm(EditForm):
    merge_fields = (("style", "Style text"),)

    style = forms.CharField(
        label="Style text",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="The look of every panel, e.g. “loose pencil, grey wash, strong shadows”. "
        "Every prompt starts with it.",
    )
