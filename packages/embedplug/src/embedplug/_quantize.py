"""Client-side quantisation and Matryoshka truncation, for providers that return only floats.

Conventions (Cohere's and sentence-transformers'):

* ``int8``: each vector scaled by 127 / max|x| and rounded, so every vector
  uses the full range and the result does not depend on the rest of the batch.
* ``uint8``: the same scaling shifted to ``[0, 255]`` (``int8 + 128``).
* ``ubinary``: one bit per dimension, 1 where x > 0, packed with
  ``numpy.packbits`` (most significant bit first): ``(n, d/8)`` uint8.
* ``binary``: the ``ubinary`` bytes minus 128, as int8.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from embedplug.types import EmbeddingType

__all__ = ["normalize_rows", "quantize", "truncate_dimensions"]


def normalize_rows(vectors: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    arr = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: npt.NDArray[np.float32] = arr / norms
    return out


def truncate_dimensions(vectors: npt.NDArray[Any], dimensions: int) -> npt.NDArray[np.float32]:
    """Matryoshka truncation: the first ``dimensions`` columns, re-normalised."""
    return normalize_rows(np.ascontiguousarray(vectors[:, :dimensions]))


def quantize(vectors: npt.NDArray[Any], kind: EmbeddingType) -> npt.NDArray[Any]:
    """Float vectors ``(n, d)`` as ``kind``; see the module docstring for the conventions."""
    arr = np.asarray(vectors, dtype=np.float32)
    if kind is EmbeddingType.FLOAT:
        return arr
    if kind in (EmbeddingType.INT8, EmbeddingType.UINT8):
        scale = np.abs(arr).max(axis=1, keepdims=True)
        scale[scale == 0] = 1.0
        ints = np.clip(np.rint(arr / scale * 127.0), -128, 127).astype(np.int16)
        if kind is EmbeddingType.INT8:
            signed: npt.NDArray[np.int8] = ints.astype(np.int8)
            return signed
        unsigned: npt.NDArray[np.uint8] = (ints + 128).astype(np.uint8)
        return unsigned
    if arr.shape[1] % 8:
        raise ValueError(f"binary embeddings need a multiple of 8 dimensions, not {arr.shape[1]}")
    packed = np.packbits(arr > 0, axis=1)
    if kind is EmbeddingType.UBINARY:
        return packed
    return (packed.astype(np.int16) - 128).astype(np.int8)
