"""Which generation backends exist, and which of them this studio has configured."""

from __future__ import annotations

import os

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


# One backend instance per process and configuration. Building one per step
# was most of a worker's CPU time: the bfl backend opens an httpx client whose
# SSL context alone costs tens of milliseconds, and a fresh client reconnects
# for every poll. The key holds the process id (a forked child must never
# share its parent's sockets) and the settings the backend is built from.
_instances: dict[tuple, Backend] = {}


def _config(name: str) -> tuple:
    if name == "bfl":
        return (
            settings.BFL_API_KEY,
            settings.BFL_BASE_URL,
            tuple(settings.BFL_RESULT_HOSTS),
            tuple(settings.BFL_POLLING_ORIGINS),
            settings.BFL_MAX_ACTIVE,
            settings.BFL_MODEL,
        )
    return ()


def get_backend(name: str, model: str = "") -> Backend:
    """A backend instance ready to use; unknown or unconfigured names are an error."""
    key = (os.getpid(), name, model, _config(name))
    backend = _instances.get(key)
    if backend is None:
        if len(_instances) >= 8:
            _instances.clear()  # settings changed (tests) or a fork: start afresh
        backend = _instances[key] = _build(name, model)
    return backend


def _build(name: str, model: str) -> Backend:
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
