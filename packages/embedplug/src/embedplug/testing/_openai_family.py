"""The OpenAI protocol family of the stub: ``POST /v1/embeddings``, ``data[].index``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from embedplug.testing._faults import Fault, FaultKind
from embedplug.testing._variant import JSON, Context, EmbedCall, Variant, apply_index_fault
from embedplug.testing._vectors import corrupt_base64

__all__ = ["OpenAIFloatsVariant", "OpenAIVariant"]


class OpenAIVariant(Variant):
    """OpenAI ``POST /v1/embeddings``: ``{model, input, encoding_format, dimensions, user}``."""

    name = "openai"
    path = "/v1/embeddings"
    default_model = "text-embedding-3-small"
    default_dimensions = 1536
    model_dimensions: ClassVar[Mapping[str, int]] = {
        "text-embedding-3-small": 1536,
        "text-embedding-3-large": 3072,
        "text-embedding-ada-002": 1536,
    }
    max_items = 2048
    max_chars: ClassVar[int | None] = None
    """Longest text in characters (``None``: no limit)."""
    encodings: ClassVar[tuple[str, ...]] = ("float", "base64")
    """Accepted ``encoding_format`` values; ``base64`` means base64, others JSON numbers."""
    default_encoding: ClassVar[str] = "float"
    force_float: ClassVar[bool] = False
    """Ignore ``encoding_format`` and always answer JSON floats."""
    dimensions_param: ClassVar[str | None] = "dimensions"
    input_type_param: ClassVar[str | None] = None
    input_types: ClassVar[tuple[str, ...]] = ()
    embedding_type_param: ClassVar[str | None] = None
    embedding_types: ClassVar[tuple[str, ...]] = ("float",)
    known_params: ClassVar[frozenset[str] | None] = None
    """If set, other top-level fields are refused unless ``ignore_params_flag`` is true."""
    ignore_params_flag: ClassVar[str | None] = None

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        loc: Sequence[str | int] = (),
    ) -> JSON:
        if status == 401:
            kind, code = "invalid_request_error", code or "invalid_api_key"
        elif status == 429:
            kind, code = "requests", code or "rate_limit_exceeded"
        elif status >= 500:
            kind = "server_error"
        else:
            kind = "invalid_request_error"
        return {"error": {"message": message, "type": kind, "param": param, "code": code}}

    def parse(self, body: JSON, ctx: Context) -> EmbedCall:
        obj = self.require_object(body)
        if self.known_params is not None:
            unknown = sorted(set(obj) - self.known_params)
            flag = self.ignore_params_flag
            if unknown and not (flag and obj.get(flag) is True):
                raise self.invalid(
                    f"unsupported parameter(s): {', '.join(unknown)}"
                    + (f" (set {flag}=true to ignore them)" if flag else ""),
                    param=unknown[0],
                    loc=(unknown[0],),
                )
        model = self.require_model(obj)
        texts = self.parse_input(obj.get("input"), ctx)
        input_type = self.parse_choice(obj, self.input_type_param, self.input_types, None)
        kind = self.parse_choice(obj, self.embedding_type_param, self.embedding_types, "float")
        encoding = "float"
        if not self.force_float:
            encoding = self.parse_choice(obj, "encoding_format", self.encodings, None) or (
                self.default_encoding
            )
        full = self.full_dimensions(model, ctx)
        dims = full
        if self.dimensions_param is not None:
            dims = self.parse_dimensions(obj.get(self.dimensions_param), full, "dimensions")
        if kind in ("binary", "ubinary") and dims % 8:
            raise self.invalid(f"{kind} embeddings need a multiple of 8 dimensions, not {dims}")
        salt = input_type if self.salt_input_type else None
        return EmbedCall(
            model=model,
            items=self.text_items(texts, salt),
            dimensions=dims,
            output=[kind or "float"],
            encoding=encoding,
            input_type=input_type,
            texts=texts,
        )

    def parse_choice(
        self, obj: Mapping[str, Any], param: str | None, allowed: Sequence[str], default: str | None
    ) -> str | None:
        """An optional enum field."""
        if param is None:
            return default
        value = obj.get(param)
        if value is None:
            return default
        if value not in allowed:
            raise self.invalid(
                f"'{param}' must be one of {', '.join(allowed)}, not {value!r}",
                param=param,
                loc=(param,),
            )
        return str(value)

    def parse_input(self, value: Any, ctx: Context) -> list[str]:
        """``input``: a string or a non-empty list of non-empty strings."""
        texts: list[str]
        if isinstance(value, str):
            texts = [value]
        elif isinstance(value, list) and all(isinstance(t, str) for t in value):
            texts = value
        elif value is None:
            raise self.invalid("'input' is required", param="input", loc=("input",))
        else:
            raise self.invalid(
                "'input' must be a string or a list of strings", param="input", loc=("input",)
            )
        if not texts:
            raise self.invalid("'input' must not be empty", param="input", loc=("input",))
        limit = self.limit(ctx)
        if len(texts) > limit:
            raise self.invalid(
                f"'input' has {len(texts)} items, at most {limit} are allowed",
                param="input",
                loc=("input",),
            )
        max_chars = self.max_chars
        for position, text in enumerate(texts):
            if not text:
                raise self.invalid(
                    f"'input[{position}]' is an empty string", param="input", loc=("input",)
                )
            if max_chars is not None and len(text) > max_chars:
                raise self.invalid(
                    f"'input[{position}]' has {len(text)} characters, at most {max_chars}"
                    " are allowed",
                    param="input",
                    loc=("input",),
                )
        return texts

    def render(
        self, call: EmbedCall, vectors: npt.NDArray[np.float32], fault: Fault | None, ctx: Context
    ) -> JSON:
        arr = self.typed(vectors, call.output[0], fault)
        embeddings: list[Any]
        if call.encoding == "base64":
            embeddings = self.encode_base64(arr, ctx)
            if fault is not None and fault.kind is FaultKind.BAD_BASE64 and embeddings:
                embeddings[0] = corrupt_base64(arr[0].tobytes(), fault.mode)
        else:
            embeddings = list(arr)
        data = [
            {"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(embeddings)
        ]
        return self.envelope(call, apply_index_fault(data, fault), ctx)

    def envelope(self, call: EmbedCall, data: list[dict[str, Any]], ctx: Context) -> JSON:
        """The response around the ``data`` items."""
        tokens = call.tokens
        return {
            "object": "list",
            "data": data,
            "model": call.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


class OpenAIFloatsVariant(OpenAIVariant):
    """An OpenAI-compatible server that ignores ``encoding_format`` and always sends floats."""

    name = "openai-floats"
    force_float = True
