from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm

from studio.mail import mail_send
from studio.models import Membership, Project, User


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"description": "What is it? A comic, a film, a campaign… (optional)"}


class ProjectSettingsForm(forms.ModelForm):
    generator = forms.ChoiceField(
        label="Image generation",
        required=False,
        help_text="Which configured backend and model draws this project's panels.",
    )

    class Meta:
        model = Project
        fields = ["name", "description", "spending_cap"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"spending_cap": "Spending cap (credits, 1 credit = 1 US cent)"}
        help_texts = {
            "spending_cap": "Generation requests that would pass it are refused. Empty: no cap."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from workers import registry

        default = registry.default_backend()
        choices = [("", f"Studio default ({default}, {registry.default_model(default)})")]
        for backend in registry.configured_backends():
            choices += [(f"{backend}:{m}", f"{backend}: {m}") for m in registry.models_for(backend)]
        field = self.fields["generator"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        if self.instance.backend:
            field.initial = f"{self.instance.backend}:{self.instance.model}"

    def save(self, commit: bool = True) -> Project:
        backend, _, model = self.cleaned_data.get("generator", "").partition(":")
        self.instance.backend, self.instance.model = backend, model
        return super().save(commit=commit)

    def clean_spending_cap(self):
        cap = self.cleaned_data["spending_cap"]
        if cap is not None and cap < 0:
            raise forms.ValidationError("The cap cannot be negative.")
        return cap


class InviteForm(forms.Form):
    identifier = forms.CharField(
        label="Username or email",
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "ana@example.com"}),
    )
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


class AccountCreateForm(UserCreationForm):
    """A new person's username, name and password (an accepted invitation)."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "first_name")
        labels = {"first_name": "Your name"}
        help_texts = {"username": "You log in with it; letters, digits and @ . + - _ only."}


class SignupForm(AccountCreateForm):
    """Open sign-up (STUDIO_SIGNUP): the same, with the address mail goes to."""

    class Meta(AccountCreateForm.Meta):
        fields = ("username", "first_name", "email")  # type: ignore[assignment]
        help_texts = {
            **AccountCreateForm.Meta.help_texts,
            "email": "For invitations, password resets and notifications.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True


class NotifySettingsForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["notify_email"]
        widgets = {"notify_email": forms.RadioSelect}
        labels = {"notify_email": "Email me about notifications"}


class QueuedPasswordResetForm(PasswordResetForm):
    """Django's reset form, but the mail leaves through the queue, never inside the request."""

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ):
        from django.template import loader

        subject = loader.render_to_string(subject_template_name, context)
        body = loader.render_to_string(email_template_name, context)
        mail_send(to=[to_email], subject=subject, body=body)
