"""The ``ig1`` stub variants (``embedplug_ig1._stub``), registered through the
``register_stub_variants`` hook: wire shapes, vectors, limits, auth."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from _stub_helpers import auth_responses, data_url, decode_b64, embed, floats, png
from embedplug.testing import StubServer, all_variant_names, get_variant


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_hook_register_stub_variants_adds_ig1() -> None:
    from embedplug_ig1._stub import IG1OpenAIVariant, IG1Variant

    assert {"ig1", "ig1-openai"} <= set(all_variant_names())
    assert type(get_variant("ig1")) is IG1Variant
    assert type(get_variant("ig1-openai")) is IG1OpenAIVariant


@pytest.mark.parametrize("variant", ["ig1", "ig1-openai"])
def test_auth(client: httpx.Client, variant: str) -> None:
    body: dict[str, Any] = {"model": "m", "input": ["q"]}
    if variant == "ig1":
        body = {
            "model": "qwen3-vl-embedding-8b",
            "input_type": "search_query",
            "inputs": [{"content": [{"type": "text", "text": "q"}]}],
        }
    missing, _ = auth_responses(client, variant, body)
    if variant == "ig1":
        assert set(missing.json()) == {"message"}
    else:
        assert missing.json()["error"]["code"] == "invalid_api_key"


def test_ig1_openai(client: httpx.Client) -> None:
    with StubServer("ig1-openai") as server:
        assert server.endpoint.endswith("/v1/embeddings")
        body = embed(client, server, ["a"], model="bge-m3", encoding_format="base64").json()
        assert body["model"] == "bge-m3"
        assert decode_b64(body["data"][0]["embedding"]).shape == (1024,)


# -- ig1 ---------------------------------------------------------------------------------


@pytest.fixture
def ig1() -> Iterator[StubServer]:
    with StubServer("ig1") as server:
        yield server


def test_ig1_doc_example(client: httpx.Client, ig1: StubServer) -> None:
    request = {
        "inputs": [
            {
                "content": [
                    {"type": "text", "text": "The food was delicious"},
                    {"type": "text", "text": "the waiter was happy"},
                ]
            }
        ],
        "model": "qwen3-vl-embedding-8b",
        "input_type": "search_document",
        "output_dimension": 2048,
        "embedding_types": ["float"],
    }
    response = client.post(ig1.url + "/cohere/v2/embed", json=request)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "embeddings", "texts", "meta", "model", "usage"}
    assert isinstance(body["id"], str)
    assert body["texts"] == ["The food was delicious"]
    assert body["model"] == "qwen3-vl-embedding-8b"
    billed = {"input_tokens": 8}
    assert body["meta"] == {
        "api_version": {"version": "2", "is_experimental": True},
        "billed_units": billed,
    }
    assert body["usage"] == {"billed_units": billed}
    vectors = body["embeddings"]["float"]
    assert len(vectors) == 1  # two text blocks, one input, one vector
    expected = ig1.expected_vector(["The food was delicious", "the waiter was happy"], 2048)
    assert np.array_equal(floats(vectors[0]), expected)


def test_ig1_image(client: httpx.Client, ig1: StubServer) -> None:
    picture = png(8, 6)
    request = {
        "model": "qwen3-vl-embedding-8b",
        "input_type": "image",
        "inputs": [{"content": [{"type": "image_url", "image_url": {"url": data_url(picture)}}]}],
        "output_dimension": 128,
    }
    body = client.post(ig1.endpoint, json=request).json()
    assert body["texts"] == []
    assert body["images"] == [{"width": 8, "height": 6, "format": "png", "bit_depth": 32}]
    assert body["meta"]["billed_units"]["images"] == 1
    assert body["usage"]["billed_units"]["images"] == 1
    assert np.array_equal(floats(body["embeddings"]["float"][0]), ig1.expected_vector(picture, 128))
    full = client.post(ig1.endpoint, json={**request, "output_dimension": None}).json()
    assert len(full["embeddings"]["float"][0]) == 4096


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"input_type": "classification"}, "input_type"),
        ({"input_type": "clustering"}, "input_type"),
        ({"output_dimension": 1000}, "output_dimension"),
        ({"embedding_types": ["int8"]}, "embedding_types"),
        ({"inputs": None, "texts": ["a"]}, "texts"),
        ({"model": "other"}, "model"),
    ],
)
def test_ig1_refusals(
    client: httpx.Client, ig1: StubServer, change: dict[str, Any], message: str
) -> None:
    request = {
        "model": "qwen3-vl-embedding-8b",
        "input_type": "search_query",
        "inputs": [{"content": [{"type": "text", "text": "q"}]}],
        **change,
    }
    response = client.post(ig1.endpoint, json=request)
    assert 400 <= response.status_code < 500
    assert message in response.json()["message"]
