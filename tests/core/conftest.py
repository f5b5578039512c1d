"""Fake HTTP providers and MockTransport servers for the core's unit tests.

Tests reach everything here through fixtures (never by importing this module),
so the suite works under any pytest import mode.

``FakeOpenAI`` / ``FakeCohere`` subclass the core's protocol classes the way a
provider package does; ``OpenAIHandler`` / ``CohereHandler`` answer their
requests in-process (``httpx.MockTransport``) and record every request, so a
test can assert that *nothing* was sent. ``make_embedder`` builds an
``Embedder`` on them with a ``ModelInfo`` the test chooses.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import numpy as np
import numpy.typing as npt
import orjson
import pytest

from embedplug._api import Embedder
from embedplug.protocols import CohereV2Provider, OpenAIEmbeddingsProvider
from embedplug.provider import Modality, ModelInfo

FAKE_KEY = "sk-test-5ecret-Value-0123456789"


def vector_for(text: str, dimensions: int) -> npt.NDArray[np.float32]:
    """A deterministic, non-normalised vector for ``text`` (what the fake servers return)."""
    rng = np.random.default_rng(zlib.crc32(text.encode("utf-8")))
    return rng.standard_normal(dimensions).astype(np.float32) * 3.0


def b64(vector: npt.NDArray[Any]) -> str:
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


@dataclass
class OpenAIHandler:
    """An in-process OpenAI ``/embeddings`` server for ``httpx.MockTransport``."""

    dimensions: int = 64
    status: int = 200
    error_body: dict[str, Any] = field(
        default_factory=lambda: {"error": {"message": "Incorrect API key provided"}}
    )
    requests: list[httpx.Request] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status != 200:
            return httpx.Response(self.status, json=self.error_body)
        body = orjson.loads(request.content)
        width = body.get("dimensions", self.dimensions)
        data = [
            {"object": "embedding", "index": i, "embedding": b64(vector_for(text, width))}
            for i, text in enumerate(body["input"])
        ]
        usage = {"prompt_tokens": len(body["input"]), "total_tokens": len(body["input"])}
        return httpx.Response(200, json={"object": "list", "data": data, "usage": usage})

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@dataclass
class CohereHandler:
    """An in-process Cohere ``/v2/embed`` server for ``httpx.MockTransport``."""

    dimensions: int = 64
    requests: list[httpx.Request] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.content) for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = orjson.loads(request.content)
        items = body.get("texts") or body.get("images") or body.get("inputs") or []
        keys = [orjson.dumps(item).decode() for item in items]
        width = body.get("output_dimension", self.dimensions)
        floats = np.stack([vector_for(k, width) for k in keys])
        embeddings: dict[str, Any] = {}
        for wire in body["embedding_types"]:
            if wire == "base64":
                embeddings["base64"] = [b64(row) for row in floats]
            elif wire == "float":
                embeddings["float"] = floats.tolist()
            else:
                raise AssertionError(f"the fake server only returns floats, asked {wire}")
        images = len(body.get("images") or [])
        return httpx.Response(
            200,
            json={
                "id": "fake-id",
                "embeddings": embeddings,
                "meta": {"billed_units": {"input_tokens": len(items), "images": images}},
            },
        )

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


TEXT_MODEL = ModelInfo(name="fake-text", dimensions=64)


class FakeOpenAI(OpenAIEmbeddingsProvider):
    """An OpenAI-protocol provider, configured as a provider package would."""

    name: ClassVar[str] = "fake-openai"
    default_model: ClassVar[str] = TEXT_MODEL.name
    api_key_env: ClassVar[tuple[str, ...]] = ("FAKE_OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("FAKE_OPENAI_BASE_URL",)
    default_base_url: ClassVar[str | None] = "https://fake-openai.invalid/v1"

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (TEXT_MODEL,)


MULTIMODAL_MODEL = ModelInfo(
    name="fake-multimodal",
    dimensions=64,
    modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
    max_image_bytes=4_000,
)


class FakeCohere(CohereV2Provider):
    """A Cohere-v2-protocol provider (text, images and mixed inputs)."""

    name: ClassVar[str] = "fake-cohere"
    default_model: ClassVar[str] = MULTIMODAL_MODEL.name
    api_key_env: ClassVar[tuple[str, ...]] = ("FAKE_COHERE_API_KEY",)
    default_base_url: ClassVar[str | None] = "https://fake-cohere.invalid"

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (MULTIMODAL_MODEL,)


@pytest.fixture
def make_embedder() -> Any:
    """``make_embedder(model=TEXT_MODEL, protocol="openai", **options) -> (embedder, handler)``.

    The embedder talks to an in-process fake server through
    ``httpx.MockTransport``; ``handler.requests`` records what was sent.
    Embedders are closed when the test ends.
    """
    made: list[Embedder] = []

    def make(
        model: ModelInfo = TEXT_MODEL,
        protocol: str = "openai",
        *,
        handler: Any = None,
        **options: Any,
    ) -> tuple[Embedder, Any]:
        if protocol == "openai":
            handler = handler or OpenAIHandler(dimensions=model.dimensions)
            provider: OpenAIEmbeddingsProvider | CohereV2Provider = FakeOpenAI(api_key=FAKE_KEY)
        else:
            handler = handler or CohereHandler(dimensions=model.dimensions)
            provider = FakeCohere(api_key=FAKE_KEY)
        embedder = Embedder(provider, model, transport=handler.transport, **options)
        made.append(embedder)
        return embedder, handler

    yield make
    for embedder in made:
        embedder.close()


@pytest.fixture
def fake_key() -> str:
    """The API key every fake provider is built with (tests assert it never leaks)."""
    return FAKE_KEY


@pytest.fixture
def fake_vector() -> Callable[[str, int], npt.NDArray[np.float32]]:
    """``fake_vector(text, dimensions)``: what the fake servers answer for ``text``."""
    return vector_for


@pytest.fixture
def fake_openai_class() -> type[FakeOpenAI]:
    return FakeOpenAI


@pytest.fixture
def openai_handler() -> OpenAIHandler:
    """A fresh fake OpenAI server; pass it to ``make_embedder(handler=...)``."""
    return OpenAIHandler()


def encode_image(fmt: str = "png", size: tuple[int, int] = (8, 8), *, noise: bool = False) -> bytes:
    """A real image made with Pillow, encoded as ``fmt`` (noise makes it hard to compress)."""
    import io

    from PIL import Image as PILImage

    if noise:
        rng = np.random.default_rng(0)
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        image = PILImage.fromarray(pixels, "RGB")
    else:
        image = PILImage.new("RGB", size, (200, 30, 90))
    buffer = io.BytesIO()
    image.save(buffer, format={"jpeg": "JPEG"}.get(fmt, fmt.upper()))
    return buffer.getvalue()


@pytest.fixture
def image_bytes() -> Callable[..., bytes]:
    """``image_bytes(fmt="png", size=(8, 8), noise=False)``: a real encoded image."""
    return encode_image


@pytest.fixture
def png_bytes() -> bytes:
    """A small, real 8x8 PNG."""
    return encode_image("png")
