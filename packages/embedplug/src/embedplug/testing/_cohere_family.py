"""The Cohere v2 protocol family of the stub: ``POST /v2/embed``, ``embeddings`` by type."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from embedplug.testing._faults import Fault, FaultKind
from embedplug.testing._variant import (
    ALL_EMBEDDING_TYPES,
    JSON,
    TEXT_INPUT_TYPES,
    Context,
    EmbedCall,
    Item,
    Variant,
    count_tokens,
    decode_data_url,
)
from embedplug.testing._vectors import InputKey, content_digest, corrupt_base64, image_key

__all__ = ["CohereVariant"]


class CohereVariant(Variant):
    """Cohere ``POST /v2/embed``: ``texts``, ``images`` or ``inputs``; embeddings by type."""

    name = "cohere"
    path = "/v2/embed"
    default_model = "embed-v4.0"
    default_dimensions = 1536
    model_dimensions: ClassVar[Mapping[str, int]] = {
        "embed-v4.0": 1536,
        "embed-english-v3.0": 1024,
        "embed-multilingual-v3.0": 1024,
        "embed-english-light-v3.0": 384,
        "embed-multilingual-light-v3.0": 384,
    }
    max_items = 96
    indexed = False
    accepts: ClassVar[tuple[str, ...]] = ("texts", "images", "inputs")
    """Which of ``texts``, ``images`` and ``inputs`` the endpoint takes."""
    input_types: ClassVar[tuple[str, ...]] = (*TEXT_INPUT_TYPES, "image")
    inputs_input_types: ClassVar[tuple[str, ...] | None] = TEXT_INPUT_TYPES
    """``input_type`` values allowed with ``inputs`` (``None``: all of ``input_types``)."""
    require_input_type: ClassVar[bool] = True
    embedding_types: ClassVar[tuple[str, ...]] = (*ALL_EMBEDDING_TYPES, "base64")
    allowed_dimensions: ClassVar[tuple[int, ...] | None] = (256, 512, 1024, 1536)
    single_image_marker: ClassVar[str | None] = "v3"
    """Models whose name contains this take one image per call."""
    max_image_bytes: ClassVar[int] = 5_000_000  # "5 MB", decimal
    image_tokens: ClassVar[int] = 0
    """Input tokens billed per image (images are also counted in ``billed_units.images``)."""
    truncate_values: ClassVar[tuple[str, ...]] = ("NONE", "START", "END")
    api_version: ClassVar[Mapping[str, Any]] = {"version": "2"}

    def parse(self, body: JSON, ctx: Context) -> EmbedCall:
        obj = self.require_object(body)
        model = self.require_model(obj)
        input_type = obj.get("input_type")
        if input_type is None:
            if self.require_input_type:
                raise self.invalid("'input_type' is required", param="input_type")
        elif input_type not in self.input_types:
            raise self.invalid(
                f"'input_type' must be one of {', '.join(self.input_types)}, not {input_type!r}",
                param="input_type",
            )
        output = self.parse_embedding_types(obj.get("embedding_types"))
        truncate = obj.get("truncate")
        if truncate is not None and truncate not in self.truncate_values:
            raise self.invalid(
                f"'truncate' must be one of {', '.join(self.truncate_values)}, not {truncate!r}"
            )
        max_tokens = obj.get("max_tokens")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            raise self.invalid("'max_tokens' must be a positive integer")
        full = self.full_dimensions(model, ctx)
        dims = self.parse_dimensions(
            obj.get("output_dimension"), full, "output_dimension", self.allowed_dimensions
        )
        if any(k in ("binary", "ubinary") for k in output) and dims % 8:
            raise self.invalid(f"binary embeddings need a multiple of 8 dimensions, not {dims}")

        given = [k for k in ("texts", "images", "inputs") if obj.get(k)]
        if not given:
            raise self.invalid(f"one of {', '.join(self.accepts)} is required and non-empty")
        refused = [k for k in given if k not in self.accepts]
        if refused:
            raise self.invalid(
                f"'{refused[0]}' is not supported here; use {' or '.join(self.accepts)}"
            )
        if len(given) > 1:
            raise self.invalid(f"give only one of texts, images and inputs, not {given}")
        source = given[0]
        values = obj[source]
        if not isinstance(values, list):
            raise self.invalid(f"'{source}' must be a list")
        limit = self.limit(ctx)
        if len(values) > limit:
            raise self.invalid(f"'{source}' has {len(values)} items, at most {limit} are allowed")
        salt = input_type if self.salt_input_type else None
        call = EmbedCall(
            model=model, items=[], dimensions=dims, output=output, input_type=input_type
        )
        if source == "texts":
            if input_type == "image":
                raise self.invalid("'texts' must be empty when input_type is 'image'")
            self.parse_texts(values, call, salt)
        elif source == "images":
            if input_type != "image":
                raise self.invalid("'images' needs input_type 'image'")
            self.parse_images(values, call, salt)
        else:
            allowed = self.inputs_input_types
            if allowed is not None and input_type is not None and input_type not in allowed:
                raise self.invalid(f"with 'inputs', input_type must be one of {', '.join(allowed)}")
            self.parse_inputs(values, call, salt)
        images = call.image_count
        if images > 1 and self.single_image_marker and self.single_image_marker in model:
            raise self.invalid(f"model {model} takes one image per call, not {images}")
        return call

    def parse_embedding_types(self, value: Any) -> list[str]:
        """``embedding_types`` (default ``["float"]``), de-duplicated."""
        if value is None:
            return ["float"]
        if not isinstance(value, list) or not value:
            raise self.invalid("'embedding_types' must be a non-empty list")
        out: list[str] = []
        for kind in value:
            if kind not in self.embedding_types:
                raise self.invalid(
                    f"'embedding_types' values must be among {', '.join(self.embedding_types)},"
                    f" not {kind!r}"
                )
            if kind not in out:
                out.append(str(kind))
        return out

    def parse_texts(self, values: list[Any], call: EmbedCall, salt: str | None) -> None:
        """``texts``: non-empty strings."""
        for position, text in enumerate(values):
            if not isinstance(text, str) or not text:
                raise self.invalid(f"'texts[{position}]' must be a non-empty string")
        call.items = self.text_items(values, salt)
        call.texts = list(values)

    def parse_images(self, values: list[Any], call: EmbedCall, salt: str | None) -> None:
        """``images``: data URLs."""
        for position, url in enumerate(values):
            data, info = decode_data_url(url, f"images[{position}]", max_bytes=self.max_image_bytes)
            call.items.append(
                Item(content_digest([data], salt), image_key(data), self.image_tokens, 1)
            )
            call.images.append(info)

    def parse_inputs(self, values: list[Any], call: EmbedCall, salt: str | None) -> None:
        """``inputs``: ``{"content": [{"type": "text"|"image_url", ...}]}``, one vector each."""
        for position, entry in enumerate(values):
            where = f"inputs[{position}]"
            blocks = entry.get("content") if isinstance(entry, dict) else None
            if not isinstance(blocks, list) or not blocks:
                raise self.invalid(f"'{where}.content' must be a non-empty list")
            parts: list[bytes] = []
            keys: list[str] = []
            tokens = images = 0
            first_text: str | None = None
            for number, block in enumerate(blocks):
                here = f"{where}.content[{number}]"
                kind = block.get("type") if isinstance(block, dict) else None
                if kind == "text":
                    text = block.get("text")
                    if not isinstance(text, str) or not text:
                        raise self.invalid(f"'{here}.text' must be a non-empty string")
                    parts.append(text.encode("utf-8"))
                    keys.append(text)
                    tokens += count_tokens(text)
                    if first_text is None:
                        first_text = text
                elif kind == "image_url":
                    ref = block.get("image_url")
                    url = ref.get("url") if isinstance(ref, dict) else ref
                    data, info = decode_data_url(url, here, max_bytes=self.max_image_bytes)
                    parts.append(data)
                    keys.append(image_key(data))
                    tokens += self.image_tokens
                    images += 1
                    call.images.append(info)
                else:
                    raise self.invalid(f"'{here}.type' must be 'text' or 'image_url'")
            key: InputKey = keys[0] if len(keys) == 1 else tuple(keys)
            call.items.append(Item(content_digest(parts, salt), key, tokens, images))
            if first_text is not None:
                call.texts.append(first_text)

    def render(
        self, call: EmbedCall, vectors: npt.NDArray[np.float32], fault: Fault | None, ctx: Context
    ) -> JSON:
        embeddings: dict[str, Any] = {}
        for kind in call.output:
            arr = self.typed(vectors, kind, fault)
            if kind == "base64":
                strings = self.encode_base64(arr, ctx)
                if fault is not None and fault.kind is FaultKind.BAD_BASE64 and strings:
                    strings[0] = corrupt_base64(arr[0].tobytes(), fault.mode)
                embeddings[kind] = strings
            else:
                embeddings[kind] = arr
        billed: dict[str, int] = {"input_tokens": call.tokens}
        if call.image_count:
            billed["images"] = call.image_count
        body: dict[str, Any] = {
            "id": self.response_id(ctx),
            "embeddings": embeddings,
            "texts": call.texts,
        }
        if call.images:
            body["images"] = [info.to_json() for info in call.images]
        body["meta"] = {"api_version": dict(self.api_version), "billed_units": billed}
        return self.finish(body, call, billed)

    def response_id(self, ctx: Context) -> str:
        """The response's ``id``."""
        return str(uuid.UUID(int=ctx.request_number))

    def finish(self, body: dict[str, Any], call: EmbedCall, billed: dict[str, int]) -> JSON:
        """Last touches to a response body."""
        body["response_type"] = "embeddings_by_type"
        return body
