from __future__ import annotations

from django import forms

from reviews.models import PanelReview
from reviews.services import MAX_BODY


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=MAX_BODY,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Write something before posting the comment.",
            "max_length": f"A comment can be at most {MAX_BODY} characters long.",
        },
    )
    panel = forms.IntegerField(required=False, widget=forms.HiddenInput)
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)
    take = forms.IntegerField(required=False, widget=forms.HiddenInput)
    x = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    y = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    w = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)
    h = forms.FloatField(required=False, min_value=0, max_value=1, widget=forms.HiddenInput)


class CommentEditForm(forms.Form):
    body = forms.CharField(max_length=MAX_BODY, strip=True)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=PanelReview.Status.choices)


class LinkForm(forms.Form):
    label = forms.CharField(
        label="Who is it for?",
        max_length=120,
        required=False,
        help_text="Only for you, to tell links apart (e.g. “Client, first cut”).",
    )
    days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        max_value=365,
        required=False,
        help_text="Empty: the link works until you revoke it.",
    )
    allow_comments = forms.BooleanField(label="Guests may comment", required=False)
    allow_approvals = forms.BooleanField(label="Guests may approve", required=False)


class GuestNameForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=60,
        strip=True,
        help_text="Shown next to your comments, so the team knows who wrote them.",
        error_messages={"required": "Give the name the team should see next to your comments."},
    )
