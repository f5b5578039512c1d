"""The plugin guide stays true: every hook documented and tested, its code runs.

In the manner of datasette's ``test_docs.py``: a hook added to
``embedplug.hookspecs`` without a section in ``docs/writing-a-plugin.md`` and a
``test_hook_<name>`` test somewhere under ``tests/`` fails here.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from _guide import GUIDE_PATH, guide_files, write_guide_plugin

from embedplug import hookspecs
from embedplug._api import Embedder
from embedplug.provider import Batch, ModelInfo
from embedplug.testing import StubServer
from embedplug.types import Image

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "embedplug-hello"


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE_PATH.read_text(encoding="utf-8")


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def _block_defining(text: str, name: str) -> str:
    found = [b for b in _blocks(text, "python") if re.search(rf"^class {name}\b", b, re.M)]
    assert len(found) == 1, f"expected one python block defining {name}"
    return found[0]


def _run(code: str, namespace: dict[str, Any] | None = None) -> dict[str, Any]:
    namespace = {} if namespace is None else namespace
    namespace.setdefault("__name__", "guide_example")
    exec(compile(code, str(GUIDE_PATH), "exec"), namespace)
    return namespace


def _hook_names() -> list[str]:
    return sorted(n for n, f in vars(hookspecs).items() if hasattr(f, "embedplug_spec"))


def _test_function_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return names


def test_hookspecs_are_found() -> None:
    assert _hook_names() == [
        "register_commands",
        "register_providers",
        "register_stub_variants",
    ]


@pytest.mark.parametrize("hook", _hook_names())
def test_every_hookspec_has_a_section_in_the_guide(guide: str, hook: str) -> None:
    assert f"### `{hook}(" in guide
    spec = getattr(hookspecs, hook)
    assert spec.__doc__, f"{hook} needs a docstring stating its contract"


@pytest.mark.parametrize("hook", _hook_names())
def test_every_hookspec_is_exercised_by_a_test(hook: str) -> None:
    tests = [n for n in _test_function_names() if n.startswith(f"test_hook_{hook}")]
    assert tests, f"write a test named test_hook_{hook}... that exercises the hook"


@pytest.mark.parametrize("cls", [ModelInfo, Batch])
def test_every_field_is_documented(guide: str, cls: type) -> None:
    missing = [f.name for f in dataclasses.fields(cls) if f"| `{f.name}` |" not in guide]
    assert missing == [], f"document {cls.__name__} fields in the guide's table"


def test_every_python_block_compiles(guide: str) -> None:
    blocks = _blocks(guide, "python")
    assert len(blocks) >= 8
    for block in blocks:
        compile(block, str(GUIDE_PATH), "exec")


def test_blocks_showing_example_files_are_those_files(guide: str) -> None:
    shown = 0
    for block in _blocks(guide, "python") + _blocks(guide, "toml"):
        first, _, rest = block.partition("\n")
        marker = re.fullmatch(r"# (docs/examples/embedplug-hello/\S+)", first)
        if marker:
            shown += 1
            assert rest == (ROOT / marker.group(1)).read_text(encoding="utf-8"), marker.group(1)
    assert shown == 2


def test_method_excerpts_are_from_the_example_provider(guide: str) -> None:
    source = (EXAMPLE / "src" / "embedplug_hello" / "_provider.py").read_text(encoding="utf-8")
    excerpts = [b for b in _blocks(guide, "python") if b.startswith("def embed_batch")]
    assert len(excerpts) == 1
    assert textwrap.indent(excerpts[0], "    ") in source


def test_guide_openai_protocol_example_and_its_test_run(guide: str) -> None:
    namespace = _run(_block_defining(guide, "AcmeProvider"))
    provider_cls, model = namespace["AcmeProvider"], namespace["ACME_EMBED_1"]
    with StubServer("openai", api_key="k", dimensions=1024) as server:
        acme = Embedder(provider_cls(api_key="k", base_url=server.url + "/v1"), model)
        with acme:
            result = acme.embed(["a query", "another"], input_type="search_query", dimensions=256)
        body = server.requests[-1].json
    assert result.embeddings.shape == (2, 256)
    assert body["input_type"] == "query"
    assert body["dimensions"] == 256
    assert body["encoding_format"] == "base64"
    np.testing.assert_allclose(
        result.embeddings, server.expected_vectors(["a query", "another"], 256), rtol=1e-5
    )


def test_guide_cohere_protocol_example_runs(guide: str, png_bytes: bytes) -> None:
    namespace = _run(_block_defining(guide, "GlobexProvider"))
    provider_cls, model = namespace["GlobexProvider"], namespace["GLOBEX_EMBED"]
    image = Image.from_bytes(png_bytes)
    with StubServer("cohere", api_key="k", dimensions=1024) as server:
        globex = Embedder(provider_cls(api_key="k", base_url=server.url), model)
        with globex:
            result = globex.embed(
                ["a text", image, ["a caption", image]],
                dimensions=512,
                embedding_types=["float", "int8"],
            )
        bodies = [r.json for r in server.requests]
    assert result["float"].shape == (3, 512)
    assert result["int8"].dtype == np.int8
    shapes = sorted(next(k for k in ("texts", "images", "inputs") if k in b) for b in bodies)
    assert shapes == ["images", "inputs", "texts"]  # content_mode "auto": one shape per kind
    assert {tuple(body["embedding_types"]) for body in bodies} == {("base64", "int8")}


def test_guide_own_protocol_example_runs(guide: str) -> None:
    namespace = _run(_block_defining(guide, "VectorsProvider"))
    provider = namespace["VectorsProvider"](api_key="k")
    seen: list[dict[str, Any]] = []

    def server(request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        seen.append(body)
        vectors = [[float(len(t))] * 384 for t in body["texts"]]
        return httpx.Response(200, json={"vectors": vectors, "tokens": 7})

    model = provider.known_models()[0]
    with Embedder(provider, model, transport=httpx.MockTransport(server)) as vectors:
        result = vectors.embed(["ab", "abc"])
    assert seen == [{"model": "vec-small", "texts": ["ab", "abc"]}]
    assert result.embeddings[:, 0].tolist() == [2.0, 3.0]
    assert result.usage.input_tokens == 7

    def wrong_count(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"vectors": [[0.0] * 384]})

    from embedplug.errors import ResponseFormatError

    broken = Embedder(provider, model, transport=httpx.MockTransport(wrong_count))
    with broken, pytest.raises(ResponseFormatError, match="expected 2 vectors"):
        broken.embed(["one", "two"])


def _run_with_guide_plugin(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with the guide's ``embedplug-acme`` package found as if installed."""
    site = write_guide_plugin(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBEDPLUG_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_guide_shows_a_whole_package() -> None:
    assert sorted(guide_files()) == [
        "src/embedplug_acme/__init__.py",
        "src/embedplug_acme/_provider.py",
        "tests/test_acme.py",
        "tests/test_acme_conformance.py",
    ]


def test_guide_tests_and_conformance_example_pass_as_written(tmp_path: Path) -> None:
    """The guide's package and its two test files, run with pytest as a plugin author would."""
    done = _run_with_guide_plugin(tmp_path, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    summary = done.stdout.strip().splitlines()[-1]
    assert re.match(r"22 passed, 1 skipped in ", summary), summary
    assert "SKIPPED [1]" in done.stdout
    assert "the model takes every text input type" in done.stdout


_HEAVY_PROBE = """
import atexit, json, sys
def report():
    heavy = ("httpx", "numpy", "embedplug.protocols.openai", "embedplug_acme._provider")
    print(json.dumps({m: m in sys.modules for m in ("embedplug_acme", *heavy)}), file=sys.stderr)
atexit.register(report)
from embedplug.cli import main
main(["--help"])
"""


def test_help_with_the_guide_plugin_imports_nothing_heavy(tmp_path: Path) -> None:
    """The rule of the guide's "Imports" section, held by its own example package."""
    done = _run_with_guide_plugin(tmp_path, "-c", _HEAVY_PROBE)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stderr.strip().splitlines()[-1])
    assert loaded == {
        "embedplug_acme": True,  # the entry point's module is imported ...
        "httpx": False,  # ... and nothing heavy with it
        "numpy": False,
        "embedplug.protocols.openai": False,
        "embedplug_acme._provider": False,
    }


def test_protocols_package_is_lazy() -> None:
    """``import embedplug.protocols`` is free; each base class loads its own module only."""
    code = (
        "import json, sys; import embedplug.protocols as p; before = sorted(sys.modules); "
        "p.OpenAIEmbeddingsProvider; "
        "print(json.dumps([[m for m in ('httpx', 'numpy') if m in before], "
        "'embedplug.protocols.cohere' in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == [[], False]
