"""Fixtures for the LangChain adapter's tests: stub servers, a test-only provider, PNG files.

Everything the test modules share comes through fixtures (pytest runs with
``--import-mode=importlib``, so test modules cannot import helper modules):

* ``lc``: a ``LangChainStubs`` with the two stub servers, their keys, the
  test-only provider's names, and ``openai_params()`` / ``cohere_params()``
  that give ``EmbedplugEmbeddings`` arguments pointed at the stubs. Using it
  registers the test-only provider ``lcstub-cohere`` for the test.
* ``openai_stub`` / ``cohere_stub``: the stub servers (one per module).
* ``png_files``: two small PNG files of different colours, made with Pillow.

``lcstub-cohere`` speaks Cohere's v2 protocol through the core's
``CohereV2Provider``; its ``embed-v4.0`` takes text and images, as Cohere's
does. No test reaches the network: the stubs listen on 127.0.0.1.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from embedplug import EmbeddingType, InputType, Modality, ModelInfo, Provider, hookimpl
from embedplug.protocols import CohereV2Provider
from embedplug.testing import StubServer

COHERE_STUB_KEY = "co-stub-key-9f3a"
OPENAI_STUB_KEY = "sk-stub-key-77c1"
STUB_COHERE = "lcstub-cohere"
STUB_COHERE_KEY_ENV = "LCSTUB_COHERE_API_KEY"


class StubCohereProvider(CohereV2Provider):
    """Cohere's v2 protocol: a multimodal ``embed-v4.0`` and a text-only light model."""

    name: ClassVar[str] = STUB_COHERE
    default_model: ClassVar[str] = "embed-v4.0"
    api_key_env: ClassVar[tuple[str, ...]] = (STUB_COHERE_KEY_ENV,)

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return (
            ModelInfo(
                name="embed-v4.0",
                dimensions=1536,
                modalities=frozenset({Modality.TEXT, Modality.IMAGE, Modality.MIXED}),
                allowed_dimensions=(256, 512, 1024, 1536),
                native_dimensions=True,
                input_types=frozenset(InputType),
                embedding_types=frozenset(EmbeddingType),
                max_images_per_call=96,
            ),
            ModelInfo(
                name="embed-english-light-v3.0",
                dimensions=384,
                modalities=frozenset({Modality.TEXT}),
                embedding_types=frozenset(EmbeddingType),
            ),
        )


class StubPlugin:
    """A plugin object that registers the test-only provider."""

    @hookimpl
    def register_providers(self, register: Callable[[type[Provider]], None]) -> None:
        register(StubCohereProvider)


@dataclass(frozen=True)
class LangChainStubs:
    """The stub servers, their keys, and constructor arguments pointed at them."""

    openai: StubServer
    cohere: StubServer
    openai_key: str = OPENAI_STUB_KEY
    cohere_key: str = COHERE_STUB_KEY
    cohere_provider: str = STUB_COHERE
    cohere_key_env: str = STUB_COHERE_KEY_ENV
    unused_url: str = "http://127.0.0.1:9"
    """For construction-only tests: never contacted."""

    @property
    def cohere_model(self) -> str:
        return f"{self.cohere_provider}:embed-v4.0"

    def openai_params(self, **extra: Any) -> dict[str, Any]:
        """Arguments for the installed ``openai`` provider on the OpenAI stub."""
        return {
            "model": "openai:text-embedding-3-small",
            "base_url": self.openai.url + "/v1",
            "api_key": self.openai_key,
            **extra,
        }

    def cohere_params(self, **extra: Any) -> dict[str, Any]:
        """Arguments for ``lcstub-cohere:embed-v4.0`` on the Cohere stub."""
        return {
            "model": self.cohere_model,
            "base_url": self.cohere.url,
            "api_key": self.cohere_key,
            **extra,
        }


@pytest.fixture(scope="module")
def openai_stub() -> Iterator[StubServer]:
    """An OpenAI-protocol stub server that requires ``OPENAI_STUB_KEY``."""
    with StubServer("openai", api_key=OPENAI_STUB_KEY) as server:
        yield server


@pytest.fixture(scope="module")
def cohere_stub() -> Iterator[StubServer]:
    """A Cohere-v2 stub server (texts, images, inputs) that requires ``COHERE_STUB_KEY``."""
    with StubServer("cohere", api_key=COHERE_STUB_KEY) as server:
        yield server


@pytest.fixture
def lc(
    openai_stub: StubServer, cohere_stub: StubServer, register_plugin: Callable[..., str]
) -> LangChainStubs:
    """The stubs, with ``lcstub-cohere`` registered for this test (unregistered after it)."""
    register_plugin(StubPlugin(), name="langchain-test-stubs")
    return LangChainStubs(openai=openai_stub, cohere=cohere_stub)


def make_png(path: Path, colour: tuple[int, int, int], size: tuple[int, int]) -> None:
    """Write a solid-colour PNG to ``path``."""
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    PILImage.new("RGB", size, colour).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())


@pytest.fixture
def png_files(tmp_path: Path) -> list[Path]:
    """Two PNG files with different pixels."""
    red, blue = tmp_path / "red.png", tmp_path / "blue.png"
    make_png(red, (220, 20, 20), (8, 6))
    make_png(blue, (20, 20, 220), (5, 9))
    return [red, blue]
