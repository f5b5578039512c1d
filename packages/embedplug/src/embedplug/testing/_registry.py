"""The stub variants by name: the core's own, those registered at run time, and plugins'.

A provider package ships its variant through the ``register_stub_variants``
hook (see ``embedplug.hookspecs``); ``get_variant(name)`` asks the plugin
manager when a name is not one of the core's. A plugin may also give a
*server factory* for a name (a ``StubServer`` subclass that serves more than
the embeddings endpoint); ``stub_factory(name)`` returns it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from embedplug.testing._cohere_family import CohereVariant
from embedplug.testing._openai_family import OpenAIFloatsVariant, OpenAIVariant
from embedplug.testing._variant import Variant

if TYPE_CHECKING:
    from embedplug.testing._server import StubServer

__all__ = [
    "CORE_VARIANTS",
    "VARIANTS",
    "all_variant_names",
    "get_variant",
    "register_variant",
    "stub_factory",
]

VARIANTS: dict[str, Variant] = {}
"""Variants registered in this process by name (the core's and ``register_variant``'s)."""

CORE_VARIANTS: tuple[str, ...] = ("openai", "openai-floats", "cohere")
"""Names of the variants the core ships: the two protocol families."""


def register_variant(variant: Variant | type[Variant], *, replace: bool = False) -> Variant:
    """Make a variant available by name to ``StubServer(variant=...)`` and the CLI."""
    instance = variant() if isinstance(variant, type) else variant
    if not instance.name:
        raise ValueError(f"{type(instance).__name__} has no name")
    if instance.name in VARIANTS and not replace:
        raise ValueError(f"a stub variant named {instance.name!r} is already registered")
    VARIANTS[instance.name] = instance
    return instance


def _plugin_entries() -> dict[str, tuple[Variant, Callable[..., StubServer] | None]]:
    from embedplug.plugins import stub_variants

    entries: dict[str, tuple[Variant, Callable[..., StubServer] | None]] = {}
    for name, (variant, server) in stub_variants().items():
        instance = variant() if isinstance(variant, type) else variant
        if not isinstance(instance, Variant):
            raise TypeError(f"stub variant {name!r} is not an embedplug.testing.Variant")
        entries[name] = (instance, server)
    return entries


def get_variant(variant: str | Variant | type[Variant]) -> Variant:
    """A variant from its name, class or instance."""
    if isinstance(variant, Variant):
        return variant
    if isinstance(variant, type):
        return variant()
    found = VARIANTS.get(variant)
    if found is not None:
        return found
    entry = _plugin_entries().get(variant)
    if entry is None:
        known = ", ".join(all_variant_names())
        raise ValueError(f"unknown stub variant {variant!r}; known: {known}")
    return entry[0]


def stub_factory(name: str) -> Callable[..., StubServer] | None:
    """The server factory a plugin registered for ``name``, if any (``None``: a plain stub)."""
    if name in VARIANTS:
        return None
    entry = _plugin_entries().get(name)
    return None if entry is None else entry[1]


def all_variant_names() -> list[str]:
    """Every variant name: the core's, run-time registered ones and installed plugins'."""
    return sorted({*VARIANTS, *_plugin_entries()})


for _cls in (OpenAIVariant, OpenAIFloatsVariant, CohereVariant):
    register_variant(_cls)
del _cls
