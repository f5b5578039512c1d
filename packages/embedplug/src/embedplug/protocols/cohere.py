"""Cohere's ``/v2/embed`` wire protocol, sans-IO.

Request: ``model``, ``input_type``, ``embedding_types`` and one of ``texts``,
``images`` (data URLs) or ``inputs`` (content blocks ``text`` / ``image_url``),
plus ``output_dimension``, ``truncate`` and ``max_tokens``. Floats travel as
``base64`` (little-endian float32) where the server offers it. Response:
``embeddings`` by type, ``texts``, ``images`` (width, height, format,
bit_depth) and ``meta.billed_units`` (``input_tokens``, ``images``), summed
into ``usage``; ``id``, ``model``, ``texts``, ``images`` and ``meta``'s
``api_version``, ``billed_units``, ``tokens``, ``cached_tokens`` and
``warnings`` are kept in the batch's ``meta``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx
import orjson

from embedplug._http import raise_for_envelope
from embedplug.errors import InvalidInputError, ResponseFormatError
from embedplug.protocols._decode import decode_base64_rows, decode_rows, dtype_of
from embedplug.provider import Batch, BatchResult, HTTPProvider, ModelInfo
from embedplug.types import EmbeddingType, Image, InputType, Mixed, Usage

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["CohereV2Provider"]

_TRUNCATE = ("NONE", "START", "END")
# Kept in a batch's ``meta`` (``result.meta["batches"]``), as the server sent them.
_RESPONSE_FIELDS = ("id", "model", "texts")
_META_FIELDS = ("api_version", "billed_units", "tokens", "cached_tokens", "warnings")


def content_blocks(item: str | Image | Mixed) -> list[dict[str, Any]]:
    """An input as Cohere v2 content blocks."""
    parts = item.parts if isinstance(item, Mixed) else (item,)
    blocks: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, str):
            blocks.append({"type": "text", "text": part})
        else:
            blocks.append({"type": "image_url", "image_url": {"url": part.to_data_url()}})
    return blocks


class CohereV2Provider(HTTPProvider):
    """Base for providers that speak Cohere's v2 embed protocol.

    ``content_mode="auto"`` sends text batches as ``texts``, image batches as
    ``images`` and mixed batches as ``inputs``; ``"inputs"`` sends everything
    as content blocks (IG1). ``base64_transport`` asks for ``base64`` instead
    of ``float`` and decodes it with NumPy.
    """

    path: ClassVar[str] = "/v2/embed"
    content_mode: ClassVar[Literal["auto", "inputs"]] = "auto"
    base64_transport: ClassVar[bool] = True
    call_options: ClassVar[frozenset[str]] = frozenset({"truncate", "max_tokens"})

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        truncate: str | None = None,
        max_tokens: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(api_key=api_key, base_url=base_url, **options)
        self.truncate = self._check_truncate(truncate)
        self.max_tokens = max_tokens

    @staticmethod
    def _check_truncate(value: str | None) -> str | None:
        if value is None:
            return None
        upper = value.upper()
        if upper not in _TRUNCATE:
            raise InvalidInputError(
                f"truncate must be one of {', '.join(_TRUNCATE)}, not {value!r}"
            )
        return upper

    def truncates_long_inputs(self, model: ModelInfo, options: Mapping[str, Any]) -> bool:
        """True unless ``truncate="NONE"``: the server cuts long inputs (``END`` by default)."""
        truncate = self._check_truncate(options.get("truncate")) or self.truncate
        return truncate != "NONE"

    def wire_types(self, batch: Batch) -> list[str]:
        """The ``embedding_types`` values to ask for."""
        out = []
        for kind in batch.embedding_types:
            if kind is EmbeddingType.FLOAT and self.base64_transport:
                out.append("base64")
            else:
                out.append(kind.value)
        return out

    def request_body(self, batch: Batch) -> dict[str, Any]:
        """The JSON body for ``batch`` (one kind of input per batch)."""
        first = batch.inputs[0]
        input_type = batch.input_type
        body: dict[str, Any] = {"model": batch.model.name}
        # ``images`` need input_type "image": an image under a text type goes as ``inputs``
        text_typed = isinstance(first, Image) and input_type not in (None, InputType.IMAGE)
        if self.content_mode == "inputs" or isinstance(first, Mixed) or text_typed:
            body["inputs"] = [{"content": content_blocks(item)} for item in batch.inputs]
            if input_type is None:
                input_type = InputType.IMAGE if isinstance(first, Image) else None
        elif isinstance(first, Image):
            body["images"] = [
                item.to_data_url() for item in batch.inputs if isinstance(item, Image)
            ]
            input_type = InputType.IMAGE  # Cohere requires it with ``images``
        else:
            body["texts"] = [item for item in batch.inputs if isinstance(item, str)]
        body["input_type"] = (input_type or InputType.SEARCH_DOCUMENT).value
        body["embedding_types"] = self.wire_types(batch)
        if batch.dimensions is not None:
            body["output_dimension"] = batch.dimensions
        truncate = self._check_truncate(batch.options.get("truncate")) or self.truncate
        if truncate is not None:
            body["truncate"] = truncate
        max_tokens = batch.options.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        return body

    def build_request(self, batch: Batch) -> httpx.Request:
        return httpx.Request(
            "POST",
            self.base_url + self.path,
            headers=self.auth_headers(),
            content=orjson.dumps(self.request_body(batch)),
        )

    def parse_response(self, response: httpx.Response, batch: Batch) -> BatchResult:
        payload = orjson.loads(response.content)
        raise_for_envelope(payload, response, provider=self.name, expected="embeddings")
        embeddings = payload.get("embeddings") if isinstance(payload, dict) else None
        if not isinstance(embeddings, dict):
            raise ResponseFormatError("the response has no 'embeddings' object")
        vectors = {}
        for kind, wire in zip(batch.embedding_types, self.wire_types(batch), strict=True):
            rows = embeddings.get(wire)
            if rows is None:
                raise ResponseFormatError(f"the response has no {wire!r} embeddings")
            if len(rows) != len(batch):
                raise ResponseFormatError(f"expected {len(batch)} {wire} vectors, got {len(rows)}")
            if wire == "base64":
                vectors[kind] = decode_base64_rows(rows, dtype_of(EmbeddingType.FLOAT))
            else:
                vectors[kind] = decode_rows(rows, kind)
        meta_body = payload.get("meta") or {}
        billed = meta_body.get("billed_units") or (payload.get("usage") or {}).get(
            "billed_units", {}
        )
        usage = Usage(
            input_tokens=int(billed.get("input_tokens") or 0),
            images=int(billed.get("images") or 0),
            requests=1,
        )
        # what the server says about the request, by reference: no per-vector work
        meta: dict[str, Any] = {k: payload[k] for k in _RESPONSE_FIELDS if payload.get(k)}
        meta.update((k, meta_body[k]) for k in _META_FIELDS if meta_body.get(k) is not None)
        if "billed_units" not in meta and billed:
            meta["billed_units"] = billed  # IG1 repeats it under ``usage``
        images = payload.get("images")
        if images:
            meta["images"] = images
            if all(isinstance(item, Image) for item in batch.inputs) and len(images) == len(batch):
                meta["per_item"] = {"image": images}
        if not meta_body.get("warnings"):
            meta.pop("warnings", None)
        return BatchResult(vectors=vectors, usage=usage, meta=meta)
