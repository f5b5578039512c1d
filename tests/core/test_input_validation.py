"""Inputs, dimensions and embedding types: refused before any request, or served.

Each test builds an ``Embedder`` on a fake OpenAI- or Cohere-protocol server
behind ``httpx.MockTransport`` (see ``conftest.py``) and counts what was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from embedplug._quantize import quantize, truncate_dimensions
from embedplug.errors import InvalidInputError
from embedplug.provider import Modality, ModelInfo
from embedplug.types import EmbeddingType, Image, InputType, Mixed, normalize_inputs

MakeEmbedder = Callable[..., tuple[Any, Any]]
FakeVector = Callable[[str, int], Any]

ALLOWED = ModelInfo(
    name="allowed-dims",
    dimensions=1024,
    allowed_dimensions=(256, 512, 1024),
    native_dimensions=True,
)
MATRYOSHKA_NATIVE = ModelInfo(
    name="mrl-native",
    dimensions=768,
    matryoshka=True,
    min_dimensions=64,
    native_dimensions=True,
)
MATRYOSHKA_CLIENT = ModelInfo(name="mrl-client", dimensions=768, matryoshka=True, min_dimensions=64)
FIXED = ModelInfo(name="fixed", dimensions=384)
QUERY_ONLY = ModelInfo(
    name="query-only", dimensions=64, input_types=frozenset({InputType.SEARCH_QUERY})
)


# ---------------------------------------------------------------- dimensions


@pytest.mark.parametrize(
    ("model", "dimensions"),
    [
        (ALLOWED, 300),
        (ALLOWED, 2048),
        (MATRYOSHKA_NATIVE, 63),
        (MATRYOSHKA_NATIVE, 769),
        (MATRYOSHKA_CLIENT, 32),
        (FIXED, 256),
    ],
)
def test_bad_dimensions_are_refused_before_any_request(
    make_embedder: MakeEmbedder, model: ModelInfo, dimensions: int
) -> None:
    embedder, server = make_embedder(model)
    with pytest.raises(InvalidInputError, match=f"cannot give {dimensions} dimensions") as info:
        embedder.embed(["one", "two"], dimensions=dimensions)
    assert f"allowed: {model.dimension_choices()}" in str(info.value)
    assert server.requests == []


def test_dimension_choices_are_stated() -> None:
    assert ALLOWED.dimension_choices() == "256, 512, 1024"
    assert MATRYOSHKA_NATIVE.dimension_choices() == "any from 64 to 768"
    assert FIXED.dimension_choices() == "384"


def test_bad_default_dimensions_are_refused_before_any_request(
    make_embedder: MakeEmbedder,
) -> None:
    with pytest.raises(InvalidInputError, match="cannot give 100 dimensions"):
        make_embedder(ALLOWED, dimensions=100)  # at construction, not at the first call


@pytest.mark.parametrize(("model", "dimensions"), [(ALLOWED, 512), (MATRYOSHKA_NATIVE, 100)])
def test_native_dimensions_are_sent_to_the_provider(
    make_embedder: MakeEmbedder, model: ModelInfo, dimensions: int
) -> None:
    embedder, server = make_embedder(model)
    result = embedder.embed(["one", "two", "three"], dimensions=dimensions)
    assert [b.get("dimensions") for b in server.bodies] == [dimensions]
    assert result.embeddings.shape == (3, dimensions)
    assert result.dimensions == dimensions


def test_matryoshka_without_native_parameter_truncates_and_renormalises(
    make_embedder: MakeEmbedder, fake_vector: FakeVector
) -> None:
    embedder, server = make_embedder(MATRYOSHKA_CLIENT)
    texts = ["alpha", "beta", "gamma"]
    result = embedder.embed(texts, dimensions=128)
    assert "dimensions" not in server.bodies[0]  # the provider is asked for full vectors
    assert result.embeddings.shape == (3, 128)
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, rtol=1e-5)
    full = np.stack([fake_vector(t, 768) for t in texts])
    expected = full[:, :128] / np.linalg.norm(full[:, :128], axis=1, keepdims=True)
    np.testing.assert_allclose(result.embeddings, expected, rtol=1e-5)


def test_full_matryoshka_width_is_not_renormalised(
    make_embedder: MakeEmbedder, fake_vector: FakeVector
) -> None:
    embedder, _ = make_embedder(MATRYOSHKA_CLIENT)
    result = embedder.embed(["alpha"], dimensions=768)
    np.testing.assert_array_equal(result.embeddings[0], fake_vector("alpha", 768))


def test_input_type_the_model_does_not_take_is_refused(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder(QUERY_ONLY)
    with pytest.raises(InvalidInputError, match="does not take input_type 'search_document'"):
        embedder.embed(["a"], input_type="search_document")
    with pytest.raises(InvalidInputError, match="unknown input type 'sideways'"):
        embedder.embed(["a"], input_type="sideways")
    assert server.requests == []
    assert embedder.embed(["a"], input_type="search_query").embeddings.shape == (1, 64)


# ---------------------------------------------------------------- embedding types


ALL_TYPES = ["float", "int8", "uint8", "binary", "ubinary"]


def test_every_embedding_type_from_a_float_only_model(
    make_embedder: MakeEmbedder, fake_vector: FakeVector
) -> None:
    embedder, server = make_embedder()
    texts = ["one", "two", "three"]
    result = embedder.embed(texts, embedding_types=ALL_TYPES)
    # one request, for floats (as base64) only; the rest is quantised here
    assert len(server.requests) == 1
    assert server.bodies[0]["encoding_format"] == "base64"
    assert [k.value for k in result.vectors] == ALL_TYPES
    floats = np.stack([fake_vector(t, 64) for t in texts])
    np.testing.assert_array_equal(result["float"], floats)
    for kind in ALL_TYPES[1:]:
        expected = quantize(floats, EmbeddingType(kind))
        assert result[kind].dtype == expected.dtype
        np.testing.assert_array_equal(result[kind], expected)
    assert result["ubinary"].shape == (3, 8)


def test_first_type_asked_for_is_the_embeddings_array(make_embedder: MakeEmbedder) -> None:
    embedder, _ = make_embedder()
    result = embedder.embed(["x"], embedding_types=["ubinary", "float"])
    assert result.embeddings.dtype == np.uint8
    assert result.dimensions == 64
    assert list(result.vectors) == [EmbeddingType.UBINARY, EmbeddingType.FLOAT]


def test_truncation_then_quantisation(make_embedder: MakeEmbedder, fake_vector: FakeVector) -> None:
    embedder, _ = make_embedder(MATRYOSHKA_CLIENT)
    result = embedder.embed(["alpha", "beta"], dimensions=128, embedding_types=["ubinary", "int8"])
    full = np.stack([fake_vector(t, 768) for t in ["alpha", "beta"]])
    truncated = truncate_dimensions(full, 128)
    assert result["ubinary"].shape == (2, 16)
    np.testing.assert_array_equal(result["ubinary"], np.packbits(truncated > 0, axis=1))
    np.testing.assert_array_equal(result["int8"], quantize(truncated, EmbeddingType.INT8))


def test_unknown_embedding_type_is_refused(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    with pytest.raises(InvalidInputError, match="unknown embedding type 'int4'"):
        embedder.embed(["x"], embedding_types=["float", "int4"])
    assert server.requests == []


def test_packed_types_on_a_width_not_divisible_by_8_are_refused_before_any_request(
    make_embedder: MakeEmbedder,
) -> None:
    embedder, server = make_embedder(ModelInfo(name="odd", dimensions=100))
    with pytest.raises(InvalidInputError, match="multiple of 8"):
        embedder.embed(["x"], embedding_types=["binary"])
    assert server.requests == []


# ---------------------------------------------------------------- inputs


def test_invalid_input_names_its_position_and_nothing_is_sent(
    make_embedder: MakeEmbedder,
) -> None:
    embedder, server = make_embedder()
    with pytest.raises(InvalidInputError) as info:
        embedder.embed(["fine", "also fine", "   \n", "fine again"])
    assert info.value.position == 2
    assert str(info.value) == "input 2: empty or whitespace-only text"
    assert server.requests == []


def test_text_over_the_character_limit_names_its_position(make_embedder: MakeEmbedder) -> None:
    model = ModelInfo(name="short", dimensions=64, max_chars_per_item=10)
    embedder, server = make_embedder(model)
    with pytest.raises(InvalidInputError, match=r"^input 1: text of 11 characters") as info:
        embedder.embed(["0123456789", "01234567890"])
    assert info.value.position == 1
    assert server.requests == []


def test_wrong_item_type_names_its_position(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    with pytest.raises(InvalidInputError, match=r"^input 1: expected str, Image or Mixed, got int"):
        embedder.embed(["ok", 42])
    assert server.requests == []


def test_image_for_a_text_only_model_is_refused_with_position(
    make_embedder: MakeEmbedder, png_bytes: bytes
) -> None:
    embedder, server = make_embedder()
    with pytest.raises(InvalidInputError, match="does not embed image inputs") as info:
        embedder.embed(["text", Image.from_bytes(png_bytes)])
    assert info.value.position == 1
    assert server.requests == []


def test_empty_list_gives_an_empty_result_and_sends_nothing(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    result = embedder.embed([], embedding_types=["float", "ubinary"])
    assert server.requests == []
    assert len(result) == 0
    assert result["float"].shape == (0, 64)
    assert result["ubinary"].shape == (0, 8)
    assert result.usage.requests == 0


async def test_empty_list_async_sends_nothing(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    result = await embedder.aembed([])
    assert server.requests == []
    assert result.embeddings.shape == (0, 64)


def test_results_come_back_in_input_order_across_batches(
    make_embedder: MakeEmbedder, fake_vector: FakeVector
) -> None:
    embedder, server = make_embedder(max_batch_size=3, max_concurrency=1)
    texts = [f"text number {i}" for i in range(10)]
    result = embedder.embed(texts)
    assert len(server.requests) == 4
    np.testing.assert_array_equal(result.embeddings, np.stack([fake_vector(t, 64) for t in texts]))
    assert result.usage.input_tokens == 10
    assert result.usage.requests == 4


# ---------------------------------------------------------------- normalize_inputs


def test_normalize_single_string_is_one_input() -> None:
    assert normalize_inputs("hello there") == ["hello there"]


def test_normalize_single_image_and_mixed(png_bytes: bytes) -> None:
    image = Image.from_bytes(png_bytes)
    assert normalize_inputs(image) == [image]
    mixed = Mixed(["caption", image])
    assert normalize_inputs(mixed) == [mixed]


def test_normalize_nested_lists_are_mixed_inputs(png_bytes: bytes) -> None:
    image = Image.from_bytes(png_bytes)
    out = normalize_inputs(["plain", ["a caption", image], ("only text",), image])
    assert out[0] == "plain"
    assert isinstance(out[1], Mixed)
    assert out[1].parts == ("a caption", image)
    assert out[1].texts == ["a caption"]
    assert out[1].images == [image]
    assert out[2] == Mixed(["only text"])
    assert out[3] is image


def test_normalize_refuses_bad_items_with_position(png_bytes: bytes) -> None:
    with pytest.raises(InvalidInputError, match=r"^input 1: a mixed input needs at least one part"):
        normalize_inputs(["ok", []])
    with pytest.raises(
        InvalidInputError, match=r"^input 2: a mixed input's parts are str or Image"
    ):
        normalize_inputs(["ok", ["fine"], ["bad", 3.5]])  # type: ignore[list-item]
    with pytest.raises(InvalidInputError, match=r"Image\.from_bytes"):
        normalize_inputs(png_bytes)  # type: ignore[arg-type]


def test_mixed_input_through_a_text_only_model_is_refused(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    with pytest.raises(InvalidInputError, match="does not embed mixed inputs") as info:
        embedder.embed(["a", ["b", "c"]])
    assert info.value.position == 1
    assert server.requests == []


def test_multimodal_model_batches_each_kind_separately(
    make_embedder: MakeEmbedder, png_bytes: bytes
) -> None:
    model = ModelInfo(
        name="mm",
        dimensions=64,
        modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
    )
    embedder, server = make_embedder(model, protocol="cohere")
    image = Image.from_bytes(png_bytes)
    result = embedder.embed(["text one", image, ["caption", image], "text two"])
    assert result.embeddings.shape == (4, 64)
    kinds = sorted(next(k for k in ("texts", "images", "inputs") if k in b) for b in server.bodies)
    assert kinds == ["images", "inputs", "texts"]
    texts_body = next(b for b in server.bodies if "texts" in b)
    assert texts_body["texts"] == ["text one", "text two"]
    assert result.usage.images == 1
