"""The ``heroku`` provider against the ``heroku`` stub variant."""

from __future__ import annotations

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
import embedplug_heroku
from embedplug import (
    BadRequestError,
    ConfigurationError,
    Embedder,
    EmbeddingType,
    InvalidInputError,
)
from embedplug.testing import StubServer
from embedplug_heroku import HerokuProvider

Serve = Callable[..., StubServer]
KEY = "inf-stub-0123456789"
MODEL = "cohere-embed-multilingual"
TEXTS = ["What is the capital of France?", "Paris is the capital of France.", "Grüß Gott ✓"]

LIVE_URL = os.environ.get("EMBEDDING_URL") or os.environ.get("INFERENCE_URL")
LIVE_KEY = os.environ.get("EMBEDDING_KEY") or os.environ.get("INFERENCE_KEY")


def make(server: StubServer, model: str = MODEL, **options: Any) -> Embedder:
    options.setdefault("api_key", KEY)
    return embedplug.embedder(f"heroku:{model}", base_url=server.url, **options)


def last_body(server: StubServer) -> dict[str, Any]:
    body = server.requests[-1].json
    assert isinstance(body, dict)
    return body


# -- package surface ----------------------------------------


def test_public_surface() -> None:
    assert embedplug_heroku.__all__ == [
        "HerokuProvider",
        "register_providers",
        "register_stub_variants",
    ]
    assert embedplug_heroku.HerokuProvider is HerokuProvider


def test_registered_through_the_entry_point(fresh_plugins: object) -> None:
    assert embedplug.providers()["heroku"] is HerokuProvider
    (entry,) = embedplug.models("heroku")
    assert entry.id == "heroku:cohere-embed-multilingual"


