"""The content-addressed cache: keys, hits, dedup within a call, partial failures, async."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embedplug
from embedplug import BatchFailedError, Embedder, EmbeddingType, Image, Mixed
from embedplug.cache import Cache, CachedEmbedder, CacheKey, content_hash
from embedplug.engine import RetryPolicy
from embedplug.testing import Fault, StubServer

MODEL = "bulkstub:stub-text"


def test_content_hash_is_stable_and_tells_kinds_apart() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    assert content_hash("ab") == content_hash("ab")
    assert len(content_hash("ab")) == 16
    assert content_hash("ab") != content_hash("ab ")
    assert content_hash("ab") != content_hash(Mixed(["a", "b"]))
    assert content_hash(Mixed(["a", "b"])) != content_hash(Mixed(["ab", ""]))
    image = Image.from_bytes(png)
    assert content_hash(image) == content_hash(Image.from_bytes(png, source="elsewhere"))
    assert content_hash(image) != content_hash(Mixed([image]))
    # A fixed value: the hash must not change between versions, or caches go cold.
    assert content_hash("hello").hex() == "319b94331bc6819b780a69f2b102ae82"


def test_a_second_call_is_served_from_the_cache(tmp_path: Path, openai_stub: StubServer) -> None:
    items = [f"text {i}" for i in range(40)]
    with CachedEmbedder(embedplug.embedder(MODEL), tmp_path / "c.sqlite") as cached:
        assert isinstance(cached, Embedder)
        first = cached.embed(items)
        requests = openai_stub.request_count
        assert requests == 3  # 16 inputs a request
        second = cached.embed(list(reversed(items)))
        assert openai_stub.request_count == requests
        assert second.meta["cache"] == {"hits": 40, "misses": 0, "deduplicated": 0}
        assert second.usage.requests == 0
        np.testing.assert_array_equal(second.embeddings, first.embeddings[::-1])
        np.testing.assert_allclose(first.embeddings, openai_stub.expected_vectors(items), atol=1e-6)
        assert cached.stats.hits == 40
        assert cached.stats.misses == 40
    # A new process (a new Cache on the same file) sees the same entries.
    with Cache(tmp_path / "c.sqlite") as cache:
        assert len(cache) == 40
        [(key, count)] = cache.keys()
        assert count == 40
        assert (key.provider, key.model, key.dimensions) == ("bulkstub", "stub-text", 256)


def test_only_the_missing_inputs_are_sent_and_duplicates_once(
    tmp_path: Path, openai_stub: StubServer
) -> None:
    with CachedEmbedder(embedplug.embedder(MODEL), tmp_path / "c.sqlite") as cached:
        cached.embed(["a", "b"])
        openai_stub.reset_stats()
        result = cached.embed(["b", "c", "a", "c", "d", "c"])
    assert dict(openai_stub.inputs_seen) == {"c": 1, "d": 1}
    assert result.meta["cache"] == {"hits": 2, "misses": 2, "deduplicated": 2}
    expected = openai_stub.expected_vectors(["b", "c", "a", "c", "d", "c"])
    np.testing.assert_allclose(result.embeddings, expected, atol=1e-6)


def test_keys_differ_by_model_input_type_dimensions_and_type(
    tmp_path: Path, openai_stub: StubServer
) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    items = ["one", "two"]
    calls: list[tuple[str, dict[str, object]]] = [
        (MODEL, {}),
        (MODEL, {"input_type": "search_query"}),
        (MODEL, {"dimensions": 128}),
        (MODEL, {"embedding_types": ["int8"]}),
        ("bulkstub:stub-text-2", {}),
    ]
    try:
        for model, options in calls:
            with CachedEmbedder(embedplug.embedder(model), cache) as cached:
                before = openai_stub.request_count
                result = cached.embed(items, **options)  # type: ignore[arg-type]
                assert openai_stub.request_count == before + 1, (model, options)
                assert result.meta["cache"]["misses"] == 2
                again = cached.embed(items, **options)  # type: ignore[arg-type]
                assert openai_stub.request_count == before + 1
                np.testing.assert_array_equal(again.embeddings, result.embeddings)
        assert len(cache.keys()) == len(calls)
        # The model's default dimension and an explicit one share entries.
        with CachedEmbedder(embedplug.embedder(MODEL), cache) as cached:
            before = openai_stub.request_count
            cached.embed(items, dimensions=256)
            assert openai_stub.request_count == before
    finally:
        cache.close()


def test_cache_key_includes_the_endpoint_and_call_options(openai_stub: StubServer) -> None:
    with embedplug.embedder(MODEL) as e:
        plain = CacheKey.for_call(
            e, input_type=None, dimensions=None, embedding_type=EmbeddingType.FLOAT
        )
        with_option = CacheKey.for_call(
            e,
            input_type=None,
            dimensions=None,
            embedding_type=EmbeddingType.FLOAT,
            options={"user": "x"},
        )
    assert plain.endpoint == openai_stub.url + "/v1"
    assert plain.dimensions == 256
    assert plain.input_type == "none"
    assert plain != with_option
    assert with_option.options == '{"user":"x"}'


def test_vectors_that_arrived_before_a_failure_are_kept(
    tmp_path: Path, openai_stub: StubServer
) -> None:
    items = [f"text {i}" for i in range(48)]  # three requests of 16
    no_retry = RetryPolicy(max_attempts=1)
    with CachedEmbedder(
        embedplug.embedder(MODEL, retry=no_retry, max_concurrency=1), tmp_path / "c.sqlite"
    ) as cached:
        openai_stub.inject(Fault.status(500))
        with pytest.raises(BatchFailedError) as info:
            cached.embed([*items, items[0]])
        assert info.value.failed_positions == [*range(16), 48]
        np.testing.assert_allclose(
            info.value.partial.embeddings[16:48],
            openai_stub.expected_vectors(items[16:]),
            atol=1e-6,
        )
        openai_stub.reset_stats()
        result = cached.embed(items)
    assert sorted(openai_stub.inputs_seen) == sorted(items[:16])
    np.testing.assert_allclose(result.embeddings, openai_stub.expected_vectors(items), atol=1e-6)


async def test_aembed_uses_the_cache_too(tmp_path: Path, openai_stub: StubServer) -> None:
    cached = CachedEmbedder(embedplug.embedder(MODEL), tmp_path / "c.sqlite")
    try:
        first = await cached.aembed(["x", "y", "x"])
        count = openai_stub.request_count
        second = await cached.aembed(["y", "x"])
    finally:
        await cached.aclose()
    assert count == 1
    assert openai_stub.request_count == 1
    assert first.meta["cache"]["deduplicated"] == 1
    np.testing.assert_array_equal(second.embeddings, first.embeddings[[1, 0]])
    with pytest.raises(ValueError, match="closed"):
        cached.cache.get_many(CacheKey("p", "m", "none", 1, "float"), [b"x"])
