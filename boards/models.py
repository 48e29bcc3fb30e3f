from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from characters.models import Character, Location, ReferenceSheet
from studio.models import Project, StoredImage


class Board(models.Model):
    class Kind(models.TextChoices):
        STORYBOARD = "storyboard", "Storyboard"
        COMIC = "comic", "Comic"

    class Aspect(models.TextChoices):
        WIDE = "16:9", "16:9 (HD)"
        SCOPE = "2.39:1", "2.39:1 (scope)"
        FLAT = "1.85:1", "1.85:1 (flat)"
        CLASSIC = "4:3", "4:3"
        SQUARE = "1:1", "1:1 (square)"
        PORTRAIT = "4:5", "4:5 (portrait)"
        VERTICAL = "9:16", "9:16 (vertical)"
        CUSTOM = "custom", "Custom"

    project = models.ForeignKey(Project, models.CASCADE, related_name="boards")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STORYBOARD)
    aspect = models.CharField(max_length=8, choices=Aspect.choices, default=Aspect.WIDE)
    custom_width = models.PositiveIntegerField(null=True, blank=True)
    custom_height = models.PositiveIntegerField(null=True, blank=True)
    # The export form's last settings, so the next export starts from them.
    export_settings = models.JSONField(default=dict, blank=True)
    # One more on each edit; a form saves only while it matches (studio.edits).
    version = models.PositiveIntegerField(default=1, editable=False)
    # Where an imported board came from, so a revised script updates it:
    # {"source": file name, "scene": scene key, "order": scene index}; empty when typed by hand.
    script = models.JSONField(default=dict, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(aspect="custom") | Q(custom_width__gt=0, custom_height__gt=0),
                name="board_custom_aspect_has_size",
            ),
        ]

    # Custom shapes stay within what a frame, a page cell and a provider can use.
    MAX_RATIO = 4

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        width, height = self.custom_width, self.custom_height
        if self.aspect != self.Aspect.CUSTOM or not width or not height:
            return
        if not 1 / self.MAX_RATIO <= width / height <= self.MAX_RATIO:
            shape = "wide" if width > height else "tall"
            raise ValidationError(
                {
                    "custom_width": f"{width}:{height} is too {shape}: a custom aspect goes from "
                    f"1:{self.MAX_RATIO} (tall) to {self.MAX_RATIO}:1 (wide)."
                }
            )

    @property
    def ratio(self) -> float:
        """Width over height."""
        if self.aspect == self.Aspect.CUSTOM:
            return (self.custom_width or 16) / (self.custom_height or 9)
        w, h = self.aspect.split(":")
        return float(w) / float(h)

    @property
    def aspect_css(self) -> str:
        """A CSS class suffix for the frame shape (the CSP forbids inline styles)."""
        if self.aspect == self.Aspect.CUSTOM:
            return "custom"
        return self.aspect.replace(":", "-").replace(".", "_")


