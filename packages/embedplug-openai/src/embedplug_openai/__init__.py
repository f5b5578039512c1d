"""embedplug-openai: the ``openai`` provider, for OpenAI and every OpenAI-compatible server.

Registers ``OpenAIProvider`` through the ``embedplug`` entry point. Importing
this package is cheap: the provider class (and through it httpx and NumPy) is
imported when embedplug first asks for the providers, or on first access to
``embedplug_openai.OpenAIProvider``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedplug.provider import Provider
    from embedplug_openai._provider import OpenAIProvider

__all__ = ["OpenAIProvider", "register_providers"]

__version__ = "0.1.0"


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``openai`` provider."""
    from embedplug_openai._provider import OpenAIProvider

    register(OpenAIProvider)


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from embedplug_openai._provider import OpenAIProvider

        return OpenAIProvider
    raise AttributeError(f"module 'embedplug_openai' has no attribute {name!r}")
