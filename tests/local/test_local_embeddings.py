"""The local provider with its model loaded (once per session): vectors, meaning, offline."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest

from embedplug.provider import Batch
from embedplug.types import EmbeddingType, InputType
from embedplug_local import LocalProvider

pytestmark = pytest.mark.slow

MakeBatch = Callable[..., Batch]

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Stock markets fell sharply after the announcement.",
    "She baked a chocolate cake for her grandmother's birthday.",
    "The spacecraft entered orbit around Mars last night.",
    "How do I reset my password?",
]

# (sentence, its paraphrase, an unrelated sentence)
TRIPLES = [
    (
        "How do I reset my password?",
        "What are the steps to change my login password?",
        "The tomatoes in the garden are finally ripe.",
    ),
    (
        "The cat is sleeping on the sofa.",
        "A kitten is napping on the couch.",
        "Interest rates rose by half a percent today.",
    ),
    (
        "The train to Paris was cancelled because of a strike.",
        "Workers walked out, so the Paris train did not run.",
        "She painted the fence a bright shade of blue.",
    ),
    (
        "Drinking enough water is good for your health.",
        "Staying hydrated benefits your body.",
        "The football match ended in a draw.",
    ),
]


def embed(provider: LocalProvider, make_batch: MakeBatch, texts: list[str], **kw: Any) -> Any:
    return provider.embed_batch(make_batch(texts, **kw)).vectors[EmbeddingType.FLOAT]


def test_shape_dtype_and_unit_norm(provider: LocalProvider, make_batch: MakeBatch) -> None:
    result = provider.embed_batch(make_batch(SENTENCES))
    assert list(result.vectors) == [EmbeddingType.FLOAT]
    arr = result.vectors[EmbeddingType.FLOAT]
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (len(SENTENCES), 384)
    assert arr.dtype == np.float32
    assert arr.flags.c_contiguous
    assert np.isfinite(arr).all()
    np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)
    # distinct inputs give distinct vectors
    assert len({row.tobytes() for row in arr}) == len(SENTENCES)


def test_deterministic(provider: LocalProvider, make_batch: MakeBatch) -> None:
    first = embed(provider, make_batch, SENTENCES)
    second = embed(provider, make_batch, SENTENCES)
    np.testing.assert_array_equal(first, second)
    # a text's vector does not depend on its batch or position (padding aside)
    alone = embed(provider, make_batch, [SENTENCES[3]])
    reversed_rows = embed(provider, make_batch, SENTENCES[::-1])
    np.testing.assert_allclose(alone[0], first[3], atol=1e-5)
    np.testing.assert_allclose(reversed_rows[::-1], first, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_sentences(
    provider: LocalProvider, make_batch: MakeBatch
) -> None:
    """Fails with random (or shuffled) vectors: meaning must show in the geometry."""
    for sentence, paraphrase, unrelated in TRIPLES:
        a, b, c = embed(provider, make_batch, [sentence, paraphrase, unrelated])
        close, far = float(a @ b), float(a @ c)
        assert close > far + 0.3, (sentence, close, far)
        assert close > 0.5, (sentence, close)
        assert far < 0.25, (sentence, far)


def test_retrieval_top1(provider: LocalProvider, make_batch: MakeBatch) -> None:
    documents = [
        "Preheat the oven to 180 degrees and bake the bread for forty minutes.",
        "The central bank raised interest rates to curb inflation.",
        "Our goalkeeper saved a penalty in the last minute of the match.",
        "Photosynthesis turns sunlight, water and carbon dioxide into sugar.",
        "To reset your password, click 'Forgot password' on the sign-in page.",
    ]
    queries = [
        "how long should I bake a loaf",
        "why did borrowing costs go up",
        "who stopped the spot kick",
        "how do plants make food from light",
        "I forgot my login credentials",
    ]
    docs = embed(provider, make_batch, documents, input_type=InputType.SEARCH_DOCUMENT)
    qs = embed(provider, make_batch, queries, input_type=InputType.SEARCH_QUERY)
    assert list((qs @ docs.T).argmax(axis=1)) == list(range(len(queries)))


@pytest.mark.parametrize(
    "input_type",
    [
        InputType.SEARCH_QUERY,
        InputType.CLASSIFICATION,
        InputType.CLUSTERING,
        InputType.SEARCH_DOCUMENT,
    ],
)
def test_input_types_do_not_change_vectors(
    provider: LocalProvider, make_batch: MakeBatch, input_type: InputType
) -> None:
    plain = embed(provider, make_batch, SENTENCES)
    typed = embed(provider, make_batch, SENTENCES, input_type=input_type)
    np.testing.assert_array_equal(plain, typed)


def test_usage_counts_word_pieces(provider: LocalProvider, make_batch: MakeBatch) -> None:
    # [CLS] hello world [SEP] and [CLS] hi [SEP]
    usage = provider.embed_batch(make_batch(["hello world", "hi"])).usage
    assert usage.input_tokens == 7
    assert usage.requests == 0
    assert usage.images == 0


def test_long_text_is_truncated_to_256_word_pieces(
    provider: LocalProvider, make_batch: MakeBatch
) -> None:
    long_text = "word " * 2000
    result = provider.embed_batch(make_batch([long_text]))
    assert result.vectors[EmbeddingType.FLOAT].shape == (1, 384)
    assert result.usage.input_tokens == 256
    assert result.meta == {"per_item": {"truncated": [True]}}


def test_truncation_is_reported_per_input(provider: LocalProvider) -> None:
    """A text of 254 word pieces fits (with [CLS] and [SEP]); one more is cut."""
    embedplug = pytest.importorskip("embedplug")
    fits, over = " ".join(["word"] * 254), " ".join(["word"] * 255)
    result = embedplug.embed(["short", fits, over, "word " * 3000], model="local")
    assert result.meta["truncated"] == [False, False, True, True]
    assert result.usage.input_tokens == 3 + 256 + 256 + 256
    # the cut text is the text up to its 254th word piece
    np.testing.assert_array_equal(result.embeddings[2], result.embeddings[3])
    np.testing.assert_allclose(result.embeddings[1], result.embeddings[2], atol=1e-6)


def test_small_batch_size_gives_the_same_vectors(
    provider: LocalProvider, make_batch: MakeBatch
) -> None:
    small = LocalProvider(batch_size=2)
    np.testing.assert_allclose(
        embed(small, make_batch, SENTENCES), embed(provider, make_batch, SENTENCES), atol=1e-5
    )


def test_thread_safe_and_shared(provider: LocalProvider, make_batch: MakeBatch) -> None:
    texts = [f"{s} (variant {i})" for i, s in enumerate(SENTENCES * 4)]
    chunks = [texts[i : i + 3] for i in range(0, len(texts), 3)]
    serial = [embed(provider, make_batch, c) for c in chunks]
    others = [LocalProvider() for _ in range(4)]  # share the one loaded model
    with ThreadPoolExecutor(4) as pool:
        parallel = list(
            pool.map(lambda ic: embed(others[ic[0] % 4], make_batch, ic[1]), enumerate(chunks))
        )
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_load_touches_no_network(load_record: Any) -> None:
    assert load_record.network_calls == []


def test_load_time_is_logged_once(load_record: Any, provider: LocalProvider) -> None:
    loads = [m for m in load_record.log_messages if m.startswith("loaded local model")]
    assert len(loads) == 1
    assert "all-minilm-l6-v2 on cpu in" in loads[0]
    assert loads[0].endswith(" s (onnx backend, int8)")
    provider.warm_up()  # already loaded: no second load
    assert provider.warm_up() > 0


def test_end_to_end_through_embedplug(provider: LocalProvider, make_batch: MakeBatch) -> None:
    embedplug = pytest.importorskip("embedplug")
    if not hasattr(embedplug, "embedder"):
        pytest.skip("the core's public API is not there yet")
    with embedplug.embedder("local") as embedder:
        texts = [f"sentence number {i} about topic {i % 7}" for i in range(150)]
        result = embedder.embed(texts, input_type="search_query")
    assert result.provider == "local"
    assert result.model == "all-minilm-l6-v2"
    assert result.embeddings.shape == (150, 384)
    assert result.embeddings.dtype == np.float32
    assert result.usage.input_tokens > 150
    np.testing.assert_allclose(
        result.embeddings[:2], embed(provider, make_batch, texts[:2]), atol=1e-5
    )
    default = embedplug.embed(["a sentence"])  # the offline default provider
    assert default.provider == "local"
    assert default.embeddings.shape == (1, 384)


async def test_async_end_to_end(provider: LocalProvider, make_batch: MakeBatch) -> None:
    embedplug = pytest.importorskip("embedplug")
    if not hasattr(embedplug, "embedder"):
        pytest.skip("the core's public API is not there yet")
    texts = ["an async sentence", "another one"]
    async with embedplug.embedder("local:all-minilm-l6-v2") as embedder:
        result = await embedder.aembed(texts)
    np.testing.assert_allclose(result.embeddings, embed(provider, make_batch, texts), atol=1e-5)


def test_unknown_option_through_embedplug() -> None:
    embedplug = pytest.importorskip("embedplug")
    if not hasattr(embedplug, "embedder"):
        pytest.skip("the core's public API is not there yet")
    with pytest.raises(embedplug.ConfigurationError, match="api_key"):
        embedplug.embedder("local", api_key="sk-not-needed")
