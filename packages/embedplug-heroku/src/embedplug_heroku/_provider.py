"""The ``heroku`` provider: Heroku Managed Inference's ``/v1/embeddings``.

OpenAI-compatible, plus Cohere's options: ``input_type`` (passed through),
``embedding_type`` (``float``, ``int8``, ``uint8``, ``binary``, ``ubinary``;
one per request), ``encoding_format`` (``raw`` JSON numbers or ``base64`` of
the vector's bytes) and ``allow_ignored_params``. At most 96 strings a request
and 2,048 characters each: the engine splits larger calls and refuses longer
strings before sending anything, unless ``truncate`` asks to cut them.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from embedplug.errors import InvalidInputError
from embedplug.protocols.openai import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo
from embedplug.types import EmbeddingType, InputType

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic import SecretStr

    from embedplug.protocols.openai import EncodingFormat
    from embedplug.provider import Batch

__all__ = [
    "DEFAULT_MODEL",
    "MAX_CHARS_PER_ITEM",
    "MAX_ITEMS_PER_CALL",
    "HerokuProvider",
]

DEFAULT_MODEL = "cohere-embed-multilingual"
MAX_ITEMS_PER_CALL = 96
MAX_CHARS_PER_ITEM = 2048

_INPUT_TYPES = frozenset(
    {
        InputType.SEARCH_DOCUMENT,
        InputType.SEARCH_QUERY,
        InputType.CLASSIFICATION,
        InputType.CLUSTERING,
    }
)
_API_LIMITS: dict[str, Any] = {
    "input_types": _INPUT_TYPES,
    "embedding_types": frozenset(EmbeddingType),
    "one_embedding_type_per_call": True,
    "max_items_per_call": MAX_ITEMS_PER_CALL,
    "max_chars_per_item": MAX_CHARS_PER_ITEM,
}

KNOWN_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name=DEFAULT_MODEL,
        dimensions=1024,
        max_tokens_per_item=512,  # Heroku recommends under 512 tokens a string
        description=(
            "Cohere Embed Multilingual on Heroku: 1024-d, 100+ languages; "
            "float, int8, uint8, binary and ubinary vectors"
        ),
        **_API_LIMITS,
    ),
)

_ENCODINGS = {"base64": "base64", "raw": "float", "float": "float"}
_TRUNCATE = ("NONE", "START", "END")


class _ModelFromEnvironment:
    """``HerokuProvider.default_model``: ``EMBEDDING_MODEL_ID`` (set by Heroku) or the default."""

    def __get__(self, instance: object, owner: type | None = None) -> str:
        return os.environ.get("EMBEDDING_MODEL_ID") or DEFAULT_MODEL


def _encoding(value: object) -> EncodingFormat:
    try:
        encoding: EncodingFormat = _ENCODINGS[value]  # type: ignore[index,assignment]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"encoding_format must be 'base64' or 'raw' (or 'float'), not {value!r}"
        ) from None
    return encoding


class HerokuProvider(OpenAIEmbeddingsProvider):
    """Heroku Managed Inference embeddings.

    The base URL comes from ``base_url``, ``EMBEDDING_URL`` or ``INFERENCE_URL``
    (default ``https://us.inference.heroku.com``) and the key from ``api_key``,
    ``EMBEDDING_KEY`` or ``INFERENCE_KEY``; the default model is
    ``EMBEDDING_MODEL_ID`` when set, else ``cohere-embed-multilingual``.

    ``encoding_format`` is ``"base64"`` (the default here: the vector's bytes,
    decoded by NumPy) or ``"raw"`` (Heroku's default: JSON numbers; ``"float"``
    means the same), also per call. ``allow_ignored_params=True`` asks the
    server to ignore parameters it does not support instead of refusing them.
    ``truncate="END"`` (or ``"START"``) cuts strings longer than 2,048
    characters client-side instead of refusing them.
    """

    name: ClassVar[str] = "heroku"
    description: ClassVar[str] = "Heroku Managed Inference (cohere-embed-multilingual)"
    default_model = _ModelFromEnvironment()
    api_key_env: ClassVar[tuple[str, ...]] = ("EMBEDDING_KEY", "INFERENCE_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = ("EMBEDDING_URL", "INFERENCE_URL")
    default_base_url: ClassVar[str | None] = "https://us.inference.heroku.com"
    path: ClassVar[str] = "/v1/embeddings"
    base64_value: ClassVar[str] = "base64"
    float_value: ClassVar[str | None] = "raw"
    call_options: ClassVar[frozenset[str]] = frozenset(
        {"encoding_format", "user", "allow_ignored_params"}
    )

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        encoding_format: Literal["base64", "raw", "float"] = "base64",
        allow_ignored_params: bool = False,
        truncate: Literal["NONE", "START", "END"] | None = None,
        prefixes: Mapping[InputType | str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            encoding_format=_encoding(encoding_format),
            prefixes=prefixes,
            extra_body=extra_body,
            **options,
        )
        if self.base_url.endswith("/v1"):  # EMBEDDING_URL is the host; accept ".../v1" too
            self.base_url = self.base_url[: -len("/v1")]
        self.allow_ignored_params = bool(allow_ignored_params)
        upper = truncate.upper() if isinstance(truncate, str) else truncate
        if upper is not None and upper not in _TRUNCATE:
            raise InvalidInputError(
                f"truncate must be one of {', '.join(_TRUNCATE)}, not {truncate!r}"
            )
        self.truncate = None if upper == "NONE" else upper

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return KNOWN_MODELS

    def model_info(self, model: str) -> ModelInfo:
        """The model's info; an unknown name gets Heroku's API limits and an unknown length.

        With ``truncate`` set, strings are not refused for length (they are cut
        to 2,048 characters before sending).
        """
        info: ModelInfo | None = next((m for m in KNOWN_MODELS if m.name == model), None)
        if info is None:
            info = ModelInfo(
                name=model,
                dimensions=0,
                native_dimensions=True,
                description="not known to embedplug: Heroku's limits, length from the server",
                extra={"known": False},
                **_API_LIMITS,
            )
        if self.truncate is not None and info.max_chars_per_item is not None:
            extra = {**info.extra, "truncate": self.truncate, "truncate_chars": MAX_CHARS_PER_ITEM}
            info = dataclasses.replace(info, max_chars_per_item=None, extra=extra)
        return info

    def truncates_long_inputs(self, model: ModelInfo, options: Mapping[str, Any]) -> bool:
        """True: 512 tokens a string is Heroku's advice, not a limit it enforces."""
        return True

    def texts(self, batch: Batch) -> list[str]:
        texts = super().texts(batch)
        limit = batch.model.extra.get("truncate_chars")
        if not limit:
            return texts
        if batch.model.extra.get("truncate") == "START":
            return [t[-limit:] if len(t) > limit else t for t in texts]
        return [t[:limit] for t in texts]

    def request_body(self, batch: Batch) -> dict[str, Any]:
        if "encoding_format" in batch.options:
            batch.options["encoding_format"] = _encoding(batch.options["encoding_format"])
        return super().request_body(batch)

    def extra_body(self, batch: Batch) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if batch.input_type is not None:
            body["input_type"] = batch.input_type.value
        kind = self.response_kind(batch)
        if kind is not EmbeddingType.FLOAT:
            body["embedding_type"] = kind.value
        allow = batch.options.get("allow_ignored_params", self.allow_ignored_params)
        if allow:
            body["allow_ignored_params"] = True
        body.update(super().extra_body(batch))
        return body

    def response_kind(self, batch: Batch) -> EmbeddingType:
        """The one ``embedding_type`` this request asks for (Heroku takes one per request)."""
        return batch.embedding_types[0] if batch.embedding_types else EmbeddingType.FLOAT
