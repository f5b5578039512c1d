"""The request and result vocabulary: inputs, input and embedding types, usage, results.

Vectors are NumPy arrays, one 2-D array per embedding type, never lists of
Python floats. NumPy is imported lazily so that ``import embedplug`` stays fast.
"""

from __future__ import annotations

import base64
import binascii
import enum
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from embedplug.errors import InvalidInputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    from PIL.Image import Image as PILImage

__all__ = [
    "EmbeddingResult",
    "EmbeddingType",
    "Image",
    "ImageFormat",
    "Input",
    "InputType",
    "LongInputs",
    "Mixed",
    "Usage",
]


class InputType(str, enum.Enum):
    """What an input is for; providers prepend special tokens or prefixes for it."""

    SEARCH_DOCUMENT = "search_document"
    SEARCH_QUERY = "search_query"
    CLASSIFICATION = "classification"
    CLUSTERING = "clustering"
    IMAGE = "image"

    def __str__(self) -> str:
        return self.value


class EmbeddingType(str, enum.Enum):
    """The numeric form of a vector, named as Cohere names them.

    ``float`` -> float32 ``(n, d)``; ``int8`` -> int8 ``(n, d)``; ``uint8`` ->
    uint8 ``(n, d)``; ``binary`` -> int8 ``(n, d/8)`` packed bits minus 128;
    ``ubinary`` -> uint8 ``(n, d/8)`` packed bits (NumPy's ``packbits`` order).
    """

    FLOAT = "float"
    INT8 = "int8"
    UINT8 = "uint8"
    BINARY = "binary"
    UBINARY = "ubinary"

    def __str__(self) -> str:
        return self.value

    @property
    def dtype(self) -> str:
        """The NumPy dtype name of arrays of this type."""
        return {"float": "float32", "int8": "int8", "uint8": "uint8"}.get(
            self.value, "int8" if self is EmbeddingType.BINARY else "uint8"
        )

    @property
    def packed(self) -> bool:
        """True for the bit-packed types, whose rows hold ``dimensions / 8`` bytes."""
        return self in (EmbeddingType.BINARY, EmbeddingType.UBINARY)


ImageFormat = Literal["png", "jpeg", "webp", "gif"]

_MIME: dict[str, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
}
_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]+)?(?P<params>(?:;[\w=.-]+)*?)(?P<b64>;base64)?,")


