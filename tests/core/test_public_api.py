"""The public surface: ``__all__``, lazy imports, model ids and defaults, unknown names."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, ClassVar

import pytest

import embedplug
from embedplug._api import DEFAULT_MODEL, _split_model_id
from embedplug.errors import ConfigurationError, UnknownModelError, UnknownProviderError
from embedplug.provider import Batch, BatchResult, InProcessProvider, ModelInfo, Provider

EXPECTED_ALL = [
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchFailedError",
    "BatchResult",
    "ClientClosedRequestError",
    "ConfigurationError",
    "ConnectionFailedError",
    "Embedder",
    "EmbeddingResult",
    "EmbeddingType",
    "EmbedplugError",
    "ErrorEnvelopeError",
    "HTTPProvider",
    "Image",
    "InProcessProvider",
    "Input",
    "InputType",
    "InvalidInputError",
    "InvalidTokenError",
    "Mixed",
    "Modality",
    "ModelEntry",
    "ModelInfo",
    "NotFoundError",
    "NotImplementedByProviderError",
    "PermissionDeniedError",
    "PluginLoadError",
    "Provider",
    "ProviderError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "TimeoutError",
    "Usage",
    "UnknownModelError",
    "UnknownProviderError",
    "__version__",
    "aembed",
    "embed",
    "embedder",
    "hookimpl",
    "models",
    "providers",
]


def test_all_is_the_expected_public_surface() -> None:
    assert sorted(embedplug.__all__) == sorted(EXPECTED_ALL)
    assert len(set(embedplug.__all__)) == len(embedplug.__all__)
    assert dir(embedplug) == sorted(EXPECTED_ALL)


@pytest.mark.parametrize("name", EXPECTED_ALL)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(embedplug, name)
    assert value is not None
    if inspect.isclass(value) or inspect.isfunction(value):
        assert value.__module__.startswith("embedplug.")
    assert getattr(embedplug, name) is value  # cached after the first (lazy) lookup


def test_hookimpl_marks_embedplug_hooks() -> None:
    assert embedplug.hookimpl.project_name == "embedplug"


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        getattr(embedplug, "no_such_name")  # noqa: B009


def test_errors_form_one_tree() -> None:
    errors = [getattr(embedplug, n) for n in EXPECTED_ALL if n.endswith("Error")]
    assert len(errors) >= 15
    for error in errors:
        assert issubclass(error, embedplug.EmbedplugError), error
    assert issubclass(embedplug.UnknownModelError, embedplug.ConfigurationError)
    assert issubclass(embedplug.RateLimitError, embedplug.ProviderError)
    assert issubclass(embedplug.InvalidInputError, ValueError)


_IMPORT_PROBE = """
import json, sys
import embedplug
after_import = sorted(m for m in {heavy} if m in sys.modules)
embedplug.providers()
embedplug.models()
after_listing = sorted(m for m in {listing_heavy} if m in sys.modules)
print(json.dumps([after_import, after_listing]))
"""

# Modules `import embedplug` must not load (they load on first use).
HEAVY_AT_IMPORT = [
    "numpy",
    "httpx",
    "httpcore",
    "anyio",
    "pydantic",
    "pluggy",
    "click",
    "tqdm",
    "tenacity",
    "orjson",
    "PIL",
    "embedplug.engine",
    "embedplug._api",
    "embedplug.plugins",
    "langchain_core",
    "llama_index",
    "torch",
]
# Modules listing providers and models must not load: no model stack, no adapters.
HEAVY_AT_LISTING = [
    "torch",
    "transformers",
    "sentence_transformers",
    "langchain_core",
    "llama_index",
]


def test_import_embedplug_loads_no_heavy_modules() -> None:
    code = _IMPORT_PROBE.format(heavy=HEAVY_AT_IMPORT, listing_heavy=HEAVY_AT_LISTING)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    after_import, after_listing = json.loads(out.strip().splitlines()[-1])
    assert after_import == []
    assert after_listing == []


# ---------------------------------------------------------------- unknown names


def test_unknown_provider_lists_installed_providers(fresh_plugins: ModuleType) -> None:
    with pytest.raises(UnknownProviderError) as info:
        embedplug.embedder("nosuchprovider:some-model")
    error = info.value
    assert error.name == "nosuchprovider"
    assert {"hello", "local"} <= set(error.available)
    assert "unknown provider 'nosuchprovider'" in str(error)
    assert "hello" in str(error)
    assert "local" in str(error)


def test_unknown_provider_for_models_listing(fresh_plugins: ModuleType) -> None:
    with pytest.raises(UnknownProviderError, match="hello"):
        embedplug.models("nosuchprovider")


def test_unknown_model_lists_the_providers_models(fresh_plugins: ModuleType) -> None:
    with pytest.raises(UnknownModelError) as info:
        embedplug.embedder("hello:toy-9000")
    error = info.value
    assert (error.provider, error.model) == ("hello", "toy-9000")
    assert error.available == ["toy-64", "toy-256"]
    assert str(error) == (
        "unknown model 'toy-9000' for provider 'hello'; known models: toy-64, toy-256"
    )


def test_unknown_bare_name_is_neither_provider_nor_model_and_lists_providers(
    fresh_plugins: ModuleType,
) -> None:
    # not "unknown model ... for provider 'local'": the name was looked up everywhere
    with pytest.raises(UnknownProviderError) as info:
        embedplug.embedder("no-such-model-anywhere")
    assert "neither an installed provider nor a model any provider knows" in str(info.value)
    assert "local" in info.value.available
    assert "'local'" not in str(info.value).partition(";")[0]


def test_unknown_provider_option_lists_the_options_it_takes(fresh_plugins: ModuleType) -> None:
    with pytest.raises(ConfigurationError, match="provider 'hello' takes: seed;"):
        embedplug.embedder("hello", colour="blue")


def test_provider_options_reach_the_provider(fresh_plugins: ModuleType) -> None:
    with embedplug.embedder("hello", seed=0) as a, embedplug.embedder("hello", seed=1) as b:
        assert repr(b.provider) == "HelloProvider(seed=1)"
        same = a.embed("alpha beta gamma").embeddings
        other = b.embed("alpha beta gamma").embeddings
    assert abs(float((same @ other.T)[0, 0])) < 0.99


# ---------------------------------------------------------------- model ids and defaults


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("hello:toy-256", ("hello", "toy-256")),
        ("hello:", ("hello", None)),
        ("hello", ("hello", None)),  # a provider name alone: its default model
        ("toy-256", ("hello", "toy-256")),  # a bare model name: the provider that has it
        ("all-minilm-l6-v2", ("local", "all-minilm-l6-v2")),
        (None, ("local", "all-minilm-l6-v2")),  # nothing: the offline default
        ("", ("local", "all-minilm-l6-v2")),
        ("acme:big:v2", ("acme", "big:v2")),  # only the first colon splits
    ],
)
def test_split_model_id(
    fresh_plugins: ModuleType, model_id: str | None, expected: tuple[str, str | None]
) -> None:
    assert DEFAULT_MODEL == "local:all-minilm-l6-v2"
    assert _split_model_id(model_id) == expected


@pytest.mark.parametrize("setting", [None, "hello:toy-256"])
def test_unknown_bare_name_never_goes_to_the_default_provider(
    fresh_plugins: ModuleType, monkeypatch: pytest.MonkeyPatch, setting: str | None
) -> None:
    if setting:
        monkeypatch.setenv("EMBEDPLUG_DEFAULT_MODEL", setting)
    with pytest.raises(UnknownProviderError, match="'unheard-of' is neither"):
        _split_model_id("unheard-of")


@pytest.mark.parametrize(
    ("setting", "model_id", "expected"),
    [
        ("hello:toy-256", None, ("hello", "toy-256")),
        ("hello", None, ("hello", None)),
        ("hello:toy-256", "", ("hello", "toy-256")),
        ("hello:toy-256", "local", ("local", None)),  # an explicit name wins
        ("hello:toy-256", "all-minilm-l6-v2", ("local", "all-minilm-l6-v2")),
    ],
)
def test_default_model_setting(
    fresh_plugins: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    model_id: str | None,
    expected: tuple[str, str | None],
) -> None:
    monkeypatch.setenv("EMBEDPLUG_DEFAULT_MODEL", setting)
    assert _split_model_id(model_id) == expected


def test_embedder_with_no_model_uses_the_setting(
    fresh_plugins: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBEDPLUG_DEFAULT_MODEL", "hello:toy-256")
    with embedplug.embedder() as e:
        assert e.id == "hello:toy-256"
        assert e.model_info.dimensions == 256
        assert e.embed("some words").embeddings.shape == (1, 256)
    result = embedplug.embed(["one", "two"])
    assert (result.provider, result.model) == ("hello", "toy-256")


class _Shared(InProcessProvider):
    default_model: ClassVar[str] = "shared-model"

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (ModelInfo(name="shared-model", dimensions=8),)

    def embed_batch(self, batch: Batch) -> BatchResult:
        raise AssertionError("not called")


def test_bare_model_name_offered_by_two_providers_is_ambiguous(
    register_plugin: Callable[..., str],
) -> None:
    class First(_Shared):
        name: ClassVar[str] = "first"

    class Second(_Shared):
        name: ClassVar[str] = "second"

    class Plugin:
        @embedplug.hookimpl
        def register_providers(self, register: Callable[[type[Provider]], None]) -> None:
            register(First)
            register(Second)

    register_plugin(Plugin(), name="shared")
    with pytest.raises(ConfigurationError, match=r"first:shared-model, second:shared-model"):
        embedplug.embedder("shared-model")
    assert _split_model_id("first:shared-model") == ("first", "shared-model")


def test_models_lists_entries_with_ids(fresh_plugins: ModuleType) -> None:
    entries = embedplug.models()
    ids = [e.id for e in entries]
    assert {"hello:toy-64", "hello:toy-256", "local:all-minilm-l6-v2"} <= set(ids)
    providers = [e.provider for e in entries]
    assert providers == sorted(providers)
    toy = next(e for e in entries if e.id == "hello:toy-256")
    assert toy.info.dimensions == 256


async def test_aembed_one_shot(fresh_plugins: ModuleType) -> None:
    result = await embedplug.aembed(["a b c", "d e f"], "hello:toy-64")
    sync = embedplug.embed(["a b c", "d e f"], "hello:toy-64")
    assert result.embeddings.tolist() == sync.embeddings.tolist()


def test_embedder_repr_and_id(fresh_plugins: ModuleType) -> None:
    e: Any = embedplug.embedder("hello:toy-256", seed=2)
    assert e.id == "hello:toy-256"
    assert repr(e) == "Embedder('hello:toy-256', provider=HelloProvider(seed=2))"
    e.close()
