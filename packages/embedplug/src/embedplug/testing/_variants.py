"""Wire protocols of the stub server: one small class per provider variant.

A variant turns a parsed JSON body into an :class:`EmbedCall` (``parse``),
and the call plus its float vectors into a JSON-able response (``render``);
``error`` gives its error shape. Most of a variant is declarative: class
attributes such as ``path``, ``max_items``, ``encodings`` or
``embedding_types`` configure one of the two protocol families,
:class:`OpenAIVariant` (``/v1/embeddings``-style, ``data[].index``) and
:class:`CohereVariant` (``/v2/embed``-style, ``embeddings`` by type).
See ``embedplug.testing`` for how to add one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import re
import struct
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from embedplug.testing._faults import Fault, FaultKind
from embedplug.testing._vectors import (
    InputKey,
    content_digest,
    corrupt_base64,
    image_key,
    rows_to_base64,
)

__all__ = [
    "VARIANTS",
    "CohereVariant",
    "Context",
    "EmbedCall",
    "HerokuVariant",
    "IG1OpenAIVariant",
    "IG1Variant",
    "ImageInfo",
    "Item",
    "NugenVariant",
    "OpenAIFloatsVariant",
    "OpenAIVariant",
    "StubError",
    "Variant",
    "get_variant",
    "register_variant",
]

SEARCH_TYPES = ("search_document", "search_query")
TEXT_INPUT_TYPES = (*SEARCH_TYPES, "classification", "clustering")
ALL_EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
JSON = Any


class StubError(Exception):
    """A request the variant refuses; rendered with the variant's ``error`` shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        loc: Sequence[str | int] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.loc = tuple(loc)
        self.headers = dict(headers or {})


@dataclass(frozen=True)
class ImageInfo:
    """What the stub learnt of an image: format, size in pixels (0 if unknown), bits per pixel."""

    format: str
    width: int
    height: int
    bit_depth: int
    size: int

    def to_json(self) -> dict[str, Any]:
        """The Cohere ``images[]`` entry."""
        return {
            "width": self.width,
            "height": self.height,
            "format": self.format,
            "bit_depth": self.bit_depth,
        }


@dataclass(slots=True)
class Item:
    """One input to embed: its vector seed, how ``inputs_seen`` counts it, its cost."""

    digest: bytes
    key: InputKey
    tokens: int
    images: int = 0


@dataclass
class EmbedCall:
    """A parsed, valid embedding request."""

    model: str
    items: list[Item]
    dimensions: int
    output: list[str] = field(default_factory=lambda: ["float"])
    """Output kinds: ``float``, ``int8``, ``uint8``, ``binary``, ``ubinary``, ``base64``."""
    encoding: str = "float"
    """OpenAI family: ``base64`` for base64 strings, anything else for JSON numbers."""
    input_type: str | None = None
    texts: list[str] = field(default_factory=list)
    images: list[ImageInfo] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        """Billed input tokens."""
        return sum(item.tokens for item in self.items)

    @property
    def image_count(self) -> int:
        """Billed images."""
        return sum(item.images for item in self.items)


@dataclass(frozen=True)
class Context:
    """Per-request settings from the server."""

    request_number: int
    dimensions: int | None = None
    """The server's ``dimensions=`` (overrides every model's own)."""
    max_items: int | None = None
    """The server's ``max_items=`` (overrides the variant's)."""
    vectors: npt.NDArray[np.float32] | None = None
    """The exact array passed to ``render`` when a cached encoding of it exists."""
    cached_base64: Callable[[], list[str]] | None = None
    """Cached base64 strings of ``vectors`` (see :meth:`Variant.encode_base64`)."""


def count_tokens(text: str) -> int:
    """The stub's token count of a text: its whitespace-separated words (at least 1)."""
    return len(text.split()) or 1


# -- images ------------------------------------------------------------------------

_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w.+-]+=[^;,]*)*;base64,", re.I)


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def read_image_info(data: bytes) -> ImageInfo | None:
    """Format and, for PNG and GIF, width/height/bit depth read from the header."""
    fmt = _sniff(data)
    if fmt is None:
        return None
    width = height = 0
    bit_depth = {"jpeg": 24, "webp": 32}.get(fmt, 0)
    if fmt == "png" and len(data) >= 26 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        bit_depth = data[24] * _PNG_CHANNELS.get(data[25], 1)
    elif fmt == "gif" and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        bit_depth = 8
    return ImageInfo(format=fmt, width=width, height=height, bit_depth=bit_depth, size=len(data))


