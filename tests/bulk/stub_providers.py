"""Test-only providers pointed at the stub servers, as a plugin module.

``bulkstub`` speaks OpenAI's protocol (text, 256 dimensions, Matryoshka, 16
inputs a request so that a chunk makes several requests); ``bulkstub-mm``
speaks Cohere's v2 protocol (text, images and mixed inputs). Their base URLs
come from ``BULKSTUB_OPENAI_URL`` (``<stub url>/v1``) / ``BULKSTUB_COHERE_URL``, so a subprocess
(the kill-and-resume driver) reaches the same stub as the test.

Loaded by file path (``tests/bulk/conftest.py`` and ``cli_driver.py``), never
imported as a package, so it works under any pytest import mode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from embedplug.hookspecs import hookimpl
from embedplug.protocols import CohereV2Provider, OpenAIEmbeddingsProvider
from embedplug.provider import Modality, ModelInfo
from embedplug.types import EmbeddingType

DIMENSIONS = 256
MAX_ITEMS = 16

TEXT_MODEL = ModelInfo(
    name="stub-text",
    dimensions=DIMENSIONS,
    matryoshka=True,
    min_dimensions=32,
    native_dimensions=True,
    max_items_per_call=MAX_ITEMS,
    max_chars_per_item=2000,
)

MULTIMODAL_MODEL = ModelInfo(
    name="embed-v4.0",
    dimensions=DIMENSIONS,
    modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
    allowed_dimensions=(256,),
    native_dimensions=True,
    embedding_types=frozenset(EmbeddingType),
    max_items_per_call=MAX_ITEMS,
    max_images_per_call=MAX_ITEMS,
    max_image_bytes=5 * 1024 * 1024,
)


class BulkStubText(OpenAIEmbeddingsProvider):
    """OpenAI protocol against the stub (``BULKSTUB_OPENAI_URL``)."""

    name: ClassVar[str] = "bulkstub"
    default_model: ClassVar[str] = TEXT_MODEL.name
    api_key_required: ClassVar[bool] = False
    base_url_env: ClassVar[tuple[str, ...]] = ("BULKSTUB_OPENAI_URL",)

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (TEXT_MODEL, replace(TEXT_MODEL, name="stub-text-2"))


class BulkStubMultimodal(CohereV2Provider):
    """Cohere v2 protocol against the stub (``BULKSTUB_COHERE_URL``)."""

    name: ClassVar[str] = "bulkstub-mm"
    default_model: ClassVar[str] = MULTIMODAL_MODEL.name
    api_key_required: ClassVar[bool] = False
    base_url_env: ClassVar[tuple[str, ...]] = ("BULKSTUB_COHERE_URL",)

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (MULTIMODAL_MODEL,)


@hookimpl
def register_providers(register: Callable[[Any], None]) -> None:
    register(BulkStubText)
    register(BulkStubMultimodal)
