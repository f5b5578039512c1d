"""OpenAI's ``/v1/embeddings`` wire protocol, sans-IO.

Request: ``{"model", "input": [...], "encoding_format": "base64", "dimensions"?}``
plus any fields a subclass adds in ``extra_body``. Response: ``data[]`` of
``{"index", "embedding"}`` (a base64 string of little-endian float32 or a list
of numbers: both are accepted, whatever was asked, because some compatible
servers ignore ``encoding_format``), ``usage.prompt_tokens`` or
``usage.total_tokens``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx
import orjson

from embedplug._http import raise_for_envelope
from embedplug.errors import InvalidInputError, ResponseFormatError
from embedplug.protocols._decode import decode_rows
from embedplug.provider import Batch, BatchResult, HTTPProvider
from embedplug.types import EmbeddingType, InputType, Usage

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["OpenAIEmbeddingsProvider"]

EncodingFormat = Literal["base64", "float"]


class OpenAIEmbeddingsProvider(HTTPProvider):
    """Base for providers that speak OpenAI's embeddings protocol.

    Subclasses set ``name``, ``default_model``, ``known_models()``, ``path``
    (relative to the base URL), the environment variable names, and may
    override ``extra_body(batch)`` for provider-specific fields. ``prefixes``
    maps an input type to a text prefix (e.g. ``{"search_query": "query: "}``
    for E5) so that ``input_type`` means something on servers with no field.
    """

    path: ClassVar[str] = "/embeddings"
    encoding_format_field: ClassVar[str] = "encoding_format"
    default_encoding_format: ClassVar[EncodingFormat] = "base64"
    base64_value: ClassVar[str] = "base64"
    float_value: ClassVar[str | None] = "float"
    call_options: ClassVar[frozenset[str]] = frozenset({"encoding_format", "user"})

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        encoding_format: EncodingFormat | None = None,
        prefixes: Mapping[InputType | str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, **options)
        if encoding_format is None:
            encoding_format = self.default_encoding_format
        if encoding_format not in ("base64", "float"):
            raise InvalidInputError(
                f"encoding_format must be 'base64' or 'float', not {encoding_format!r}"
            )
        self.encoding_format: EncodingFormat = encoding_format
        self.prefixes = {InputType(k): v for k, v in (prefixes or {}).items()}
        self._extra_body = dict(extra_body or {})

    def prefixes_for(self, batch: Batch) -> dict[InputType, str]:
        """The prefixes in force for ``batch``: the model's (``extra['prefixes']``), then ours."""
        merged = {InputType(k): v for k, v in batch.model.extra.get("prefixes", {}).items()}
        merged.update(self.prefixes)
        return merged

    def texts(self, batch: Batch) -> list[str]:
        """The batch's texts, prefixed for the input type when a prefix is configured."""
        texts = [t for t in batch.inputs if isinstance(t, str)]
        if len(texts) != len(batch.inputs):
            raise InvalidInputError(f"{self.name} embeds text only")
        prefix = self.prefixes_for(batch).get(batch.input_type) if batch.input_type else None
        return [prefix + t for t in texts] if prefix else texts

    def extra_body(self, batch: Batch) -> dict[str, Any]:
        """Provider-specific request fields; the default adds the constructor's ``extra_body``."""
        return dict(self._extra_body)

    def request_body(self, batch: Batch) -> dict[str, Any]:
        """The JSON body for ``batch``."""
        encoding = batch.options.get("encoding_format", self.encoding_format)
        body: dict[str, Any] = {"model": batch.model.name, "input": self.texts(batch)}
        value = self.base64_value if encoding == "base64" else self.float_value
        if value is not None:
            body[self.encoding_format_field] = value
        if batch.dimensions is not None:
            body["dimensions"] = batch.dimensions
        if "user" in batch.options:
            body["user"] = batch.options["user"]
        body.update(self.extra_body(batch))
        return body

    def build_request(self, batch: Batch) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.base_url + self.path,
            headers=self.auth_headers(),
            content=orjson.dumps(self.request_body(batch)),
        )

    def response_kind(self, batch: Batch) -> EmbeddingType:
        """The embedding type the response's vectors are in (float unless a subclass asks)."""
        return EmbeddingType.FLOAT

    def parse_response(self, response: httpx.Response, batch: Batch) -> BatchResult:
        payload = orjson.loads(response.content)
        raise_for_envelope(payload, response, provider=self.name, expected="data")
        data = payload["data"] if isinstance(payload, dict) else None
        if not isinstance(data, list):
            raise ResponseFormatError("the response has no 'data' list")
        n = len(batch)
        if len(data) != n:
            raise ResponseFormatError(f"expected {n} embeddings, got {len(data)}")
        rows: list[Any] = [None] * n
        for item in data:
            index = item.get("index")
            if not isinstance(index, int) or not 0 <= index < n:
                raise ResponseFormatError(f"index {index!r} is out of range for {n} inputs")
            if rows[index] is not None:
                raise ResponseFormatError(f"index {index} appears twice")
            rows[index] = item["embedding"]
        kind = self.response_kind(batch)
        arr = decode_rows(rows, kind)
        usage_body = payload.get("usage") or {}
        tokens = usage_body.get("prompt_tokens")
        if tokens is None:
            tokens = usage_body.get("total_tokens", 0)
        meta = {k: payload[k] for k in ("id", "created", "model") if k in payload}
        return BatchResult(
            vectors={kind: arr},
            usage=Usage(input_tokens=int(tokens or 0), requests=1),
            meta=meta,
        )