def decode_data_url(url: Any, where: str, *, max_bytes: int | None) -> tuple[bytes, ImageInfo]:
    """The bytes and info of a ``data:image/...;base64,...`` URL, or a 400."""
    if not isinstance(url, str) or not url.startswith("data:"):
        raise StubError(400, f"{where}: expected a base64 data URL (data:image/...;base64,...)")
    match = _DATA_URL.match(url)
    if match is None:
        raise StubError(400, f"{where}: not a base64 data URL")
    try:
        data = base64.b64decode(url[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise StubError(400, f"{where}: the data URL holds invalid base64") from None
    if max_bytes is not None and len(data) > max_bytes:
        raise StubError(
            400, f"{where}: image is {len(data)} bytes, more than the {max_bytes} allowed"
        )
    info = read_image_info(data)
    if info is None:
        raise StubError(400, f"{where}: unsupported image format (png, jpeg, webp or gif)")
    return data, info


# -- the base class -----------------------------------------------------------------


class Variant:
    """A provider's wire protocol. Subclass a family and set class attributes.

    Required of a new variant: a unique ``name`` and its ``path``; override
    ``parse``/``render``/``error`` only where the declarative attributes of its
    family do not fit.
    """

    name: ClassVar[str] = ""
    path: ClassVar[str] = "/v1/embeddings"
    default_model: ClassVar[str] = "stub-embed"
    default_dimensions: ClassVar[int] = 1024
    model_dimensions: ClassVar[Mapping[str, int]] = {}
    """Full dimension of known models (others get ``default_dimensions``)."""
    models: ClassVar[tuple[str, ...] | None] = None
    """If set, only these model names are accepted."""
    max_items: ClassVar[int] = 2048
    indexed: ClassVar[bool] = True
    """Whether response items carry an ``index`` (enables the index faults)."""
    salt_input_type: ClassVar[bool] = False
    """Whether ``input_type`` changes the vectors (mixed into the seed)."""
    validation_status: ClassVar[int] = 400
    """Status of a refused request body (FastAPI servers use 422)."""

    # -- to implement ---------------------------------------------------------------

    def parse(self, body: JSON, ctx: Context) -> EmbedCall:
        """Validate a JSON body; raise :class:`StubError` to refuse it."""
        raise NotImplementedError

    def render(
        self, call: EmbedCall, vectors: npt.NDArray[np.float32], fault: Fault | None, ctx: Context
    ) -> JSON:
        """The response body for ``vectors`` (one float32 unit row per item).

        Apply the item-level faults here (``nan`` via :meth:`typed`,
        ``bad_base64`` with :func:`corrupt_base64`, index faults via
        :func:`apply_index_fault`); the server has already applied
        ``wrong_count`` and ``wrong_dimension`` to ``vectors``.
        """
        raise NotImplementedError

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        loc: Sequence[str | int] = (),
    ) -> JSON:
        """The error body for ``status``."""
        return {"message": message}

    # -- helpers --------------------------------------------------------------------

    def invalid(self, message: str, **kwargs: Any) -> StubError:
        """A refusal with the variant's validation status."""
        return StubError(self.validation_status, message, **kwargs)

    def full_dimensions(self, model: str, ctx: Context) -> int:
        """The full vector length for ``model`` on this server."""
        if ctx.dimensions is not None:
            return ctx.dimensions
        return self.model_dimensions.get(model, self.default_dimensions)

    def limit(self, ctx: Context) -> int:
        """The most inputs one request may carry."""
        return ctx.max_items if ctx.max_items is not None else self.max_items

    def require_object(self, body: JSON) -> dict[str, Any]:
        """The body as a JSON object."""
        if not isinstance(body, dict):
            raise self.invalid("the request body must be a JSON object")
        return body

    def require_model(self, body: Mapping[str, Any]) -> str:
        """The ``model`` field, checked against ``models``."""
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise self.invalid("'model' is required", param="model", loc=("model",))
        if self.models is not None and model not in self.models:
            raise StubError(
                404 if self.validation_status == 400 else self.validation_status,
                f"model {model!r} not found; this endpoint serves {', '.join(self.models)}",
                code="model_not_found",
                param="model",
                loc=("model",),
            )
        return model

    def parse_dimensions(
        self,
        value: Any,
        full: int,
        param: str,
        allowed: Sequence[int] | None = None,
    ) -> int:
        """A requested dimension (``None``: the full one)."""
        if value is None:
            return full
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.invalid(f"'{param}' must be an integer", param=param, loc=(param,))
        if allowed is not None and value not in allowed:
            listed = ", ".join(str(d) for d in allowed)
            raise self.invalid(
                f"'{param}' must be one of {listed}, not {value}", param=param, loc=(param,)
            )
        if not 1 <= value <= full:
            raise self.invalid(
                f"'{param}' must be between 1 and {full}, not {value}", param=param, loc=(param,)
            )
        return value

    def text_items(self, texts: Sequence[str], salt: str | None = None) -> list[Item]:
        """Items for plain texts (the hot path: kept lean)."""
        b2 = hashlib.blake2b
        prefix = salt.encode("utf-8") + b"\x00" if salt else b""
        # count_tokens inlined: this runs for every text of every request
        return [
            Item(b2(prefix + t.encode("utf-8"), digest_size=16).digest(), t, len(t.split()) or 1)
            for t in texts
        ]

    def typed(
        self, vectors: npt.NDArray[np.float32], kind: str, fault: Fault | None
    ) -> npt.NDArray[Any]:
        """``vectors`` as embedding type ``kind`` (``base64`` means float32), with a ``nan`` fault
        applied to float output."""
        if kind in ("float", "base64"):
            if fault is not None and fault.kind is FaultKind.NAN and vectors.size:
                vectors = vectors.copy()
                vectors.flat[0] = np.nan
            return vectors
        from embedplug._quantize import quantize
        from embedplug.types import EmbeddingType

        return quantize(vectors, EmbeddingType(kind))

    def encode_base64(self, arr: npt.NDArray[Any], ctx: Context) -> list[str]:
        """One base64 string per row of ``arr`` (its raw little-endian bytes); served
        from the server's cache when ``arr`` is the unmodified float32 vectors."""
        if ctx.cached_base64 is not None and arr is ctx.vectors:
            return ctx.cached_base64()
        return rows_to_base64(arr)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} POST {self.path}>"


