"""Deterministic, unit-norm, Matryoshka-consistent stub vectors, fast enough for benchmarks.

The vector of a content is seeded by a 16-byte blake2b digest of its bytes
(text as UTF-8, images as their encoded bytes, a mixed input as the
concatenation of its parts; a variant may mix the input type in first). Three
32-bit words of the digest pick three windows of a fixed pseudo-random pool
(derived with SHAKE-256, so it is identical on every machine and NumPy
version); their sum is the raw vector. The vector of dimension ``d`` is the
first ``d`` raw values scaled to unit norm, so it does not depend on the
model's full dimension, and truncating any vector to ``d`` values and
re-normalising gives the ``d``-vector (up to float32 rounding).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Union

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

if TYPE_CHECKING:
    from embedplug.types import Image, Mixed

__all__ = [
    "MAX_DIMENSIONS",
    "ContentLike",
    "InputKey",
    "VectorSource",
    "content_digest",
    "describe_content",
    "image_key",
    "rows_to_base64",
]

MAX_DIMENSIONS = 8192
"""The largest vector the stub can make."""

_POOL_SIZE = 1 << 20
_SPAN = _POOL_SIZE - MAX_DIMENSIONS + 1
_pool_lock = threading.Lock()
_pool: npt.NDArray[np.float32] | None = None

InputKey = Union[str, tuple[str, ...]]  # noqa: UP007 (a runtime alias on 3.10)
"""How an input is counted in ``StubServer.inputs_seen``: the text itself,
``"image:<blake2b hex>"`` for an image, a tuple of those for a mixed input."""

ContentLike = Union[str, bytes, "Image", "Mixed", Sequence[Union[str, bytes, "Image"]]]
"""What ``StubServer.expected_vector`` takes: a text, image bytes, an
``embedplug.types.Image``, a ``Mixed`` or a list of text/image parts."""


def _get_pool() -> npt.NDArray[np.float32]:
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                raw = hashlib.shake_256(b"embedplug.testing stub vectors").digest(4 * _POOL_SIZE)
                words = np.frombuffer(raw, dtype="<u4")
                pool = (words >> np.uint32(8)).astype(np.float32) * np.float32(2.0**-23)
                pool -= np.float32(1.0)
                pool.flags.writeable = False
                _pool = pool
    return _pool


def content_digest(parts: Iterable[bytes], salt: str | None = None) -> bytes:
    """The 16-byte seed of a content made of ``parts`` (optionally salted)."""
    h = hashlib.blake2b(digest_size=16)
    if salt:
        h.update(salt.encode("utf-8") + b"\x00")
    for part in parts:
        h.update(part)
    return h.digest()


def image_key(data: bytes) -> str:
    """The ``inputs_seen`` key of an image: ``"image:"`` + the blake2b hex of its bytes."""
    return "image:" + hashlib.blake2b(data, digest_size=16).hexdigest()


def describe_content(content: ContentLike) -> tuple[list[bytes], InputKey]:
    """The parts (as bytes) and the ``inputs_seen`` key of a content."""
    from embedplug.types import Image, Mixed

    if isinstance(content, str):
        return [content.encode("utf-8")], content
    if isinstance(content, (bytes, bytearray, memoryview)):
        data = bytes(content)
        return [data], image_key(data)
    if isinstance(content, Image):
        return [content.data], image_key(content.data)
    raw_parts: Sequence[Any] = content.parts if isinstance(content, Mixed) else content
    parts: list[bytes] = []
    keys: list[str] = []
    for part in raw_parts:
        if isinstance(part, str):
            parts.append(part.encode("utf-8"))
            keys.append(part)
        elif isinstance(part, (bytes, bytearray, memoryview, Image)):
            data = part.data if isinstance(part, Image) else bytes(part)
            parts.append(data)
            keys.append(image_key(data))
        else:
            raise TypeError(f"a content part is str, bytes or Image, not {type(part).__name__}")
    if not parts:
        raise ValueError("a mixed content needs at least one part")
    return parts, (keys[0] if len(keys) == 1 else tuple(keys))


def rows_to_base64(rows: npt.NDArray[Any]) -> list[str]:
    """One base64 string per row of ``rows``: the row's raw little-endian bytes."""
    arr = np.ascontiguousarray(rows)
    if arr.dtype.byteorder == ">":  # pragma: no cover - big-endian hosts
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    b2a = binascii.b2a_base64
    return [b2a(row, newline=False).decode("ascii") for row in arr]


