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

__all__ = [
    "hookimpl",
    "hookspec",
    "register_commands",
    "register_providers",
    "register_stub_variants",
]

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

    ``cli`` is the root ``click.Group``; add commands or groups to it (a
    provider plugin adds a group named after itself). Called once, when the
    CLI starts. Import what the commands need inside the commands, not here.
    """


@hookspec
def register_stub_variants(register: Callable[..., None]) -> None:
    """Register the stub variants of ``embedplug.testing`` a provider ships.

    Call ``register(variant)`` once per variant: an ``embedplug.testing.Variant``
    subclass or instance whose ``name`` is unique across all installed plugins
    and the core's own (``openai``, ``openai-floats``, ``cohere``).
    ``register(variant, name="other")`` registers it under another name.
    ``register(variant, name=..., server=Factory)`` also gives a server factory
    for a stub that serves more than the embeddings endpoint: a ``StubServer``
    subclass (or callable returning one) taking ``StubServer``'s keyword
    arguments; a ``stub_options`` mapping on it (``{"job_polls": (int, 2,
    "help")}``) becomes ``--job-polls`` options of ``python -m
    embedplug.testing.stub``. A variant's extra fault cases are its own methods
    (``render`` applies them); the fault machinery itself is shared.

    Called once, when a stub variant is first looked up by a name that is not
    the core's. Import the stub module inside the implementation, so that
    importing the plugin never imports ``embedplug.testing``.
    """
