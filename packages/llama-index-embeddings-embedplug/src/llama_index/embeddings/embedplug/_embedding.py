"""``EmbedplugEmbedding``: any embedplug provider as a LlamaIndex ``MultiModalEmbedding``.

A thin translation of LlamaIndex's calls into ``Embedder.embed`` / ``aembed``: the engine
batches, retries and orders; ``embedplug.adapters`` does the steps adapters share.
"""

from __future__ import annotations

import enum
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.schema import ImageType

import embedplug
from embedplug import Embedder, Image, InputType, InvalidInputError, Modality, ModelInfo
from embedplug.adapters import (
    ClosesEmbedder,
    coerce_images,
    image_input_type,
    image_models_hint,
    resolve_input_type,
    split_options,
    to_rows,
)

__all__ = ["EmbedplugEmbedding"]

_LLAMA_INDEX_MAX_BATCH = 2048  # BaseEmbedding's cap on embed_batch_size (Field(le=2048))

# Options that the adapter chooses itself, per call.
_RESERVED = {
    name: f"{name!r} is not an option here: {why}"
    for name, why in {
        "input_type": "EmbedplugEmbedding chooses input_type per call; set query_input_type= "
        "(search_query by default) or text_input_type= (search_document by default)",
        "embedding_types": "pass embedding_type='int8' (one type: LlamaIndex takes one vector "
        "per input)",
    }.items()
}


class _Default(enum.Enum):
    """Marks an input type the caller did not choose (dropped if the model lacks it)."""

    token = 0


_DEFAULT = _Default.token


def _input_type(
    name: str, value: str | InputType | _Default | None, default: InputType, info: ModelInfo
) -> InputType | None:
    """The input type to send: an unsupported default is dropped, an explicit one refused."""
    wanted = default if isinstance(value, _Default) else value
    return resolve_input_type(wanted, info, option=name, explicit=value is not _DEFAULT)


class EmbedplugEmbedding(MultiModalEmbedding, ClosesEmbedder):
    """Any embedplug provider as a LlamaIndex embedding model.

    ``EmbedplugEmbedding("cohere:embed-v4.0", dimensions=1024, api_key=...)``; ``model``
    is ``"provider:model"``, a provider name, or nothing (the offline ``local`` model).
    Other keywords go to ``embedplug.embedder`` (the provider's options and the
    engine's), except LlamaIndex's own (``embed_batch_size``, ``callback_manager``, ...).

    Queries are sent as ``search_query``, texts and nodes as ``search_document``
    (``query_input_type`` / ``text_input_type``; a model without input types gets
    none); images (a path, a data URL, ``BytesIO``) need a model that takes them.
    ``embed_batch_size`` defaults to the model's items-per-call limit, not 10.

    Keys and other secrets are never in ``repr``, ``to_dict()``/``to_json()`` or the
    instrumentation payload: a deserialised instance reads its key from the
    provider's environment variable again.
    """

    dimensions: int | None = Field(default=None, description="Vector length; None: the default.")
    embedding_type: str = Field(
        default="float", description="The vectors' numeric form: float, int8, uint8, (u)binary."
    )
    query_input_type: str | None = Field(
        default=InputType.SEARCH_QUERY.value, description="The input type of queries (or None)."
    )
    text_input_type: str | None = Field(
        default=InputType.SEARCH_DOCUMENT.value, description="The input type of texts and nodes."
    )
    provider_options: dict[str, Any] = Field(
        default_factory=dict, description="Options for embedplug.embedder, without secrets."
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
        public, secret, runtime = split = split_options(merged, reserved=_RESERVED)
        embedder = embedplug.embedder(  # checks dimensions and embedding type (validate)
            model if model is not None else model_name,
            dimensions=dimensions,
            embedding_types=embedding_type,
            **split.merged(),
        )
        info = embedder.model_info
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
        # LlamaIndex rebuilds from fields on unpickling: pass the private options back too.
        private = state.get("__pydantic_private__") or {}
        extra = {**private.get("_runtime_options", {}), **private.get("_secret_options", {})}
        fields = dict(state["__dict__"])
        options = {**fields.pop("provider_options", {}), **extra}
        type(self).__init__(self, provider_options=options, **fields)

    def _embed_texts(self, texts: Sequence[str], input_type: InputType | None) -> list[Embedding]:
        if not texts:
            return []
        return to_rows(self._embedder.embed(list(texts), input_type=input_type))

    async def _aembed_texts(
        self, texts: Sequence[str], input_type: InputType | None
    ) -> list[Embedding]:
        if not texts:
            return []
        return to_rows(await self._embedder.aembed(list(texts), input_type=input_type))

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

    def _images(self, values: Sequence[ImageType]) -> tuple[list[Image], InputType | None]:
        """Check that the model takes images (before anything is read or sent) and convert."""
        info = self._embedder.model_info
        if not info.supports(Modality.IMAGE):
            kinds = ", ".join(sorted(m.value for m in info.modalities))
            raise InvalidInputError(
                f"{self.model_name} embeds {kinds} only, not images; image embeddings (and the "
                "image side of MultiModalVectorStoreIndex) need a model that takes images: "
                + image_models_hint()
            )
        return coerce_images(list(values)), image_input_type(info)

    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        if not img_file_paths:
            return []
        images, kind = self._images(img_file_paths)
        return to_rows(self._embedder.embed(images, input_type=kind))

    async def _aget_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        if not img_file_paths:
            return []
        images, kind = self._images(img_file_paths)
        return to_rows(await self._embedder.aembed(images, input_type=kind))

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return (await self._aget_image_embeddings([img_file_path]))[0]
