"""``EmbedplugEmbeddings``: any embedplug provider as a LangChain ``Embeddings``.

Thin by design: batching, concurrency, retries and validation happen in the
embedplug engine. This module translates LangChain's calls into
``Embedder.embed`` / ``Embedder.aembed`` and turns the NumPy result into
``list[list[float]]`` once, at the edge.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.load.serializable import Serializable
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from embedplug import Embedder, EmbeddingResult, EmbeddingType, Image, InputType, ModelInfo
from embedplug import embedder as make_embedder
from embedplug.errors import InvalidInputError
from embedplug.provider import HTTPProvider, Modality

__all__ = ["EmbedplugEmbeddings", "ImageLike"]

ImageLike = str | bytes | os.PathLike[str] | Image
"""What the image methods take: a file path, encoded bytes, a ``data:`` URL or an ``Image``."""

# Options that ``embedplug.embedder`` treats as call defaults: here they have fields of their own.
_CALL_DEFAULTS = {
    "input_type": "query_input_type / document_input_type",
    "embedding_types": "embedding_type",
    "dimensions": "dimensions",
}
_LIFTED = ("api_key", "base_url")

# Provider options whose values are secrets (besides names ending in _key, _secret, _token):
# kept out of repr and serialisation, like ``api_key``.
_SECRET_NAMES = frozenset({"headers", "authorization", "password", "credentials"})
_SECRET_SUFFIXES = ("_key", "_secret", "_token", "_password", "_credentials")


def _is_secret_option(name: str, value: Any) -> bool:
    lowered = name.lower()
    return (
        isinstance(value, SecretStr)
        or lowered in _SECRET_NAMES
        or lowered.endswith(_SECRET_SUFFIXES)
    )


_FALLBACK_SECRET_ID = "EMBEDPLUG_API_KEY"


class EmbedplugEmbeddings(Serializable, Embeddings):
    """Any embedplug provider as a LangChain ``Embeddings``, images included where offered.

    Setup:
        Install ``langchain-embedplug`` and the provider plugin you want
        (``embedplug-local`` is the offline default, ``embedplug-cohere``,
        ``embedplug-openai``, ...). Keys come from ``api_key`` or from the
        provider's usual environment variable (``COHERE_API_KEY``,
        ``OPENAI_API_KEY``, ...).

    Instantiate:
        ```python
        from langchain_embedplug import EmbedplugEmbeddings

        embeddings = EmbedplugEmbeddings(model="local:all-minilm-l6-v2")
        cohere = EmbedplugEmbeddings(model="cohere:embed-v4.0", dimensions=1024)
        ```

    Embed:
        ```python
        vectors = embeddings.embed_documents(["a document", "another one"])
        query = embeddings.embed_query("what is in the documents?")
        images = cohere.embed_image(["cat.png", "dog.jpg"])  # multimodal models only
        ```

    Keyword arguments that are not fields below are provider options
    (``truncate="END"``, ``device="cpu"``, ``max_concurrency=4``, ...); they are
    gathered into ``provider_options`` and checked by the provider, which names
    the options it takes when it gets one it does not.
    """

    model: str | None = None
    """``"provider:model"`` (e.g. ``"cohere:embed-v4.0"``); a provider name picks its
    default model. ``None`` means ``EMBEDPLUG_DEFAULT_MODEL``, else the offline local
    model. Replaced by the resolved ``"provider:model"`` once the instance is built."""

    dimensions: int | None = Field(default=None, gt=0)
    """Vector length, for models that offer several (Matryoshka or ``output_dimension``)."""

    embedding_type: EmbeddingType = EmbeddingType.FLOAT
    """The numeric form of the vectors. Every type comes back as ``list[list[float]]``:
    ``float`` as is; ``int8`` / ``uint8`` as whole-number floats (-128..127 / 0..255),
    one per dimension; ``binary`` / ``ubinary`` as ``dimensions / 8`` whole-number
    floats, each a byte of packed bits (-128..127 / 0..255)."""

    api_key: SecretStr | None = None
    """The provider's key; when absent, read from the provider's usual environment
    variable. Never shown by ``repr`` and serialised only as a secret reference."""

    base_url: str | None = None
    """The provider's base URL, for HTTP providers (self-hosted or compatible servers)."""

    provider_options: dict[str, Any] = {}  # noqa: RUF012 - pydantic copies it per instance
    """Further options for ``embedplug.embedder``: the provider's own (``truncate``,
    ``timeout``, ``headers``, ``device``, ...) and engine settings
    (``max_concurrency``, ``max_batch_size``, ``retry``, ``requests_per_minute``)."""

    secret_options: dict[str, Any] = Field(default_factory=dict, repr=False, exclude=True)
    """Provider options that are secrets (``headers``, ``*_key``, ``*_token``...): moved
    here from the keywords, never shown by ``repr`` nor serialised (pass them again
    when loading, as for ``api_key`` without an environment variable)."""

    query_input_type: InputType | None = InputType.SEARCH_QUERY
    """The input type ``embed_query`` sends. With the default, a model that takes no
    input types gets none; naming one the model does not take is an error."""

    document_input_type: InputType | None = InputType.SEARCH_DOCUMENT
    """The input type ``embed_documents`` sends (same rules as ``query_input_type``)."""

    # hide_input_in_errors: a ValidationError would print the keywords, the key among them
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    if TYPE_CHECKING:
        # The signature callers and type checkers see: strings for the enums and
        # the key, and any further keyword argument as a provider option.
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

    # ----------------------------------------------------------------- construction

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
        for key, field_name in _CALL_DEFAULTS.items():
            if key in options:
                raise ValueError(f"pass {key!r} as {field_name}=..., not as a provider option")
        for key in _LIFTED:
            if key in options:
                if values.get(key) is not None:
                    raise ValueError(f"{key!r} given both as a field and in provider_options")
                values[key] = options.pop(key)
        secrets = dict(values.get("secret_options") or {})
        for key in [k for k in options if _is_secret_option(k, options[k])]:
            secrets[key] = options.pop(key)
        if secrets:
            values["secret_options"] = secrets
        if options or "provider_options" in values:
            values["provider_options"] = options
        return values

    @model_validator(mode="after")
    def _build_embedder(self) -> EmbedplugEmbeddings:
        """Build the ``Embedder`` once and resolve the model id, key and input types."""
        options = {**self.provider_options, **self.secret_options}
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
        self._query_type = _usable_input_type(
            self.query_input_type, info, explicit="query_input_type" in fields_set
        )
        self._document_type = _usable_input_type(
            self.document_input_type, info, explicit="document_input_type" in fields_set
        )
        self._image_type = InputType.IMAGE if InputType.IMAGE in info.input_types else None
        # Let the core check the dimensions and embedding type now, not on the first call.
        embedder.engine.plan([], dimensions=self.dimensions, embedding_types=[self.embedding_type])
        self._embedder = embedder
        # LangChain code never closes an Embeddings: close the HTTP client with the object.
        weakref.finalize(self, embedder.close)
        self.model = embedder.id
        provider_key = getattr(embedder.provider, "api_key", None)
        if self.api_key is None and isinstance(provider_key, SecretStr):
            self.api_key = provider_key  # resolved from the provider's environment variable
        return self

    # ----------------------------------------------------------------- LangChain serialisation

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
        return {"api_key": names[0] if names else _FALLBACK_SECRET_ID}

    # ----------------------------------------------------------------- introspection

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

    # ----------------------------------------------------------------- text

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents with ``document_input_type`` (``search_document`` by default)."""
        return _rows(self.embedder.embed(texts, input_type=self._document_type))

    def embed_query(self, text: str) -> list[float]:
        """Embed a query with ``query_input_type`` (``search_query`` by default)."""
        return _rows(self.embedder.embed([text], input_type=self._query_type))[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Async ``embed_documents``, on embedplug's async engine."""
        result = await self.embedder.aembed(texts, input_type=self._document_type)
        return _rows(result)

    async def aembed_query(self, text: str) -> list[float]:
        """Async ``embed_query``, on embedplug's async engine."""
        result = await self.embedder.aembed([text], input_type=self._query_type)
        return _rows(result)[0]

    # ----------------------------------------------------------------- images

    def embed_image(self, uris: list[str]) -> list[list[float]]:
        """Embed image files by path (what LangChain's multimodal vector stores call)."""
        return self.embed_images(uris)

    def embed_images(self, images: Sequence[ImageLike] | ImageLike) -> list[list[float]]:
        """Embed images given as paths, bytes, ``data:`` URLs or ``embedplug.Image`` (or one).

        Raises ``embedplug.InvalidInputError`` (a ``ValueError``) before reading
        anything when the model does not embed images, and for an input that is
        not a png, jpeg, webp or gif image. URLs are not fetched.
        """
        items = self._image_inputs(images)
        return _rows(self.embedder.embed(items, input_type=self._image_type))

    async def aembed_images(self, images: Sequence[ImageLike] | ImageLike) -> list[list[float]]:
        """Async ``embed_images``, on embedplug's async engine."""
        items = self._image_inputs(images)
        return _rows(await self.embedder.aembed(items, input_type=self._image_type))

    def _image_inputs(self, images: Sequence[ImageLike] | ImageLike) -> list[Image]:
        info = self.model_info
        if not info.supports(Modality.IMAGE):
            raise InvalidInputError(_no_image_message(self.embedder.id, info))
        if isinstance(images, (str, bytes, os.PathLike, Image)):
            images = [images]  # one image, not a sequence of characters or bytes
        out: list[Image] = []
        for position, value in enumerate(images):
            try:
                out.append(Image.coerce(value))
            except InvalidInputError as exc:
                raise InvalidInputError(str(exc), position=position) from None
        return out

    # ----------------------------------------------------------------- resources

    def close(self) -> None:
        """Close the embedder's sync HTTP client (it reopens on the next call)."""
        self.embedder.close()

    async def aclose(self) -> None:
        """Close the sync client and the async client of the running event loop.

        Await it before an event loop you made ends (``asyncio.run``, a test):
        an async client cannot be closed once its loop is gone.
        """
        await self.embedder.aclose()

    def __enter__(self) -> EmbedplugEmbeddings:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self) -> EmbedplugEmbeddings:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


