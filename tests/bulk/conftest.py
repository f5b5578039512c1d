"""Fixtures for the bulk tests: stub servers, test providers pointed at them, file helpers.

The providers live in ``stub_providers.py`` (loaded by path, registered with
``register_plugin`` and unregistered when the test ends); the stubs run in
this process, so ``server.inputs_seen`` counts what every run sent, including
runs in a subprocess that reach the stub through the URL in the environment.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pytest

from embedplug.testing import StubServer

HERE = Path(__file__).parent


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bulk_tests_{name}", HERE / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def providers_module() -> ModuleType:
    """``tests/bulk/stub_providers.py`` as a plugin module."""
    return _load("stub_providers")


@pytest.fixture
def bulk_providers(register_plugin: Callable[..., str], providers_module: ModuleType) -> None:
    """Register ``bulkstub`` and ``bulkstub-mm`` for this test."""
    register_plugin(providers_module, name="bulk-test-providers")


@pytest.fixture
def openai_stub(bulk_providers: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    """An OpenAI-protocol stub (256-d); ``bulkstub:stub-text`` talks to it."""
    with StubServer("openai", dimensions=256) as server:
        monkeypatch.setenv("BULKSTUB_OPENAI_URL", server.url + "/v1")
        yield server


@pytest.fixture
def cohere_stub(bulk_providers: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubServer]:
    """A Cohere-v2 stub (256-d, images); ``bulkstub-mm:embed-v4.0`` talks to it."""
    with StubServer("cohere", dimensions=256) as server:
        monkeypatch.setenv("BULKSTUB_COHERE_URL", server.url)
        yield server


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any] | str]) -> Path:
    """Write records (dicts, or raw lines as strings) one per line."""
    with open(path, "wb") as fh:
        for record in records:
            line = record.encode() if isinstance(record, str) else orjson.dumps(record)
            fh.write(line + b"\n")
    return path


@pytest.fixture
def jsonl() -> Callable[[Path, Iterable[Mapping[str, Any] | str]], Path]:
    return write_jsonl


def read_parquet(path: Path) -> tuple[list[Any], dict[str, npt.NDArray[Any]]]:
    """``(ids, {column: 2-D array})`` of an output Parquet file."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as source:
        table = source.read()
    ids = table.column("id").to_pylist()
    vectors = {}
    for name in table.column_names:
        if name.startswith("vector"):
            column = table.column(name).combine_chunks()
            width = column.type.list_size
            flat = column.values.to_numpy(zero_copy_only=False)
            vectors[name] = flat.reshape(-1, width)
    return ids, vectors


@pytest.fixture
def parquet_rows() -> Callable[[Path], tuple[list[Any], dict[str, npt.NDArray[Any]]]]:
    return read_parquet


def read_rejects(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


@pytest.fixture
def rejects_of() -> Callable[[Path], list[dict[str, Any]]]:
    return read_rejects


@pytest.fixture
def driver_env(openai_stub: StubServer) -> dict[str, str]:
    """The environment for ``cli_driver.py`` subprocesses (stub URL, import path)."""
    env = dict(os.environ)
    env["BULKSTUB_OPENAI_URL"] = openai_stub.url + "/v1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env.pop("EMBEDPLUG_LOAD_PLUGINS", None)
    return env


@pytest.fixture
def driver() -> Path:
    return HERE / "cli_driver.py"


def unit(v: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)
