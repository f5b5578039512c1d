"""Vectors in a JSON answer as NumPy arrays, avoiding Python float lists where possible."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from embedplug.errors import ResponseFormatError
from embedplug.types import EmbeddingType


def dtype_of(kind: EmbeddingType) -> np.dtype[Any]:
    """The little-endian dtype of ``kind``'s values on the wire."""
    return np.dtype("<f4") if kind is EmbeddingType.FLOAT else np.dtype(kind.dtype)


def decode_base64_rows(rows: Sequence[str], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """Rows of base64 strings (each the raw bytes of one vector) as a 2-D array."""
    if not rows:
        return np.zeros((0, 0), dtype=dtype)
    decoded = []
    width = None
    for i, row in enumerate(rows):
        if not isinstance(row, str) or len(row) % 4:
            raise ResponseFormatError(f"vector {i}: base64 of length {len(row)} is malformed")
        try:
            raw = base64.b64decode(row, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ResponseFormatError(f"vector {i}: invalid base64 ({exc})") from None
        if len(raw) % dtype.itemsize:
            raise ResponseFormatError(
                f"vector {i}: {len(raw)} bytes is not a whole number of {dtype} values"
            )
        if width is None:
            width = len(raw)
        elif len(raw) != width:
            raise ResponseFormatError(f"vector {i}: {len(raw)} bytes, vector 0 had {width}")
        decoded.append(raw)
    flat = np.frombuffer(b"".join(decoded), dtype=dtype)
    return flat.reshape(len(rows), -1).astype(dtype.newbyteorder("="), copy=False)


def decode_number_rows(rows: Sequence[Any], dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    """Rows of JSON numbers as a 2-D array; ragged rows are a ``ResponseFormatError``."""
    try:
        arr = np.array(rows, dtype=dtype.newbyteorder("="))
    except (ValueError, TypeError, OverflowError) as exc:
        raise ResponseFormatError(f"vectors are not rows of numbers of one length: {exc}") from None
    if arr.ndim != 2:
        raise ResponseFormatError(
            f"vectors are not rows of numbers of one length: shape {arr.shape}"
        )
    return arr


def decode_rows(rows: Sequence[Any], kind: EmbeddingType) -> npt.NDArray[Any]:
    """Rows that are all base64 strings or all number lists (detected, not assumed)."""
    dtype = dtype_of(kind)
    if rows and all(isinstance(r, str) for r in rows):
        return decode_base64_rows(rows, dtype)
    if any(isinstance(r, str) for r in rows):
        raise ResponseFormatError("vectors mix base64 strings and number lists")
    return decode_number_rows(rows, dtype)
