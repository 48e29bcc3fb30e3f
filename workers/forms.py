from __future__ import annotations

import base64
import binascii

from django import forms

from workers.backends.masks import MAX_FEATHER

_PNG_DATA_URL = "data:image/png;base64,"


class InstructionForm(forms.Form):
    instruction = forms.CharField(
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. make it night, mirror, zoom in"}),
    )


class BoardGenerateForm(forms.Form):
    panels = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=())
    variation = forms.BooleanField(required=False)

    def __init__(self, *args, panel_ids: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        panels = self.fields["panels"]
        assert isinstance(panels, forms.ChoiceField)
        panels.choices = [(pk, pk) for pk in panel_ids]


class RegionEditForm(forms.Form):
    """An edit limited to a painted region: the mask comes from the page's canvas as a PNG."""

    instruction = forms.CharField(max_length=500)
    mask = forms.CharField(
        error_messages={"required": "Paint over the part of the picture to change, then send."}
    )
    feather = forms.IntegerField(min_value=0, max_value=MAX_FEATHER, required=False)
    invert = forms.BooleanField(required=False)

    def clean_mask(self) -> bytes:
        text = self.cleaned_data["mask"]
        if not text.startswith(_PNG_DATA_URL):
            raise forms.ValidationError("The painted mask did not arrive; paint again and send.")
        try:
            return base64.b64decode(text[len(_PNG_DATA_URL) :], validate=True)
        except (binascii.Error, ValueError):
            raise forms.ValidationError(
                "The painted mask did not arrive whole; paint again and send."
            ) from None
