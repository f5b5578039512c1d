"""What every stub variant shares: the request vocabulary and the ``Variant`` base class.

A variant turns a parsed JSON body into an :class:`EmbedCall` (``parse``),
and the call plus its float vectors into a JSON-able response (``render``);
``error`` gives its error shape. The two protocol families live in
``_openai_family`` and ``_cohere_family``; the registry in ``_registry``.
See ``embedplug.testing`` for how to add a variant.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import random
import re
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from embedplug.testing._faults import Fault, FaultKind
from embedplug.testing._vectors import InputKey, rows_to_base64

__all__ = [
    "ALL_EMBEDDING_TYPES",
    "JSON",
    "SEARCH_TYPES",
    "TEXT_INPUT_TYPES",
    "Context",
    "EmbedCall",
    "ImageInfo",
    "Item",
    "StubError",
    "Variant",
    "apply_index_fault",
    "count_tokens",
    "decode_data_url",
    "read_image_info",
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
