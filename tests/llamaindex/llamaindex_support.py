"""Helpers for the LlamaIndex adapter tests: a multimodal Cohere-protocol stub provider.

The provider exists only in these tests: it subclasses ``CohereV2Provider``,
states a text+image model and a text-only model (which takes no query input
type), and is registered at run time with ``embedplug.plugins.register_plugin``
(and unregistered afterwards, by the ``stub_provider`` fixture).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from embedplug import EmbeddingType, InputType, Modality, ModelInfo, hookimpl
from embedplug.protocols import CohereV2Provider

STUB_DIMENSIONS = 64
STUB_KEY = "sk-llamatest-0123456789-do-not-leak"
PROVIDER = "llamatest-cohere"
MULTIMODAL_MODEL = "embed-v4.0"
TEXT_ONLY_MODEL = "embed-english-light-v3.0"


class StubCohereProvider(CohereV2Provider):
    """A Cohere-protocol provider for the stub server, with one multimodal model."""

    name: ClassVar[str] = PROVIDER
    default_model: ClassVar[str] = MULTIMODAL_MODEL
    api_key_env: ClassVar[tuple[str, ...]] = ("LLAMATEST_COHERE_API_KEY",)

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return [
            ModelInfo(
                name=MULTIMODAL_MODEL,
                dimensions=STUB_DIMENSIONS,
                modalities=frozenset({Modality.TEXT, Modality.IMAGE}),
                embedding_types=frozenset(EmbeddingType),
                max_items_per_call=96,
                max_images_per_call=96,
            ),
            ModelInfo(  # text only, and without a query input type
                name=TEXT_ONLY_MODEL,
                dimensions=STUB_DIMENSIONS,
                modalities=frozenset({Modality.TEXT}),
                input_types=frozenset({InputType.SEARCH_DOCUMENT, InputType.CLASSIFICATION}),
                max_items_per_call=96,
            ),
        ]


class StubPlugin:
    @hookimpl
    def register_providers(self, register: Callable[[type[Any]], None]) -> None:
        register(StubCohereProvider)


def png_bytes(color: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> bytes:
    """A small PNG of one colour."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()