def apply_index_fault(data: list[dict[str, Any]], fault: Fault | None) -> list[dict[str, Any]]:
    """Apply ``shuffle``, ``duplicate_index`` or ``out_of_range_index`` to ``data[]`` items."""
    if fault is None or not data:
        return data
    n = len(data)
    if fault.kind is FaultKind.SHUFFLE and n > 1:
        order = list(range(n))
        random.Random(n).shuffle(order)
        if order == sorted(order):
            order.reverse()
        return [data[i] for i in order]
    if fault.kind is FaultKind.DUPLICATE_INDEX:
        if n == 1:
            return [data[0], dict(data[0])]
        return [data[0], {**data[1], "index": data[0]["index"]}, *data[2:]]
    if fault.kind is FaultKind.OUT_OF_RANGE_INDEX:
        return [*data[:-1], {**data[-1], "index": n}]
    return data


# -- the OpenAI family -------------------------------------------------------------------


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


class IG1OpenAIVariant(OpenAIVariant):
    """IG1's OpenAI-compatible endpoint (``bge-m3``)."""

    name = "ig1-openai"
    default_model = "bge-m3"
    default_dimensions = 1024
    model_dimensions: ClassVar[Mapping[str, int]] = {"bge-m3": 1024}


class HerokuVariant(OpenAIVariant):
    """Heroku Managed Inference ``/v1/embeddings`` (Cohere models behind an OpenAI shape)."""

    name = "heroku"
    default_model = "cohere-embed-multilingual"
    default_dimensions = 1024
    model_dimensions: ClassVar[Mapping[str, int]] = {}
    max_items = 96
    max_chars = 2048
    encodings = ("raw", "base64")
    default_encoding = "raw"
    dimensions_param = None
    input_type_param = "input_type"
    input_types = TEXT_INPUT_TYPES
    salt_input_type = True
    embedding_type_param = "embedding_type"
    embedding_types = ALL_EMBEDDING_TYPES
    known_params = frozenset(
        {
            "model",
            "input",
            "input_type",
            "encoding_format",
            "embedding_type",
            "allow_ignored_params",
        }
    )
    ignore_params_flag = "allow_ignored_params"
    int8_scale: ClassVar[float] = 512.0
    """Heroku's int8/uint8 use one calibrated scale for every vector (max about 64 here),
    not embedplug's client-side 127 / max|x|: a client that quantises itself gets other
    vectors than the server's, which is what the provider's tests must catch."""

    def typed(
        self, vectors: npt.NDArray[np.float32], kind: str, fault: Fault | None
    ) -> npt.NDArray[Any]:
        if kind not in ("int8", "uint8"):
            return super().typed(vectors, kind, fault)
        ints = np.clip(np.rint(vectors * self.int8_scale), -128, 127).astype(np.int16)
        out: npt.NDArray[Any] = (
            ints.astype(np.int8) if kind == "int8" else (ints + 128).astype(np.uint8)
        )
        return out


