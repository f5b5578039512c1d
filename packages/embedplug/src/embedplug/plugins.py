"""The plugin manager: entry points of group ``embedplug``, loaded once and lazily.

Installed plugins are found through entry points; third parties and tests may
also register a plugin object at run time with ``register_plugin``. A plugin
that fails to import is reported by name with its error (``plugin_errors()``,
a WARNING log record of logger ``embedplug.plugins``, not a Python warning, and
the CLI's ``providers`` listing) and the others still load.
``EMBEDPLUG_LOAD_PLUGINS`` (comma-separated entry-point names) restricts which
entry points load; set it to an empty string to load none.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

import pluggy

from embedplug import hookspecs
from embedplug.errors import ConfigurationError, PluginLoadError, UnknownProviderError

if TYPE_CHECKING:
    from embedplug.provider import Provider

__all__ = [
    "ENTRY_POINT_GROUP",
    "get_plugin_manager",
    "plugin_errors",
    "provider_class",
    "provider_classes",
    "register_plugin",
    "reset",
    "stub_variants",
    "unregister_plugin",
]

ENTRY_POINT_GROUP = "embedplug"
logger = logging.getLogger("embedplug.plugins")

_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_errors: list[PluginLoadError] = []
_providers: dict[str, type[Provider]] | None = None
_stubs: dict[str, tuple[Any, Any]] | None = None


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("embedplug")
    pm.add_hookspecs(hookspecs)
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    allowed_env = os.environ.get("EMBEDPLUG_LOAD_PLUGINS")
    allowed = None if allowed_env is None else {n.strip() for n in allowed_env.split(",") if n}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
            pm.check_pending()
        except Exception as exc:  # a broken plugin must not take the others down
            if pm.get_plugin(ep.name) is not None:
                pm.unregister(name=ep.name)
            error = PluginLoadError(ep.name, exc)
            _errors.append(error)
            # logged, not warned: under ``-W error`` a warning would stop the other plugins
            logger.warning("%s", error)


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, with installed plugins loaded on first use."""
    global _pm
    with _lock:
        if _pm is None:
            pm = _new_manager()
            _load_entry_points(pm)
            _pm = pm
        return _pm


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Register a plugin object (a module or an instance with hookimpls) at run time.

    Returns the name it was registered under; pass it to ``unregister_plugin``.
    """
    pm = get_plugin_manager()
    with _lock:
        try:
            registered = pm.register(plugin, name=name)
        except ValueError:
            registered = None
        if registered is None:
            raise ConfigurationError(f"plugin {name or plugin!r} is already registered")
        try:
            pm.check_pending()
        except pluggy.PluginValidationError:
            pm.unregister(plugin)
            raise
        _invalidate()
        return registered


def unregister_plugin(plugin: Any = None, name: str | None = None) -> None:
    """Remove a plugin registered with ``register_plugin``."""
    pm = get_plugin_manager()
    with _lock:
        pm.unregister(plugin=plugin, name=name)
        _invalidate()


def _invalidate() -> None:
    global _providers, _stubs
    _providers = None
    _stubs = None


def reset() -> None:
    """Forget every plugin and error; the next use reloads entry points (for tests)."""
    global _pm, _providers, _stubs
    with _lock:
        _pm = None
        _providers = None
        _stubs = None
        _errors.clear()


def plugin_errors() -> list[PluginLoadError]:
    """Errors of plugins that failed to load, by name."""
    get_plugin_manager()
    return list(_errors)


def _call_impl(impl: pluggy.HookImpl, register: Any) -> None:
    """Call one plugin's implementation; a failure other than a conflict is that plugin's."""
    try:
        impl.function(register=register)
    except ConfigurationError:
        raise
    except Exception as exc:
        error = PluginLoadError(impl.plugin_name, exc)
        _errors.append(error)
        logger.warning("%s", error)


def provider_classes() -> dict[str, type[Provider]]:
    """Every registered provider class, by provider name."""
    global _providers
    with _lock:
        if _providers is not None:
            return dict(_providers)
        pm = get_plugin_manager()
        found: dict[str, type[Provider]] = {}
        owners: dict[str, str] = {}

        for impl in reversed(pm.hook.register_providers.get_hookimpls()):
            plugin_name = impl.plugin_name

            def register(cls: type[Provider], _owner: str = plugin_name) -> None:
                name = getattr(cls, "name", None)
                if not isinstance(name, str) or not name:
                    raise ConfigurationError(f"plugin {_owner!r} registered {cls!r} without a name")
                if name in found and found[name] is not cls:
                    raise ConfigurationError(
                        f"provider name {name!r} registered twice "
                        f"(by {owners[name]!r} and {_owner!r})"
                    )
                found[name] = cls
                owners[name] = _owner

            _call_impl(impl, register)
        _providers = found
        return dict(found)


def provider_class(name: str) -> type[Provider]:
    """The provider class registered as ``name``; ``UnknownProviderError`` if none."""
    classes = provider_classes()
    try:
        return classes[name]
    except KeyError:
        hint = ""
        if _errors:
            hint = " (plugins that failed to load: " + ", ".join(e.plugin for e in _errors) + ")"
        error = UnknownProviderError(name, list(classes))
        error.args = (str(error) + hint,)
        raise error from None


def stub_variants() -> dict[str, tuple[Any, Any]]:
    """Stub variants from the ``register_stub_variants`` hook: name -> (variant, server factory).

    The variant is an ``embedplug.testing.Variant`` class or instance, the factory
    ``None`` or a callable that builds a ``StubServer``; nothing is checked or
    imported here (``embedplug.testing`` does that), so the core stays free of it.
    """
    global _stubs
    with _lock:
        if _stubs is not None:
            return dict(_stubs)
        pm = get_plugin_manager()
        found: dict[str, tuple[Any, Any]] = {}
        owners: dict[str, str] = {}
        for impl in reversed(pm.hook.register_stub_variants.get_hookimpls()):
            plugin_name = impl.plugin_name

            def register(
                variant: Any,
                *,
                name: str | None = None,
                server: Any = None,
                _owner: str = plugin_name,
            ) -> None:
                key = name if name is not None else getattr(variant, "name", None)
                if not isinstance(key, str) or not key:
                    raise ConfigurationError(
                        f"plugin {_owner!r} registered stub variant {variant!r} without a name"
                    )
                if key in found:
                    raise ConfigurationError(
                        f"stub variant {key!r} registered twice (by {owners[key]!r} and {_owner!r})"
                    )
                found[key] = (variant, server)
                owners[key] = _owner

            _call_impl(impl, register)
        _stubs = found
        return dict(found)
