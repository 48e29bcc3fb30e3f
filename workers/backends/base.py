"""The small interface every generation backend implements.

A backend turns a `GenerationRequest` into image bytes in three steps that
map onto a paid provider's protocol: `submit` (may cost money, must never be
repeated blindly), `poll` (free, safe to repeat) and `fetch` (download the
result at once). A local backend such as `sketch` renders during `submit`
and hands the bytes back in the `Submission` itself.

Backends raise the `BackendError` subclasses below, never raw transport
exceptions, so the job pipeline can decide retry / fail / needs-review from
the class alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

ReferenceRole = Literal["edit_source", "previous", "cast", "location", "style"]
ShotType = Literal["ews", "ws", "fs", "mws", "ms", "mcu", "cu", "ecu", "insert"]


@dataclass(frozen=True)
class Capabilities:
    max_references: int
    # True for models that take exactly one input image (FLUX.1 Kontext):
    # the compiler packs the chosen references into one labelled board.
    single_input_image: bool
    instruction_edits: bool
    seeds: bool
    # "pixels": width/height are sent; "aspect_ratio": only the ratio string.
    size_mode: Literal["pixels", "aspect_ratio"]
    # Tasks in flight at the provider, all workers together.
    max_active: int
    models: tuple[str, ...] = ()
    # Region edits: the model takes a mask (white = change). Without it the
    # region is described in the prompt and the pipeline puts the pixels
    # outside the mask back (`workers.backends.masks.composite`).
    masks: bool = False
    # Largest output the model makes, in pixels (0: no stated limit).
    max_pixels: int = 0


@dataclass(frozen=True)
class Reference:
    """One encoded image sent as conditioning, with where it came from."""

    role: ReferenceRole
    label: str  # human text printed on packed boards, e.g. "Mara (face)"
    data: bytes  # encoded PNG/JPEG/WebP bytes as stored
    sha256: str
    source_id: int | None = None  # ReferenceImage / LocationImage / StyleImage / Take id
    character: str = ""  # cast member name for role "cast"


@dataclass(frozen=True)
class CastPlacement:
    """Staging for one cast member; the sketch backend draws from this."""

    name: str
    placement: str  # free text: "left", "right", "center", "background", ...
    expression: str
    reference_index: int | None  # index into GenerationRequest.references, or None


@dataclass(frozen=True)
class Scene:
    shot_type: ShotType = "ms"
    camera_angle: str = "eye"
    action: str = ""
    cast: tuple[CastPlacement, ...] = ()
    location_index: int | None = None  # index into references of the location image


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    references: tuple[Reference, ...]
    width: int
    height: int
    aspect_ratio: str  # "16:9", "21:9", ...
    seed: int
    model: str = ""
    # Instruction edits: the take being edited is references[0] (role "edit_source").
    instruction: str = ""
    scene: Scene = field(default_factory=Scene)
    # Region edits: PNG, greyscale, the edited take's size; 255 = change, 0 = keep.
    mask: bytes = b""

    def full_prompt(self) -> str:
        """The text to send: the prompt, or for an edit the instruction with the prompt as context."""
        if not self.instruction:
            return self.prompt
        context = self.prompt.strip()
        instruction = self.instruction.strip()
        return f"{instruction}\n\nContext: {context}" if context else instruction


@dataclass(frozen=True)
class Submission:
    task_id: str
    polling_url: str = ""
    cost: float | None = None  # credits (1 credit = 1 US cent) when the provider says
    image: bytes | None = None  # set when the backend finished during submit
    # Where to stop the task, when the provider hands out a URL for that (fal, Replicate).
    cancel_url: str = ""


@dataclass(frozen=True)
class PollResult:
    state: Literal["running", "ready"]
    sample_url: str = ""
    progress: float | None = None
    raw_status: str = ""


class Backend(Protocol):
    """A generation backend. The class declares itself; `workers.registry` reads the declaration.

    - `name`: what `STUDIO_BACKEND` and projects call it;
    - `setting_names`: the settings (environment variables) it is built from,
      `required`: those that must be set for it to be offered at all;
    - `model_setting`: the setting naming its default model ("" if it has one model),
      `models`: the models a project may pick;
    - `paid`: a paid backend is never resubmitted when a submit's outcome is
      unknown, and must state a `price` for every model it offers;
    - `price(model, width, height, references)`: credits (1 credit = 1 US
      cent) one request is expected to cost, None when unknown;
    - `fill_model`: the model region edits switch to (it takes the take and a
      mask), "" when the backend has none: region edits then keep the
      project's model, which gets the region in words and has the pixels
      outside the mask put back.

    A backend whose provider documents a way to stop a task also has
    `cancel(submission)`: best-effort, free, harmless to repeat; it raises
    `BackendError`s like the other calls. Without it a cancelled job's task
    simply runs out at the provider.
    """

    name: ClassVar[str]
    paid: ClassVar[bool]
    setting_names: ClassVar[tuple[str, ...]]
    required: ClassVar[tuple[str, ...]]
    model_setting: ClassVar[str]
    models: ClassVar[tuple[str, ...]]
    fill_model: ClassVar[str]

    @classmethod
    def from_settings(cls, model: str = "") -> Backend: ...

    @classmethod
    def price(cls, model: str, width: int, height: int, references: int) -> float | None: ...

    def capabilities(self, model: str = "") -> Capabilities: ...

    def submit(self, request: GenerationRequest) -> Submission: ...

    def poll(self, submission: Submission) -> PollResult: ...

    def fetch(self, url: str) -> bytes: ...


class BackendError(Exception):
    """Base class. `code` is stored on the job; `message` is shown to people."""

    code = "backend_error"
    retryable = False

    def __init__(self, message: str = "", *, retry_after: float | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = str(self.args[0])
        self.retry_after = retry_after


class AuthError(BackendError):
    """The provider refused the API key (401/403). Check BFL_API_KEY."""

    code = "auth"


class OutOfCredits(BackendError):
    """The provider account is out of credits (402). Top it up, then retry."""

    code = "out_of_credits"


class InvalidRequest(BackendError):
    """The provider refused the request as invalid (422)."""

    code = "invalid_request"


class RateLimited(BackendError):
    """Too many tasks in flight at the provider (429); wait and retry."""

    code = "rate_limited"
    retryable = True


class TransientError(BackendError):
    """A temporary failure while polling or downloading; safe to retry."""

    code = "transient"
    retryable = True


class OutcomeUnknown(BackendError):
    """The submit may or may not have reached the provider (timeout or 5xx after sending)."""

    code = "outcome_unknown"


class Moderated(BackendError):
    """The provider's moderation refused the input or the output. Final."""

    code = "moderated"


class ProviderFailed(BackendError):
    """The provider reported the task failed or unknown."""

    code = "provider_failed"


class ResultUnavailable(BackendError):
    """The result could not be downloaded (expired, refused host, too large, too slow)."""

    code = "result_unavailable"


class UnsupportedInstruction(BackendError):
    """The backend cannot carry out this edit instruction."""

    code = "unsupported_instruction"


class ResultRefused(ResultUnavailable):
    """The result was refused by policy (host not allowed, private address, too large)."""

    code = "result_refused"
