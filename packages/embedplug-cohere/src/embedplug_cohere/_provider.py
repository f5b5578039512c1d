"""The ``cohere`` provider: Cohere's v2 embed API, configured from the core protocol."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from embedplug.protocols import CohereV2Provider
from embedplug.provider import Modality, ModelInfo
from embedplug.types import EmbeddingType, Image, Input, InputType, Mixed

if TYPE_CHECKING:
    from pydantic import SecretStr

MAX_IMAGE_BYTES = 5_000_000  # "5 MB" in the document: decimal, the strict reading
MAX_PAYLOAD_BYTES = 20_000_000  # "20mb": decimal too
MAX_PIXELS = 2_458_624  # larger images are downsampled by Cohere
MIN_PIXELS = 3_136  # smaller ones (under 56x56) are upsampled

_ALL_TYPES = frozenset(EmbeddingType)
_ALL_INPUT_TYPES = frozenset(InputType)
_TEXT_INPUT_TYPES = _ALL_INPUT_TYPES - {InputType.IMAGE}
# Cohere's image page: with input_type "image", ``texts`` must be empty; ``inputs`` (text,
# mixed) take the four text types only; ``images`` need "image". v4 also embeds an image
# under a text type, sent as ``inputs``; v3 has only ``images``, so "image" alone.
_V3_INPUT_TYPES = {
    Modality.TEXT: _TEXT_INPUT_TYPES,
    Modality.IMAGE: frozenset({InputType.IMAGE}),
}
_V4_INPUT_TYPES = {
    Modality.TEXT: _TEXT_INPUT_TYPES,
    Modality.IMAGE: _ALL_INPUT_TYPES,
    Modality.MIXED: _TEXT_INPUT_TYPES,
}


def _v3(name: str, dimensions: int, description: str) -> ModelInfo:
    return ModelInfo(
        name=name,
        dimensions=dimensions,
        modalities=frozenset({Modality.TEXT, Modality.IMAGE}),
        input_types=_ALL_INPUT_TYPES,
        embedding_types=_ALL_TYPES,
        max_items_per_call=96,
        max_tokens_per_item=512,
        max_images_per_call=1,  # v3 models take one image per request
        max_image_bytes=MAX_IMAGE_BYTES,
        max_payload_bytes=MAX_PAYLOAD_BYTES,
        description=description,
        input_types_by_modality=_V3_INPUT_TYPES,
    )


MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="embed-v4.0",
        dimensions=1536,
        allowed_dimensions=(256, 512, 1024, 1536),
        native_dimensions=True,
        modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
        input_types=_ALL_INPUT_TYPES,
        embedding_types=_ALL_TYPES,
        max_items_per_call=96,
        max_tokens_per_item=128_000,
        max_images_per_call=96,
        max_image_bytes=MAX_IMAGE_BYTES,
        max_payload_bytes=MAX_PAYLOAD_BYTES,
        description="Cohere Embed v4: text, images and mixed inputs; Matryoshka 256-1536",
        input_types_by_modality=_V4_INPUT_TYPES,
    ),
    _v3("embed-english-v3.0", 1024, "Cohere Embed v3, English"),
    _v3("embed-multilingual-v3.0", 1024, "Cohere Embed v3, 100+ languages"),
    _v3("embed-english-light-v3.0", 384, "Cohere Embed v3 light, English"),
    _v3("embed-multilingual-light-v3.0", 384, "Cohere Embed v3 light, multilingual"),
)


class CohereProvider(CohereV2Provider):
    """Cohere's v2 embed API.

    Options: ``api_key`` (else ``CO_API_KEY`` or ``COHERE_API_KEY``),
    ``base_url`` (else ``CO_API_URL``, else ``https://api.cohere.com``),
    ``truncate`` (``NONE``/``START``/``END``), ``max_tokens``, and
    ``resize_images=True`` to scale images into Cohere's pixel bounds
    client-side (needs Pillow) so that what is sent is what is embedded.
    """

    name: ClassVar[str] = "cohere"
    description: ClassVar[str] = "Cohere v2 embed: text, images, mixed inputs; embed jobs"
    default_model: ClassVar[str] = "embed-v4.0"
    api_key_env: ClassVar[tuple[str, ...]] = ("CO_API_KEY", "COHERE_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("CO_API_URL",)
    default_base_url: ClassVar[str | None] = "https://api.cohere.com"

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        resize_images: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, **options)
        self.resize_images = resize_images

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return MODELS

    def auth_headers(self) -> dict[str, str]:
        return {"x-client-name": "embedplug", **super().auth_headers()}

    def prepare(self, inputs: list[Input], model: ModelInfo) -> list[Input]:
        if not self.resize_images:
            return inputs
        return [self._resize(item) for item in inputs]

    @staticmethod
    def _resize(item: Input) -> Input:
        if isinstance(item, Image):
            return item.resized(max_pixels=MAX_PIXELS, min_pixels=MIN_PIXELS)
        if isinstance(item, Mixed):
            return Mixed(
                p.resized(max_pixels=MAX_PIXELS, min_pixels=MIN_PIXELS)
                if isinstance(p, Image)
                else p
                for p in item.parts
            )
        return item
