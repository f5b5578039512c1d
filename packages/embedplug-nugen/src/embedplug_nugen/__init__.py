"""embedplug-nugen: the ``nugen`` provider, for Nugen embeddings.

Registers ``NugenProvider`` through the ``embedplug`` entry point. Importing
this package is cheap: the provider class (and through it httpx and NumPy) is
imported when embedplug first asks for the providers, or on first access to
``embedplug_nugen.NugenProvider``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedplug.provider import Provider
    from embedplug_nugen._provider import NugenProvider

__all__ = ["NugenProvider", "register_providers", "register_stub_variants"]

__version__ = "0.1.0"


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``nugen`` provider."""
    from embedplug_nugen._provider import NugenProvider

    register(NugenProvider)


@hookimpl
def register_stub_variants(register: Callable[..., None]) -> None:
    """Register the ``nugen`` stub variant of ``embedplug.testing``."""
    from embedplug_nugen._stub import NugenVariant

    register(NugenVariant)


def __getattr__(name: str) -> Any:
    if name == "NugenProvider":
        from embedplug_nugen._provider import NugenProvider

        return NugenProvider
    raise AttributeError(f"module 'embedplug_nugen' has no attribute {name!r}")
