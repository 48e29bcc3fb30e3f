"""Which generation backends exist, and which of them this studio has configured."""

from __future__ import annotations

from django.conf import settings

from workers.backends.base import Backend, Capabilities


def configured_backends() -> list[str]:
    """Backend names a project may pick: `sketch` always, providers once their key is set."""
    names = ["sketch"]
    if settings.BFL_API_KEY:
        names.append("bfl")
    return names


def default_backend() -> str:
    return settings.STUDIO_BACKEND


def default_model(backend: str) -> str:
    return settings.BFL_MODEL if backend == "bfl" else "sketch-v1"


def models_for(backend: str) -> tuple[str, ...]:
    return get_backend(backend).capabilities().models


def get_backend(name: str, model: str = "") -> Backend:
    """A backend instance ready to use; unknown or unconfigured names are an error."""
    if name == "sketch":
        from workers.backends.sketch import SketchBackend

        return SketchBackend()
    if name == "bfl":
        if not settings.BFL_API_KEY:
            raise LookupError("The bfl backend needs BFL_API_KEY in the environment.")
        from workers.backends.bfl import BFLBackend

        return BFLBackend.from_settings(model or settings.BFL_MODEL)
    raise LookupError(
        f"Unknown generation backend “{name}”: use one of {', '.join(configured_backends())}."
    )


def capabilities(name: str, model: str = "") -> Capabilities:
    return get_backend(name, model).capabilities(model or default_model(name))


def is_paid(name: str) -> bool:
    """Paid backends are never resubmitted when a submit's outcome is unknown."""
    return name != "sketch"


def estimate_cost(name: str, compiled) -> float:
    """Credits a compiled request is expected to cost (0 for local backends)."""
    if name != "bfl":
        return 0.0
    from workers.backends.bfl import estimate_cost as bfl_estimate

    refs = 1 if compiled.packed else len(compiled.chosen)
    return bfl_estimate(compiled.model, compiled.width, compiled.height, refs)
