"""Model ids to ``(provider, model)``, with "did you mean" for misspelt names.

Used by ``embedplug.embedder`` and by the command line; needs no key and no
network (only the providers' ``known_models()``).
"""

from __future__ import annotations

import difflib
import os
from typing import TYPE_CHECKING

from embedplug import plugins
from embedplug.errors import ConfigurationError, UnknownModelError, UnknownProviderError

if TYPE_CHECKING:
    from embedplug.provider import Provider

__all__ = [
    "check_model_without_key",
    "default_model_id",
    "did_you_mean",
    "provider_class",
    "split_model_id",
    "unknown_model_message",
]


def default_model_id() -> str:
    """``EMBEDPLUG_DEFAULT_MODEL``, else the local model."""
    from embedplug._api import DEFAULT_MODEL

    return os.environ.get("EMBEDPLUG_DEFAULT_MODEL") or DEFAULT_MODEL


def did_you_mean(name: str, choices: list[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, else ``""``."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(c) for c in close) + "?)"


def _all_model_ids(classes: dict[str, type[Provider]]) -> list[str]:
    return [f"{p}:{m.name}" for p, cls in sorted(classes.items()) for m in cls.known_models()]


def split_model_id(model: str | None) -> tuple[str, str | None]:
    """``(provider, model or None)`` for ``"provider:model"``, a provider name or a bare
    model name (looked up across every provider's known models).

    Raises ``UnknownProviderError`` (with close matches among providers and model
    ids) for a provider that is not installed or a bare name nobody knows, and
    ``ConfigurationError`` for a bare name several providers offer.
    """
    model = model or default_model_id()
    classes = plugins.provider_classes()
    if ":" in model:
        provider, _, name = model.partition(":")
        return provider, name or None
    if model in classes:
        return model, None
    owners = [n for n, cls in classes.items() if any(m.name == model for m in cls.known_models())]
    if len(owners) == 1:
        return owners[0], model
    if len(owners) > 1:
        choices = ", ".join(f"{o}:{model}" for o in sorted(owners))
        raise ConfigurationError(f"model {model!r} is offered by several providers: {choices}")
    error = _unknown_provider(model, classes, model)
    error.args = (
        f"{model!r} is neither an installed provider nor a model any provider knows"
        f"{did_you_mean(model, [*classes, *_all_model_ids(classes), *_bare_names(classes)])}; "
        f"name a model as provider:model (installed providers: {', '.join(sorted(classes))}; "
        "`embedplug models` lists the known models)",
    )
    raise error


def provider_class(name: str, given: str | None = None) -> type[Provider]:
    """The provider class ``name``; ``UnknownProviderError`` with close matches if none."""
    classes = plugins.provider_classes()
    if name not in classes:
        raise _unknown_provider(name, classes, given or name)
    return classes[name]


def _bare_names(classes: dict[str, type[Provider]]) -> list[str]:
    return sorted({m.name for cls in classes.values() for m in cls.known_models()})


def _unknown_provider(
    provider: str, classes: dict[str, type[Provider]], given: str
) -> UnknownProviderError:
    error = UnknownProviderError(provider, list(classes))
    hint = did_you_mean(provider, list(classes))
    if not hint and given != provider:
        hint = did_you_mean(given, _all_model_ids(classes))
    broken = plugins.plugin_errors()
    tail = ""
    if broken:
        tail = " (plugins that failed to load: " + ", ".join(e.plugin for e in broken) + ")"
    error.args = (
        f"unknown provider {provider!r}{hint}; installed providers: "
        f"{', '.join(sorted(classes)) or 'none'}{tail}",
    )
    return error


def check_model_without_key(cls: type[Provider], model: str) -> None:
    """Raise ``UnknownModelError`` (with close matches) if ``cls`` would refuse ``model``.

    Asked before the provider is built, so that an unknown model is reported
    before a missing key. A provider that takes any model name (as
    OpenAI-compatible servers do) overrides ``model_info``; it is asked on a bare
    instance, and anything but ``UnknownModelError`` means "cannot tell here".
    """
    known = [m.name for m in cls.known_models()]
    if model in known:
        return
    probe = object.__new__(cls)
    try:
        probe.model_info(model)
    except UnknownModelError as exc:
        error = UnknownModelError(exc.provider, model, exc.available)
        error.args = (unknown_model_message(error),)
        raise error from None
    except Exception:  # the check needs instance state: the provider decides later
        return


def unknown_model_message(error: UnknownModelError) -> str:
    """``error``'s message with close matches among its provider's models."""
    hint = did_you_mean(error.model, error.available)
    return (
        f"unknown model {error.model!r} for provider {error.provider!r}{hint}; "
        f"known models: {', '.join(error.available) or 'none'}"
    )
