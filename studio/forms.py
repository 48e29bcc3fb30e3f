from __future__ import annotations

from django import forms

from studio.models import Membership, Project


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


class MemberAddForm(forms.Form):
    identifier = forms.CharField(label="Username or email", max_length=254)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.EDITOR)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
