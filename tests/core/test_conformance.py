"""The conformance suite run against test-only providers on each protocol's stub variant.

This checks the suite itself (and the core protocols) without any provider package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest

from embedplug import hookimpl, plugins
from embedplug.protocols import CohereV2Provider, OpenAIEmbeddingsProvider
from embedplug.provider import Modality, ModelInfo, Provider
from embedplug.testing._server import StubServer
from embedplug.testing.conformance import ProviderConformanceTests
from embedplug.types import EmbeddingType, InputType


class ProtocolOpenAI(OpenAIEmbeddingsProvider):
    name: ClassVar[str] = "test-openai-protocol"
    default_model: ClassVar[str] = "stub-model"
    path: ClassVar[str] = "/v1/embeddings"

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [ModelInfo(name="stub-model", dimensions=0, max_items_per_call=96)]

    def model_info(self, model: str) -> ModelInfo:
        return ModelInfo(name=model, dimensions=0, max_items_per_call=96)


class ProtocolCohere(CohereV2Provider):
    name: ClassVar[str] = "test-cohere-protocol"
    default_model: ClassVar[str] = "embed-v4.0"

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [
            ModelInfo(
                name="embed-v4.0",
                dimensions=0,
                modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
                input_types=frozenset(InputType),
                embedding_types=frozenset(EmbeddingType),
                max_items_per_call=96,
                max_images_per_call=96,
            )
        ]


class _Plugin:
    @hookimpl
    def register_providers(self, register: Callable[[type[Provider]], None]) -> None:
        register(ProtocolOpenAI)
        register(ProtocolCohere)


@pytest.fixture(autouse=True)
def _registered() -> Iterator[None]:
    name = plugins.register_plugin(_Plugin(), name="test-protocols")
    try:
        yield
    finally:
        plugins.unregister_plugin(name=name)


class TestOpenAIProtocol(ProviderConformanceTests):
    provider = "test-openai-protocol"
    model = "stub-model"
    stub_variant = "openai"


class TestCohereProtocol(ProviderConformanceTests):
    provider = "test-cohere-protocol"
    model = "embed-v4.0"
    stub_variant = "cohere"

    def provider_options(self, server: StubServer) -> dict[str, Any]:
        return {"base_url": server.url, "api_key": self.api_key}
