"""The ``openai`` provider against the ``openai`` and ``openai-floats`` stub variants."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

import embedplug
import embedplug_openai
from embedplug import (
    AuthenticationError,
    ConfigurationError,
    Embedder,
    InvalidInputError,
    ModelInfo,
    ResponseFormatError,
)
from embedplug.testing import Fault, StubServer
from embedplug_openai import OpenAIProvider

Serve = Callable[..., StubServer]
KEY = "sk-stub-0123456789"
TEXTS = ["The cat sat on the mat.", "Paris is the capital of France.", "über straße ✓"]

# Read before the autouse fixture clears the environment for the other tests.
LIVE_KEY = os.environ.get("OPENAI_API_KEY")


def make(server: StubServer, model: str = "text-embedding-3-small", **options: object) -> Embedder:
    options.setdefault("api_key", KEY)
    return embedplug.embedder(f"openai:{model}", base_url=server.url + "/v1", **options)


def last_body(server: StubServer) -> dict[str, object]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body


# -- package surface ----------------------------------------


def test_public_surface() -> None:
    assert embedplug_openai.__all__ == ["OpenAIProvider", "register_providers"]
    assert embedplug_openai.OpenAIProvider is OpenAIProvider
    with pytest.raises(AttributeError):
        _ = embedplug_openai.nothing_here


def test_registered_through_the_entry_point(fresh_plugins: object) -> None:
    assert embedplug.providers()["openai"] is OpenAIProvider
    ids = {entry.id for entry in embedplug.models("openai")}
    assert ids == {
        "openai:text-embedding-3-small",
        "openai:text-embedding-3-large",
        "openai:text-embedding-ada-002",
    }


def test_import_is_cheap() -> None:
    code = (
        "import sys, embedplug_openai; "
        "print(sorted(m for m in ('numpy', 'httpx', 'embedplug.protocols') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_known_models_state_openais_limits() -> None:
    models = {m.name: m for m in OpenAIProvider.known_models()}
    small, large, ada = (
        models["text-embedding-3-small"],
        models["text-embedding-3-large"],
        models["text-embedding-ada-002"],
    )
    assert (small.dimensions, large.dimensions, ada.dimensions) == (1536, 3072, 1536)
    assert small.matryoshka
    assert small.native_dimensions
    assert large.matryoshka
    assert large.native_dimensions
    assert not ada.matryoshka
    assert not ada.native_dimensions
    for info in models.values():
        assert info.max_items_per_call == 2048
        assert info.max_tokens_per_call == 300_000
        assert info.max_tokens_per_item == 8192


# -- configuration ----------------------------------------


def test_defaults_and_key_never_shown() -> None:
    provider = OpenAIProvider(api_key=KEY)
    assert provider.base_url == "https://api.openai.com/v1"
    assert KEY not in repr(provider)
    assert provider.api_key is not None
    assert provider.api_key.get_secret_value() == KEY


def test_base_url_and_key_from_the_environment(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve("openai", api_key=KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with embedplug.embedder("openai") as e:
        result = e.embed(TEXTS)
    assert result.embeddings.shape == (3, 1536)
    assert server.requests[-1].path == "/v1/embeddings"
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_no_key_is_fine_for_a_local_server(serve: Serve) -> None:
    server = serve("openai")
    with embedplug.embedder("openai", base_url=server.url + "/v1") as e:
        result = e.embed(TEXTS[:1])
    assert result.embeddings.shape == (1, 1536)
    assert "authorization" not in server.requests[-1].headers


def test_a_401_without_a_key_says_how_to_set_one(serve: Serve) -> None:
    server = serve("openai", api_key=KEY)
    with (
        embedplug.embedder("openai", base_url=server.url + "/v1") as e,
        pytest.raises(AuthenticationError, match="set OPENAI_API_KEY") as info,
    ):
        e.embed(TEXTS)
    assert info.value.status == 401
    assert info.value.request_id == "req-1"
    assert server.request_count == 1  # never retried


def test_a_401_with_a_wrong_key_does_not_blame_a_missing_one(serve: Serve) -> None:
    server = serve("openai", api_key=KEY)
    with (
        make(server, api_key="sk-wrong") as e,
        pytest.raises(AuthenticationError) as info,
    ):
        e.embed(TEXTS)
    assert "OPENAI_API_KEY" not in str(info.value)
    assert "sk-wrong" not in str(info.value)


def test_organization_and_project_headers(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve("openai")
    with make(server, organization="org-1", project="proj-1", headers={"X-Extra": "y"}) as e:
        e.embed(TEXTS[:1])
    headers = server.requests[-1].headers
    assert headers["openai-organization"] == "org-1"
    assert headers["openai-project"] == "proj-1"
    assert headers["x-extra"] == "y"

    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-env")
    with make(server) as e:
        e.embed(TEXTS[:1])
    headers = server.requests[-1].headers
    assert (headers["openai-organization"], headers["openai-project"]) == ("org-env", "proj-env")


def test_no_organization_header_unless_set(serve: Serve) -> None:
    server = serve("openai")
    with make(server) as e:
        e.embed(TEXTS[:1])
    assert "openai-organization" not in server.requests[-1].headers
    assert "openai-project" not in server.requests[-1].headers


def test_plain_http_to_a_remote_host_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="plain http"):
        OpenAIProvider(base_url="http://example.com/v1", api_key=KEY)


# -- vectors and encodings ----------------------------------------


def test_base64_by_default_and_exact_vectors(serve: Serve) -> None:
    server = serve("openai")
    with make(server) as e:
        result = e.embed(TEXTS)
    body = last_body(server)
    assert body["encoding_format"] == "base64"
    assert body["input"] == TEXTS
    assert body["model"] == "text-embedding-3-small"
    assert "dimensions" not in body
    assert result.embeddings.dtype == np.float32
    np.testing.assert_array_equal(result.embeddings, server.expected_vectors(TEXTS))
    assert result.meta["batches"][0]["encoding_format"] == "base64"
    assert result.usage.input_tokens == sum(len(t.split()) for t in TEXTS)
    assert result.usage.requests == 1


@pytest.mark.parametrize("where", ["constructor", "call"])
def test_float_encoding_switch(serve: Serve, where: str) -> None:
    server = serve("openai")
    with make(server, **({"encoding_format": "float"} if where == "constructor" else {})) as e:
        kwargs: dict[str, Any] = {"encoding_format": "float"} if where == "call" else {}
        result = e.embed(TEXTS, **kwargs)
    assert last_body(server)["encoding_format"] == "float"
    assert result.meta["batches"][0]["encoding_format"] == "float"
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(TEXTS), atol=1e-7)


def test_server_that_ignores_encoding_format_is_decoded_correctly(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    floats = serve("openai-floats")
    base64 = serve("openai")
    caplog.set_level(logging.DEBUG, logger="embedplug.openai")
    with make(floats) as e:
        result = e.embed(TEXTS)
    assert last_body(floats)["encoding_format"] == "base64"  # asked for base64 ...
    assert result.meta["batches"][0]["encoding_format"] == "float"  # ... got floats
    assert "although base64 was asked" in caplog.text
    with make(base64) as e:
        reference = e.embed(TEXTS)
    assert result.embeddings.shape == reference.embeddings.shape == (3, 1536)
    assert np.isfinite(result.embeddings).all()
    np.testing.assert_allclose(result.embeddings, reference.embeddings, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-5)


def test_unknown_encoding_format_is_refused_before_sending(serve: Serve) -> None:
    server = serve("openai")
    with make(server) as e, pytest.raises(InvalidInputError, match="encoding_format"):
        e.embed(TEXTS, encoding_format="raw")
    assert server.request_count == 0
    with pytest.raises(InvalidInputError, match="encoding_format"):
        OpenAIProvider(api_key=KEY, encoding_format="raw")  # type: ignore[arg-type]


def test_bad_base64_is_a_typed_error(serve: Serve) -> None:
    server = serve("openai")
    server.inject(Fault.bad_base64())
    with make(server) as e, pytest.raises(ResponseFormatError, match="base64"):
        e.embed(TEXTS)


async def test_async_gives_the_same_vectors(serve: Serve) -> None:
    server = serve("openai")
    e = make(server)
    try:
        result = await e.aembed(TEXTS)
        again = e.embed(TEXTS)
    finally:
        await e.aclose()
    np.testing.assert_array_equal(result.embeddings, again.embeddings)


# -- dimensions and limits ----------------------------------------


def test_dimensions_are_sent_to_text_embedding_3(serve: Serve) -> None:
    server = serve("openai")
    with make(server, model="text-embedding-3-large") as e:
        result = e.embed(TEXTS, dimensions=256)
    assert last_body(server)["dimensions"] == 256
    assert result.embeddings.shape == (3, 256)
    np.testing.assert_array_equal(
        result.embeddings, server.expected_vectors(TEXTS, 256, model="text-embedding-3-large")
    )


def test_ada_002_takes_no_dimensions(serve: Serve) -> None:
    server = serve("openai")
    with (
        make(server, model="text-embedding-ada-002") as e,
        pytest.raises(InvalidInputError, match="cannot give 256 dimensions"),
    ):
        e.embed(TEXTS, dimensions=256)
    assert server.request_count == 0


def test_2048_inputs_per_request(serve: Serve) -> None:
    server = serve("openai")
    texts = [f"text number {i}" for i in range(2050)]
    with make(server) as e:
        result = e.embed(texts, dimensions=8)
    sizes = sorted(len(r.json["input"]) for r in server.requests)
    assert sizes == [2, 2048]
    np.testing.assert_array_equal(result.embeddings, server.expected_vectors(texts, 8))


def test_300k_tokens_per_request(serve: Serve) -> None:
    server = serve("openai")
    long_text = "word " * 600  # 3,000 characters: about 1,000 tokens by the planner's estimate
    texts = [f"{i} {long_text}" for i in range(700)]
    with make(server) as e:
        result = e.embed(texts, dimensions=8)
    assert len(result) == 700
    assert server.request_count >= 3  # 700 x ~1,000 tokens does not fit in two requests
    for request in server.requests:
        inputs = request.json["input"]
        assert sum(len(t) // 3 + 1 for t in inputs) <= 300_000


# -- unknown and declared models ----------------------------------------


def test_unknown_model_is_accepted_with_conservative_limits(serve: Serve) -> None:
    server = serve("openai", dimensions=384)
    with make(server, model="my-local-model") as e:
        info = e.model_info
        result = e.embed([f"t{i}" for i in range(70)])
    assert info.dimensions == 0
    assert info.max_items_per_call == 32
    assert info.max_payload_bytes == 2_000_000
    assert result.embeddings.shape == (70, 384)
    assert sorted(len(r.json["input"]) for r in server.requests) == [6, 32, 32]
    assert all(r.json["model"] == "my-local-model" for r in server.requests)


def test_unknown_model_vectors_must_agree_in_length(serve: Serve) -> None:
    server = serve("openai", dimensions=384)
    server.inject(Fault.wrong_dimension(100))
    with (
        make(server, model="my-local-model", max_concurrency=1) as e,
        pytest.raises(ResponseFormatError, match="columns"),
    ):
        e.embed([f"t{i}" for i in range(40)])


def test_unknown_model_passes_dimensions_to_the_server(serve: Serve) -> None:
    server = serve("openai", dimensions=384)
    with make(server, model="my-matryoshka-model") as e:
        result = e.embed(TEXTS, dimensions=128)
    assert last_body(server)["dimensions"] == 128
    assert result.embeddings.shape == (3, 128)
    np.testing.assert_array_equal(result.embeddings, server.expected_vectors(TEXTS, 128))


def test_declared_model_overrides_the_defaults(serve: Serve) -> None:
    server = serve("openai", dimensions=1024)
    bge = ModelInfo(name="bge-m3", dimensions=1024, max_items_per_call=100)
    with make(server, model="bge-m3", extra_models=[bge]) as e:
        result = e.embed([f"t{i}" for i in range(150)])
    assert e.model_info is bge
    assert sorted(len(r.json["input"]) for r in server.requests) == [50, 100]
    assert result.embeddings.shape == (150, 1024)


def test_declared_model_with_the_wrong_length_is_caught(serve: Serve) -> None:
    server = serve("openai", dimensions=1024)
    wrong = ModelInfo(name="bge-m3", dimensions=768)
    with (
        make(server, model="bge-m3", extra_models=[wrong]) as e,
        pytest.raises(ResponseFormatError, match="expected 768-dimensional"),
    ):
        e.embed(TEXTS)


def test_extra_models_must_be_model_infos() -> None:
    with pytest.raises(InvalidInputError, match="ModelInfo"):
        OpenAIProvider(api_key=KEY, extra_models=[{"name": "x"}])  # type: ignore[list-item]


# -- prefixes ----------------------------------------


@pytest.mark.parametrize(
    ("model", "input_type", "prefix"),
    [
        ("intfloat/e5-large-v2", "search_query", "query: "),
        ("intfloat/multilingual-e5-base", "search_document", "passage: "),
        ("intfloat/e5-small", "clustering", "query: "),
        ("nomic-embed-text:latest", "search_document", "search_document: "),
        ("nomic-embed-text", "classification", "classification: "),
        ("BAAI/bge-large-en-v1.5", "search_query", "Represent this sentence for searching"),
        ("mxbai-embed-large", "search_query", "Represent this sentence for searching"),
        (
            "Qwen/Qwen3-Embedding-0.6B",
            "search_query",
            "Instruct: Given a web search query, retrieve relevant passages that answer the"
            " query\nQuery:",
        ),
    ],
)
def test_model_card_prefixes(serve: Serve, model: str, input_type: str, prefix: str) -> None:
    server = serve("openai", dimensions=16)
    with make(server, model=model) as e:
        result = e.embed(TEXTS, input_type=input_type)
    sent = last_body(server)["input"]
    assert isinstance(sent, list)
    assert all(s.startswith(prefix) and s.endswith(t) for s, t in zip(sent, TEXTS, strict=True))
    np.testing.assert_array_equal(result.embeddings, server.expected_vectors(sent))


@pytest.mark.parametrize(
    ("model", "input_type"),
    [
        ("Qwen/Qwen3-Embedding-8B", "search_document"),  # documents take no instruction
        ("BAAI/bge-large-en-v1.5", "search_document"),
        ("intfloat/e5-large-v2", None),  # no input type: the text as given
        ("intfloat/multilingual-e5-large-instruct", "search_query"),  # another format
        ("text-embedding-3-small", "search_query"),
    ],
)
def test_no_prefix(serve: Serve, model: str, input_type: str | None) -> None:
    server = serve("openai")
    with make(server, model=model) as e:
        e.embed(TEXTS, input_type=input_type)
    assert last_body(server)["input"] == TEXTS


def test_prefixes_option_overrides_and_switches_off(serve: Serve) -> None:
    server = serve("openai", dimensions=16)
    custom = {"search_query": "Q: ", "search_document": ""}
    with make(server, model="intfloat/e5-large-v2", prefixes=custom) as e:
        e.embed(["a"], input_type="search_query")
        assert last_body(server)["input"] == ["Q: a"]
        e.embed(["a"], input_type="search_document")
        assert last_body(server)["input"] == ["a"]
        e.embed(["a"], input_type="clustering")  # untouched: the card's prefix
        assert last_body(server)["input"] == ["query: a"]


def test_declared_model_carries_its_prefixes(serve: Serve) -> None:
    server = serve("openai", dimensions=16)
    info = ModelInfo(name="m", dimensions=16, extra={"prefixes": {"search_query": "Q> "}})
    with make(server, model="m", extra_models=[info]) as e:
        e.embed(["a"], input_type="search_query")
        assert last_body(server)["input"] == ["Q> a"]
        e.embed(["a"], input_type="search_document")
        assert last_body(server)["input"] == ["a"]


def test_prefixes_for_any_model(serve: Serve) -> None:
    server = serve("openai", dimensions=16)
    with make(server, model="my-model", prefixes={"search_query": "query: "}) as e:
        e.embed(["a"], input_type="search_query")
    assert last_body(server)["input"] == ["query: a"]


# -- CLI ----------------------------------------


def test_cli_embed_against_the_stub(serve: Serve, fresh_plugins: object) -> None:
    from embedplug.cli import cli

    server = serve("openai")
    env = {"OPENAI_BASE_URL": server.url + "/v1", "OPENAI_API_KEY": KEY}
    args = ["embed", "-m", "openai:text-embedding-3-small", "--dimensions", "8", "hello world"]
    result = CliRunner(env=env).invoke(cli, args)
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()  # JSON Lines: one line per input
    payload = orjson.loads(line)
    vector = payload["embeddings"]["float"]
    assert len(vector) == 8
    np.testing.assert_allclose(vector, server.expected_vector("hello world", 8), atol=1e-6)


# -- live ----------------------------------------


@pytest.mark.live
@pytest.mark.enable_socket
@pytest.mark.skipif(not LIVE_KEY, reason="OPENAI_API_KEY is not set")
def test_live_openai() -> None:
    with embedplug.embedder("openai:text-embedding-3-small", api_key=LIVE_KEY) as e:
        result = e.embed(["embedplug live test"], dimensions=256)
    assert result.embeddings.shape == (1, 256)
    assert result.usage.input_tokens > 0
