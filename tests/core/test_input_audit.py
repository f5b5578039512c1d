"""Inputs and options refused before any request, as the docs promise (issue 14).

A lone surrogate, a misspelt option (at ``embedder()`` and per call), a
dimension the model cannot give, and images or requests over Cohere's and
IG1's "5 MB" / "20 MB" (decimal) limits all fail before anything is sent.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

import embedplug
from embedplug.errors import ConfigurationError, InvalidInputError
from embedplug.provider import Modality, ModelInfo
from embedplug.types import Image, Mixed

MakeEmbedder = Callable[..., tuple[Any, Any]]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class CountingCohere:
    """A Cohere ``/v2/embed`` answer for every request, and a count of requests."""

    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = orjson.loads(request.content)
        n = len(body.get("texts") or body.get("images") or body.get("inputs") or [])
        row = base64.b64encode(np.ones(self.dimensions, dtype="<f4").tobytes()).decode()
        return httpx.Response(
            200,
            json={"id": "x", "embeddings": {"base64": [row] * n}, "meta": {"billed_units": {}}},
        )


def cohere(model: str, handler: CountingCohere, **options: Any) -> Any:
    return embedplug.embedder(
        f"cohere:{model}", api_key="co-test", transport=httpx.MockTransport(handler), **options
    )


def png(size: int) -> Image:
    """An "image" of exactly ``size`` bytes (the magic bytes are all the checks read)."""
    return Image.from_bytes(PNG_MAGIC + b"\0" * (size - len(PNG_MAGIC)))


# ---------------------------------------------------------------- lone surrogates


@pytest.mark.parametrize(
    "model",
    [
        ModelInfo(name="no-limit", dimensions=64),
        ModelInfo(name="token-limit", dimensions=64, max_tokens_per_item=8),
        ModelInfo(name="payload-limit", dimensions=64, max_payload_bytes=1_000),
    ],
)
def test_a_lone_surrogate_is_an_invalid_input_with_its_position(
    make_embedder: MakeEmbedder, model: ModelInfo
) -> None:
    embedder, server = make_embedder(model)
    with pytest.raises(InvalidInputError, match="lone surrogate") as info:
        embedder.embed(["fine", "\ud800x"])
    assert info.value.position == 1
    assert server.requests == []


def test_a_lone_surrogate_in_a_mixed_input_is_refused(make_embedder: MakeEmbedder) -> None:
    model = ModelInfo(
        name="mm", dimensions=64, modalities=frozenset({Modality.TEXT, Modality.MIXED})
    )
    embedder, server = make_embedder(model, protocol="cohere")
    with pytest.raises(InvalidInputError, match="lone surrogate") as info:
        embedder.embed([Mixed(["ok", "x\udfffy"])])
    assert info.value.position == 0
    assert server.requests == []


# ---------------------------------------------------------------- misspelt options


def _listed(message: str) -> list[str]:
    """Every option name a message lists after "takes:"."""
    return [
        name.strip()
        for listing in re.findall(r"takes: ([^;]*)", message)
        for name in listing.split(",")
    ]


def test_a_misspelt_call_option_is_refused_with_the_valid_ones(
    make_embedder: MakeEmbedder,
) -> None:
    embedder, server = make_embedder()
    with pytest.raises(ConfigurationError) as info:
        embedder.embed(["x"], dimension=256)
    message = str(info.value)
    assert "'dimension' (did you mean 'dimensions'?)" in message
    listed = _listed(message)
    assert {"dimensions", "input_type", "long_inputs", "encoding_format", "user"} <= set(listed)
    assert "options" not in listed
    assert server.requests == []


def test_call_options_the_provider_reads_still_pass(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    embedder.embed(["x"], user="someone", encoding_format="float")
    assert server.bodies[0]["user"] == "someone"


def test_a_call_option_of_another_provider_is_refused(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()  # OpenAI protocol: no ``truncate``
    with pytest.raises(ConfigurationError, match="'truncate'"):
        embedder.embed(["x"], truncate="END")
    assert server.requests == []


def test_a_misspelt_embedder_option_is_refused_with_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        embedplug.embedder("cohere:embed-v4.0", api_key="co-test", resize_image=True)
    message = str(info.value)
    assert "did you mean 'resize_images'?" in message
    listed = _listed(message)
    assert {"resize_images", "truncate", "api_key", "dimensions", "max_concurrency"} <= set(listed)
    assert "options" not in listed
    assert "kwargs" not in listed


@pytest.mark.parametrize("provider", sorted(embedplug.providers()))
def test_no_provider_lists_its_kwargs_name_as_an_option(provider: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        embedplug.embedder(provider, no_such_option=1)
    listed = _listed(str(info.value))
    assert "max_batch_size" in listed
    assert not {"options", "kwargs", "self"} & set(listed)


def test_a_misspelt_embedder_option_of_the_local_provider_suggests_the_right_one() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'dimensions'"):
        embedplug.embedder("local", dimension=384)


# ---------------------------------------------------------------- dimensions at construction


def test_dimensions_are_checked_when_the_embedder_is_made() -> None:
    with pytest.raises(InvalidInputError, match="cannot give 1000 dimensions"):
        embedplug.embedder("ig1:qwen3-vl-embedding-8b", api_key="ig1-test", dimensions=1000)


def test_packed_types_are_checked_when_the_embedder_is_made() -> None:
    with pytest.raises(InvalidInputError, match="not a multiple of 8"):
        embedplug.embedder(
            "openai:text-embedding-3-small",
            api_key="sk-test",
            dimensions=100,
            embedding_types="binary",
        )


# ---------------------------------------------------------------- "5 MB" and "20 MB" are decimal


def test_a_5_000_001_byte_image_is_refused_before_sending() -> None:
    handler = CountingCohere(1024)
    with cohere("embed-english-v3.0", handler) as co:
        with pytest.raises(InvalidInputError, match="5,000,000 bytes per image") as info:
            co.embed([png(5_000_001)])
        assert info.value.position == 0
        assert handler.requests == []
        assert co.embed([png(5_000_000)]).embeddings.shape == (1, 1024)  # the limit itself
    assert len(handler.requests) == 1


def test_an_input_over_20_000_000_bytes_encoded_is_refused() -> None:
    handler = CountingCohere(1536)
    # four 3.84 MB images: about 20.5 MB as base64, under 20 MiB but over 20 MB
    item = Mixed([png(3_843_750) for _ in range(4)])
    with (
        cohere("embed-v4.0", handler) as co,
        pytest.raises(InvalidInputError, match="20,000,000 bytes per request"),
    ):
        co.embed([item])
    assert handler.requests == []


def test_ig1_limits_are_decimal_too() -> None:
    info = embedplug.embedder("ig1:qwen3-vl-embedding-8b", api_key="ig1-test").model_info
    assert (info.max_image_bytes, info.max_payload_bytes) == (5_000_000, 20_000_000)
