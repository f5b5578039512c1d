"""The shared contract tests every HTTP provider plugin runs against its stub variant.

Subclass ``ProviderConformanceTests`` in your plugin's test suite and declare
the provider, the model and the stub variant; pytest collects the inherited
tests (as ``langchain-tests`` does for LangChain integrations)::

    from embedplug.testing.conformance import ProviderConformanceTests

    class TestMyProvider(ProviderConformanceTests):
        provider = "myprovider"
        model = "my-model"
        stub_variant = "openai"

        def provider_options(self, server):
            return {"base_url": server.url + "/v1", "api_key": self.api_key}

The stub answers with the model's own ``ModelInfo.dimensions`` unless
``stub_options`` sets ``dimensions``. The provider must be installed (entry
point) or registered before the tests run. No test sleeps: the engine's
backoff clock is replaced by a recorder. The guide
(``docs/writing-a-plugin.md``, "The conformance suite") lists every option.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest

import embedplug
from embedplug._api import Embedder
from embedplug.plugins import provider_class
from embedplug.provider import Modality, ModelInfo
from embedplug.testing._faults import Fault
from embedplug.testing._server import StubServer
from embedplug.types import EmbeddingType, Image, InputType

__all__ = ["ProviderConformanceTests"]


def _png(width: int, height: int, seed: int) -> bytes:
    from PIL import Image as PILImage

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class ProviderConformanceTests:
    """Contract tests for an HTTP provider; subclass and set the class attributes."""

    provider: ClassVar[str]
    """The provider's registered name."""
    model: ClassVar[str]
    """A model of the provider to test with."""
    stub_variant: ClassVar[str]
    """The ``StubServer`` variant that speaks the provider's protocol."""
    api_key: ClassVar[str] = "conformance-test-key"
    """The key the stub requires and ``provider_options`` passes."""
    stub_options: ClassVar[dict[str, Any]] = {}
    """Extra ``StubServer`` arguments (``dimensions``, ``max_items``, ``latency``).

    Without ``dimensions`` the stub answers with the model's own full length,
    ``ModelInfo.dimensions`` from the provider's ``known_models()``.
    """
    input_type: ClassVar[str | None] = "search_document"
    """The ``input_type`` of every call (``None`` for a model that takes none)."""

    def provider_options(self, server: StubServer) -> dict[str, Any]:
        """Options for ``embedplug.embedder`` that point the provider at ``server``."""
        return {"base_url": server.url, "api_key": self.api_key}

    def stub_dimensions(self) -> int | None:
        """The stub's full vector length: the model's ``dimensions`` as the provider lists it.

        ``None`` (the variant's own length for the model) when the provider is
        not registered, does not list the model, or lists it with ``dimensions=0``
        (a length only the server knows).
        """
        try:
            listed = provider_class(self.provider).known_models()
        except embedplug.EmbedplugError:
            return None  # test_provider_is_registered says why
        for info in listed:
            if info.name == self.model:
                return info.dimensions or None
        return None

    # -- fixtures -----------------------------------------------------------------

    @pytest.fixture
    def server(self) -> Iterator[StubServer]:
        options = {"dimensions": self.stub_dimensions(), **self.stub_options}
        with StubServer(self.stub_variant, api_key=self.api_key, **options) as server:
            yield server

    @pytest.fixture
    def sleeps(self) -> list[float]:
        return []

    @pytest.fixture
    def embedder(self, server: StubServer, sleeps: list[float]) -> Iterator[Embedder]:
        e = embedplug.embedder(f"{self.provider}:{self.model}", **self.provider_options(server))
        e.engine.sleep = sleeps.append

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        e.engine.async_sleep = record
        yield e
        e.close()

    @pytest.fixture
    def info(self, embedder: Embedder) -> ModelInfo:
        return embedder.model_info

    def expected(
        self, server: StubServer, texts: list[str], embedding_type: str = "float"
    ) -> np.ndarray[Any, Any]:
        return server.expected_vectors(
            texts, embedding_type=embedding_type, input_type=self.input_type, model=self.model
        )

    def _texts(self, n: int, tag: str = "text") -> list[str]:
        return [f"conformance {tag} number {i}" for i in range(n)]

    # -- registration and metadata ------------------------------------------------

    def test_provider_is_registered(self) -> None:
        assert self.provider in embedplug.providers()
        assert any(e.id == f"{self.provider}:{self.model}" for e in embedplug.models(self.provider))

    def test_model_info_is_sane(self, info: ModelInfo) -> None:
        assert info.name == self.model
        assert info.max_items_per_call >= 1
        assert Modality.TEXT in info.modalities or Modality.IMAGE in info.modalities
        assert EmbeddingType.FLOAT in info.embedding_types

    # -- the happy path -------------------------------------------------------------

    def test_vectors_match_the_server_in_input_order(
        self, embedder: Embedder, server: StubServer, info: ModelInfo
    ) -> None:
        n = min(2 * info.max_items_per_call + 3, 250)
        texts = self._texts(n)
        result = embedder.embed(texts, input_type=self.input_type)
        assert result.embeddings.shape == (n, server.dimensions_for(self.model))
        assert result.embeddings.dtype == np.float32
        np.testing.assert_allclose(result.embeddings, self.expected(server, texts), atol=1e-6)
        assert all(len(_inputs(r.json)) <= info.max_items_per_call for r in server.requests)
        assert result.usage.requests == server.request_count
        assert result.usage.input_tokens > 0

    def test_each_input_is_embedded_once(self, embedder: Embedder, server: StubServer) -> None:
        texts = self._texts(20, "once")
        embedder.embed(texts, input_type=self.input_type)
        seen = server.inputs_seen
        assert all(seen[server.content_key(t)] == 1 for t in texts)

    def test_sync_and_async_are_identical(self, embedder: Embedder) -> None:
        texts = self._texts(30, "sync-async")
        sync = embedder.embed(texts, input_type=self.input_type)

        async def run() -> Any:
            try:
                return await embedder.aembed(texts, input_type=self.input_type)
            finally:
                await embedder.aclose()

        async_ = asyncio.run(run())
        assert np.array_equal(sync.embeddings, async_.embeddings)

    @pytest.mark.parametrize("kind", [t.value for t in EmbeddingType])
    def test_every_embedding_type(
        self, embedder: Embedder, server: StubServer, info: ModelInfo, kind: str
    ) -> None:
        texts = self._texts(5, "types")
        result = embedder.embed(texts, input_type=self.input_type, embedding_types=[kind])
        arr = result[kind]
        dims = server.dimensions_for(self.model)
        kind_ = EmbeddingType(kind)
        assert arr.dtype == np.dtype(kind_.dtype)
        assert arr.shape == (5, dims // 8 if kind_.packed else dims)

    def test_empty_list_sends_nothing(self, embedder: Embedder, server: StubServer) -> None:
        assert len(embedder.embed([])) == 0
        assert server.request_count == 0

    # -- refusals before any request -------------------------------------------------

    def test_empty_text_refused_before_any_request(
        self, embedder: Embedder, server: StubServer
    ) -> None:
        with pytest.raises(embedplug.InvalidInputError) as info:
            embedder.embed(["fine", ""])
        assert info.value.position == 1
        assert server.request_count == 0

    def test_bad_dimensions_refused_before_any_request(
        self, embedder: Embedder, server: StubServer, info: ModelInfo
    ) -> None:
        bad = 7 if not info.allows_dimensions(7) else 100_003
        with pytest.raises(embedplug.InvalidInputError, match="dimensions"):
            embedder.embed(["x"], dimensions=bad)
        assert server.request_count == 0

    def test_unsupported_input_type_refused(
        self, embedder: Embedder, server: StubServer, info: ModelInfo
    ) -> None:
        refused = [t for t in InputType if t not in info.input_types and t is not InputType.IMAGE]
        if not refused:
            pytest.skip("the model takes every text input type")
        with pytest.raises(embedplug.InvalidInputError, match="input_type"):
            embedder.embed(["x"], input_type=refused[0])
        assert server.request_count == 0

    def test_images_refused_or_embedded(
        self, embedder: Embedder, server: StubServer, info: ModelInfo
    ) -> None:
        pytest.importorskip("PIL")
        images = [Image.from_bytes(_png(64, 64, seed)) for seed in (1, 2)]
        if not info.supports(Modality.IMAGE):
            with pytest.raises(embedplug.InvalidInputError, match="image"):
                embedder.embed(images)
            assert server.request_count == 0
            return
        result = embedder.embed(images, input_type="image")
        assert result.embeddings.shape[0] == 2
        expected = server.expected_vectors(images, input_type="image", model=self.model)
        np.testing.assert_allclose(result.embeddings, expected, atol=1e-6)
        assert result.usage.images == 2

    # -- faults ------------------------------------------------------------------------

    def test_server_errors_are_retried(
        self, embedder: Embedder, server: StubServer, sleeps: list[float]
    ) -> None:
        server.inject(Fault.status(500, times=2))
        texts = self._texts(3, "retry")
        result = embedder.embed(texts, input_type=self.input_type)
        np.testing.assert_allclose(result.embeddings, self.expected(server, texts), atol=1e-6)
        assert server.request_count == 3
        assert len(sleeps) == 2

    def test_rate_limit_honours_retry_after(
        self, embedder: Embedder, server: StubServer, sleeps: list[float]
    ) -> None:
        server.inject(Fault.status(429, headers={"Retry-After": "2"}))
        embedder.embed(["rate limited"], input_type=self.input_type)
        assert sleeps == [2.0]
        assert server.request_count == 2

    def test_authentication_error_is_not_retried(
        self, server: StubServer, sleeps: list[float]
    ) -> None:
        options = {**self.provider_options(server), "api_key": "wrong-key-1234"}
        with embedplug.embedder(f"{self.provider}:{self.model}", **options) as e:
            e.engine.sleep = sleeps.append
            with pytest.raises(embedplug.AuthenticationError) as info:
                e.embed(["x"], input_type=self.input_type)
        assert server.request_count == 1
        assert info.value.status == 401
        assert "wrong-key-1234" not in str(info.value)
        assert "wrong-key-1234" not in repr(e) + repr(e.provider)

    def test_malformed_json_is_a_typed_error_with_request_id(
        self, embedder: Embedder, server: StubServer
    ) -> None:
        server.inject(Fault.malformed_json())
        with pytest.raises(embedplug.ResponseFormatError) as info:
            embedder.embed(["x"], input_type=self.input_type)
        assert info.value.request_id

    def test_wrong_count_is_a_typed_error(self, embedder: Embedder, server: StubServer) -> None:
        server.inject(Fault.wrong_count())
        with pytest.raises(embedplug.ResponseFormatError):
            embedder.embed(self._texts(4, "count"), input_type=self.input_type)

    def test_reset_mid_body_is_retried(self, embedder: Embedder, server: StubServer) -> None:
        server.inject(Fault.reset())
        texts = self._texts(4, "reset")
        result = embedder.embed(texts, input_type=self.input_type)
        np.testing.assert_allclose(result.embeddings, self.expected(server, texts), atol=1e-6)

    def test_key_never_logged(
        self, embedder: Embedder, server: StubServer, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        server.inject(Fault.status(500))
        embedder.embed(["logged"], input_type=self.input_type)
        assert self.api_key not in caplog.text
        assert self.api_key not in repr(embedder)


def _inputs(body: Any) -> list[Any]:
    """The inputs of a recorded request body, whatever the protocol names them."""
    if not isinstance(body, dict):
        return []
    for key in ("input", "texts", "images", "inputs"):
        value = body.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, str):
            return [value]
    return []
