"""Which generation backends exist, and which of them this studio has configured.

A table of backend classes: each class declares its name, settings, models,
capabilities, price and whether it is paid (see `workers.backends.base.Backend`),
so nothing here knows one backend from another. Classes are imported when
first used: a studio on the offline backend never loads the provider clients.
"""

from __future__ import annotations

import os
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from workers.backends.base import Backend, Capabilities

BACKENDS: dict[str, str] = {
    "sketch": "workers.backends.sketch.SketchBackend",
    "bfl": "workers.backends.bfl.BFLBackend",
    "fal": "workers.backends.fal.FalBackend",
    "replicate": "workers.backends.replicate.ReplicateBackend",
    "comfyui": "workers.backends.comfyui.ComfyUIBackend",
}


@cache
def backend_class(name: str) -> type[Backend]:
    """The class registered as `name`; unknown names are a LookupError that lists the known."""
    path = BACKENDS.get(name)
    if path is None:
        raise LookupError(f"Unknown generation backend “{name}”: use one of {', '.join(BACKENDS)}.")
    return import_string(path)


def is_configured(name: str) -> bool:
    """True when every setting the backend requires is set."""
    return all(getattr(settings, s, None) for s in backend_class(name).required)


def configured_backends() -> list[str]:
    """Backend names a project may pick: `sketch` always, providers once their key is set."""
    return [name for name in BACKENDS if is_configured(name)]


def default_backend() -> str:
    return settings.STUDIO_BACKEND


def default_model(backend: str) -> str:
    cls = backend_class(backend)
    configured = getattr(cls, "configured_model", None)  # when the setting is not a model name
    if configured is not None:
        return configured(settings)
    return getattr(settings, cls.model_setting) if cls.model_setting else cls.models[0]


def models_for(backend: str) -> tuple[str, ...]:
    return get_backend(backend).capabilities().models


def check_configuration() -> None:
    """Refuse to start with a backend that cannot work; each message says what to set.

    `STUDIO_BACKEND` must name a known backend whose required settings are
    set, and a configured paid backend must price every model it offers
    (a price of nothing would let its jobs pass every spending cap).
    """
    name = settings.STUDIO_BACKEND
    try:
        backend_class(name)
    except LookupError as exc:
        raise ImproperlyConfigured(f"STUDIO_BACKEND: {exc}") from exc
    missing = [s for s in backend_class(name).required if not getattr(settings, s, None)]
    if missing:
        raise ImproperlyConfigured(f"STUDIO_BACKEND={name} needs {', '.join(missing)}.")
    for configured in configured_backends():
        cls = backend_class(configured)
        check = getattr(cls, "check_settings", None)  # e.g. a workflow file to read
        if check is not None:
            try:
                check(settings)
            except ValueError as exc:
                raise ImproperlyConfigured(str(exc)) from exc
        problem = _unpriced(cls, default_model(configured))
        if problem:
            raise ImproperlyConfigured(problem)


def _unpriced(cls: type[Backend], default: str) -> str:
    """Why a paid backend may not be used (no price for a model it offers), or ""."""
    if not cls.paid:
        return ""
    offered = dict.fromkeys((default, *cls.models))
    unpriced = [m for m in offered if cls.price(m, 1024, 1024, 1) is None]
    if not unpriced:
        return ""
    setting = f" (check {cls.model_setting})" if cls.model_setting else ""
    priced = ", ".join(m for m in cls.models if m not in unpriced) or "none"
    return (
        f"The {cls.name} backend is paid but has no price for {', '.join(unpriced)}"
        f"{setting}; priced models: {priced}."
    )


# One backend instance per process and configuration. Building one per step
# was most of a worker's CPU time: the bfl backend opens an httpx client whose
# SSL context alone costs tens of milliseconds, and a fresh client reconnects
# for every poll. The key holds the process id (a forked child must never
# share its parent's sockets) and the settings the backend is built from.
_instances: dict[tuple, Backend] = {}


def _config(name: str) -> tuple:
    values = (getattr(settings, s, None) for s in backend_class(name).setting_names)
    return tuple(tuple(v) if isinstance(v, list) else v for v in values)


def get_backend(name: str, model: str = "") -> Backend:
    """A backend instance ready to use; unknown or unconfigured names are an error."""
    cls = backend_class(name)
    if not is_configured(name):
        raise LookupError(f"The {name} backend needs {', '.join(cls.required)} in the environment.")
    key = (os.getpid(), name, model, _config(name))
    backend = _instances.get(key)
    if backend is None:
        if len(_instances) >= 8:
            _instances.clear()  # settings changed (tests) or a fork: start afresh
        problem = _unpriced(cls, model or default_model(name))
        if problem:
            raise LookupError(problem)
        backend = _instances[key] = cls.from_settings(model)
    return backend


def region_edit_model(name: str, model: str) -> str:
    """The model a region edit goes to: the backend's fill model, when `model` takes no mask.

    A fill model receives the take and the mask itself, which keeps every
    other pixel better than describing the region to a model that cannot see
    the mask. A backend without one keeps `model` (the composite-back path).
    """
    if capabilities(name, model).masks:
        return model
    return backend_class(name).fill_model or model


def can_cancel(name: str) -> bool:
    """True when the backend can ask its provider to stop a task (see `Backend`)."""
    return name in BACKENDS and callable(getattr(backend_class(name), "cancel", None))


def capabilities(name: str, model: str = "") -> Capabilities:
    return get_backend(name, model).capabilities(model or default_model(name))


def is_paid(name: str) -> bool:
    """Paid backends are never resubmitted when a submit's outcome is unknown.

    A name no longer registered counts as paid: when in doubt, do not resubmit.
    """
    return name not in BACKENDS or backend_class(name).paid


def estimate_cost(name: str, compiled) -> float:
    """Credits a compiled request is expected to cost, from the backend's declared price."""
    cls = backend_class(name)
    model = compiled.model or default_model(name)
    refs = 1 if compiled.packed else len(compiled.chosen)
    price = cls.price(model, compiled.width, compiled.height, refs)
    if price is None:
        if cls.paid:
            raise LookupError(f"The {name} backend has no price for {model}; it cannot be used.")
        return 0.0
    return price
