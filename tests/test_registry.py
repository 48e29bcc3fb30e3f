"""The backend registry reads each backend's own declaration: name, settings, models, price."""

from __future__ import annotations

from types import SimpleNamespace
from typing import ClassVar

import pytest
from django.core.exceptions import ImproperlyConfigured

from workers import registry
from workers.backends.base import Capabilities


class MeteredBackend:
    """A paid backend for these tests; PRICE decides whether it states a price."""

    name: ClassVar[str] = "metered"
    paid: ClassVar[bool] = True
    setting_names: ClassVar[tuple[str, ...]] = ("METERED_KEY", "METERED_MODEL")
    required: ClassVar[tuple[str, ...]] = ("METERED_KEY",)
    model_setting: ClassVar[str] = "METERED_MODEL"
    models: ClassVar[tuple[str, ...]] = ("m-small", "m-large")
    fill_model: ClassVar[str] = ""
    PRICE: ClassVar[dict[str, float]] = {"m-small": 7.0, "m-large": 12.5}

    @classmethod
    def from_settings(cls, model: str = "") -> MeteredBackend:
        return cls()

    @classmethod
    def price(cls, model: str, width: int, height: int, references: int) -> float | None:
        return cls.PRICE.get(model)

    def capabilities(self, model: str = "") -> Capabilities:
        return Capabilities(8, False, True, True, "pixels", 4, models=self.models)


@pytest.fixture
def metered(monkeypatch, settings):
    monkeypatch.setitem(registry.BACKENDS, "metered", f"{__name__}.MeteredBackend")
    monkeypatch.setattr(MeteredBackend, "PRICE", dict(MeteredBackend.PRICE))
    registry.backend_class.cache_clear()
    settings.METERED_KEY = "k"
    settings.METERED_MODEL = "m-small"
    yield MeteredBackend
    registry.backend_class.cache_clear()


def _compiled(model: str, refs: int = 2) -> SimpleNamespace:
    return SimpleNamespace(model=model, width=1024, height=768, packed=False, chosen=[1] * refs)


@pytest.mark.parametrize("name", list(registry.BACKENDS))
def test_every_registered_backend_declares_itself(name):
    cls = registry.backend_class(name)
    assert cls.name == name
    assert set(cls.required) <= set(cls.setting_names)
    assert not cls.model_setting or cls.model_setting in cls.setting_names
    assert cls.models
    if cls.paid:
        assert all((cls.price(m, 1024, 1024, 1) or 0) > 0 for m in cls.models)
    # A region edit switches to the fill model: one the backend offers (and prices).
    assert not cls.fill_model or cls.fill_model in cls.models


def test_a_second_paid_backend_is_priced_from_its_declaration(metered):
    assert registry.estimate_cost("metered", _compiled("m-large")) == 12.5
    assert registry.is_paid("metered")
    assert registry.default_model("metered") == "m-small"


def test_paid_backend_without_a_price_cannot_be_configured(metered, settings):
    del metered.PRICE["m-large"]
    settings.STUDIO_BACKEND = "metered"
    with pytest.raises(
        ImproperlyConfigured, match="metered backend is paid but has no price for m-large"
    ):
        registry.check_configuration()
    with pytest.raises(LookupError, match="no price for m-large"):
        registry.get_backend("metered", "m-large")


def test_backend_is_offered_only_once_its_required_settings_are_set(metered, settings):
    assert "metered" in registry.configured_backends()
    settings.METERED_KEY = ""
    assert "metered" not in registry.configured_backends()
    with pytest.raises(LookupError, match="needs METERED_KEY"):
        registry.get_backend("metered")


def test_studio_backend_missing_its_key_refuses_to_start(settings):
    settings.STUDIO_BACKEND = "bfl"
    settings.BFL_API_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="STUDIO_BACKEND=bfl needs BFL_API_KEY"):
        registry.check_configuration()


def test_unknown_studio_backend_refuses_to_start_listing_the_known(settings):
    settings.STUDIO_BACKEND = "dalle"
    with pytest.raises(ImproperlyConfigured, match=r"Unknown generation backend “dalle”.*sketch"):
        registry.check_configuration()


def test_bfl_model_off_the_price_list_cannot_be_configured(settings):
    settings.STUDIO_BACKEND = "bfl"
    settings.BFL_API_KEY = "k"
    settings.BFL_MODEL = "flux-9-ultra"
    with pytest.raises(
        ImproperlyConfigured, match="no price for flux-9-ultra \\(check BFL_MODEL\\)"
    ):
        registry.check_configuration()


def test_a_job_of_a_backend_no_longer_registered_counts_as_paid():
    assert registry.is_paid("retired-provider")
