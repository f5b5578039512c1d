"""The ``ig1`` provider: one name, two wire protocols, chosen by model.

``qwen3-vl-embedding-8b`` speaks Cohere v2 on ``/cohere/v2/embed`` with
``inputs`` content blocks only; ``bge-m3`` speaks OpenAI on ``/v1/embeddings``.
Both are configured from the core's protocol classes, not copied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from embedplug.errors import ConfigurationError
from embedplug.protocols import CohereV2Provider, OpenAIEmbeddingsProvider
from embedplug.provider import Batch, BatchResult, HTTPProvider, Modality, ModelInfo
from embedplug.types import EmbeddingType, InputType

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr

    from embedplug.errors import ProviderError
    from embedplug.protocols.openai import EncodingFormat

QWEN = "qwen3-vl-embedding-8b"
BGE = "bge-m3"

QWEN_DIMENSIONS = (128, 256, 384, 512, 768, 1024, 1536, 2048, 2560, 3072, 3584, 4096)
_SEARCH = frozenset({InputType.SEARCH_DOCUMENT, InputType.SEARCH_QUERY})
# IG1's page: "for image inputs, use input_type image"; texts and mixed inputs (Cohere's
# rule for ``inputs``) take the search types.
_QWEN_INPUT_TYPES = {
    Modality.TEXT: _SEARCH,
    Modality.IMAGE: frozenset({InputType.IMAGE}),
    Modality.MIXED: _SEARCH,
}

_MODELS = (
    ModelInfo(
        name=QWEN,
        dimensions=4096,
        allowed_dimensions=QWEN_DIMENSIONS,
        native_dimensions=True,
        modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
        input_types=frozenset({InputType.SEARCH_DOCUMENT, InputType.SEARCH_QUERY, InputType.IMAGE}),
        embedding_types=frozenset({EmbeddingType.FLOAT}),
        max_items_per_call=96,
        max_images_per_call=96,
        max_image_bytes=5_000_000,  # "5 MB" and "20 MB" read as decimal, the strict reading
        max_payload_bytes=20_000_000,
        description="Qwen3-VL embedding (8B): text, images and mixed inputs in one space",
        input_types_by_modality=_QWEN_INPUT_TYPES,
    ),
    ModelInfo(
        name=BGE,
        dimensions=1024,
        modalities=frozenset({Modality.TEXT}),
        embedding_types=frozenset({EmbeddingType.FLOAT}),
        max_items_per_call=96,
        max_tokens_per_item=8192,
        description="BAAI bge-m3, multilingual text (OpenAI-compatible endpoint)",
    ),
)


# The options each model's protocol takes, besides the connection's.
_OPTIONS_OF = {
    QWEN: frozenset({"truncate", "max_tokens"}),
    BGE: frozenset({"encoding_format", "prefixes", "extra_body"}),
}


class _IG1Env:
    api_key_env: ClassVar[tuple[str, ...]] = ("IG1AI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("IG1AI_BASE_URL",)
    default_base_url: ClassVar[str | None] = "https://api.ig1.ai"

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return _MODELS


class _IG1Cohere(_IG1Env, CohereV2Provider):
    name: ClassVar[str] = "ig1"
    default_model: ClassVar[str] = QWEN
    path: ClassVar[str] = "/cohere/v2/embed"
    content_mode: ClassVar[Literal["auto", "inputs"]] = "inputs"
    base64_transport: ClassVar[bool] = False  # IG1 documents "float" only


class _IG1OpenAI(_IG1Env, OpenAIEmbeddingsProvider):
    name: ClassVar[str] = "ig1"
    default_model: ClassVar[str] = BGE
    path: ClassVar[str] = "/v1/embeddings"


class IG1Provider(HTTPProvider):
    """IG1 AI: ``qwen3-vl-embedding-8b`` (Cohere v2 protocol) and ``bge-m3`` (OpenAI protocol).

    Options: ``api_key`` (else ``IG1AI_API_KEY``), ``base_url`` (else
    ``IG1AI_BASE_URL``, else ``https://api.ig1.ai``), the usual ``timeout``,
    ``headers``, ``max_concurrency``; for ``qwen3-vl-embedding-8b`` (Cohere
    v2 syntax) ``truncate`` (``NONE``/``START``/``END``) and ``max_tokens``;
    for ``bge-m3`` (OpenAI syntax) ``encoding_format`` (``base64``/``float``),
    ``prefixes`` and ``extra_body``. An option of the other model raises
    ``ConfigurationError`` when the model is chosen.
    """

    name: ClassVar[str] = "ig1"
    description: ClassVar[str] = "IG1 AI: qwen3-vl-embedding-8b (text+image), bge-m3"
    default_model: ClassVar[str] = QWEN
    api_key_env = _IG1Env.api_key_env
    base_url_env = _IG1Env.base_url_env
    default_base_url = _IG1Env.default_base_url
    # which options were given: the delegates' settings already key the cache
    _NOT_IN_FINGERPRINT: ClassVar[frozenset[str]] = HTTPProvider._NOT_IN_FINGERPRINT | {"given"}

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        truncate: str | None = None,
        max_tokens: int | None = None,
        encoding_format: EncodingFormat | None = None,
        prefixes: Mapping[InputType | str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, **options)
        shared = {"api_key": self.api_key, "base_url": self.base_url, **options}
        self._cohere = _IG1Cohere(truncate=truncate, max_tokens=max_tokens, **shared)
        self._openai = _IG1OpenAI(
            encoding_format=encoding_format, prefixes=prefixes, extra_body=extra_body, **shared
        )
        given = {
            "truncate": truncate,
            "max_tokens": max_tokens,
            "encoding_format": encoding_format,
            "prefixes": prefixes,
            "extra_body": extra_body,
        }
        self._given = tuple(k for k, v in given.items() if v is not None)

    def model_info(self, model: str) -> ModelInfo:
        """The model's info; ``ConfigurationError`` if an option given is the other model's."""
        info = super().model_info(model)
        misplaced = [name for name in self._given if name not in _OPTIONS_OF[info.name]]
        if misplaced:
            other = BGE if info.name == QWEN else QWEN
            raise ConfigurationError(
                f"ig1: {', '.join(misplaced)} {'applies' if len(misplaced) == 1 else 'apply'} "
                f"to {other} only, not to {info.name} (which takes: "
                f"{', '.join(sorted(_OPTIONS_OF[info.name]))})"
            )
        return info

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return _MODELS

    call_options: ClassVar[frozenset[str]] = _IG1Cohere.call_options | _IG1OpenAI.call_options

    def _protocol(self, batch: Batch) -> HTTPProvider:
        return self._openai if batch.model.name == BGE else self._cohere

    def truncates_long_inputs(self, model: ModelInfo, options: Mapping[str, Any]) -> bool:
        """As the model's protocol says (only bge-m3 declares a token limit)."""
        protocol = self._openai if model.name == BGE else self._cohere
        return protocol.truncates_long_inputs(model, options)

    def build_request(self, batch: Batch) -> httpx.Request:
        protocol = self._protocol(batch)
        misplaced = sorted(set(batch.options) - protocol.call_options)
        if misplaced:  # before anything is sent: every batch of a call has the same options
            raise ConfigurationError(
                f"ig1: per-call {', '.join(misplaced)} does not apply to {batch.model.name} "
                f"(it takes: {', '.join(sorted(protocol.call_options))})"
            )
        return protocol.build_request(batch)

    def parse_response(self, response: httpx.Response, batch: Batch) -> BatchResult:
        return self._protocol(batch).parse_response(response, batch)

    def parse_error(self, response: httpx.Response) -> ProviderError:
        return self._cohere.parse_error(response)