class Panel(models.Model):
    class Shot(models.TextChoices):
        EXTREME_WIDE = "ews", "Extreme wide"
        WIDE = "ws", "Wide"
        FULL = "fs", "Full shot"
        MEDIUM_WIDE = "mws", "Medium wide"
        MEDIUM = "ms", "Medium"
        MEDIUM_CLOSE = "mcu", "Medium close-up"
        CLOSE = "cu", "Close-up"
        EXTREME_CLOSE = "ecu", "Extreme close-up"
        INSERT = "insert", "Insert"

    class Angle(models.TextChoices):
        EYE = "eye", "Eye level"
        HIGH = "high", "High angle"
        LOW = "low", "Low angle"
        OVERHEAD = "overhead", "Overhead"
        WORMS_EYE = "worms_eye", "Worm's-eye"
        DUTCH = "dutch", "Dutch angle"
        OVER_SHOULDER = "ots", "Over the shoulder"
        POV = "pov", "Point of view"

    class ScriptState(models.TextChoices):
        CURRENT = "", "As in the script"
        CHANGED = "changed", "Script changed"
        GONE = "gone", "Gone from the script"

    board = models.ForeignKey(Board, models.CASCADE, related_name="panels")
    position = models.PositiveIntegerField()
    action = models.TextField(blank=True)
    dialogue = models.TextField(blank=True)
    notes = models.TextField("caption / notes", blank=True)
    shot_type = models.CharField(max_length=8, choices=Shot.choices, default=Shot.MEDIUM)
    camera_angle = models.CharField(max_length=10, choices=Angle.choices, default=Angle.EYE)
    duration = models.DecimalField(
        "duration (s)",
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("3600"))],
    )
    location = models.ForeignKey(
        Location, models.SET_NULL, null=True, blank=True, related_name="panels"
    )
    seed = models.PositiveBigIntegerField(null=True, blank=True)
    continue_previous = models.BooleanField("continue from previous panel", default=False)
    # One more on each edit; a form saves only while it matches (studio.edits).
    version = models.PositiveIntegerField(default=1, editable=False)
    selected_take = models.ForeignKey(
        "Take", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The script beat this panel was made from: a key stable across revisions
    # and the beat's text, which a re-import compares the revised beats with.
    script_key = models.CharField(max_length=80, blank=True)
    script_text = models.TextField(blank=True)
    script_state = models.CharField(
        max_length=8, choices=ScriptState.choices, default=ScriptState.CURRENT, blank=True
    )
    # On a board that holds a whole script, the scene this panel belongs to
    # ("12A INT. LIGHTHOUSE - NIGHT"); the board page heads each run of panels
    # of one scene with it. Empty on a board of one scene or typed by hand.
    scene = models.CharField(max_length=200, blank=True)
    # Where a comic page crops the picture to its frame: the point (percent
    # of width and height) that stays in view.
    focus_x = models.PositiveSmallIntegerField(
        "crop focus across (%)", default=50, validators=[MaxValueValidator(100)]
    )
    focus_y = models.PositiveSmallIntegerField(
        "crop focus down (%)", default=50, validators=[MaxValueValidator(100)]
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["board_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["board", "position"], name="panel_unique_position"),
            models.CheckConstraint(
                condition=Q(focus_x__lte=100, focus_y__lte=100), name="panel_focus_is_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.board.name} #{self.number}"

    @property
    def number(self) -> int:
        """Shot number as people read it (1-based)."""
        return self.position + 1

    @property
    def duration_label(self) -> str:
        """The duration as an artist writes it: "3.5 s", "4 s", "" when unset."""
        return "" if self.duration is None else f"{self.duration.normalize():f} s"


class CastMember(models.Model):
    """A character in a panel, with the look (sheet) and staging used there."""

    panel = models.ForeignKey(Panel, models.CASCADE, related_name="cast")
    character = models.ForeignKey(Character, models.CASCADE, related_name="appearances")
    # Null: the character's default sheet at generation time.
    sheet = models.ForeignKey(
        ReferenceSheet, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    placement = models.CharField(max_length=120, blank=True)
    expression = models.CharField("expression note", max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "character"], name="cast_once_per_panel"),
        ]

    def __str__(self) -> str:
        return f"{self.character.name} in {self.panel}"


class Take(StoredImage):
    """One image made for a panel. Never overwritten: a panel's history is its takes."""

    class Kind(models.TextChoices):
        GENERATED = "generated", "Generated"
        EDITED = "edited", "Edited"
        UPLOADED = "uploaded", "Uploaded"

    panel = models.ForeignKey(Panel, models.CASCADE, related_name="takes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # CASCADE, not SET_NULL: an edit must name its parent (take_edit_has_parent),
    # and takes only ever go together with their panel.
    parent = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="children"
    )
    instruction = models.TextField(blank=True)
    # Region edits: the mask the edit was limited to (PNG, this take's parent's
    # size, white = changed), kept as the take's provenance.
    mask = models.FileField(max_length=300, blank=True)
    prompt = models.TextField(blank=True)
    # The request as sent: references by id and sha256, seed, backend, model, size.
    request = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True)
    seed = models.PositiveBigIntegerField(null=True, blank=True)
    backend = models.CharField(max_length=40, blank=True)
    model = models.CharField(max_length=60, blank=True)
    cost = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # Serves "has this exact request already produced a take for this panel?"
            models.Index(fields=["panel", "fingerprint"], name="take_panel_fingerprint"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="edited") | Q(parent__isnull=False),
                name="take_edit_has_parent",
            ),
        ]

    def __str__(self) -> str:
        return f"Take {self.pk} of {self.panel}"


class Export(models.Model):
    """One export of a board (PDF, ZIP, MP4 or an editor's timeline), made in the background.

    The file lives under `projects/<project id>/exports/`, so the
    permission-checked media view serves it to members only.
    """

    class Format(models.TextChoices):
        PDF = "pdf", "PDF"
        ZIP = "zip", "ZIP of images"
        MP4 = "mp4", "MP4 animatic"
        EDL = "edl", "EDL timeline (ZIP)"
        FCPXML = "fcpxml", "FCPXML timeline (ZIP)"

    # Formats made by the animatic renderers: timed panels rather than pages.
    ANIMATIC_FORMATS = ("mp4", "edl", "fcpxml")

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Exporting"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = ("queued", "running")

    board = models.ForeignKey(Board, models.CASCADE, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.PDF)
    # The form's settings as asked: layout, paper, orientation, cover, cast_sheet.
    options = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    file = models.FileField(max_length=300, blank=True)
    # The MP4's SRT, stored beside it and deleted with it.
    subtitles = models.FileField(max_length=300, blank=True)
    # What was changed to make the board play (clamped durations), one line each.
    notes = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Scripts some text was written in that no installed font could print.
    missing_scripts = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [
            # Serves the cleanup: "finished exports whose time is up".
            models.Index(fields=["state", "expires"], name="export_state_expires"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="export_progress_is_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} of {self.board} ({self.format}, {self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class ScriptImport(models.Model):
    """One confirmed script import, saved in the background with its progress.

    The preview's upload and choices wait here until a worker saves them in
    one transaction; the page polls `progress` the way export pages do.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    ACTIVE_STATES = ("queued", "running")

    project = models.ForeignKey(Project, models.CASCADE, related_name="script_imports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(max_length=255)  # as uploaded, for messages
    path = models.CharField(max_length=300)  # the stashed upload in storage
    # merge_dialogue, single_board, revise; and the preview's cast and place choices.
    options = models.JSONField(default=dict, blank=True)
    choices = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=80, blank=True)
    error = models.TextField(blank=True)
    summary = models.TextField(blank=True)  # "Imported x.fountain: 3 boards, 6 panels."
    board_ids = models.JSONField(default=list, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="script_import_progress_is_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.file_name} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES
