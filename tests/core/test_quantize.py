"""Client-side quantisation and Matryoshka truncation (``embedplug._quantize``).

Conventions (Cohere's): ``ubinary`` is one bit per dimension, 1 where x > 0,
packed most significant bit first as ``numpy.packbits`` does; ``binary`` is
those bytes minus 128 as int8; ``int8`` scales each vector by 127 / max|x|;
``uint8`` is ``int8 + 128``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from embedplug._quantize import normalize_rows, quantize, truncate_dimensions
from embedplug.types import EmbeddingResult, EmbeddingType

F = EmbeddingType.FLOAT
I8 = EmbeddingType.INT8
U8 = EmbeddingType.UINT8
B = EmbeddingType.BINARY
UB = EmbeddingType.UBINARY


@pytest.fixture
def vectors() -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(7)
    return rng.standard_normal((17, 96)).astype(np.float32)


def _pack_by_hand(vectors: npt.NDArray[Any]) -> list[list[int]]:
    """Bits packed most significant first, written out without NumPy's help."""
    out = []
    for row in vectors.tolist():
        packed = []
        for start in range(0, len(row), 8):
            byte = 0
            for offset, value in enumerate(row[start : start + 8]):
                if value > 0:
                    byte |= 1 << (7 - offset)
            packed.append(byte)
        out.append(packed)
    return out


def test_ubinary_matches_packbits_big_bit_order(vectors: npt.NDArray[np.float32]) -> None:
    packed = quantize(vectors, UB)
    assert packed.dtype == np.uint8
    assert packed.shape == (17, 12)
    np.testing.assert_array_equal(packed, np.packbits(vectors > 0, axis=1, bitorder="big"))
    assert packed.tolist() == _pack_by_hand(vectors)


def test_ubinary_known_bytes() -> None:
    row = np.array([[1, -1, 1, -1, 1, -1, 1, -1, 0.5, 0.5, 0, 0, 0, 0, 0, -3]], np.float32)
    # 10101010 = 170; 11000000 = 192 (0 is not positive)
    assert quantize(row, UB).tolist() == [[170, 192]]
    assert quantize(row, B).tolist() == [[170 - 128, 192 - 128]]


def test_ubinary_unpacks_to_the_sign_pattern(vectors: npt.NDArray[np.float32]) -> None:
    bits = np.unpackbits(quantize(vectors, UB), axis=1)
    np.testing.assert_array_equal(bits.astype(bool), vectors > 0)


def test_binary_is_ubinary_minus_128_and_unpacks_to_the_sign_pattern(
    vectors: npt.NDArray[np.float32],
) -> None:
    signed = quantize(vectors, B)
    assert signed.dtype == np.int8
    unsigned = (signed.astype(np.int16) + 128).astype(np.uint8)
    np.testing.assert_array_equal(unsigned, quantize(vectors, UB))
    np.testing.assert_array_equal(np.unpackbits(unsigned, axis=1).astype(bool), vectors > 0)


@pytest.mark.parametrize("kind", [B, UB])
def test_packed_types_need_a_multiple_of_8_dimensions(kind: EmbeddingType) -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        quantize(np.ones((2, 12), np.float32), kind)


def test_int8_uses_the_full_range_per_vector(vectors: npt.NDArray[np.float32]) -> None:
    q = quantize(vectors, I8)
    assert q.dtype == np.int8
    assert q.shape == vectors.shape
    assert q.min() >= -127
    assert q.max() <= 127
    # every row's largest magnitude maps to exactly +-127
    np.testing.assert_array_equal(np.abs(q.astype(np.int16)).max(axis=1), 127)
    np.testing.assert_array_equal(
        np.sign(q), np.sign(np.rint(vectors / np.abs(vectors).max(1, keepdims=True) * 127))
    )


def test_int8_is_monotonic(vectors: npt.NDArray[np.float32]) -> None:
    q = quantize(vectors, I8).astype(np.int16)
    for row, qrow in zip(vectors, q, strict=True):
        order = np.argsort(row, kind="stable")
        assert (np.diff(qrow[order]) >= 0).all()


def test_int8_depends_on_each_vector_only(vectors: npt.NDArray[np.float32]) -> None:
    whole = quantize(vectors, I8)
    one = quantize(vectors[3:4], I8)
    np.testing.assert_array_equal(whole[3:4], one)
    np.testing.assert_array_equal(quantize(vectors * 10, I8), whole)  # scale-free


def test_int8_keeps_direction(vectors: npt.NDArray[np.float32]) -> None:
    q = quantize(vectors, I8).astype(np.float32)
    cosine = (normalize_rows(q) * normalize_rows(vectors)).sum(axis=1)
    assert cosine.min() > 0.999


def test_uint8_is_int8_shifted(vectors: npt.NDArray[np.float32]) -> None:
    u = quantize(vectors, U8)
    assert u.dtype == np.uint8
    np.testing.assert_array_equal(u.astype(np.int16), quantize(vectors, I8).astype(np.int16) + 128)
    assert u.min() >= 1
    assert u.max() <= 255


@pytest.mark.parametrize("kind", [I8, U8])
def test_zero_vector_quantises_to_the_midpoint(kind: EmbeddingType) -> None:
    q = quantize(np.zeros((1, 8), np.float32), kind)
    assert q.tolist() == [[0 if kind is I8 else 128] * 8]


def test_float_passes_through_as_float32(vectors: npt.NDArray[np.float32]) -> None:
    out = quantize(vectors.astype(np.float64), F)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, vectors)


def test_truncation_keeps_the_prefix_direction_and_renormalises(
    vectors: npt.NDArray[np.float32],
) -> None:
    out = truncate_dimensions(vectors, 32)
    assert out.shape == (17, 32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    expected = vectors[:, :32] / np.linalg.norm(vectors[:, :32], axis=1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_normalize_rows_leaves_zero_rows_zero() -> None:
    out = normalize_rows(np.array([[3, 4], [0, 0]], np.float32))
    assert np.allclose(out, np.array([[0.6, 0.8], [0.0, 0.0]], dtype=np.float32))


@pytest.mark.parametrize(
    ("kind", "dtype", "packed"),
    [
        (F, "float32", False),
        (I8, "int8", False),
        (U8, "uint8", False),
        (B, "int8", True),
        (UB, "uint8", True),
    ],
)
def test_embedding_type_dtype_and_packing(kind: EmbeddingType, dtype: str, packed: bool) -> None:
    assert kind.dtype == dtype
    assert kind.packed is packed
    assert quantize(np.ones((1, 16), np.float32), kind).dtype == np.dtype(dtype)


def test_result_dimensions_count_bits_for_packed_types(vectors: npt.NDArray[np.float32]) -> None:
    result = EmbeddingResult(vectors={UB: quantize(vectors, UB)}, model="m", provider="p")
    assert result.dimensions == 96
    assert result.embeddings.shape == (17, 12)
