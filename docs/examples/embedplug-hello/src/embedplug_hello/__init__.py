"""embedplug-hello: a complete minimal provider plugin for embedplug.

It registers one provider, ``hello`` (a toy that hashes words into buckets;
deterministic and offline, not a semantic model), and one command,
``embedplug hello TEXT...``. embedplug finds this module through the entry
point ``hello = "embedplug_hello"`` in the group ``embedplug``.

Every ``embedplug`` command imports this module, ``--help`` included, so it
imports nothing heavy at top level: the provider class and the command load
inside the hooks that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import embedplug

if TYPE_CHECKING:
    from embedplug.provider import Provider
    from embedplug_hello._provider import HelloProvider

__all__ = ["HelloProvider", "register_commands", "register_providers"]

__version__ = "0.1.0"


@embedplug.hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``hello`` provider (a class, not an instance: nothing is built yet)."""
    from embedplug_hello._provider import HelloProvider

    register(HelloProvider)


@embedplug.hookimpl
def register_commands(cli: Any) -> None:
    """Add ``embedplug hello TEXT...`` to the command line."""
    from embedplug_hello._cli import hello

    cli.add_command(hello)


def __getattr__(name: str) -> Any:
    """``embedplug_hello.HelloProvider``, imported on first access."""
    if name == "HelloProvider":
        from embedplug_hello._provider import HelloProvider

        return HelloProvider
    raise AttributeError(f"module 'embedplug_hello' has no attribute {name!r}")
