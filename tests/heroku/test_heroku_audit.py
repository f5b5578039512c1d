"""Issue 14, Heroku: one request per native embedding type, never client-side quantisation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import embedplug
from embedplug.testing import StubServer

Serve = Callable[..., StubServer]
KEY = "inf-audit-0123456789"
TEXTS = ["What is the capital of France?", "Paris is the capital of France.", "Grüß Gott ✓"]


def test_int8_is_the_same_whether_or_not_float_is_asked_too(serve: Serve) -> None:
    server = serve()
    with embedplug.embedder("heroku", base_url=server.url, api_key=KEY) as e:
        alone = e.embed(TEXTS, input_type="search_document", embedding_types="int8")
        both = e.embed(
            TEXTS, input_type="search_document", embedding_types=["float", "int8", "ubinary"]
        )
    assert server.request_count == 1 + 3  # one request per native type
    asked = [r.json.get("embedding_type", "float") for r in server.requests[1:]]
    assert sorted(asked) == ["float", "int8", "ubinary"]
    np.testing.assert_array_equal(both["int8"], alone["int8"])
    native = server.expected_vectors(TEXTS, embedding_type="int8", input_type="search_document")
    np.testing.assert_array_equal(both["int8"], native)  # the server's int8, not ours
    np.testing.assert_array_equal(
        both["ubinary"],
        server.expected_vectors(TEXTS, embedding_type="ubinary", input_type="search_document"),
    )
    assert both.usage.requests == 3
    assert len(both.meta["batches"]) == 1  # one batch, three requests


def test_several_types_over_several_batches_keep_their_rows(serve: Serve) -> None:
    server = serve()
    texts = [f"text number {i}" for i in range(5)]
    with embedplug.embedder("heroku", base_url=server.url, api_key=KEY, max_batch_size=2) as e:
        result = e.embed(texts, embedding_types=["uint8", "float"])
    assert server.request_count == 3 * 2
    np.testing.assert_array_equal(
        result["uint8"], server.expected_vectors(texts, embedding_type="uint8")
    )
    np.testing.assert_allclose(result["float"], server.expected_vectors(texts), atol=1e-6)


async def test_async_sends_one_request_per_type_too(serve: Serve) -> None:
    server = serve()
    with embedplug.embedder("heroku", base_url=server.url, api_key=KEY) as e:
        result = await e.aembed(TEXTS, embedding_types=["float", "int8"])
        await e.aclose()
    assert server.request_count == 2
    np.testing.assert_array_equal(
        result["int8"], server.expected_vectors(TEXTS, embedding_type="int8")
    )
