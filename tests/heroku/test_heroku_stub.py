"""The ``heroku`` stub variant (``embedplug_heroku._stub``), registered through the
``register_stub_variants`` hook: wire shapes, vectors, limits, auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from _stub_helpers import auth_responses, decode_b64, embed, floats
from embedplug._quantize import quantize
from embedplug.testing import StubServer, all_variant_names, get_variant
from embedplug.types import EmbeddingType


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_hook_register_stub_variants_adds_heroku() -> None:
    from embedplug_heroku._stub import HerokuVariant

    assert "heroku" in all_variant_names()
    assert type(get_variant("heroku")) is HerokuVariant


def test_auth(client: httpx.Client) -> None:
    missing, _ = auth_responses(client, "heroku", {"model": "m", "input": ["q"]})
    assert missing.json()["error"]["code"] == "invalid_api_key"


# -- heroku ------------------------------------------------------------------------------


@pytest.fixture
def heroku() -> Iterator[StubServer]:
    with StubServer("heroku") as server:
        yield server


def test_heroku_raw_default(client: httpx.Client, heroku: StubServer) -> None:
    body = embed(client, heroku, ["What is the capital of France?"]).json()
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
    vector = floats(body["data"][0]["embedding"])
    assert vector.shape == (1024,)
    assert np.array_equal(vector, heroku.expected_vector("What is the capital of France?"))


def test_heroku_input_type_changes_the_vector(client: httpx.Client, heroku: StubServer) -> None:
    def vector(**fields: Any) -> np.ndarray[Any, Any]:
        body = embed(client, heroku, "q", encoding_format="base64", **fields).json()
        return decode_b64(body["data"][0]["embedding"])

    document = vector(input_type="search_document")
    query = vector(input_type="search_query")
    plain = vector()
    assert not np.array_equal(document, query)
    assert not np.array_equal(document, plain)
    assert np.array_equal(document, heroku.expected_vector("q", input_type="search_document"))
    assert np.array_equal(query, heroku.expected_vector("q", input_type="search_query"))
    assert np.array_equal(plain, heroku.expected_vector("q"))
    assert embed(client, heroku, "q", input_type="image").status_code == 400


@pytest.mark.parametrize("kind", ["float", "int8", "uint8", "binary", "ubinary"])
@pytest.mark.parametrize("encoding", ["raw", "base64"])
def test_heroku_embedding_types(
    client: httpx.Client, heroku: StubServer, kind: str, encoding: str
) -> None:
    texts = ["a b", "c"]
    body = embed(
        client,
        heroku,
        texts,
        embedding_type=kind,
        encoding_format=encoding,
        input_type="clustering",
    ).json()
    expected = heroku.expected_vectors(texts, embedding_type=kind, input_type="clustering")
    floats = heroku.expected_vectors(texts, input_type="clustering")
    if kind in ("int8", "uint8"):  # a calibrated scale, not embedplug's per-vector one
        signed = np.clip(np.rint(floats * 512.0), -128, 127).astype(np.int16)
        assert np.array_equal(expected, signed + 128 if kind == "uint8" else signed)
        assert not np.array_equal(expected, quantize(floats, EmbeddingType(kind)))
    else:
        assert np.array_equal(expected, quantize(floats, EmbeddingType(kind)))
    dtype = expected.dtype
    for row, item in zip(expected, body["data"], strict=True):
        if encoding == "raw":
            got = np.asarray(item["embedding"]).astype(dtype)
        else:
            got = decode_b64(item["embedding"], dtype.newbyteorder("<").str)
        assert np.array_equal(got, row)
    assert expected.shape[1] == (128 if kind in ("binary", "ubinary") else 1024)


def test_heroku_limits_and_params(client: httpx.Client, heroku: StubServer) -> None:
    assert embed(client, heroku, ["x"] * 96).status_code == 200
    too_many = embed(client, heroku, ["x"] * 97)
    assert too_many.status_code == 400
    assert "96" in too_many.json()["error"]["message"]
    assert embed(client, heroku, ["y" * 2048]).status_code == 200
    assert embed(client, heroku, ["y" * 2049]).status_code == 400
    assert embed(client, heroku, "x", dimensions=256).status_code == 400
    ignored = embed(client, heroku, "x", dimensions=256, allow_ignored_params=True)
    assert ignored.status_code == 200
    assert len(ignored.json()["data"][0]["embedding"]) == 1024
    assert embed(client, heroku, "x", encoding_format="float").status_code == 400
    assert embed(client, heroku, "x", embedding_type="bits").status_code == 400
