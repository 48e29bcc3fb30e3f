"""The export form. It checks input only; boards.export_services does the work."""

from __future__ import annotations

from django import forms

from boards.export_services import ORIENTATIONS, PAPERS
from boards.exports import LAYOUTS
from boards.exports.timing import FPS_CHOICES, HEIGHT_CHOICES
from boards.models import Export


def layout_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """Layouts grouped the way people think of them: storyboard sheets, comic pages."""
    groups: dict[str, list[tuple[str, str]]] = {"sheet": [], "comic": []}
    for layout in LAYOUTS.values():
        groups[layout.style].append((layout.name, layout.label))
    return [("Storyboard sheets", groups["sheet"]), ("Comic pages", groups["comic"])]


_LABELS = {"a4": "A4", "letter": "US Letter", "portrait": "Portrait", "landscape": "Landscape"}


class ExportForm(forms.Form):
    format = forms.ChoiceField(
        choices=Export.Format.choices,
        widget=forms.RadioSelect,
        help_text=(
            "The ZIP holds each panel's selected image with a manifest of its texts. "
            "The MP4 plays each panel for its duration, with an SRT of the dialogue; "
            "EDL and FCPXML are timelines for an editor, zipped with their frames."
        ),
    )
    layout = forms.ChoiceField(
        choices=layout_choices, help_text="How panels sit on a PDF page (ignored for a ZIP)."
    )
    paper = forms.ChoiceField(choices=[(p, _LABELS[p]) for p in PAPERS])
    orientation = forms.ChoiceField(choices=[(o, _LABELS[o]) for o in ORIENTATIONS])
    cover = forms.BooleanField(required=False, label="Cover page")
    cast_sheet = forms.BooleanField(
        required=False,
        label="Cast sheet",
        help_text="Each character on the board with the images of their default sheet.",
    )
    review_status = forms.BooleanField(
        required=False,
        label="Approval status and open comments",
        help_text="With each panel: draft, in review, changes requested or approved, "
        "and how many comment threads are still open. PDF only.",
    )
    fps = forms.TypedChoiceField(
        label="Frame rate",
        choices=[(f, f"{f} fps") for f in FPS_CHOICES],
        coerce=int,
        required=False,
        empty_value=None,
        help_text="MP4, EDL and FCPXML only.",
    )
    size = forms.TypedChoiceField(
        label="Frame size",
        choices=[(h, f"{h}p") for h in HEIGHT_CHOICES],
        coerce=int,
        required=False,
        empty_value=None,
        help_text="Height in pixels; the width follows the board's shape.",
    )
    captions = forms.BooleanField(
        required=False,
        label="Burn in captions",
        help_text="Shot number and dialogue drawn on the MP4's picture.",
    )