def test_import_is_cheap() -> None:
    code = (
        "import sys, embedplug_heroku; "
        "print(sorted(m for m in ('numpy', 'httpx', 'embedplug.protocols') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_model_states_herokus_limits() -> None:
    (info,) = HerokuProvider.known_models()
    assert info.name == MODEL
    assert info.dimensions == 1024
    assert not info.matryoshka
    assert info.max_items_per_call == 96
    assert info.max_chars_per_item == 2048
    assert info.embedding_types == frozenset(EmbeddingType)
    assert info.one_embedding_type_per_call
    assert {t.value for t in info.input_types} == {
        "search_document",
        "search_query",
        "classification",
        "clustering",
    }


# -- configuration ----------------------------------------


def test_embedding_url_and_key_from_the_environment(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(api_key=KEY)
    monkeypatch.setenv("EMBEDDING_URL", server.url)
    monkeypatch.setenv("EMBEDDING_KEY", KEY)
    with embedplug.embedder("heroku") as e:
        assert e.model_info.name == MODEL
        result = e.embed(TEXTS)
    assert result.embeddings.shape == (3, 1024)
    request = server.requests[-1]
    assert request.path == "/v1/embeddings"
    assert request.headers["authorization"] == f"Bearer {KEY}"


def test_inference_url_and_key_are_the_alternative(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(api_key=KEY)
    monkeypatch.setenv("INFERENCE_URL", server.url + "/v1")  # a trailing /v1 is accepted too
    monkeypatch.setenv("INFERENCE_KEY", KEY)
    with embedplug.embedder("heroku") as e:
        e.embed(TEXTS[:1])
    assert server.requests[-1].path == "/v1/embeddings"


def test_embedding_variables_win(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(api_key=KEY)
    monkeypatch.setenv("EMBEDDING_URL", server.url)
    monkeypatch.setenv("EMBEDDING_KEY", KEY)
    monkeypatch.setenv("INFERENCE_URL", "https://elsewhere.example")
    monkeypatch.setenv("INFERENCE_KEY", "other")
    provider = HerokuProvider()
    assert provider.base_url == server.url
    assert provider.api_key is not None
    assert provider.api_key.get_secret_value() == KEY


def test_missing_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="EMBEDDING_KEY or INFERENCE_KEY"):
        HerokuProvider()


def test_default_base_url() -> None:
    assert HerokuProvider(api_key=KEY).base_url == "https://us.inference.heroku.com"


def test_model_id_from_the_environment(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    server = serve(api_key=KEY)
    assert HerokuProvider.default_model == MODEL
    monkeypatch.setenv("EMBEDDING_MODEL_ID", "cohere-embed-multilingual-v9")
    assert HerokuProvider.default_model == "cohere-embed-multilingual-v9"
    with embedplug.embedder("heroku", base_url=server.url, api_key=KEY) as e:
        assert e.model_info.name == "cohere-embed-multilingual-v9"
        assert e.model_info.dimensions == 0  # unknown: checked for consistency only
        assert e.model_info.max_items_per_call == 96  # Heroku's API limits still apply
        result = e.embed(TEXTS)
    assert last_body(server)["model"] == "cohere-embed-multilingual-v9"
    assert result.embeddings.shape == (3, 1024)
    # an explicit model still wins over the environment
    with make(server) as e:
        e.embed(TEXTS[:1])
    assert last_body(server)["model"] == MODEL


def test_bad_options_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="encoding_format"):
        HerokuProvider(api_key=KEY, encoding_format="binary")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="truncate"):
        HerokuProvider(api_key=KEY, truncate="MIDDLE")  # type: ignore[arg-type]


# -- input types, encodings, embedding types ----------------------------------------


@pytest.mark.parametrize(
    "input_type", ["search_document", "search_query", "classification", "clustering"]
)
def test_input_type_is_passed_through(serve: Serve, input_type: str) -> None:
    server = serve()
    with make(server) as e:
        result = e.embed(TEXTS, input_type=input_type)
    body = last_body(server)
    assert body["input_type"] == input_type
    assert body["input"] == TEXTS  # no prefixes: Heroku has the field
    # the stub mixes the input type into the vector: this proves it reached the server
    np.testing.assert_array_equal(
        result.embeddings, server.expected_vectors(TEXTS, input_type=input_type)
    )


def test_no_input_type_sends_no_field(serve: Serve) -> None:
    server = serve()
    with make(server) as e:
        e.embed(TEXTS)
    assert "input_type" not in last_body(server)


def test_image_input_type_is_refused_before_sending(serve: Serve) -> None:
    server = serve()
    with make(server) as e, pytest.raises(InvalidInputError, match="input_type 'image'"):
        e.embed(TEXTS, input_type="image")
    assert server.request_count == 0


def test_base64_by_default_raw_on_request(serve: Serve) -> None:
    server = serve()
    with make(server) as e:
        by_base64 = e.embed(TEXTS)
        assert last_body(server)["encoding_format"] == "base64"
        by_raw = e.embed(TEXTS, encoding_format="raw")
        assert last_body(server)["encoding_format"] == "raw"
        by_float = e.embed(TEXTS, encoding_format="float")  # our name for the same thing
        assert last_body(server)["encoding_format"] == "raw"
    np.testing.assert_array_equal(by_base64.embeddings, server.expected_vectors(TEXTS))
    np.testing.assert_allclose(by_raw.embeddings, by_base64.embeddings, atol=1e-7)
    np.testing.assert_array_equal(by_float.embeddings, by_raw.embeddings)
    with make(server, encoding_format="raw") as e:
        e.embed(TEXTS)
    assert last_body(server)["encoding_format"] == "raw"


def test_unknown_encoding_format_per_call_is_refused(serve: Serve) -> None:
    server = serve()
    with make(server) as e, pytest.raises(InvalidInputError, match="encoding_format"):
        e.embed(TEXTS, encoding_format="hex")
    assert server.request_count == 0


@pytest.mark.parametrize("encoding", ["base64", "raw"])
@pytest.mark.parametrize(
    ("kind", "dtype", "width"),
    [
        ("float", np.float32, 1024),
        ("int8", np.int8, 1024),
        ("uint8", np.uint8, 1024),
        ("binary", np.int8, 128),
        ("ubinary", np.uint8, 128),
    ],
)
def test_embedding_types_have_the_right_dtype_and_shape(
    serve: Serve, encoding: str, kind: str, dtype: type, width: int
) -> None:
    server = serve()
    with make(server, encoding_format=encoding) as e:
        result = e.embed(TEXTS, input_type="search_document", embedding_types=kind)
    body = last_body(server)
    assert body.get("embedding_type", "float") == kind
    assert body["encoding_format"] == encoding
    array = result[kind]
    assert array.dtype == dtype
    assert array.shape == (3, width)
    assert result.dimensions == 1024
    expected = server.expected_vectors(TEXTS, embedding_type=kind, input_type="search_document")
    assert expected.dtype == dtype
    np.testing.assert_array_equal(array, expected)


def test_several_types_are_one_request_each(serve: Serve) -> None:
    server = serve()
    with make(server) as e:
        result = e.embed(TEXTS, embedding_types=["float", "int8", "binary"])
    assert server.request_count == 3  # Heroku takes one embedding_type a request
    asked = [r.json.get("embedding_type", "float") for r in server.requests]
    assert asked == ["float", "int8", "binary"]
    assert result["int8"].dtype == np.int8
    assert result["binary"].shape == (3, 128)
    np.testing.assert_array_equal(
        result["int8"], server.expected_vectors(TEXTS, embedding_type="int8")
    )
    np.testing.assert_array_equal(
        result["binary"], server.expected_vectors(TEXTS, embedding_type="binary")
    )


def test_dimensions_are_refused_before_sending(serve: Serve) -> None:
    server = serve()
    with make(server) as e, pytest.raises(InvalidInputError, match="cannot give 256"):
        e.embed(TEXTS, dimensions=256)
    assert server.request_count == 0


# -- 96 strings, 2,048 characters ----------------------------------------


def test_more_than_96_strings_are_split(serve: Serve) -> None:
    server = serve()
    texts = [f"sentence number {i}" for i in range(200)]
    with make(server) as e:
        result = e.embed(texts)
    assert server.request_count == 3
    assert sorted(len(r.json["input"]) for r in server.requests) == [8, 96, 96]
    assert all(r.status == 200 for r in server.requests)
    sent = [t for r in server.requests for t in r.json["input"]]
    assert sorted(sent) == sorted(texts)  # each exactly once
    np.testing.assert_array_equal(result.embeddings, server.expected_vectors(texts))


def test_max_batch_size_cannot_raise_the_limit(serve: Serve) -> None:
    server = serve()
    with make(server, max_batch_size=500) as e:
        e.embed([f"s{i}" for i in range(100)])
    assert sorted(len(r.json["input"]) for r in server.requests) == [4, 96]


def test_2048_characters_pass(serve: Serve) -> None:
    server = serve()
    text = "a" * 2048
    with make(server) as e:
        e.embed([text])
    assert last_body(server)["input"] == [text]


def test_longer_strings_are_refused_before_any_request(serve: Serve) -> None:
    server = serve()
    texts = [*TEXTS, "b" * 2049]
    with make(server) as e, pytest.raises(InvalidInputError, match="2049 characters") as info:
        e.embed(texts)
    assert info.value.position == 3
    assert "2048" in str(info.value)
    assert server.request_count == 0


@pytest.mark.parametrize(("mode", "keep"), [("END", slice(0, 2048)), ("START", slice(-2048, None))])
def test_truncate_cuts_only_when_asked(serve: Serve, mode: str, keep: slice) -> None:
    server = serve()
    text = "".join(chr(ord("a") + i % 26) for i in range(3000))
    with make(server, truncate=mode) as e:
        assert e.model_info.max_chars_per_item is None
        result = e.embed([text, "short"])
    sent = last_body(server)["input"]
    assert sent == [text[keep], "short"]
    assert len(sent[0]) == 2048
    np.testing.assert_array_equal(result.embeddings, server.expected_vectors([text[keep], "short"]))


def test_truncate_none_still_refuses(serve: Serve) -> None:
    server = serve()
    with make(server, truncate="NONE") as e, pytest.raises(InvalidInputError):
        e.embed(["c" * 2049])
    assert server.request_count == 0


# -- allow_ignored_params ----------------------------------------


def test_unsupported_parameter_is_refused_by_the_server(serve: Serve) -> None:
    server = serve()
    with make(server) as e, pytest.raises(BadRequestError, match="user") as info:
        e.embed(TEXTS, user="someone")
    assert info.value.status == 400
    assert server.request_count == 1  # a 400 is not retried


@pytest.mark.parametrize("where", ["constructor", "call"])
def test_allow_ignored_params(serve: Serve, where: str) -> None:
    server = serve()
    setting: dict[str, Any] = {"allow_ignored_params": True} if where == "constructor" else {}
    with make(server, **setting) as e:
        call: dict[str, Any] = {"allow_ignored_params": True} if where == "call" else {}
        result = e.embed(TEXTS, user="someone", **call)
    body = last_body(server)
    assert body["allow_ignored_params"] is True
    assert body["user"] == "someone"
    assert result.embeddings.shape == (3, 1024)


def test_allow_ignored_params_is_not_sent_by_default(serve: Serve) -> None:
    server = serve()
    with make(server) as e:
        e.embed(TEXTS)
    assert "allow_ignored_params" not in last_body(server)


# -- CLI ----------------------------------------


def test_cli_models_lists_heroku(fresh_plugins: object) -> None:
    from embedplug.cli import cli

    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    line = next(ln for ln in result.output.splitlines() if ln.startswith("heroku:"))
    assert "cohere-embed-multilingual" in line
    assert "1024" in line
    assert "int8" in line


def test_cli_embed_against_the_stub(serve: Serve, fresh_plugins: object) -> None:
    from embedplug.cli import cli

    server = serve(api_key=KEY)
    env = {"EMBEDDING_URL": server.url, "EMBEDDING_KEY": KEY}
    args = ["embed", "-m", "heroku:cohere-embed-multilingual", "Bonjour tout le monde"]
    result = CliRunner(env=env).invoke(cli, args)
    assert result.exit_code == 0, result.output
    (line,) = result.output.splitlines()  # JSON Lines: one line per input
    payload = orjson.loads(line)
    assert payload["model"] == "heroku:cohere-embed-multilingual"
    vector = payload["embeddings"]["float"]
    assert len(vector) == 1024
    np.testing.assert_allclose(vector, server.expected_vector("Bonjour tout le monde"), atol=1e-6)


# -- live ----------------------------------------


@pytest.mark.live
@pytest.mark.enable_socket
@pytest.mark.skipif(not LIVE_KEY, reason="EMBEDDING_KEY (or INFERENCE_KEY) is not set")
def test_live_heroku() -> None:
    options: dict[str, Any] = {"api_key": LIVE_KEY}
    if LIVE_URL:
        options["base_url"] = LIVE_URL
    with embedplug.embedder("heroku:cohere-embed-multilingual", **options) as e:
        result = e.embed(["embedplug live test"], input_type="search_query")
        packed = e.embed(["embedplug live test"], embedding_types="binary")
    assert result.embeddings.shape == (1, 1024)
    assert packed["binary"].shape == (1, 128)