def corrupt_base64(raw: bytes, mode: str) -> str:
    """A broken base64 for ``raw``: bad length (``"length"``) or wrong byte count."""
    if mode == "bytes":
        return base64.b64encode(raw[:-2]).decode("ascii")
    return base64.b64encode(raw).decode("ascii")[:-1]


def generate(digests: Sequence[bytes], dimensions: int) -> npt.NDArray[np.float32]:
    """Vectors ``(len(digests), dimensions)`` for 16-byte digests, without caching.

    Float32 throughout; the norm is NumPy's pairwise row sum, whose rounding
    depends only on the row, so a vector does not depend on its batch.
    """
    if not 1 <= dimensions <= MAX_DIMENSIONS:
        raise ValueError(f"dimensions must be in [1, {MAX_DIMENSIONS}], not {dimensions}")
    seeds = np.frombuffer(b"".join(digests), dtype="<u4").reshape(-1, 4) % np.uint32(_SPAN)
    windows = sliding_window_view(_get_pool(), dimensions)
    raw: npt.NDArray[np.float32] = windows[seeds[:, 0]]
    raw += windows[seeds[:, 1]]
    raw -= windows[seeds[:, 2]]
    norms = np.sqrt(np.square(raw).sum(axis=1, keepdims=True))
    norms[norms == 0] = 1.0
    raw /= norms
    return raw


class VectorSource:
    """Cached :func:`generate`: rows are cached per (digest, dimensions), up to ``max_bytes``."""

    def __init__(self, max_bytes: int = 256 << 20) -> None:
        self.max_bytes = max_bytes
        self._by_dim: dict[int, dict[bytes, npt.NDArray[np.float32]]] = {}
        self._base64: dict[int, dict[bytes, str]] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    def rows(self, digests: Sequence[bytes], dimensions: int) -> npt.NDArray[np.float32]:
        """A new ``(len(digests), dimensions)`` float32 array, one unit row per digest."""
        cache = self._by_dim.get(dimensions)
        if cache is None:
            cache = self._by_dim.setdefault(dimensions, {})
        get = cache.get
        found = [get(d) for d in digests]
        missing = [d for d, row in zip(digests, found, strict=True) if row is None]
        if missing:
            unique = list(dict.fromkeys(missing))
            fresh = generate(unique, dimensions)
            fresh.flags.writeable = False
            made = dict(zip(unique, fresh, strict=True))
            found = [made[d] if row is None else row for d, row in zip(digests, found, strict=True)]
            self._store(cache, made, fresh.nbytes)
        if not found:
            return np.empty((0, dimensions), dtype=np.float32)
        out: npt.NDArray[np.float32] = np.array(found, dtype=np.float32)  # 4x faster than stack
        return out

    def base64_rows(self, digests: Sequence[bytes], vectors: npt.NDArray[np.float32]) -> list[str]:
        """:func:`rows_to_base64` of ``vectors``, the rows made by :meth:`rows` for
        ``digests``, cached per (digest, dimensions)."""
        dimensions = int(vectors.shape[1])
        cache = self._base64.get(dimensions)
        if cache is None:
            cache = self._base64.setdefault(dimensions, {})
        get = cache.get
        found = [get(d) for d in digests]
        missing = [i for i, text in enumerate(found) if text is None]
        if not missing:
            return found  # type: ignore[return-value]
        made = dict(
            zip([digests[i] for i in missing], rows_to_base64(vectors[missing]), strict=True)
        )
        self._store(cache, made, sum(len(text) for text in made.values()))
        return [made[d] if text is None else text for d, text in zip(digests, found, strict=True)]

    def _store(self, cache: dict[bytes, Any], made: dict[bytes, Any], nbytes: int) -> None:
        with self._lock:
            if self._bytes + nbytes > self.max_bytes:
                self._clear()
            cache.update(made)
            self._bytes += nbytes

    def _clear(self) -> None:
        for rows in self._by_dim.values():
            rows.clear()
        for strings in self._base64.values():
            strings.clear()
        self._bytes = 0

    def clear(self) -> None:
        """Forget every cached vector."""
        with self._lock:
            self._clear()
