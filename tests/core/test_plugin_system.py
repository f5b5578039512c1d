"""The plugin system: entry points, EMBEDPLUG_LOAD_PLUGINS, broken plugins, run-time registration.

The example plugin ``docs/examples/embedplug-hello`` must be installed in the
test environment (``pip install -e docs/examples/embedplug-hello``); these
tests check that embedplug finds it through its entry point.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

import click
import numpy as np
import pluggy
import pytest
from click.testing import CliRunner

import embedplug
from embedplug.errors import ConfigurationError, PluginLoadError, UnknownProviderError
from embedplug.provider import Batch, BatchResult, InProcessProvider, ModelInfo, Provider
from embedplug.types import EmbeddingType, Usage

GROUP = "embedplug"


def _hello_entry_point() -> importlib.metadata.EntryPoint:
    found = [ep for ep in importlib.metadata.entry_points(group=GROUP) if ep.name == "hello"]
    assert found, "install the example plugin: pip install -e docs/examples/embedplug-hello"
    return found[0]


def _add_entry_points(
    monkeypatch: pytest.MonkeyPatch, *extra: importlib.metadata.EntryPoint
) -> None:
    """Make ``importlib.metadata.entry_points`` (as plugins.py calls it) also return ``extra``."""
    real = importlib.metadata.entry_points

    def entry_points(**params: Any) -> Any:
        found = real(**params)
        if params.get("group") != GROUP:
            return found
        return [*found, *extra]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def _write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, code: str) -> None:
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(code))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


class RuntimeToy(InProcessProvider):
    """A provider registered at run time: every vector is [1, 2, 3] scaled by the text length."""

    name: ClassVar[str] = "runtime-toy"
    default_model: ClassVar[str] = "three"

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (ModelInfo(name="three", dimensions=3),)

    def embed_batch(self, batch: Batch) -> BatchResult:
        rows = [[len(str(t)), 2 * len(str(t)), 3 * len(str(t))] for t in batch.inputs]
        return BatchResult(
            vectors={EmbeddingType.FLOAT: np.asarray(rows, dtype=np.float32)}, usage=Usage()
        )


class RuntimePlugin:
    """A plugin object (not a module) with one hook implementation."""

    def __init__(self, *classes: type[Provider]) -> None:
        self.classes = classes

    @embedplug.hookimpl
    def register_providers(self, register: Callable[[type[Provider]], None]) -> None:
        for cls in self.classes:
            register(cls)


# ---------------------------------------------------------------- entry-point discovery


def test_installed_example_plugin_is_found_through_its_entry_point(
    fresh_plugins: ModuleType,
) -> None:
    ep = _hello_entry_point()
    assert ep.value == "embedplug_hello"
    classes = fresh_plugins.provider_classes()
    assert classes["hello"].__module__ == "embedplug_hello._provider"
    manager = fresh_plugins.get_plugin_manager()
    assert manager.get_plugin("hello") is sys.modules["embedplug_hello"]
    assert fresh_plugins.plugin_errors() == []


def test_public_api_lists_and_uses_the_installed_plugin(fresh_plugins: ModuleType) -> None:
    assert "hello" in embedplug.providers()
    ids = [entry.id for entry in embedplug.models("hello")]
    assert ids == ["hello:toy-64", "hello:toy-256"]
    with embedplug.embedder("hello") as toy:
        result = toy.embed(["the cat sat", "the cat sat down", "stock prices fell"])
    assert result.provider == "hello"
    assert result.model == "toy-64"
    assert result.embeddings.shape == (3, 64)
    assert result.embeddings.dtype == np.float32
    similarity = result.embeddings @ result.embeddings.T
    assert similarity[0, 1] > 0.5 > similarity[0, 2]


def test_entry_points_load_once_and_lazily(
    fresh_plugins: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    real = importlib.metadata.entry_points

    def counting(**params: Any) -> Any:
        calls.append(params)
        return real(**params)

    monkeypatch.setattr(importlib.metadata, "entry_points", counting)
    assert calls == []  # nothing loads before first use
    fresh_plugins.provider_classes()
    fresh_plugins.provider_classes()
    embedplug.providers()
    assert calls == [{"group": GROUP}]


# ---------------------------------------------------------------- EMBEDPLUG_LOAD_PLUGINS


@pytest.mark.parametrize(
    ("setting", "present", "absent"),
    [
        ("hello", {"hello"}, {"local"}),
        ("local", {"local"}, {"hello"}),
        (" hello , local ", {"hello", "local"}, set()),
        ("", set(), {"hello", "local"}),
    ],
)
def test_load_plugins_setting_restricts_entry_points(
    fresh_plugins: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    present: set[str],
    absent: set[str],
) -> None:
    monkeypatch.setenv("EMBEDPLUG_LOAD_PLUGINS", setting)
    classes = fresh_plugins.provider_classes()
    assert present <= set(classes)
    assert not absent & set(classes)
    loaded = {name for name, _ in fresh_plugins.get_plugin_manager().list_name_plugin()}
    assert not absent & loaded


def test_load_plugins_setting_does_not_block_run_time_registration(
    monkeypatch: pytest.MonkeyPatch, register_plugin: Callable[..., str]
) -> None:
    monkeypatch.setenv("EMBEDPLUG_LOAD_PLUGINS", "")
    register_plugin(RuntimePlugin(RuntimeToy), name="runtime")
    assert list(embedplug.providers()) == ["runtime-toy"]


# ---------------------------------------------------------------- broken plugins


def test_plugin_that_fails_to_import_is_reported_by_name_and_others_load(
    fresh_plugins: ModuleType, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = importlib.metadata.EntryPoint(name="broken", value="no_such_module_xyz", group=GROUP)
    _add_entry_points(monkeypatch, broken)
    with caplog.at_level(logging.WARNING, logger="embedplug.plugins"):
        classes = fresh_plugins.provider_classes()
    assert re.search("plugin 'broken' failed to load", caplog.text)
    assert "hello" in classes  # the others still load
    errors = fresh_plugins.plugin_errors()
    assert [e.plugin for e in errors] == ["broken"]
    assert isinstance(errors[0], PluginLoadError)
    assert isinstance(errors[0].cause, ModuleNotFoundError)
    assert "no_such_module_xyz" in str(errors[0])
    # asking for a provider that is not there points at the plugin that failed
    with pytest.raises(UnknownProviderError, match="failed to load: broken"):
        embedplug.embedder("broken:model")


def test_plugin_whose_import_raises_is_reported_with_its_error(
    fresh_plugins: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _write_module(tmp_path, monkeypatch, "embedplug_test_raises", 'raise RuntimeError("boom 42")\n')
    ep = importlib.metadata.EntryPoint(name="raises", value="embedplug_test_raises", group=GROUP)
    _add_entry_points(monkeypatch, ep)
    with caplog.at_level(logging.WARNING, logger="embedplug.plugins"):
        classes = fresh_plugins.provider_classes()
    assert re.search("raises", caplog.text)
    assert {"hello", "local"} <= set(classes)
    (error,) = fresh_plugins.plugin_errors()
    assert str(error) == "plugin 'raises' failed to load: RuntimeError: boom 42"
    assert "plugin 'raises' failed to load" in caplog.text


def test_plugin_whose_register_providers_raises_is_reported_by_name(
    register_plugin: Callable[..., str],
    fresh_plugins: ModuleType,
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Exploding:
        @embedplug.hookimpl
        def register_providers(self, register: Callable[[type[Provider]], None]) -> None:
            raise KeyError("no config")

    register_plugin(Exploding(), name="exploding")
    with caplog.at_level(logging.WARNING, logger="embedplug.plugins"):
        classes = fresh_plugins.provider_classes()
    assert re.search("plugin 'exploding' failed to load: KeyError", caplog.text)
    assert "hello" in classes
    assert [e.plugin for e in fresh_plugins.plugin_errors()] == ["exploding"]


def test_entry_point_with_unknown_hook_is_rejected_by_check_pending(
    fresh_plugins: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _write_module(
        tmp_path,
        monkeypatch,
        "embedplug_test_typo",
        """
        import embedplug

        @embedplug.hookimpl
        def register_provider(register):  # typo: the hook is register_providers
            raise AssertionError("never called")
        """,
    )
    ep = importlib.metadata.EntryPoint(name="typo", value="embedplug_test_typo", group=GROUP)
    _add_entry_points(monkeypatch, ep)
    with caplog.at_level(logging.WARNING, logger="embedplug.plugins"):
        fresh_plugins.provider_classes()
    assert re.search("plugin 'typo' failed to load", caplog.text)
    (error,) = fresh_plugins.plugin_errors()
    assert isinstance(error.cause, pluggy.PluginValidationError)
    assert "register_provider" in str(error)
    # the bad plugin is not left half-registered; the good ones are there
    manager = fresh_plugins.get_plugin_manager()
    assert manager.get_plugin("typo") is None
    assert manager.get_plugin("hello") is not None


def test_check_pending_rejects_run_time_plugin_with_unknown_hook(
    register_plugin: Callable[..., str], fresh_plugins: ModuleType
) -> None:
    class Typo:
        @embedplug.hookimpl
        def register_provider(self, register: Any) -> None:  # no such hook
            raise AssertionError("never called")

    with pytest.raises(pluggy.PluginValidationError, match="register_provider"):
        register_plugin(Typo(), name="typo")
    assert fresh_plugins.get_plugin_manager().get_plugin("typo") is None


def test_hookimpl_with_unknown_argument_is_rejected(register_plugin: Callable[..., str]) -> None:
    class WrongArgument:
        @embedplug.hookimpl
        def register_providers(self, registry: Any) -> None:  # the argument is `register`
            raise AssertionError("never called")

    with pytest.raises(pluggy.PluginValidationError, match="registry"):
        register_plugin(WrongArgument(), name="wrong-argument")


# ---------------------------------------------------------------- run-time registration


def test_hook_register_providers_at_run_time_and_unregister(
    register_plugin: Callable[..., str], fresh_plugins: ModuleType
) -> None:
    assert "runtime-toy" not in embedplug.providers()
    name = register_plugin(RuntimePlugin(RuntimeToy), name="runtime")
    assert name == "runtime"
    assert embedplug.providers()["runtime-toy"] is RuntimeToy
    assert [e.id for e in embedplug.models("runtime-toy")] == ["runtime-toy:three"]
    result = embedplug.embed(["ab", "abcd"], "runtime-toy")
    np.testing.assert_array_equal(result.embeddings, [[2, 4, 6], [4, 8, 12]])

    fresh_plugins.unregister_plugin(name="runtime")
    assert "runtime-toy" not in embedplug.providers()
    with pytest.raises(UnknownProviderError):
        embedplug.embedder("runtime-toy:three")


def test_one_plugin_may_register_several_providers(register_plugin: Callable[..., str]) -> None:
    class Other(RuntimeToy):
        name: ClassVar[str] = "runtime-other"

    register_plugin(RuntimePlugin(RuntimeToy, Other), name="two")
    assert {"runtime-toy", "runtime-other"} <= set(embedplug.providers())


def test_duplicate_provider_name_is_refused_naming_both_plugins(
    register_plugin: Callable[..., str],
) -> None:
    class FakeHello(RuntimeToy):
        name: ClassVar[str] = "hello"  # the example plugin's name

    register_plugin(RuntimePlugin(FakeHello), name="impostor")
    with pytest.raises(ConfigurationError, match="'hello' registered twice") as info:
        embedplug.providers()
    assert "'impostor'" in str(info.value)
    assert "'hello'" in str(info.value)


def test_registering_the_same_class_twice_is_harmless(register_plugin: Callable[..., str]) -> None:
    register_plugin(RuntimePlugin(RuntimeToy, RuntimeToy), name="twice")
    assert embedplug.providers()["runtime-toy"] is RuntimeToy


def test_provider_class_without_name_is_refused(register_plugin: Callable[..., str]) -> None:
    class Nameless(RuntimeToy):
        name: ClassVar[str] = ""

    register_plugin(RuntimePlugin(Nameless), name="nameless")
    with pytest.raises(ConfigurationError, match="without a name"):
        embedplug.providers()


def test_registering_a_taken_plugin_name_raises_configuration_error(
    register_plugin: Callable[..., str],
) -> None:
    register_plugin(RuntimePlugin(RuntimeToy), name="same")
    with pytest.raises(ConfigurationError, match="already registered"):
        register_plugin(RuntimePlugin(RuntimeToy), name="same")


def test_reset_forgets_run_time_plugins(register_plugin: Callable[..., str]) -> None:
    register_plugin(RuntimePlugin(RuntimeToy), name="runtime")
    assert "runtime-toy" in embedplug.providers()
    embedplug.plugins.reset()
    assert "runtime-toy" not in embedplug.providers()
    assert "hello" in embedplug.providers()  # entry points load again


# ---------------------------------------------------------------- register_commands


def test_hook_register_commands_adds_the_example_command(
    plugin_manager: pluggy.PluginManager,
) -> None:
    cli = click.Group("embedplug")
    plugin_manager.hook.register_commands(cli=cli)
    assert "hello" in cli.commands
    result = CliRunner().invoke(cli, ["hello", "the cat sat", "the cat sat down", "stocks fell"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "3 texts -> 64-d toy vectors (model toy-64)"
    first = [float(v) for v in lines[1].split()[:3]]
    assert first[0] == pytest.approx(1.0)
    assert first[1] > 0.5 > first[2]


def test_hook_register_commands_from_a_run_time_plugin(
    register_plugin: Callable[..., str], plugin_manager: pluggy.PluginManager
) -> None:
    class AddsCommand:
        @embedplug.hookimpl
        def register_commands(self, cli: click.Group) -> None:
            @cli.command()
            def ping() -> None:
                click.echo("pong")

    register_plugin(AddsCommand(), name="adds-command")
    cli = click.Group("embedplug")
    plugin_manager.hook.register_commands(cli=cli)
    assert {"hello", "ping"} <= set(cli.commands)
    assert CliRunner().invoke(cli, ["ping"]).output == "pong\n"


def test_hook_register_commands_in_the_embedplug_cli(
    fresh_plugins: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    from embedplug.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["hello", "--model", "toy-256", "a b", "a c"])
    captured = capsys.readouterr()
    assert exit_info.value.code == 0, captured.err
    assert captured.out.startswith("2 texts -> 256-d toy vectors (model toy-256)\n")
