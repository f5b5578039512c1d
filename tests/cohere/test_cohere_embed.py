"""Cohere v2 embed: the conformance suite plus Cohere's own limits and shapes."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import numpy as np
import pytest

import embedplug
from embedplug import Image, Mixed
from embedplug._api import Embedder
from embedplug.testing import Fault, StubServer
from embedplug.testing.conformance import ProviderConformanceTests

KEY = "co-test-key"


class TestEmbedV4Conformance(ProviderConformanceTests):
    provider = "cohere"
    model = "embed-v4.0"
    stub_variant = "cohere"


class TestEmbedV3Conformance(ProviderConformanceTests):
    provider = "cohere"
    model = "embed-english-v3.0"
    stub_variant = "cohere"


def png(width: int, height: int, seed: int = 0) -> Image:
    from PIL import Image as PILImage

    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    return Image.from_bytes(buffer.getvalue())


def fake_png(size: int, seed: int) -> Image:
    """A payload of ``size`` bytes with PNG magic bytes (never reaches a decoder)."""
    body = np.random.default_rng(seed).bytes(size - 8)
    return Image.from_bytes(b"\x89PNG\r\n\x1a\n" + body)


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer("cohere", api_key=KEY) as s:
        yield s


def cohere(server: StubServer, model: str = "embed-v4.0", **options: object) -> Embedder:
    e = embedplug.embedder(f"cohere:{model}", base_url=server.url, api_key=KEY, **options)
    e.engine.sleep = lambda s: None
    return e


def test_250_texts_become_96_96_58(server: StubServer) -> None:
    with cohere(server) as e:
        e.embed([f"text {i}" for i in range(250)])
    assert sorted(len(r.json["texts"]) for r in server.requests) == [58, 96, 96]


def test_three_images_on_a_v3_model_become_three_requests(server: StubServer) -> None:
    with cohere(server, "embed-english-v3.0") as e:
        result = e.embed([png(32, 32, i) for i in range(3)])
    assert server.request_count == 3
    assert all(len(r.json["images"]) == 1 for r in server.requests)
    assert all(r.json["input_type"] == "image" for r in server.requests)
    assert result.embeddings.shape == (3, 1024)
    assert result.usage.images == 3


def test_v4_sends_images_in_one_request(server: StubServer) -> None:
    with cohere(server) as e:
        e.embed([png(32, 32, i) for i in range(3)])
    assert server.request_count == 1


def test_a_6_mb_image_is_refused_before_any_request(server: StubServer) -> None:
    with cohere(server) as e, pytest.raises(embedplug.InvalidInputError, match="at most") as info:
        e.embed(["fine", fake_png(6 * 1024 * 1024, 1)])
    assert info.value.position == 1
    assert server.request_count == 0


def test_a_21_mb_input_is_refused_before_any_request(server: StubServer) -> None:
    parts = [fake_png(int(4.3 * 1024 * 1024), seed) for seed in range(5)]
    with cohere(server) as e, pytest.raises(embedplug.InvalidInputError, match="per request"):
        e.embed([Mixed(["five large images", *parts])])
    assert server.request_count == 0


def test_large_images_are_split_to_keep_each_request_under_20_mb() -> None:
    images = [fake_png(int(4.3 * 1024 * 1024), seed) for seed in range(5)]
    with cohere_plan() as e:
        plan = e.engine.plan(images)
    assert len(plan.batches) > 1
    for batch in plan.batches:
        encoded = sum(len(item.to_data_url()) for item in batch.inputs if isinstance(item, Image))
        assert encoded < 20 * 1024 * 1024


def cohere_plan() -> Embedder:
    return embedplug.embedder("cohere:embed-v4.0", api_key=KEY)


def test_mixed_input_reaches_the_stub_in_cohere_inputs_shape(server: StubServer) -> None:
    image = png(40, 30)
    with cohere(server) as e:
        result = e.embed([Mixed(["a caption", image])], input_type="search_document")
    body = server.requests[0].json
    assert body["inputs"] == [
        {
            "content": [
                {"type": "text", "text": "a caption"},
                {"type": "image_url", "image_url": {"url": image.to_data_url()}},
            ]
        }
    ]
    assert "texts" not in body
    assert "images" not in body
    assert result.embeddings.shape == (1, 1536)


def test_mixed_input_refused_on_v3(server: StubServer) -> None:
    with (
        cohere(server, "embed-english-v3.0") as e,
        pytest.raises(embedplug.InvalidInputError, match="mixed"),
    ):
        e.embed([Mixed(["caption", png(8, 8)])])
    assert server.request_count == 0


def test_floats_travel_as_base64(server: StubServer) -> None:
    with cohere(server) as e:
        result = e.embed(["x"], embedding_types=["float", "int8"])
    assert server.requests[0].json["embedding_types"] == ["base64", "int8"]
    np.testing.assert_allclose(
        result["float"][0], server.expected_vector("x", input_type="search_document"), atol=1e-6
    )


@pytest.mark.parametrize(
    ("kind", "dtype", "width"),
    [
        ("int8", np.int8, 1536),
        ("uint8", np.uint8, 1536),
        ("binary", np.int8, 192),
        ("ubinary", np.uint8, 192),
    ],
)
def test_quantised_types_have_the_right_dtype_and_shape(
    server: StubServer, kind: str, dtype: type, width: int
) -> None:
    texts = ["a", "b", "c"]
    with cohere(server) as e:
        result = e.embed(texts, embedding_types=[kind])
    assert result[kind].dtype == dtype
    assert result[kind].shape == (3, width)
    expected = server.expected_vectors(texts, embedding_type=kind, input_type="search_document")
    assert np.array_equal(result[kind], expected)


def test_output_dimension_truncate_and_max_tokens_are_sent(server: StubServer) -> None:
    with cohere(server, truncate="end", max_tokens=256) as e:
        result = e.embed(["x"], dimensions=512)
    body = server.requests[0].json
    assert body["output_dimension"] == 512
    assert body["truncate"] == "END"
    assert body["max_tokens"] == 256
    assert result.embeddings.shape == (1, 512)


def test_bad_truncate_value_is_refused() -> None:
    with pytest.raises(embedplug.InvalidInputError, match="truncate"):
        embedplug.embedder("cohere:embed-v4.0", api_key=KEY, truncate="MIDDLE")


def test_resize_images_scales_into_cohere_bounds(server: StubServer) -> None:
    tiny = png(20, 20)
    with cohere(server, resize_images=True) as e:
        e.embed([tiny])
    sent = Image.from_data_url(server.requests[0].json["images"][0])
    width, height = sent.dimensions()
    assert width * height >= 3136
    assert sent.format == "png"


def test_key_from_either_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.setenv("COHERE_API_KEY", "from-cohere-api-key")
    e = embedplug.embedder("cohere:embed-v4.0")
    assert e.provider.api_key is not None
    assert e.provider.api_key.get_secret_value() == "from-cohere-api-key"
    monkeypatch.setenv("CO_API_KEY", "from-co-api-key")
    e = embedplug.embedder("cohere:embed-v4.0")
    assert e.provider.api_key is not None
    assert e.provider.api_key.get_secret_value() == "from-co-api-key"


def test_missing_key_is_a_clear_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    with pytest.raises(embedplug.ConfigurationError, match="CO_API_KEY or COHERE_API_KEY"):
        embedplug.embedder("cohere:embed-v4.0")


@pytest.mark.parametrize(
    ("status", "error", "retried"),
    [
        (400, embedplug.BadRequestError, False),
        (401, embedplug.AuthenticationError, False),
        (403, embedplug.PermissionDeniedError, False),
        (404, embedplug.NotFoundError, False),
        (422, embedplug.BadRequestError, False),
        (429, embedplug.RateLimitError, True),
        (498, embedplug.InvalidTokenError, False),
        (499, embedplug.ClientClosedRequestError, False),
        (500, embedplug.ServerError, True),
        (501, embedplug.NotImplementedByProviderError, False),
        (503, embedplug.ServerError, True),
        (504, embedplug.ServerError, True),
    ],
)
def test_each_documented_status_maps_to_its_error(
    server: StubServer, status: int, error: type[embedplug.ProviderError], retried: bool
) -> None:
    server.inject(Fault.status(status, message=f"status {status}", times=None))
    with cohere(server) as e, pytest.raises(error) as info:
        e.embed(["x"])
    assert info.value.status == status
    assert f"status {status}" in str(info.value)
    assert server.request_count == (5 if retried else 1)


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("CO_API_KEY"), reason="needs CO_API_KEY")
def test_live_call() -> None:  # pragma: no cover - never counts as coverage
    result = embedplug.embed(["hello"], "cohere:embed-v4.0", dimensions=256)
    assert result.embeddings.shape == (1, 256)