def _rows(result: EmbeddingResult) -> list[list[float]]:
    """The result's vectors as ``list[list[float]]``: one ``tolist()`` over the array."""
    arr = result.embeddings
    if arr.dtype.kind != "f":
        arr = arr.astype(np.float32)  # int8 / uint8 / packed bits: exact as floats
    rows: list[list[float]] = arr.tolist()
    return rows


def _usable_input_type(
    wanted: InputType | None, info: ModelInfo, *, explicit: bool
) -> InputType | None:
    """``wanted`` if the model takes it; ``None`` for an unsupported default; else an error."""
    if wanted is None or wanted in info.input_types:
        return wanted
    if not explicit:
        return None
    allowed = ", ".join(sorted(t.value for t in info.input_types)) or "none"
    raise ValueError(
        f"model {info.name!r} does not take input_type {wanted.value!r}; allowed: {allowed}"
    )


def _no_image_message(model_id: str, info: ModelInfo) -> str:
    from embedplug import models

    kinds = ", ".join(sorted(m.value for m in info.modalities))
    try:
        candidates = [e.id for e in models() if e.info.supports(Modality.IMAGE)]
    except Exception:  # pragma: no cover - listing is a hint only
        candidates = []
    hint = (
        f"installed models that do: {', '.join(candidates)}"
        if candidates
        else "install a provider with a multimodal model (e.g. embedplug-cohere, cohere:embed-v4.0)"
    )
    return f"model {model_id!r} does not embed images (it takes: {kinds}); {hint}"
