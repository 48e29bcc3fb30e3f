"""Forms of the script import pages: the upload with its options, and the options on the preview."""

from __future__ import annotations

from django import forms

from boards.script.breakdown import BOARD_NAME_MAX, Options
from boards.script.decode import MAX_BYTES
from boards.script.read import EXTENSIONS


class ScriptOptionsForm(forms.Form):
    merge_dialogue = forms.BooleanField(
        label="Put dialogue into the action panel before it",
        required=False,
        help_text="Fewer panels: each action panel carries the speech that follows it.",
    )
    single_board = forms.CharField(
        label="One board for the whole script",
        required=False,
        max_length=BOARD_NAME_MAX,
        help_text="Type a board name to put every scene on one board, in order. "
        "Leave empty for one board per scene.",
    )
    revise = forms.BooleanField(
        label="Update the boards made from the earlier draft",
        required=False,
        initial=True,
        help_text="Panels keep their takes and comments; changed ones are marked "
        "“script changed”, new beats are added in place, cut ones are flagged, never deleted.",
    )

    def __init__(self, *args, can_revise: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not can_revise:
            del self.fields["revise"]

    def options(self) -> Options:
        return Options(
            merge_dialogue=self.cleaned_data["merge_dialogue"],
            single_board=self.cleaned_data["single_board"].strip(),
        )


class ScriptUploadForm(ScriptOptionsForm):
    file = forms.FileField(
        label="Script file",
        help_text="Fountain (.fountain, .spmd, .txt) or Final Draft (.fdx), up to 10 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )

    field_order = ["file", "merge_dialogue", "single_board", "revise"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:.1f} MB; scripts up to "
                f"{MAX_BYTES // 1024 // 1024} MB can be imported."
            )
        return upload
