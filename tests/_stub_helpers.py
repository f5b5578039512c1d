"""Helpers for the tests of stub variants, shared by tests/core and the provider folders.

Importable from every test folder: the root ``conftest.py`` puts ``tests/`` on
``sys.path`` (pytest's default ``prepend`` import mode).
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Any

import httpx
import numpy as np

from embedplug.testing import StubServer
from embedplug.types import Image


def png(width: int, height: int, color_type: int = 6) -> bytes:
    """A valid PNG of ``width`` x ``height`` 8-bit pixels (RGBA by default)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    channels = {0: 1, 2: 3, 6: 4}[color_type]
    raw = b"".join(b"\x00" + bytes(width * channels) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def decode_b64(text: str, dtype: str = "<f4") -> np.ndarray[Any, Any]:
    return np.frombuffer(base64.b64decode(text, validate=True), dtype=dtype)


def floats(values: list[float]) -> np.ndarray[Any, Any]:
    return np.asarray(values, dtype=np.float32)


def embed(client: httpx.Client, server: StubServer, texts: Any, **fields: Any) -> httpx.Response:
    """An OpenAI-shaped request (``model``, ``input``) to the server's endpoint."""
    return client.post(server.endpoint, json={"model": "m", "input": texts, **fields})


def auth_responses(
    client: httpx.Client, variant: str, body: dict[str, Any]
) -> tuple[httpx.Response, httpx.Response]:
    """(no key, right key) answers of a stub that requires ``sk-test``; a wrong key is a 401 too."""
    with StubServer(variant, dimensions=16, api_key="sk-test") as server:
        missing = client.post(server.endpoint, json=body)
        wrong = client.post(server.endpoint, json=body, headers={"Authorization": "Bearer nope"})
        right = client.post(server.endpoint, json=body, headers={"Authorization": "Bearer sk-test"})
    assert missing.status_code == wrong.status_code == 401
    assert right.status_code == 200, right.text
    assert missing.headers["x-request-id"] == "req-1"
    assert "sk-test" not in missing.text
    return missing, right


def png_image(width: int = 32, height: int = 32, seed: int = 0) -> Image:
    """An ``Image`` of a valid PNG whose pixels depend on ``seed``."""
    from embedplug.testing.conformance import _png

    return Image.from_bytes(_png(width, height, seed))
