"""LangChain's ``CacheBackedEmbeddings`` over ``EmbedplugEmbeddings``, as the docs page shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_embedplug import EmbedplugEmbeddings

cache_module = pytest.importorskip("langchain_classic.embeddings")
storage = pytest.importorskip("langchain_classic.storage")


def test_cache_backed_embeddings_serve_repeats_from_the_store(lc: object, tmp_path: Path) -> None:
    embeddings = EmbedplugEmbeddings(**lc.openai_params())  # type: ignore[attr-defined]
    server = lc.openai  # type: ignore[attr-defined]
    server.reset_stats()
    cached = cache_module.CacheBackedEmbeddings.from_bytes_store(
        embeddings,
        storage.LocalFileStore(str(tmp_path / "documents")),
        # LocalFileStore keys allow only letters, digits and _ . - /, so no ":"
        namespace=f"{embeddings.model}-{embeddings.dimensions}-{embeddings.embedding_type}".replace(
            ":", "_"
        ),
        query_embedding_cache=storage.LocalFileStore(str(tmp_path / "queries")),
        key_encoder="sha256",
    )
    texts = ["first document", "second document"]
    first = cached.embed_documents(texts)
    assert server.request_count == 1
    again = cached.embed_documents(texts)
    assert server.request_count == 1  # served from the store
    assert again == first
    assert first == embeddings.embed_documents(texts)  # the cache keeps the real vectors
    cached.embed_query("first document")
    queries = list(storage.LocalFileStore(str(tmp_path / "queries")).yield_keys())
    assert len(queries) == 1  # queries (search_query vectors) are kept in their own store
    cached.embed_query("first document")
    assert server.request_count == 3  # the direct call above and one query, nothing more
