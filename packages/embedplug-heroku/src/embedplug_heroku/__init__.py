"""embedplug-heroku: the ``heroku`` provider, for Heroku Managed Inference embeddings.

Registers ``HerokuProvider`` through the ``embedplug`` entry point. Importing
this package is cheap: the provider class (and through it httpx and NumPy) is
imported when embedplug first asks for the providers, or on first access to
``embedplug_heroku.HerokuProvider``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedplug.provider import Provider
    from embedplug_heroku._provider import HerokuProvider

__all__ = ["HerokuProvider", "register_providers", "register_stub_variants"]

__version__ = "0.1.0"


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``heroku`` provider."""
    from embedplug_heroku._provider import HerokuProvider

    register(HerokuProvider)


@hookimpl
def register_stub_variants(register: Callable[..., None]) -> None:
    """Register the ``heroku`` stub variant of ``embedplug.testing``."""
    from embedplug_heroku._stub import HerokuVariant

    register(HerokuVariant)


def __getattr__(name: str) -> Any:
    if name == "HerokuProvider":
        from embedplug_heroku._provider import HerokuProvider

        return HerokuProvider
    raise AttributeError(f"module 'embedplug_heroku' has no attribute {name!r}")
