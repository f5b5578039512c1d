"""IG1 AI: the conformance suite for both models, plus the document's request shapes."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import embedplug
from embedplug import Image, Mixed
from embedplug._api import Embedder
from embedplug.testing import Fault, StubServer
from embedplug.testing.conformance import ProviderConformanceTests

KEY = "ig1-test-key"


class TestQwenConformance(ProviderConformanceTests):
    provider = "ig1"
    model = "qwen3-vl-embedding-8b"
    stub_variant = "ig1"


class TestBgeConformance(ProviderConformanceTests):
    provider = "ig1"
    model = "bge-m3"
    stub_variant = "ig1-openai"


def png(width: int, height: int, seed: int = 0) -> Image:
    from PIL import Image as PILImage

    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    return Image.from_bytes(buffer.getvalue())


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer("ig1", api_key=KEY) as s:
        yield s


@pytest.fixture
def qwen(server: StubServer) -> Iterator[Embedder]:
    with embedplug.embedder(
        "ig1:qwen3-vl-embedding-8b", base_url=server.url, api_key=KEY, dimensions=2048
    ) as e:
        e.engine.sleep = lambda s: None
        yield e


def only_request(server: StubServer) -> dict[str, Any]:
    assert server.request_count == 1
    body = server.requests[0].json
    assert isinstance(body, dict)
    return body


def test_text_request_has_the_documents_shape(qwen: Embedder, server: StubServer) -> None:
    result = qwen.embed(["The food was delicious"], input_type="search_document")
    assert only_request(server) == {
        "model": "qwen3-vl-embedding-8b",
        "inputs": [{"content": [{"type": "text", "text": "The food was delicious"}]}],
        "input_type": "search_document",
        "embedding_types": ["float"],
        "output_dimension": 2048,
    }
    assert server.requests[0].path == "/cohere/v2/embed"
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert result.embeddings.shape == (1, 2048)


def test_two_text_blocks_in_one_input_give_one_vector(qwen: Embedder, server: StubServer) -> None:
    result = qwen.embed([Mixed(["The food was delicious", "the waiter was happy"])])
    body = only_request(server)
    assert body["inputs"] == [
        {
            "content": [
                {"type": "text", "text": "The food was delicious"},
                {"type": "text", "text": "the waiter was happy"},
            ]
        }
    ]
    assert result.embeddings.shape == (1, 2048)
    expected = server.expected_vector(
        ["The food was delicious", "the waiter was happy"], 2048, model="qwen3-vl-embedding-8b"
    )
    np.testing.assert_allclose(result.embeddings[0], expected, atol=1e-6)


def test_image_request_has_the_documents_shape(qwen: Embedder, server: StubServer) -> None:
    image = png(64, 48)
    result = qwen.embed([image], input_type="image")
    body = only_request(server)
    assert body["input_type"] == "image"
    assert body["inputs"] == [
        {"content": [{"type": "image_url", "image_url": {"url": image.to_data_url()}}]}
    ]
    assert body["inputs"][0]["content"][0]["image_url"]["url"].startswith("data:image/png;base64,")
    assert result.embeddings.shape == (1, 2048)
    assert result.usage.images == 1
    assert result.meta["image"][0]["width"] == 64
    assert result.meta["image"][0]["height"] == 48


def test_mixed_text_and_image_is_one_input(qwen: Embedder, server: StubServer) -> None:
    image = png(32, 32)
    result = qwen.embed([Mixed(["a photo of noise", image])], input_type="search_document")
    content = only_request(server)["inputs"][0]["content"]
    assert [block["type"] for block in content] == ["text", "image_url"]
    assert result.embeddings.shape == (1, 2048)


@pytest.mark.parametrize("input_type", ["classification", "clustering"])
def test_unsupported_input_types_refused_before_any_request(
    qwen: Embedder, server: StubServer, input_type: str
) -> None:
    with pytest.raises(embedplug.InvalidInputError, match="search_document, search_query"):
        qwen.embed(["x"], input_type=input_type)
    assert server.request_count == 0


def test_dimension_1000_refused_before_any_request(qwen: Embedder, server: StubServer) -> None:
    with pytest.raises(embedplug.InvalidInputError, match="1000"):
        qwen.embed(["x"], dimensions=1000)
    assert server.request_count == 0


def test_billed_images_and_tokens_are_summed_across_batches(
    server: StubServer,
) -> None:
    images = [png(16, 16, seed) for seed in range(5)]
    with embedplug.embedder(
        "ig1:qwen3-vl-embedding-8b", base_url=server.url, api_key=KEY, max_batch_size=2
    ) as e:
        result = e.embed(images, input_type="image")
        texts = e.embed(["one two three", "four five", "six"], input_type="search_query")
    assert server.request_count == 3 + 2
    assert result.usage.images == 5
    assert result.usage.requests == 3
    billed = [r.json for r in server.requests[:3]]
    assert sum(len(b["inputs"]) for b in billed) == 5
    assert texts.usage.input_tokens > 0


def test_402_budget_spent_is_not_retried(qwen: Embedder, server: StubServer) -> None:
    server.inject(Fault.status(402, message="Monthly budget exceeded"))
    with pytest.raises(embedplug.QuotaExceededError, match="budget"):
        qwen.embed(["x"])
    assert server.request_count == 1


def test_bge_m3_uses_the_openai_endpoint() -> None:
    with (
        StubServer("ig1-openai", api_key=KEY) as server,
        embedplug.embedder("ig1:bge-m3", base_url=server.url, api_key=KEY) as e,
    ):
        result = e.embed(["hello", "world"])
        assert server.requests[0].path == "/v1/embeddings"
        assert result.embeddings.shape == (2, 1024)
        with pytest.raises(embedplug.InvalidInputError, match="image"):
            e.embed([png(8, 8)])


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("IG1AI_API_KEY"), reason="needs IG1AI_API_KEY")
def test_live_call() -> None:  # pragma: no cover - never counts as coverage
    result = embedplug.embed(["hello"], "ig1:qwen3-vl-embedding-8b", dimensions=128)
    assert result.embeddings.shape == (1, 128)
