"""IG1 AI provider for embedplug: ``qwen3-vl-embedding-8b`` (multimodal) and ``bge-m3``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from embedplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedplug.provider import Provider

__all__ = ["register_providers", "register_stub_variants"]


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``ig1`` provider."""
    from embedplug_ig1._provider import IG1Provider

    register(IG1Provider)


@hookimpl
def register_stub_variants(register: Callable[..., None]) -> None:
    """Register the ``ig1`` stub variants of ``embedplug.testing``."""
    from embedplug_ig1._stub import IG1OpenAIVariant, IG1Variant

    register(IG1Variant)
    register(IG1OpenAIVariant)
