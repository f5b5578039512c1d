"""Fixtures shared by every test folder.

* Every test runs without the user's ``EMBEDPLUG_LOAD_PLUGINS`` and
  ``EMBEDPLUG_DEFAULT_MODEL`` (autouse), so a developer's shell cannot change
  which plugins load or which model a bare ``embedder()`` picks.
* ``fresh_plugins``: the process-wide plugin state is reset before and after
  the test; entry points load again, lazily, on first use inside the test.
* ``plugin_manager``: the fresh ``pluggy.PluginManager`` (entry points loaded).
* ``register_plugin``: registers plugin objects at run time for one test and
  unregisters them in ``finally``, whatever the test did.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pluggy
import pytest

from embedplug import plugins

_ENVIRONMENT = ("EMBEDPLUG_LOAD_PLUGINS", "EMBEDPLUG_DEFAULT_MODEL")


@pytest.fixture(autouse=True)
def _hermetic_embedplug_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fresh_plugins() -> Iterator[ModuleType]:
    """``embedplug.plugins``, reset before and after the test.

    Nothing is loaded until the test first uses a plugin, so a test may set
    ``EMBEDPLUG_LOAD_PLUGINS`` or patch ``importlib.metadata.entry_points``
    first.
    """
    plugins.reset()
    try:
        yield plugins
    finally:
        plugins.reset()


@pytest.fixture
def plugin_manager(fresh_plugins: ModuleType) -> pluggy.PluginManager:
    """A fresh plugin manager with the installed entry points loaded."""
    return plugins.get_plugin_manager()


RegisterPlugin = Callable[..., str]


@pytest.fixture
def register_plugin(fresh_plugins: ModuleType) -> Iterator[RegisterPlugin]:
    """``register_plugin(plugin, name=None) -> name``, undone when the test ends."""
    names: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        registered = plugins.register_plugin(plugin, name=name)
        names.append(registered)
        return registered

    try:
        yield register
    finally:
        # The test may have reset the manager; do not warn again about broken
        # entry points while reloading it here (``fresh_plugins`` resets next).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            manager = plugins.get_plugin_manager()
            for name in reversed(names):
                if manager.get_plugin(name) is not None:
                    plugins.unregister_plugin(name=name)
