"""Issue 14, IG1: input_type against the payload, response metadata, the provider's options."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import embedplug
from _stub_helpers import png_image as png
from embedplug import ConfigurationError, InvalidInputError, Mixed
from embedplug.testing import StubServer
from embedplug_ig1._provider import IG1Provider

KEY = "ig1-audit-key"
QWEN = "ig1:qwen3-vl-embedding-8b"
BGE = "ig1:bge-m3"


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer("ig1", api_key=KEY) as s:
        yield s


@pytest.fixture
def bge_server() -> Iterator[StubServer]:
    with StubServer("ig1-openai", api_key=KEY) as s:
        yield s


# -- item 6: input_type against the payload ----------------------------------------


def test_texts_with_input_type_image_are_refused_before_any_request(server: StubServer) -> None:
    with (
        embedplug.embedder(QWEN, base_url=server.url, api_key=KEY) as e,
        pytest.raises(InvalidInputError, match="texts") as info,
    ):
        e.embed([png(), "a caption"], input_type="image")
    assert info.value.position == 1
    assert server.request_count == 0


def test_mixed_inputs_with_input_type_image_are_refused_before_any_request(
    server: StubServer,
) -> None:
    with (
        embedplug.embedder(QWEN, base_url=server.url, api_key=KEY) as e,
        pytest.raises(InvalidInputError, match="mixed") as info,
    ):
        e.embed([Mixed(["a caption", png()])], input_type="image")
    assert info.value.position == 0
    assert server.request_count == 0


def test_images_only_with_input_type_image(server: StubServer) -> None:
    with embedplug.embedder(QWEN, base_url=server.url, api_key=KEY) as e:
        with pytest.raises(InvalidInputError, match="image") as info:
            e.embed(["a text", png()], input_type="search_document")
        assert info.value.position == 1
        assert server.request_count == 0
        e.embed([png()])  # no input_type: "image", as IG1's document says for images
    assert server.requests[0].json["input_type"] == "image"


# -- item 11: response metadata ----------------------------------------------------


def test_texts_model_api_version_and_billed_units_reach_result_meta(server: StubServer) -> None:
    with embedplug.embedder(QWEN, base_url=server.url, api_key=KEY) as e:
        result = e.embed(["The food was delicious"], input_type="search_document")
    (batch,) = result.meta["batches"]
    assert batch["model"] == "qwen3-vl-embedding-8b"
    assert batch["texts"] == ["The food was delicious"]
    assert batch["api_version"] == {"version": "2", "is_experimental": True}
    assert batch["billed_units"]["input_tokens"] == result.usage.input_tokens > 0


# -- item 13: the provider's own options ------------------------------------------


def test_truncate_and_max_tokens_reach_qwen_requests(server: StubServer) -> None:
    with embedplug.embedder(
        QWEN, base_url=server.url, api_key=KEY, truncate="start", max_tokens=64
    ) as e:
        e.embed(["a text"])
        e.embed(["a text"], truncate="END", max_tokens=32)
    first, second = (r.json for r in server.requests)
    assert (first["truncate"], first["max_tokens"]) == ("START", 64)
    assert (second["truncate"], second["max_tokens"]) == ("END", 32)


def test_encoding_format_and_prefixes_reach_bge_requests(bge_server: StubServer) -> None:
    with embedplug.embedder(
        BGE,
        base_url=bge_server.url,
        api_key=KEY,
        encoding_format="float",
        prefixes={"search_query": "query: "},
    ) as e:
        result = e.embed(["what is it?"], input_type="search_query")
    body = bge_server.requests[0].json
    assert body["encoding_format"] == "float"
    assert body["input"] == ["query: what is it?"]
    assert result.embeddings.shape == (1, 1024)


@pytest.mark.parametrize(
    ("model", "option", "value", "other"),
    [
        (BGE, "truncate", "END", "qwen3-vl-embedding-8b"),
        (BGE, "max_tokens", 64, "qwen3-vl-embedding-8b"),
        (QWEN, "encoding_format", "float", "bge-m3"),
        (QWEN, "prefixes", {"search_query": "q: "}, "bge-m3"),
    ],
)
def test_an_option_of_the_other_model_is_a_configuration_error(
    model: str, option: str, value: object, other: str
) -> None:
    with pytest.raises(ConfigurationError, match=rf"{option}.*{other}"):
        embedplug.embedder(model, api_key=KEY, **{option: value})


def test_a_bad_truncate_value_is_refused_at_construction() -> None:
    with pytest.raises(InvalidInputError, match="truncate"):
        IG1Provider(api_key=KEY, truncate="MIDDLE")


def test_a_per_call_option_of_the_other_model_is_refused_before_sending(
    bge_server: StubServer,
) -> None:
    with (
        embedplug.embedder(BGE, base_url=bge_server.url, api_key=KEY) as e,
        pytest.raises(ConfigurationError, match="truncate"),
    ):
        e.embed(["x"], truncate="END")
    assert bge_server.request_count == 0


def test_options_key_the_cache_through_the_protocol_they_reach() -> None:
    plain = IG1Provider(api_key=KEY).cache_fingerprint()
    cut = IG1Provider(api_key=KEY, truncate="START").cache_fingerprint()
    assert plain != cut
    assert "given" not in cut
    assert "START" in cut["_cohere"]
