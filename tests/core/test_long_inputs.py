"""The long-input policy: ``long_inputs="error" | "truncate" | "chunk"``.

Texts over ``ModelInfo.max_tokens_per_item`` are refused before any request,
cut client-side, or embedded in pieces whose vectors are averaged (weighted by
length) and re-normalised. Counting is exact with a provider's ``Tokenizer``,
else bounded from UTF-8 bytes so that an input that fits is never refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import embedplug
from embedplug._api import Embedder
from embedplug._long_inputs import MARGIN_TOKENS, MAX_BYTES_PER_TOKEN
from embedplug._quantize import quantize
from embedplug.errors import InvalidInputError
from embedplug.provider import Modality, ModelInfo, Tokenizer
from embedplug.types import EmbeddingType, Image, Mixed

MakeEmbedder = Callable[..., tuple[Any, Any]]
FakeVector = Callable[[str, int], Any]

LIMIT = 8192
HARD = ModelInfo(name="hard-limit", dimensions=64, max_tokens_per_item=LIMIT)
TEN_MB = "lorem ipsum dolor sit amet " * (10_000_000 // 27 + 1)


def sent_texts(server: Any) -> list[str]:
    return [text for body in server.bodies for text in body["input"]]


# ---------------------------------------------------------------- error (the default)


def test_a_10_mb_text_is_refused_with_its_position_and_zero_requests(
    make_embedder: MakeEmbedder,
) -> None:
    embedder, server = make_embedder(HARD)
    with pytest.raises(InvalidInputError, match="8,192 tokens") as info:
        embedder.embed(["a short text", TEN_MB])
    assert info.value.position == 1
    assert "long_inputs='truncate' or 'chunk'" in str(info.value)
    assert server.requests == []


def test_error_is_also_the_policy_of_the_one_shot_embedder(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder(HARD, long_inputs="chunk")
    with pytest.raises(InvalidInputError):
        embedder.embed([TEN_MB], long_inputs="error")  # per call beats the embedder's default
    assert server.requests == []


def test_without_a_tokenizer_an_input_that_may_fit_is_never_refused(
    make_embedder: MakeEmbedder,
) -> None:
    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    embedder, server = make_embedder(small)
    # 100 tokens of 256 bytes each would be 25,600 bytes: the most that may still fit.
    may_fit = "x" * (100 * MAX_BYTES_PER_TOKEN)
    result = embedder.embed([may_fit, "y" * 150])  # 150 bytes: tokens <= 150, sent as is
    assert result.embeddings.shape == (2, 64)
    assert sent_texts(server) == [may_fit, "y" * 150]
    assert "truncated_inputs" not in result.meta
    with pytest.raises(InvalidInputError) as info:
        embedder.embed(["fine", may_fit + "x"])  # one byte more: surely over
    assert info.value.position == 1
    assert len(server.requests) == 1


def test_a_text_just_under_the_limit_is_untouched_by_every_policy(
    make_embedder: MakeEmbedder,
) -> None:
    text = "z" * (LIMIT - MARGIN_TOKENS)  # surely fits: every token covers a byte or more
    for policy in ("error", "truncate", "chunk"):
        embedder, server = make_embedder(HARD)
        result = embedder.embed([text], long_inputs=policy)
        assert sent_texts(server) == [text]
        assert "truncated_inputs" not in result.meta
        assert "chunks" not in result.meta


# ---------------------------------------------------------------- truncate


def test_truncate_gives_a_vector_and_counts_what_it_cut(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder(HARD)
    result = embedder.embed(["short", TEN_MB, "also short"], long_inputs="truncate")
    assert result.embeddings.shape == (3, 64)
    assert result.meta["truncated_inputs"] == [1]
    assert result.meta["truncated_by"] == "client"
    short, cut, also = sent_texts(server)
    assert (short, also) == ("short", "also short")
    assert TEN_MB.startswith(cut)
    # no tokenizer: cut to what surely fits, at a word boundary
    assert LIMIT - MARGIN_TOKENS - 20 < len(cut.encode()) <= LIMIT - MARGIN_TOKENS
    assert cut.endswith(" ")


def test_truncate_cuts_between_characters(make_embedder: MakeEmbedder) -> None:
    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    embedder, server = make_embedder(small)
    text = "é" * 1000  # two bytes each; 84 bytes of budget is 42 characters
    embedder.embed([text], long_inputs="truncate")
    assert sent_texts(server) == ["é" * 42]


# ---------------------------------------------------------------- chunk


def test_chunk_gives_one_vector_for_a_10_mb_text(
    make_embedder: MakeEmbedder, fake_vector: FakeVector
) -> None:
    embedder, server = make_embedder(HARD)
    result = embedder.embed(["short", TEN_MB], long_inputs="chunk")
    assert result.embeddings.shape == (2, 64)
    pieces = sent_texts(server)[1:]
    assert result.meta["chunks"] == [1, len(pieces)]
    assert len(pieces) > 1000
    assert "".join(pieces) == TEN_MB  # nothing lost, nothing repeated
    assert all(len(p.encode()) <= LIMIT - MARGIN_TOKENS for p in pieces)
    # the short text keeps the server's own vector; the long one is the weighted mean
    np.testing.assert_allclose(result.embeddings[0], fake_vector("short", 64), rtol=1e-6)
    weights = np.array([len(p.encode()) for p in pieces], dtype=np.float64)
    mean = np.average([fake_vector(p, 64) for p in pieces], axis=0, weights=weights)
    np.testing.assert_allclose(result.embeddings[1], mean / np.linalg.norm(mean), rtol=1e-5)


def test_chunk_quantises_the_combined_vector_and_keeps_only_the_types_asked(
    make_embedder: MakeEmbedder,
) -> None:
    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    embedder, _ = make_embedder(small)
    text = "word " * 200
    floats = embedder.embed([text, "plain"], long_inputs="chunk").embeddings
    result = embedder.embed([text, "plain"], long_inputs="chunk", embedding_types="int8")
    assert list(result.vectors) == [EmbeddingType.INT8]
    np.testing.assert_array_equal(result["int8"], quantize(floats, EmbeddingType.INT8))
    assert result.meta["chunks"] == [13, 1]  # 1,000 bytes in pieces of at most 84


def test_chunk_maps_a_refused_piece_back_to_the_callers_position(
    make_embedder: MakeEmbedder,
) -> None:
    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    embedder, server = make_embedder(small)
    with pytest.raises(InvalidInputError) as info:
        embedder.embed(["word " * 200, "ok", "   "], long_inputs="chunk")
    assert info.value.position == 2  # not 4, its place among the pieces
    assert server.requests == []


def test_chunk_works_async_too(make_embedder: MakeEmbedder, openai_handler: Any) -> None:
    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    openai_handler.dimensions = 64
    embedder, _ = make_embedder(
        small, handler=openai_handler, async_transport=openai_handler.transport
    )
    sync = embedder.embed(["word " * 200], long_inputs="chunk")
    result = asyncio.run(embedder.aembed(["word " * 200], long_inputs="chunk"))
    np.testing.assert_array_equal(result.embeddings, sync.embeddings)
    assert result.meta["chunks"] == [13]


# ---------------------------------------------------------------- an exact tokenizer


class WordTokenizer:
    """One token per run of non-space characters, plus [CLS] and [SEP]."""

    special_tokens = 2

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return [m.span() for m in re.finditer(r"\S+", text)]


WORDS = ModelInfo(name="ten-tokens", dimensions=64, max_tokens_per_item=10)


@pytest.fixture
def with_tokenizer(fake_openai_class: type[Any], openai_handler: Any) -> Any:
    class Tokenized(fake_openai_class):  # type: ignore[misc]
        def tokenizer(self, model: ModelInfo) -> Tokenizer:
            return WordTokenizer()

    embedder = Embedder(Tokenized(api_key="sk-test"), WORDS, transport=openai_handler.transport)
    yield embedder, openai_handler
    embedder.close()


def test_the_fake_tokenizer_is_a_tokenizer() -> None:
    assert isinstance(WordTokenizer(), Tokenizer)


def test_with_a_tokenizer_the_count_is_exact(with_tokenizer: Any) -> None:
    embedder, server = with_tokenizer
    fits = " ".join(["word"] * 8)  # 8 + 2 special = 10 tokens: exactly the limit
    assert len(embedder.embed([fits]).embeddings) == 1
    assert sent_texts(server) == [fits]
    with pytest.raises(InvalidInputError, match="text of 11 tokens") as info:
        embedder.embed([fits, fits + " more"])
    assert info.value.position == 1
    assert len(server.requests) == 1


def test_with_a_tokenizer_truncate_cuts_at_a_token_boundary(with_tokenizer: Any) -> None:
    embedder, server = with_tokenizer
    words = [f"w{i}" for i in range(30)]
    result = embedder.embed(["   ".join(words)], long_inputs="truncate")
    assert sent_texts(server) == ["   ".join(words[:8])]
    assert result.meta["truncated_inputs"] == [0]


def test_with_a_tokenizer_chunks_hold_whole_tokens_and_weigh_by_count(
    with_tokenizer: Any, fake_vector: FakeVector
) -> None:
    embedder, server = with_tokenizer
    words = [f"w{i}" for i in range(20)]
    result = embedder.embed([" ".join(words)], long_inputs="chunk")
    pieces = sent_texts(server)
    assert [p.split() for p in pieces] == [words[:8], words[8:16], words[16:]]
    assert result.meta["chunks"] == [3]
    mean = np.average([fake_vector(p, 64) for p in pieces], axis=0, weights=[8, 8, 4])
    np.testing.assert_allclose(result.embeddings[0], mean / np.linalg.norm(mean), rtol=1e-5)


# ---------------------------------------------------------------- servers that truncate


def test_a_server_that_truncates_is_not_second_guessed(make_embedder: MakeEmbedder) -> None:
    cohere_like = ModelInfo(name="v3-like", dimensions=64, max_tokens_per_item=512)
    embedder, server = make_embedder(cohere_like, protocol="cohere")
    long_text = "token " * 40_000  # 240,000 bytes: over 512 tokens even at 256 bytes a token
    embedder.embed([long_text])  # Cohere's truncate defaults to END: the server cuts it
    assert server.bodies[0]["texts"] == [long_text]
    result = embedder.embed([long_text], long_inputs="truncate")
    assert result.meta["truncated_inputs"] == [0]
    assert result.meta["truncated_by"] == "server"
    with pytest.raises(InvalidInputError):
        embedder.embed([long_text], truncate="NONE")  # now the server would refuse it
    assert len(server.requests) == 2


def test_cohere_truncate_none_on_the_provider_makes_the_limit_hard(
    make_embedder: MakeEmbedder,
) -> None:
    cohere_like = ModelInfo(name="v3-like", dimensions=64, max_tokens_per_item=512)
    embedder, server = make_embedder(cohere_like, protocol="cohere")
    embedder.provider.truncate = "NONE"
    with pytest.raises(InvalidInputError):
        embedder.embed(["token " * 40_000])
    assert server.requests == []


# ---------------------------------------------------------------- options


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="long_inputs must be one of error, truncate"):
        embedplug.embedder("local", long_inputs="split")


def test_embedder_takes_the_policy_for_a_real_provider(openai_handler: Any) -> None:
    openai_handler.dimensions = 1536
    with embedplug.embedder(
        "openai:text-embedding-3-small",
        api_key="sk-test",
        base_url="https://api.openai.com/v1",
        transport=openai_handler.transport,
        long_inputs="truncate",
    ) as e:
        result = e.embed([TEN_MB])
    assert result.meta["truncated_inputs"] == [0]
    assert len(sent_texts(openai_handler)[0].encode()) <= 8192


def test_the_langchain_adapter_passes_the_policy_on() -> None:
    pytest.importorskip("langchain_embedplug")
    from langchain_embedplug import EmbedplugEmbeddings

    embeddings = EmbedplugEmbeddings(model="local:all-minilm-l6-v2", long_inputs="chunk")
    assert embeddings.embedder.long_inputs == "chunk"


def test_the_llamaindex_adapter_passes_the_policy_on() -> None:
    pytest.importorskip("llama_index.embeddings.embedplug")
    from llama_index.embeddings.embedplug import EmbedplugEmbedding

    embedding = EmbedplugEmbedding(model="local:all-minilm-l6-v2", long_inputs="chunk")
    assert embedding.embedder.long_inputs == "chunk"


# ---------------------------------------------------------------- images and mixed inputs

MULTIMODAL = ModelInfo(
    name="mm-limit",
    dimensions=64,
    modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
    max_tokens_per_item=100,
)


def test_chunk_among_images_keeps_every_input_in_place(
    make_embedder: MakeEmbedder, png_bytes: bytes
) -> None:
    embedder, server = make_embedder(MULTIMODAL, protocol="cohere")
    image = Image.from_bytes(png_bytes)
    result = embedder.embed([image, "word " * 200, "x"], long_inputs="chunk")
    assert [len(b.get("texts") or b.get("images")) for b in server.bodies] == [1, 14]
    assert result.embeddings.shape == (3, 64)
    assert result.meta["chunks"] == [1, 13, 1]
    alone = embedder.embed([image]).embeddings[0]
    np.testing.assert_array_equal(result.embeddings[0], alone)


def test_a_mixed_input_surely_over_a_hard_limit_is_refused_under_every_policy(
    make_embedder: MakeEmbedder, png_bytes: bytes
) -> None:
    embedder, server = make_embedder(MULTIMODAL, protocol="cohere")
    item = Mixed(["token " * 40_000, Image.from_bytes(png_bytes)])
    for policy in ("error", "truncate", "chunk"):
        with pytest.raises(InvalidInputError) as info:
            embedder.embed(["fine", item], long_inputs=policy, truncate="NONE")
        assert info.value.position == 1
    assert "does not cut mixed inputs" in str(info.value)
    assert server.requests == []
    embedder.embed([item])  # the server truncates by default: sent
    assert len(server.requests) == 1


def test_a_cache_keeps_truncated_and_chunked_vectors_apart(
    make_embedder: MakeEmbedder, tmp_path: Any
) -> None:
    from embedplug.cache import Cache, CachedEmbedder

    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    text = "word " * 200
    with Cache(tmp_path / "cache.sqlite") as cache:
        chunking = CachedEmbedder(make_embedder(small, long_inputs="chunk")[0], cache)
        inner, server = make_embedder(small, long_inputs="truncate")
        truncating = CachedEmbedder(inner, cache)
        chunked = chunking.embed([text]).embeddings
        truncated = truncating.embed([text]).embeddings  # not the chunked vector
        assert len(server.requests) == 1
        assert not np.allclose(chunked, truncated)
        again = truncating.embed([text], long_inputs="truncate").embeddings
        np.testing.assert_array_equal(again, truncated)
        assert len(server.requests) == 1  # the same policy, per call or default: a hit


def test_heroku_advice_is_not_a_limit_but_its_characters_are(openai_handler: Any) -> None:
    openai_handler.dimensions = 1024
    with embedplug.embedder(
        "heroku:cohere-embed-multilingual",
        api_key="inf-test",
        base_url="https://us.inference.heroku.com",
        transport=openai_handler.transport,
    ) as e:
        fine = "word " * 400  # 2,000 characters: over 512 tokens' bytes, under 2,048 characters
        e.embed([fine])  # 512 tokens is advice: sent as is
        assert sent_texts(openai_handler) == [fine]
        long_text = "word " * 1_000
        with pytest.raises(InvalidInputError, match="5000 characters"):
            e.embed([long_text])
        result = e.embed([fine, long_text], long_inputs="truncate")
    assert sent_texts(openai_handler)[1:] == [fine, long_text[:2048]]
    assert result.meta["truncated_inputs"] == [1]  # cut here to 2,048 characters
    assert result.meta["truncated_by"] == "client"


def test_the_local_models_tokenizer_counts_exactly() -> None:
    import dataclasses

    local = pytest.importorskip("embedplug_local")
    provider = local.LocalProvider()
    info = dataclasses.replace(provider.model_info("all-minilm-l6-v2"), max_tokens_per_item=20)
    tokenizer = provider.tokenizer(info)
    assert isinstance(tokenizer, Tokenizer)
    fits = " ".join(["word"] * (20 - tokenizer.special_tokens))
    assert len(tokenizer.token_spans(fits)) + tokenizer.special_tokens == 20
    with Embedder(provider, info) as embedder:
        assert embedder.embed([fits]).embeddings.shape == (1, 384)  # exactly the limit
        with pytest.raises(InvalidInputError, match="text of 21 tokens"):
            embedder.embed([fits + " word"])
        result = embedder.embed([fits + " word"], long_inputs="chunk")
    assert result.meta["chunks"] == [2]


def test_a_cache_reports_what_the_policy_did_in_the_callers_positions(
    make_embedder: MakeEmbedder, tmp_path: Any
) -> None:
    from embedplug.cache import CachedEmbedder

    small = ModelInfo(name="small-limit", dimensions=64, max_tokens_per_item=100)
    inner, _ = make_embedder(small)
    text = "word " * 200
    with CachedEmbedder(inner, tmp_path / "cache.sqlite") as cached:
        cached.embed(["cached"], long_inputs="chunk")
        result = cached.embed(["cached", text, "x", text], long_inputs="chunk")
        assert result.meta["chunks"] == [0, 13, 1, 13]  # 0: a cache hit, nothing sent
        cut = cached.embed(["y", text, text], long_inputs="truncate")
        assert cut.meta["truncated_inputs"] == [1, 2]
        assert cut.meta["truncated_by"] == "client"
