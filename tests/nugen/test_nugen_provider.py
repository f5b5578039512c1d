"""The ``nugen`` provider against the ``nugen`` stub variant."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from click.testing import CliRunner

import embedplug
import embedplug_nugen
from embedplug import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    Embedder,
    InvalidInputError,
    ResponseFormatError,
)
from embedplug.testing import Fault, StubServer
from embedplug_nugen import NugenProvider

Serve = Callable[..., StubServer]
KEY = "nugen-stub-0123456789"
MODEL = "nugen-flash-embed"
FULL = 768  # nugen-flash-embed's length as the provider declares it
TEXTS = ["The quick brown fox jumps over the lazy dog", "नमस्ते दुनिया", "second document"]

LIVE_KEY = os.environ.get("NUGEN_API_KEY")


def make(server: StubServer, model: str = MODEL, **options: Any) -> Embedder:
    options.setdefault("api_key", KEY)
    return embedplug.embedder(f"nugen:{model}", base_url=server.url, **options)


def last_body(server: StubServer) -> dict[str, Any]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body


# -- package surface ----------------------------------------


def test_public_surface() -> None:
    assert embedplug_nugen.__all__ == [
        "NugenProvider",
        "register_providers",
        "register_stub_variants",
    ]
    assert embedplug_nugen.NugenProvider is NugenProvider


def test_registered_through_the_entry_point(fresh_plugins: object) -> None:
    assert embedplug.providers()["nugen"] is NugenProvider
    (entry,) = embedplug.models("nugen")
    assert entry.id == "nugen:nugen-flash-embed"


def test_import_is_cheap() -> None:
    code = (
        "import sys, embedplug_nugen; "
        "print(sorted(m for m in ('numpy', 'httpx', 'embedplug.protocols') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_known_model() -> None:
    (info,) = NugenProvider.known_models()
    assert info.name == MODEL
    assert info.dimensions == FULL
    assert info.matryoshka
    assert info.native_dimensions
    assert info.allows_dimensions(256)
    assert not info.allows_dimensions(FULL + 1)


# -- configuration ----------------------------------------


def test_key_and_base_url(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    assert NugenProvider(api_key=KEY).base_url == "https://api.nugen.in"
    with pytest.raises(ConfigurationError, match="NUGEN_API_KEY"):
        NugenProvider()
    server = serve(api_key=KEY, dimensions=FULL)
    monkeypatch.setenv("NUGEN_API_KEY", KEY)
    monkeypatch.setenv("NUGEN_BASE_URL", server.url)
    with embedplug.embedder("nugen") as e:
        result = e.embed(TEXTS)
    assert result.embeddings.shape == (3, FULL)
    request = server.requests[-1]
    assert request.path == "/api/v3/inference/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_wrong_key(serve: Serve) -> None:
    server = serve(api_key=KEY, dimensions=FULL)
    with make(server, api_key="wrong") as e, pytest.raises(AuthenticationError) as info:
        e.embed(TEXTS)
    assert info.value.status == 401
    assert "wrong" not in str(info.value)
    assert server.request_count == 1


# -- the response ----------------------------------------


def test_vectors_usage_and_meta(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    before = time.time()
    with make(server) as e:
        result = e.embed(TEXTS)
    body = last_body(server)
    assert body == {"model": MODEL, "input": TEXTS}  # no encoding_format, no dimensions
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(TEXTS), atol=1e-7)
    # usage.total_tokens is all Nugen reports (no prompt_tokens); the stub counts words
    raw = server.requests[-1]
    assert raw.status == 200
    assert result.usage.input_tokens == sum(len(t.split()) for t in TEXTS)
    assert result.usage.requests == 1
    (meta,) = result.meta["batches"]
    assert meta["id"] == "embed-000000000001"
    assert isinstance(meta["created"], float)
    assert meta["created"] >= int(before)
    assert meta["model"] == MODEL


def test_usage_without_prompt_tokens_is_summed_over_batches(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    texts = [f"text number {i}" for i in range(100)]
    with make(server) as e:
        result = e.embed(texts)
    assert server.request_count == 2
    assert sorted(len(r.json["input"]) for r in server.requests) == [4, 96]
    assert result.usage.input_tokens == 300
    assert result.usage.requests == 2
    ids = {m["id"] for m in result.meta["batches"]}
    assert len(ids) == 2
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(texts), atol=1e-7)


def test_matryoshka_dimensions_are_sent(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    with make(server) as e:
        result = e.embed(TEXTS, dimensions=256)
    assert last_body(server)["dimensions"] == 256
    assert result.embeddings.shape == (3, 256)
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(TEXTS, 256), atol=1e-7)


def test_too_many_dimensions_refused_before_sending(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    with make(server) as e, pytest.raises(InvalidInputError, match="32 to 768"):
        e.embed(TEXTS, dimensions=1024)
    assert server.request_count == 0


def test_a_length_other_than_declared_is_a_clear_error(serve: Serve) -> None:
    server = serve(dimensions=1024)  # if Nugen's model were 1024-d, not 768
    with make(server) as e, pytest.raises(ResponseFormatError, match="expected 768-dimensional"):
        e.embed(TEXTS)


def test_unknown_model_takes_its_length_from_the_answer(serve: Serve) -> None:
    server = serve(dimensions=512)
    with make(server, model="matryoshka-embed-model") as e:
        assert e.model_info.dimensions == 0
        result = e.embed(TEXTS)
        resized = e.embed(TEXTS, dimensions=64)
    assert result.embeddings.shape == (3, 512)
    assert resized.embeddings.shape == (3, 64)
    assert last_body(server)["model"] == "matryoshka-embed-model"


# -- errors ----------------------------------------


def test_422_detail_from_the_server_is_readable(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    with (
        make(server, model="some-model") as e,
        pytest.raises(BadRequestError) as info,
    ):
        e.embed(TEXTS, dimensions=5000)  # unknown model: the server decides, and refuses
    error = info.value
    assert error.status == 422
    assert error.provider == "nugen"
    assert error.request_id == "req-1"
    assert error.message == "dimensions: 'dimensions' must be between 1 and 768, not 5000"
    assert server.request_count == 1  # a 422 is never retried


def test_fastapi_detail_list_becomes_one_message(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    detail = [
        {"loc": ["body", "input"], "msg": "field required", "type": "value_error.missing"},
        {"loc": ["body", "dimensions"], "msg": "not a Matryoshka model", "type": "value_error"},
        {"loc": ["query", "x", 0], "msg": "bad", "type": "value_error"},
    ]
    server.inject(Fault.status(422, body={"detail": detail}))
    with make(server) as e, pytest.raises(BadRequestError) as info:
        e.embed(TEXTS)
    assert info.value.message == (
        "input: field required; dimensions: not a Matryoshka model; query.x.0: bad"
    )
    assert "[nugen, HTTP 422, request req-1]" in str(info.value)


def test_plain_detail_string(serve: Serve) -> None:
    server = serve(dimensions=FULL)
    server.inject(Fault.status(400, body={"detail": "Model not available"}))
    with make(server) as e, pytest.raises(BadRequestError, match="Model not available"):
        e.embed(TEXTS)


def test_base64_asked_through_extra_body_is_sent_and_floats_still_decode(serve: Serve) -> None:
    server = serve(dimensions=FULL)  # the stub (like Nugen) answers floats whatever is asked
    with make(server, extra_body={"encoding_format": "base64"}) as e:
        result = e.embed(TEXTS)
    assert last_body(server)["encoding_format"] == "base64"
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(TEXTS), atol=1e-7)


# -- CLI ----------------------------------------


def test_cli_embed_against_the_stub(serve: Serve, fresh_plugins: object) -> None:
    from embedplug.cli import cli

    server = serve(dimensions=FULL)
    env = {"NUGEN_BASE_URL": server.url, "NUGEN_API_KEY": KEY}
    result = CliRunner(env=env).invoke(cli, ["embed", "-m", "nugen", "--dimensions", "64", "hi"])
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()  # JSON Lines: one line per input
    payload = orjson.loads(line)
    assert payload["model"] == "nugen:nugen-flash-embed"
    assert len(payload["embeddings"]["float"]) == 64


# -- live ----------------------------------------


@pytest.mark.live
@pytest.mark.enable_socket
@pytest.mark.skipif(not LIVE_KEY, reason="NUGEN_API_KEY is not set")
def test_live_nugen() -> None:
    with embedplug.embedder("nugen:nugen-flash-embed", api_key=LIVE_KEY) as e:
        result = e.embed(["embedplug live test", "a second text"])
    assert result.embeddings.shape == (2, FULL)
    assert result.usage.input_tokens > 0
    assert "id" in result.meta["batches"][0]
