"""``EmbedplugEmbeddings``: any embedplug provider as a LangChain ``Embeddings``.

Thin by design: batching, concurrency, retries and validation happen in the
embedplug engine, and the shared adapter steps in ``embedplug.adapters``. This
module translates LangChain's calls into ``Embedder.embed`` / ``Embedder.aembed``.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings
from langchain_core.load.serializable import Serializable
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from embedplug import Embedder, EmbeddingType, Image, InputType, ModelInfo
from embedplug import embedder as make_embedder
from embedplug.adapters import (
    ClosesEmbedder,
    ImageLike,
    coerce_images,
    image_input_type,
    image_models_hint,
    resolve_input_type,
    reveal,
    split_options,
    to_rows,
)
from embedplug.errors import InvalidInputError
from embedplug.provider import HTTPProvider, Modality

__all__ = ["EmbedplugEmbeddings", "ImageLike"]

# Options that ``embedplug.embedder`` treats as call defaults: here they have fields of their own.
_RESERVED = {
    key: f"pass {key!r} as {field}=..., not as a provider option"
    for key, field in {
        "input_type": "query_input_type / document_input_type",
        "embedding_types": "embedding_type",
        "dimensions": "dimensions",
    }.items()
}
_LIFTED = ("api_key", "base_url")


class EmbedplugEmbeddings(Serializable, Embeddings, ClosesEmbedder):
    """Any embedplug provider as a LangChain ``Embeddings``, images included where offered.

    ``EmbedplugEmbeddings(model="cohere:embed-v4.0", dimensions=1024)``, then
    ``embed_documents``, ``embed_query`` and, for multimodal models, ``embed_image``.
    Keys come from ``api_key`` or the provider's usual environment variable
    (``COHERE_API_KEY``, ``OPENAI_API_KEY``, ...).

    Keyword arguments that are not fields below are provider options
    (``truncate="END"``, ``device="cpu"``, ``max_concurrency=4``, ...); they are
    gathered into ``provider_options`` and checked by the provider, which names
    the options it takes when it gets one it does not.
    """

    model: str | None = None
    """``"provider:model"``, a provider name (its default model) or ``None`` (embedplug's
    default); replaced by the resolved ``"provider:model"`` once the instance is built."""

    dimensions: int | None = Field(default=None, gt=0)
    """Vector length, for models that offer several (Matryoshka or ``output_dimension``)."""

    embedding_type: EmbeddingType = EmbeddingType.FLOAT
    """The numeric form of the vectors, always ``list[list[float]]``: ``int8`` / ``uint8`` as
    whole numbers; ``binary`` / ``ubinary`` as ``dimensions / 8`` bytes of packed bits."""

    api_key: SecretStr | None = None
    """The provider's key; when absent, read from the provider's usual environment
    variable. Never shown by ``repr`` and serialised only as a secret reference."""

    base_url: str | None = None
    """The provider's base URL, for HTTP providers (self-hosted or compatible servers)."""

    provider_options: dict[str, Any] = {}  # noqa: RUF012 - pydantic copies it per instance
    """Further options for ``embedplug.embedder``: the provider's own (``truncate``, ``device``,
    ...) and engine settings (``max_concurrency``, ``max_batch_size``, ``retry``, ...)."""

    secret_options: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)
    """Provider options that are secrets (``headers``, ``*_key``, ``*_token``...): never
    shown by ``repr`` nor serialised (pass them again when loading, as for ``api_key``)."""

    query_input_type: InputType | None = InputType.SEARCH_QUERY
    """The input type ``embed_query`` sends. With the default, a model that takes no
    input types gets none; naming one the model does not take is an error."""

    document_input_type: InputType | None = InputType.SEARCH_DOCUMENT
    """The input type ``embed_documents`` sends (same rules as ``query_input_type``)."""

    # hide_input_in_errors: a ValidationError would print the keywords, the key among them
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    if TYPE_CHECKING:
        # What callers and type checkers see: strings allowed, other keywords are options.
        def __init__(
            self,
            *,
            model: str | None = ...,
            dimensions: int | None = ...,
            embedding_type: EmbeddingType | str = ...,
            api_key: SecretStr | str | None = ...,
            base_url: str | None = ...,
            provider_options: Mapping[str, Any] | None = ...,
            query_input_type: InputType | str | None = ...,
            document_input_type: InputType | str | None = ...,
            **options: Any,
        ) -> None: ...

    _embedder: Embedder | None = PrivateAttr(default=None)
    _query_type: InputType | None = PrivateAttr(default=None)
    _document_type: InputType | None = PrivateAttr(default=None)
    _image_type: InputType | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _gather_provider_options(cls, values: Any) -> Any:
        """Move keyword arguments that are not fields into ``provider_options``."""
        if not isinstance(values, dict):
            return values
        values = dict(values)
        options = dict(values.get("provider_options") or {})
        for key in [k for k in values if k not in cls.model_fields]:
            if key in options:
                raise ValueError(f"{key!r} given both as a keyword and in provider_options")
            options[key] = values.pop(key)
        for key in _LIFTED:
            if key in options:
                if values.get(key) is not None:
                    raise ValueError(f"{key!r} given both as a field and in provider_options")
                values[key] = options.pop(key)
        split = split_options(options, reserved=_RESERVED)
        secrets = {**(values.get("secret_options") or {}), **split.secret}
        options = {k: v for k, v in options.items() if k not in split.secret}
        if secrets:
            values["secret_options"] = secrets
        if options or "provider_options" in values:
            values["provider_options"] = options
        return values

    @model_validator(mode="after")
    def _build_embedder(self) -> EmbedplugEmbeddings:
        """Build the ``Embedder`` once and resolve the model id, key and input types."""
        options = {**self.provider_options}
        options.update((k, reveal(v)) for k, v in self.secret_options.items())
        if self.api_key is not None:
            options["api_key"] = self.api_key
        if self.base_url is not None:
            options["base_url"] = self.base_url
        embedder = make_embedder(
            self.model,
            dimensions=self.dimensions,
            embedding_types=self.embedding_type,
            **options,
        )
        info = embedder.model_info
        fields_set = self.model_fields_set
        for role in ("query", "document"):
            option = f"{role}_input_type"
            kind = resolve_input_type(
                getattr(self, option), info, option=option, explicit=option in fields_set
            )
            setattr(self, f"_{role}_type", kind)
        self._image_type = image_input_type(info)
        # dimensions and embedding type were checked by embedder() (Embedder.validate)
        self._embedder = embedder
        # LangChain code never closes an Embeddings: close the HTTP client with the object.
        weakref.finalize(self, embedder.close)
        self.model = embedder.id
        provider_key = getattr(embedder.provider, "api_key", None)
        if self.api_key is None and isinstance(provider_key, SecretStr):
            self.api_key = provider_key  # resolved from the provider's environment variable
        return self

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable with ``langchain_core.load.dumpd``; the key only as a secret reference."""
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        """``["langchain_embedplug"]``: the public import path, not the private module."""
        return ["langchain_embedplug"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        """``api_key`` maps to the provider's key environment variable."""
        provider = self._embedder.provider if self._embedder is not None else None
        names = provider.api_key_env if isinstance(provider, HTTPProvider) else ()
        return {"api_key": names[0] if names else "EMBEDPLUG_API_KEY"}

    @property
    def embedder(self) -> Embedder:
        """The embedplug ``Embedder`` doing the work (built once, at construction)."""
        if self._embedder is None:  # pragma: no cover - only after model_construct()
            raise RuntimeError("EmbedplugEmbeddings was not validated; construct it normally")
        return self._embedder

    @property
    def model_info(self) -> ModelInfo:
        """The model's capabilities: modalities, dimensions, input types, limits."""
        return self.embedder.model_info

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents with ``document_input_type`` (``search_document`` by default)."""
        return to_rows(self.embedder.embed(texts, input_type=self._document_type))

    def embed_query(self, text: str) -> list[float]:
        """Embed a query with ``query_input_type`` (``search_query`` by default)."""
        return to_rows(self.embedder.embed([text], input_type=self._query_type))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async ``embed_documents``, on embedplug's async engine."""
        return to_rows(await self.embedder.aembed(texts, input_type=self._document_type))

    async def aembed_query(self, text: str) -> list[float]:
        """Async ``embed_query``, on embedplug's async engine."""
        return to_rows(await self.embedder.aembed([text], input_type=self._query_type))[0]

    def embed_image(self, uris: list[str]) -> list[list[float]]:
        """Embed image files by path (what LangChain's multimodal vector stores call)."""
        return self.embed_images(uris)

    def embed_images(self, images: Sequence[ImageLike] | ImageLike) -> list[list[float]]:
        """Embed images (or one): paths, bytes, ``data:`` URLs, ``BytesIO``, ``embedplug.Image``.

        Raises ``embedplug.InvalidInputError`` (a ``ValueError``) before reading anything
        if the model does not embed images, and for an input not a png, jpeg, webp or gif
        image (URLs are not fetched)."""
        items = self._image_inputs(images)
        return to_rows(self.embedder.embed(items, input_type=self._image_type))

    async def aembed_images(self, images: Sequence[ImageLike] | ImageLike) -> list[list[float]]:
        """Async ``embed_images``, on embedplug's async engine."""
        items = self._image_inputs(images)
        return to_rows(await self.embedder.aembed(items, input_type=self._image_type))

    def _image_inputs(self, images: Sequence[ImageLike] | ImageLike) -> list[Image]:
        info = self.model_info
        if not info.supports(Modality.IMAGE):
            kinds = ", ".join(sorted(m.value for m in info.modalities))
            raise InvalidInputError(
                f"model {self.embedder.id!r} does not embed images (it takes: {kinds}); "
                + image_models_hint()
            )
        return coerce_images(images)
