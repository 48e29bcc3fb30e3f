"""Forms of the board pages. They check input only; writes go through boards.services."""

from __future__ import annotations

from django import forms
from django.forms.models import fields_for_model

from boards.models import Board, Panel
from boards.services import CastEntry
from characters.models import Character, Location
from studio.edits import EditForm, State
from studio.images import upload_limits

# The panel editor's fields, in the order an artist fills them in.
PANEL_FIELDS = (
    "action",
    "dialogue",
    "notes",
    "shot_type",
    "camera_angle",
    "duration",
    "seed",
    "continue_previous",
)
# What the quick edit on a board card changes.
INLINE_FIELDS = ("action", "dialogue", "shot_type")


class BoardForm(EditForm, forms.ModelForm):
    # The aspect and its custom size merge as one: half of each would not be a shape.
    merge_fields = (
        ("name", "Name"),
        ("kind", "Kind"),
        ("aspect", "Aspect ratio"),
        ("description", "Description"),
    )

    class Meta:
        model = Board
        fields = ["name", "kind", "aspect", "custom_width", "custom_height", "description"]
        labels = {"custom_width": "Custom width", "custom_height": "Custom height"}
        help_texts = {
            "aspect": "The shape of every panel frame on this board.",
            "custom_width": "Only for a custom aspect, e.g. 21 for 21:9; from 1:4 to 4:1.",
            "custom_height": "Only for a custom aspect, e.g. 9 for 21:9.",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        if data.get("aspect") == Board.Aspect.CUSTOM:
            for name in ("custom_width", "custom_height"):
                if not data.get(name):
                    self.add_error(name, "A custom aspect needs a width and a height above 0.")
        return data

    def service_fields(self) -> dict:
        """The cleaned values as keyword arguments for board_create / board_update."""
        data = dict(self.cleaned_data)
        if data.get("aspect") != Board.Aspect.CUSTOM:
            data["custom_width"] = data["custom_height"] = None
        return data

    def merge_values(self) -> dict:
        data = self.service_fields()
        data["aspect"] = (data["aspect"], data.pop("custom_width"), data.pop("custom_height"))
        return data

    def show(self, key, value) -> str:
        if key == "aspect":
            aspect, width, height = value
            if aspect == Board.Aspect.CUSTOM:
                return f"{width}:{height} (custom)"
            return str(Board.Aspect(aspect).label)
        return super().show(key, value)


def board_state(board: Board) -> State:
    """A board as saved now, in BoardForm.merge_values' terms."""
    aspect = (board.aspect, board.custom_width, board.custom_height)
    values = {"name": board.name, "kind": board.kind, "aspect": aspect}
    return State(board.version, {**values, "description": board.description})


def board_fields(values: dict) -> dict:
    """Merged values as keyword arguments for board_update."""
    fields = dict(values)
    fields["aspect"], fields["custom_width"], fields["custom_height"] = fields["aspect"]
    return fields


def _panel_fields(names: tuple[str, ...]) -> dict[str, forms.Field]:
    fields = fields_for_model(Panel, fields=list(names))
    for name in ("action", "dialogue", "notes"):
        if name in fields:
            fields[name].widget.attrs["rows"] = 3
    if "seed" in fields:
        fields[
            "seed"
        ].help_text = (
            "Leave empty to keep the seed this panel was given; “Variation” tries a new one."
        )
    if "continue_previous" in fields:
        fields[
            "continue_previous"
        ].help_text = (
            "Use the previous panel's selected take as a reference, for shots that follow on."
        )
    return fields


def _labels(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    fields = fields_for_model(Panel, fields=list(names))
    return tuple((name, str(fields[name].label)) for name in names)


class PanelInlineForm(EditForm):
    """Action, dialogue and shot type, edited right on the board card."""

    merge_fields = _labels(INLINE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(_panel_fields(INLINE_FIELDS))


class PanelForm(EditForm):
    """Every text field of a panel plus its location, picked among the project's.

    The cast rows are a formset of their own; `cast` is given so that the
    merge of a stale save can offer the cast as one more field.
    """

    merge_fields = (
        *_labels(PANEL_FIELDS[:5]),
        ("location", "Location"),
        ("cast", "Cast"),
        *_labels(PANEL_FIELDS[5:]),
    )

    def __init__(self, *args, locations: list[Location], cast=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cast = cast
        self._locations = {loc.pk: loc for loc in locations}
        self.fields.update(_panel_fields(PANEL_FIELDS[:5]))
        # A choice list built once from the prefetched rows: ids of other
        # projects' locations are not among the choices, so they are refused.
        self.fields["location"] = forms.TypedChoiceField(
            choices=[("", "No location")] + [(loc.pk, loc.name) for loc in locations],
            coerce=int,
            empty_value=None,
            required=False,
            help_text="Its reference images condition the generated frame.",
        )
        self.fields.update(_panel_fields(PANEL_FIELDS[5:]))

    def clean_location(self) -> Location | None:
        pk = self.cleaned_data.get("location")
        return self._locations.get(pk) if pk else None

    def service_fields(self) -> dict:
        """Panel fields for boards.services.panel_save (location included)."""
        data = dict(self.cleaned_data)
        return data

    def merge_values(self) -> dict:
        return {**self.service_fields(), "cast": self.cast.entries()}

    def show(self, key, value) -> str:
        if key == "cast":
            return "\n".join(self._cast_line(entry) for entry in value)
        return super().show(key, value)

    def _cast_line(self, entry: CastEntry) -> str:
        people = {c.pk: c for c in self.cast.characters}
        character = people.get(entry.character_id)
        sheets = {s.pk: s.name for s in character.sheets.all()} if character else {}
        parts = [
            character.name if character else "(a character no longer in the project)",
            sheets.get(entry.sheet_id, "default sheet") if entry.sheet_id else "default sheet",
            entry.placement,
            entry.expression,
        ]
        return ", ".join(part for part in parts if part)


def panel_state(panel: Panel) -> State:
    """A panel (cast prefetched) as saved now, in PanelForm.merge_values' terms."""
    values = {name: getattr(panel, name) for name in PANEL_FIELDS}
    values["location"] = panel.location
    values["cast"] = [
        CastEntry(m.character_id, m.sheet_id, m.placement, m.expression) for m in panel.cast.all()
    ]
    return State(panel.version, values)


class CastRowForm(forms.Form):
    """One cast member: who, in which look, where and how."""

    character = forms.TypedChoiceField(coerce=int, empty_value=None, required=False)
    sheet = forms.TypedChoiceField(
        coerce=int, empty_value=None, required=False, label="Reference sheet"
    )
    placement = forms.CharField(max_length=120, required=False)
    expression = forms.CharField(max_length=200, required=False, label="Expression note")

    def __init__(self, *args, characters: list[Character], **kwargs):
        super().__init__(*args, **kwargs)
        character_field, sheet_field = self.fields["character"], self.fields["sheet"]
        assert isinstance(character_field, forms.ChoiceField)
        assert isinstance(sheet_field, forms.ChoiceField)
        character_field.choices = [("", "— nobody —")] + [(c.pk, c.name) for c in characters]
        # Grouped by character so the list still reads well without JS.
        sheet_field.choices = [("", "Default sheet")] + [
            (c.name, [(s.pk, s.name) for s in c.sheets.all()]) for c in characters
        ]
        self.fields["placement"].widget.attrs["placeholder"] = "e.g. left, foreground"
        self.fields["expression"].widget.attrs["placeholder"] = "e.g. worried, smiling"
        self.sheet_owner = {s.pk: c.pk for c in characters for s in c.sheets.all()}

    def clean(self):
        data = super().clean()
        character, sheet = data.get("character"), data.get("sheet")
        if sheet and character and self.sheet_owner.get(sheet) != character:
            self.add_error("sheet", "That sheet belongs to another character.")
        return data

    def entry(self) -> CastEntry | None:
        """The row as a CastEntry, or None for a blank row."""
        data = self.cleaned_data
        if not data.get("character"):
            return None
        return CastEntry(
            character_id=data["character"],
            sheet_id=data.get("sheet"),
            placement=data.get("placement", ""),
            expression=data.get("expression", ""),
        )


class BaseCastFormSet(forms.BaseFormSet):
    def __init__(self, *args, characters: list[Character], **kwargs):
        self.characters = characters
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"characters": self.characters}

    def clean(self):
        if any(self.errors):
            return
        seen: set[int] = set()
        for form in self.forms:
            entry = form.entry()
            if entry is None:
                continue
            if entry.character_id in seen:
                raise forms.ValidationError("Each character can appear only once in a panel.")
            seen.add(entry.character_id)

    def entries(self) -> list[CastEntry]:
        """Filled rows in the order they were given."""
        return [e for e in (f.entry() for f in self.forms) if e is not None]


# Three blank rows so the picker works without JS; JS adds more on demand.
CastFormSet = forms.formset_factory(CastRowForm, formset=BaseCastFormSet, extra=3, max_num=30)


def cast_initial(panel: Panel) -> list[dict]:
    """The formset's initial rows from a panel whose cast is prefetched."""
    return [
        {
            "character": m.character_id,
            "sheet": m.sheet_id,
            "placement": m.placement,
            "expression": m.expression,
        }
        for m in panel.cast.all()
    ]


class TakeUploadForm(forms.Form):
    image = forms.FileField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read when the page is drawn: the limits are settings.
        self.fields[
            "image"
        ].help_text = (
            f"A drawing or photo made by hand; it becomes the selected take. {upload_limits()}."
        )


# The nine points a person can pick as "keep in view", as (across, down) percents.
CROP_POINTS = {
    f"{x},{y}": f"{v_label} {h_label}".strip().capitalize() if (x, y) != (50, 50) else "Centre"
    for y, v_label in ((0, "top"), (50, ""), (100, "bottom"))
    for x, h_label in ((0, "left"), (50, "centre" if y != 50 else ""), (100, "right"))
}


class PanelCropForm(forms.Form):
    """Which part of the picture a comic frame keeps when it crops it."""

    focus = forms.ChoiceField(choices=list(CROP_POINTS.items()), widget=forms.RadioSelect)

    @staticmethod
    def initial_for(panel) -> dict[str, str]:
        key = f"{panel.focus_x},{panel.focus_y}"
        return {"focus": key if key in CROP_POINTS else "50,50"}

    @property
    def focus_label(self) -> str:
        return CROP_POINTS.get(str(self["focus"].value()), "Centre")

    def point(self) -> tuple[int, int]:
        x, y = self.cleaned_data["focus"].split(",")
        return int(x), int(y)
