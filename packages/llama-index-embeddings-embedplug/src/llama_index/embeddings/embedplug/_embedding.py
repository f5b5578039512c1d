"""``EmbedplugEmbedding``: any embedplug provider as a LlamaIndex ``MultiModalEmbedding``.

The adapter is thin: it translates LlamaIndex's calls into ``Embedder.embed`` /
``Embedder.aembed`` calls with the right input type, and the engine does the
batching, concurrency, retries and ordering. Vectors become lists of floats only
here, at the LlamaIndex edge.
"""

from __future__ import annotations

import enum
import os
import weakref
from collections.abc import Mapping, Sequence
from io import BytesIO
from types import TracebackType
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, SecretStr
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.schema import ImageType

import embedplug
from embedplug import (
    Embedder,
    EmbeddingResult,
    Image,
    InputType,
    InvalidInputError,
    Modality,
    ModelInfo,
)

__all__ = ["EmbedplugEmbedding"]

# LlamaIndex caps ``embed_batch_size`` at this (``Field(le=2048)`` on BaseEmbedding).
_LLAMA_INDEX_MAX_BATCH = 2048

# Options that the adapter chooses itself, per call.
_RESERVED = {
    "input_type": "EmbedplugEmbedding chooses input_type per call; set query_input_type= "
    "(search_query by default) or text_input_type= (search_document by default)",
    "embedding_types": "pass embedding_type='int8' (one type: LlamaIndex takes one vector "
    "per input)",
}

# Option names whose values are secrets, besides any name ending in _key/_secret/_token.
_SECRET_NAMES = frozenset({"api_key", "headers", "authorization", "password", "credentials"})
_SECRET_SUFFIXES = ("_key", "_secret", "_token", "_password", "_credentials")


def _is_secret(name: str, value: Any) -> bool:
    lowered = name.lower()
    return (
        isinstance(value, SecretStr)
        or lowered in _SECRET_NAMES
        or lowered.endswith(_SECRET_SUFFIXES)
    )