def sniff_image_format(data: bytes) -> ImageFormat | None:
    """Return the image format named by the magic bytes, or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


@dataclass(frozen=True, eq=True)
class Image:
    """An image to embed: its bytes and the format its magic bytes name.

    Build one with ``from_path``, ``from_bytes``, ``from_data_url`` or
    ``from_pil``; each checks the magic bytes (png, jpeg, webp, gif) and raises
    ``InvalidInputError`` for anything else. Size limits are checked against the
    model before any request, not here.
    """

    data: bytes = field(repr=False)
    format: ImageFormat
    source: str | None = field(default=None, compare=False)

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str | None = None) -> Image:
        """An image from its encoded bytes."""
        fmt = sniff_image_format(data)
        if fmt is None:
            what = f" ({source})" if source else ""
            raise InvalidInputError(
                f"not a png, jpeg, webp or gif image{what}: magic bytes {data[:12]!r}"
            )
        return cls(data=bytes(data), format=fmt, source=source)

    @classmethod
    def from_path(cls, path: str | os.PathLike[str]) -> Image:
        """An image read from a file."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except OSError as exc:
            raise InvalidInputError(f"cannot read image {str(p)!r}: {exc.strerror}") from exc
        return cls.from_bytes(data, source=str(p))

    @classmethod
    def from_data_url(cls, url: str) -> Image:
        """An image from a ``data:image/...;base64,...`` URL."""
        match = _DATA_URL.match(url)
        if match is None or not match.group("b64"):
            raise InvalidInputError("not a base64 data URL (expected 'data:image/...;base64,...')")
        try:
            data = base64.b64decode(url[match.end() :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInputError(f"data URL holds invalid base64: {exc}") from exc
        return cls.from_bytes(data, source="data URL")

    @classmethod
    def from_pil(cls, image: PILImage, *, format: ImageFormat = "png") -> Image:  # noqa: A002
        """An image from a Pillow image, encoded as ``format`` (png by default)."""
        import io

        buffer = io.BytesIO()
        pil_format = "JPEG" if format == "jpeg" else format.upper()
        img = image
        if pil_format == "JPEG" and img.mode not in ("RGB", "L"):
            img = img.convert("RGB")
        img.save(buffer, format=pil_format)
        return cls.from_bytes(buffer.getvalue(), source="PIL image")

    @classmethod
    def coerce(cls, value: Image | str | bytes | os.PathLike[str]) -> Image:
        """An image from an ``Image``, bytes, a data URL or a file path."""
        if isinstance(value, Image):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return cls.from_bytes(bytes(value))
        if isinstance(value, str) and value.startswith("data:"):
            return cls.from_data_url(value)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise InvalidInputError(
                "image URLs are not fetched; download the image and pass its bytes or path"
            )
        if isinstance(value, (str, os.PathLike)):
            return cls.from_path(value)
        raise InvalidInputError(f"cannot make an image from {type(value).__name__}")

    @property
    def mime_type(self) -> str:
        """The MIME type, e.g. ``image/png``."""
        return _MIME[self.format]

    @property
    def size(self) -> int:
        """The encoded size in bytes."""
        return len(self.data)

    def to_data_url(self) -> str:
        """The image as a base64 data URL, as Cohere and OpenAI-style APIs take it."""
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode('ascii')}"

    def dimensions(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, read with Pillow (the ``images`` extra)."""
        pil = self._open()
        return int(pil.width), int(pil.height)

    def resized(self, *, max_pixels: int | None = None, min_pixels: int | None = None) -> Image:
        """A copy scaled (aspect kept) into ``[min_pixels, max_pixels]``; needs Pillow.

        Returns ``self`` when the image is already within bounds. Used when the
        caller asks to resize client-side the way a provider would server-side.
        """
        pil = self._open()
        pixels = pil.width * pil.height
        if max_pixels is not None and pixels > max_pixels:
            scale = (max_pixels / pixels) ** 0.5
        elif min_pixels is not None and pixels < min_pixels:
            scale = (min_pixels / pixels) ** 0.5
        else:
            return self
        width = max(1, int(pil.width * scale))
        height = max(1, int(pil.height * scale))
        if min_pixels is not None and width * height < min_pixels:
            width, height = width + 1, height + 1
        out = pil.resize((width, height))
        resized = Image.from_pil(out, format=self.format)
        return Image(data=resized.data, format=self.format, source=self.source)

    def _open(self) -> PILImage:
        try:
            from PIL import Image as PILModule
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "reading image dimensions or resizing needs Pillow: pip install pillow"
            ) from exc
        import io

        pil = PILModule.open(io.BytesIO(self.data))
        pil.load()
        return pil

    def __repr__(self) -> str:
        src = f", source={self.source!r}" if self.source else ""
        return f"Image(format={self.format!r}, size={self.size}{src})"


@dataclass(frozen=True)
class Mixed:
    """One input made of several parts, text and images, embedded as one vector."""

    parts: tuple[str | Image, ...]

    def __init__(self, parts: Iterable[str | Image]) -> None:
        object.__setattr__(self, "parts", tuple(parts))
        if not self.parts:
            raise InvalidInputError("a mixed input needs at least one part")
        for part in self.parts:
            if not isinstance(part, (str, Image)):
                raise InvalidInputError(
                    f"a mixed input's parts are str or Image, not {type(part).__name__}"
                )

    @property
    def texts(self) -> list[str]:
        """The text parts, in order."""
        return [p for p in self.parts if isinstance(p, str)]

    @property
    def images(self) -> list[Image]:
        """The image parts, in order."""
        return [p for p in self.parts if isinstance(p, Image)]


Input = str | Image | Mixed
"""One thing to embed: a text, an image, or a mixed list of both."""

LongInputs = Literal["error", "truncate", "chunk"]
"""What to do with a text over the model's ``max_tokens_per_item``: refuse it before any
request (``error``, the default), cut it to fit (``truncate``), or embed it in pieces
and average their vectors weighted by length (``chunk``)."""


def normalize_inputs(inputs: Input | Sequence[Input | Sequence[str | Image]]) -> list[Input]:
    """Turn what a caller passed into a list of ``Input``.

    A single ``str``, ``Image`` or ``Mixed`` is one input; a list or tuple nested
    inside the list is a mixed input.
    """
    if isinstance(inputs, (str, Image, Mixed)):
        return [inputs]
    if isinstance(inputs, (bytes, bytearray)):  # type: ignore[unreachable]
        raise InvalidInputError("pass bytes as Image.from_bytes(...) so the intent is clear")
    out: list[Input] = []
    for position, item in enumerate(inputs):
        if isinstance(item, (str, Image, Mixed)):
            out.append(item)
        elif isinstance(item, (list, tuple)):
            try:
                out.append(Mixed(item))
            except InvalidInputError as exc:
                raise InvalidInputError(str(exc), position=position) from None
        else:
            raise InvalidInputError(
                f"expected str, Image or Mixed, got {type(item).__name__}", position=position
            )
    return out


@dataclass
class Usage:
    """What a call cost, summed over its batches."""

    input_tokens: int = 0
    images: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            images=self.images + other.images,
            requests=self.requests + other.requests,
        )


@dataclass
class EmbeddingResult:
    """The vectors for a list of inputs, in input order.

    ``vectors`` maps each embedding type asked for to a 2-D NumPy array whose
    row ``i`` belongs to input ``i``. ``embeddings`` is the array of the first
    type asked for (float unless you asked otherwise).
    """

    vectors: dict[EmbeddingType, npt.NDArray[Any]]
    model: str
    provider: str
    usage: Usage = field(default_factory=Usage)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def embeddings(self) -> npt.NDArray[Any]:
        """The array of the first embedding type asked for."""
        return next(iter(self.vectors.values()))

    @property
    def dimensions(self) -> int:
        """Vector length in dimensions (for packed types, 8 x the row's bytes)."""
        kind, arr = next(iter(self.vectors.items()))
        return int(arr.shape[1]) * (8 if kind.packed else 1)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    def __iter__(self) -> Iterator[np.ndarray[Any, Any]]:
        return iter(self.embeddings)

    def __getitem__(self, kind: EmbeddingType | str) -> npt.NDArray[Any]:
        return self.vectors[EmbeddingType(kind)]

    def tolist(self) -> list[list[float]]:
        """The first type's vectors as lists of Python numbers (for LangChain and friends)."""
        result: list[list[float]] = self.embeddings.tolist()
        return result

    def __repr__(self) -> str:
        shapes = ", ".join(
            f"{k.value}: {tuple(v.shape)} {v.dtype}" for k, v in self.vectors.items()
        )
        return (
            f"EmbeddingResult(provider={self.provider!r}, model={self.model!r}, "
            f"vectors={{{shapes}}}, usage={self.usage})"
        )


def input_kind(item: Input) -> Literal["text", "image", "mixed"]:
    """The modality an input needs."""
    if isinstance(item, str):
        return "text"
    if isinstance(item, Image):
        return "image"
    return "mixed"


def coerce_embedding_types(
    value: EmbeddingType | str | Sequence[EmbeddingType | str] | None,
) -> list[EmbeddingType]:
    """A de-duplicated list of embedding types (float when ``None``)."""
    if value is None:
        return [EmbeddingType.FLOAT]
    items: Sequence[EmbeddingType | str] = (
        [value] if isinstance(value, (str, EmbeddingType)) else value
    )
    out: list[EmbeddingType] = []
    for v in items:
        try:
            kind = EmbeddingType(v)
        except ValueError:
            allowed = ", ".join(t.value for t in EmbeddingType)
            raise InvalidInputError(f"unknown embedding type {v!r}; allowed: {allowed}") from None
        if kind not in out:
            out.append(kind)
    if not out:
        raise InvalidInputError("embedding_types must name at least one type")
    return out


def coerce_input_type(value: InputType | str | None) -> InputType | None:
    """An ``InputType`` from its name, or ``None``."""
    if value is None:
        return None
    try:
        return InputType(value)
    except ValueError:
        allowed = ", ".join(t.value for t in InputType)
        raise InvalidInputError(f"unknown input type {value!r}; allowed: {allowed}") from None