class NugenVariant(OpenAIVariant):
    """Nugen ``/api/v3/inference/embeddings``: floats only, FastAPI 422 errors."""

    name = "nugen"
    path = "/api/v3/inference/embeddings"
    default_model = "nugen-flash-embed"
    default_dimensions = 768
    model_dimensions: ClassVar[Mapping[str, int]] = {}
    force_float = True
    validation_status = 422

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        loc: Sequence[str | int] = (),
    ) -> JSON:
        if status == 422:
            return {"detail": [{"loc": ["body", *loc], "msg": message, "type": "value_error"}]}
        return {"detail": message}

    def envelope(self, call: EmbedCall, data: list[dict[str, Any]], ctx: Context) -> JSON:
        return {
            "id": f"embed-{ctx.request_number:012x}",
            "object": "embedding",
            "data": [
                {"object": "embedding", "embedding": d["embedding"], "index": d["index"]}
                for d in data
            ],
            "model": call.model,
            "created": float(int(time.time())),
            "usage": {"total_tokens": call.tokens},
        }


# -- the Cohere family ---------------------------------------------------------------


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


class IG1Variant(CohereVariant):
    """IG1's Cohere-compatible ``/cohere/v2/embed`` for ``qwen3-vl-embedding-8b``."""

    name = "ig1"
    path = "/cohere/v2/embed"
    default_model = "qwen3-vl-embedding-8b"
    default_dimensions = 4096
    model_dimensions: ClassVar[Mapping[str, int]] = {"qwen3-vl-embedding-8b": 4096}
    models = ("qwen3-vl-embedding-8b",)
    accepts = ("inputs",)
    input_types = (*SEARCH_TYPES, "image")
    inputs_input_types = None
    embedding_types = ("float",)
    allowed_dimensions = (128, 256, 384, 512, 768, 1024, 1536, 2048, 2560, 3072, 3584, 4096)
    single_image_marker = None
    image_tokens = 256
    api_version: ClassVar[Mapping[str, Any]] = {"version": "2", "is_experimental": True}

    def response_id(self, ctx: Context) -> str:
        return str(ctx.request_number)

    def finish(self, body: dict[str, Any], call: EmbedCall, billed: dict[str, int]) -> JSON:
        body["model"] = call.model
        body["usage"] = {"billed_units": dict(billed)}
        return body


# -- the registry ---------------------------------------------------------------------

VARIANTS: dict[str, Variant] = {}
"""Registered variants by name."""


def register_variant(variant: Variant | type[Variant], *, replace: bool = False) -> Variant:
    """Make a variant available by name to ``StubServer(variant=...)`` and the CLI."""
    instance = variant() if isinstance(variant, type) else variant
    if not instance.name:
        raise ValueError(f"{type(instance).__name__} has no name")
    if instance.name in VARIANTS and not replace:
        raise ValueError(f"a stub variant named {instance.name!r} is already registered")
    VARIANTS[instance.name] = instance
    return instance


def get_variant(variant: str | Variant | type[Variant]) -> Variant:
    """A variant from its name, class or instance."""
    if isinstance(variant, Variant):
        return variant
    if isinstance(variant, type):
        return variant()
    try:
        return VARIANTS[variant]
    except KeyError:
        known = ", ".join(sorted(VARIANTS))
        raise ValueError(f"unknown stub variant {variant!r}; known: {known}") from None


for _cls in (
    OpenAIVariant,
    OpenAIFloatsVariant,
    HerokuVariant,
    NugenVariant,
    CohereVariant,
    IG1Variant,
    IG1OpenAIVariant,
):
    register_variant(_cls)
del _cls