def _is_plain(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip (so it may be serialised)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


def _split_options(
    options: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(public, secret, runtime)``: serialisable, secret, and not serialisable options."""
    public: dict[str, Any] = {}
    secret: dict[str, Any] = {}
    runtime: dict[str, Any] = {}
    for name, value in options.items():
        if name in _RESERVED:
            raise ValueError(f"{name!r} is not an option here: {_RESERVED[name]}")
        if _is_secret(name, value):
            secret[name] = SecretStr(value) if isinstance(value, str) else value
        elif _is_plain(value):
            public[name] = value
        else:
            runtime[name] = value
    return public, secret, runtime


class _Default(enum.Enum):
    """Marks an input type the caller did not choose (dropped if the model lacks it)."""

    token = 0


_DEFAULT = _Default.token


def _input_type(
    name: str, value: str | InputType | _Default | None, default: InputType, info: ModelInfo
) -> InputType | None:
    """The input type to send: ``value`` if the model takes it; an unsupported default
    becomes ``None`` (send none), an unsupported explicit choice is an error."""
    wanted = default if value is _DEFAULT else value
    if wanted is None:
        return None
    try:
        kind = InputType(wanted)
    except ValueError:
        allowed = ", ".join(t.value for t in InputType)
        raise ValueError(f"{name}={wanted!r} is not an input type; allowed: {allowed}") from None
    if kind in info.input_types:
        return kind
    if value is _DEFAULT:
        return None
    allowed = ", ".join(sorted(t.value for t in info.input_types)) or "none"
    raise ValueError(
        f"model {info.name!r} does not take {name}={kind.value!r}; it takes: {allowed}"
    )


def _reveal(value: Any) -> Any:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def _to_image(value: ImageType | Image | bytes | os.PathLike[str]) -> Image:
    """LlamaIndex's ``ImageType`` (a path or data URL ``str``, or ``BytesIO``) as an ``Image``."""
    if isinstance(value, BytesIO):
        return Image.from_bytes(value.getvalue(), source="BytesIO")
    return Image.coerce(value)


def _rows(result: EmbeddingResult) -> list[Embedding]:
    array = result.embeddings
    if array.dtype.kind != "f":  # int8 / uint8 / packed binary: LlamaIndex wants floats
        array = array.astype("float64")
    rows: list[Embedding] = array.tolist()
    return rows


def _no_images_message(model_id: str, info: ModelInfo) -> str:
    kinds = ", ".join(sorted(m.value for m in info.modalities))
    try:
        candidates = [e.id for e in embedplug.models() if e.info.supports(Modality.IMAGE)]
    except Exception:  # pragma: no cover - the list is only a hint
        candidates = []
    hint = (
        f"installed models that do: {', '.join(candidates)}"
        if candidates
        else "install a provider with a multimodal model (e.g. embedplug-cohere, cohere:embed-v4.0)"
    )
    return (
        f"{model_id} embeds {kinds} only, not images; image embeddings (and the image "
        f"side of MultiModalVectorStoreIndex) need a model that takes images: {hint}"
    )


class EmbedplugEmbedding(MultiModalEmbedding):
    """Any embedplug provider as a LlamaIndex embedding model.

    ``EmbedplugEmbedding("cohere:embed-v4.0", dimensions=1024, api_key=...)``.
    ``model`` is ``"provider:model"`` (or a provider name, or nothing for
    embedplug's default, the offline ``local`` model). Other keyword arguments
    go to ``embedplug.embedder``: the provider's options (``api_key``,
    ``base_url``, ``truncate``, ...) and the engine's (``max_concurrency``,
    ``retry``, ``timeout``, ...); LlamaIndex's own (``embed_batch_size``,
    ``callback_manager``, ``num_workers``, ...) go to LlamaIndex.

    Queries are embedded with ``input_type="search_query"``, texts and nodes
    with ``"search_document"`` (change them with ``query_input_type`` and
    ``text_input_type``; a model that takes no input types gets none); images
    (a path, a data URL or ``BytesIO``) as images, which needs a model that
    takes them. ``embed_batch_size`` defaults to the model's items-per-call
    limit, not LlamaIndex's 10.

    Keys and other secrets are held privately: they are never in ``repr``,
    ``to_dict()``/``to_json()`` or the instrumentation payload, so a
    deserialised instance reads its key from the provider's environment
    variable again.
    """

    dimensions: int | None = Field(
        default=None,
        description="Vector length asked for; None for the model's default.",
    )
    embedding_type: str = Field(
        default="float",
        description="The numeric form of the vectors: float, int8, uint8, binary or ubinary.",
    )
    query_input_type: str | None = Field(
        default=InputType.SEARCH_QUERY.value,
        description="The input type queries are sent with (None: none).",
    )
    text_input_type: str | None = Field(
        default=InputType.SEARCH_DOCUMENT.value,
        description="The input type texts and nodes are sent with (None: none).",
    )
    provider_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options passed to embedplug.embedder, without secrets.",
    )

    # a ValidationError would print the input it was given, which may hold the key
    model_config = ConfigDict(hide_input_in_errors=True)

    _embedder: Embedder = PrivateAttr()
    _query_type: InputType | None = PrivateAttr(default=None)
    _text_type: InputType | None = PrivateAttr(default=None)
    _secret_options: dict[str, Any] = PrivateAttr(default_factory=dict)
    _runtime_options: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(
        self,
        model: str | None = None,
        *,
        dimensions: int | None = None,
        embedding_type: str = "float",
        embed_batch_size: int | None = None,
        query_input_type: str | InputType | _Default | None = _DEFAULT,
        text_input_type: str | InputType | _Default | None = _DEFAULT,
        model_name: str | None = None,
        provider_options: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if model is not None and model_name is not None and model != model_name:
            raise ValueError(f"pass model or model_name, not both ({model!r}, {model_name!r})")
        base_fields = set(BaseEmbedding.model_fields) - {"model_name", "embed_batch_size"}
        base_options = {k: options.pop(k) for k in list(options) if k in base_fields}
        merged = {**(provider_options or {}), **options}
        public, secret, runtime = _split_options(merged)
        engine_options = {**public, **runtime, **{k: _reveal(v) for k, v in secret.items()}}
        embedder = embedplug.embedder(
            model if model is not None else model_name,
            dimensions=dimensions,
            embedding_types=embedding_type,
            **engine_options,
        )
        info = embedder.model_info
        if dimensions is not None and not info.allows_dimensions(dimensions):
            embedder.close()
            raise InvalidInputError(
                f"model {embedder.id!r} cannot give {dimensions} dimensions; "
                f"allowed: {info.dimension_choices()}"
            )
        query_type = _input_type("query_input_type", query_input_type, InputType.SEARCH_QUERY, info)
        text_type = _input_type("text_input_type", text_input_type, InputType.SEARCH_DOCUMENT, info)
        if embed_batch_size is None:
            limits = [info.max_items_per_call, _LLAMA_INDEX_MAX_BATCH]
            if isinstance(public.get("max_batch_size"), int):
                limits.append(max(1, public["max_batch_size"]))
            embed_batch_size = min(limits)
        fields: dict[str, Any] = {
            "model_name": embedder.id,
            "dimensions": dimensions,
            "embedding_type": str(embedder.embedding_types[0]),
            "query_input_type": query_type.value if query_type else None,
            "text_input_type": text_type.value if text_type else None,
            "provider_options": public,
            "embed_batch_size": embed_batch_size,
        }
        super().__init__(**fields, **base_options)
        self._embedder = embedder
        self._query_type = query_type
        self._text_type = text_type
        # the sync HTTP client goes with this object; async ones need aclose() in their loop
        weakref.finalize(self, embedder.close)
        self._secret_options = secret
        self._runtime_options = runtime

    @classmethod
    def class_name(cls) -> str:
        return "EmbedplugEmbedding"

    # ------------------------------------------------------------------ introspection

    @property
    def model_info(self) -> ModelInfo:
        """The model's capabilities and limits (modalities, dimensions, items per call)."""
        return self._embedder.model_info

    @property
    def embedder(self) -> Embedder:
        """The underlying ``embedplug.Embedder`` (for ``embed``/``aembed`` with more options)."""
        return self._embedder

    @property
    def supports_images(self) -> bool:
        """Whether the model embeds images (the image methods raise otherwise)."""
        return self._embedder.model_info.supports(Modality.IMAGE)

    def to_payload(self) -> dict[str, Any]:
        """What instrumentation events and callbacks carry: no key, no headers."""
        return {
            **super().to_payload(),
            "dimensions": self.dimensions,
            "embedding_type": self.embedding_type,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        # LlamaIndex rebuilds components from their fields on unpickling; pass the
        # private secrets and runtime options back so a pickled copy still works.
        private = state.get("__pydantic_private__") or {}
        extra = {**private.get("_runtime_options", {}), **private.get("_secret_options", {})}
        fields = dict(state["__dict__"])
        options = {**fields.pop("provider_options", {}), **extra}
        type(self).__init__(self, provider_options=options, **fields)

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Close the embedder's sync HTTP client."""
        self._embedder.close()

    async def aclose(self) -> None:
        """Close the sync client and the async client of the running event loop.

        Await it before an event loop you made ends (``asyncio.run``, a test).
        """
        await self._embedder.aclose()

    def __enter__(self) -> EmbedplugEmbedding:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> EmbedplugEmbedding:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ text

    def _embed_texts(self, texts: Sequence[str], input_type: InputType | None) -> list[Embedding]:
        if not texts:
            return []
        return _rows(self._embedder.embed(list(texts), input_type=input_type))

    async def _aembed_texts(
        self, texts: Sequence[str], input_type: InputType | None
    ) -> list[Embedding]:
        if not texts:
            return []
        return _rows(await self._embedder.aembed(list(texts), input_type=input_type))

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed_texts([query], self._query_type)[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed_texts([query], self._query_type))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed_texts([text], self._text_type)[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed_texts([text], self._text_type))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed_texts(texts, self._text_type)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed_texts(texts, self._text_type)

    # ------------------------------------------------------------------ images

    def _images(self, values: Sequence[ImageType]) -> tuple[list[Image], InputType | None]:
        """Check that the model takes images (before anything is read or sent) and convert."""
        info = self._embedder.model_info
        if not info.supports(Modality.IMAGE):
            raise InvalidInputError(_no_images_message(self.model_name, info))
        # Providers that speak Cohere's protocol send "image" themselves; pass it only
        # where the model lists it among its input types.
        kind = InputType.IMAGE if InputType.IMAGE in info.input_types else None
        return [_to_image(v) for v in values], kind

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        if not img_file_paths:
            return []
        images, kind = self._images(img_file_paths)
        return _rows(self._embedder.embed(images, input_type=kind))

    async def _aget_image_embeddings(
        self,
        img_file_paths: list[ImageType],
    ) -> list[Embedding]:
        if not img_file_paths:
            return []
        images, kind = self._images(img_file_paths)
        return _rows(await self._embedder.aembed(images, input_type=kind))

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return (await self._aget_image_embeddings([img_file_path]))[0]
