"""``embedplug.embedder(..., cache=path)``: repeated inputs come from the cache, not the server."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import embedplug
from embedplug.cache import CachedEmbedder
from embedplug.testing import StubServer


def test_cache_option_serves_repeats_without_requests(tmp_path: Path) -> None:
    cache = tmp_path / "vectors.sqlite"
    with StubServer("openai", dimensions=1536) as server:
        options = {"base_url": server.url + "/v1", "api_key": "k", "cache": str(cache)}
        with embedplug.embedder("openai:text-embedding-3-small", **options) as first:
            assert isinstance(first, CachedEmbedder)
            a = first.embed(["alpha", "beta", "alpha"])
        assert server.request_count == 1
        with embedplug.embedder("openai:text-embedding-3-small", **options) as second:
            b = second.embed(["beta", "alpha"])
            c = second.embed(["beta"], input_type="search_query")  # another key: a miss
        assert server.request_count == 2
        assert b.meta["cache"]["hits"] == 2
        assert c.meta["cache"]["misses"] == 1
        np.testing.assert_array_equal(b.embeddings, a.embeddings[[1, 0]])


def test_without_cache_option_every_call_reaches_the_server() -> None:
    with (
        StubServer("openai", dimensions=1536) as server,
        embedplug.embedder(
            "openai:text-embedding-3-small", base_url=server.url + "/v1", api_key="k"
        ) as e,
    ):
        assert not isinstance(e, CachedEmbedder)
        e.embed(["alpha"])
        e.embed(["alpha"])
        assert server.request_count == 2
