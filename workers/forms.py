from __future__ import annotations

from django import forms


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
