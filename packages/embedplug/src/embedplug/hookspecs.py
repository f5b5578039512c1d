"""The hook specifications a plugin implements, and the markers to implement them.

Plugin authors decorate functions with ``embedplug.hookimpl`` and expose the
module through an entry point in the group ``embedplug``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from embedplug.provider import Provider

__all__ = ["hookimpl", "hookspec", "register_commands", "register_providers"]

hookspec = pluggy.HookspecMarker("embedplug")
hookimpl = pluggy.HookimplMarker("embedplug")


@hookspec
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register provider classes by calling ``register(ProviderClass)`` once per class.

    Called once, when embedplug first needs the list of providers. Must not do
    I/O, read keys or import heavy libraries: construct nothing, only register
    classes. A class's ``name`` must be unique across all installed plugins.
    """


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to the ``embedplug`` command line.

    ``cli`` is the root ``click.Group``; add commands or groups to it (the
    Cohere plugin adds ``embedplug cohere jobs ...``). Called once, when the
    CLI starts. Import what the commands need inside the commands, not here.
    """
