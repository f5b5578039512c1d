"""LangChain's own standard tests (``langchain-tests``) for ``EmbedplugEmbeddings``.

Unit tests: construction (local provider, and the test-only Cohere-protocol
provider with its key read from the environment). Integration tests: the
offline local model, the installed ``openai`` provider on an OpenAI stub
server, and the Cohere-protocol provider on a Cohere stub server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from langchain_embedplug import EmbedplugEmbeddings

if TYPE_CHECKING:
    from conftest import LangChainStubs

LOCAL = {"model": "local:all-minilm-l6-v2"}


class ClosesModel:
    """Closes each test's model in the test's event loop (its HTTP clients belong to it).

    The standard ``model`` fixture never closes what it makes; an HTTP client
    left open when pytest-asyncio closes the loop is a ResourceWarning later.
    """

    @pytest.fixture
    async def model(self) -> AsyncIterator[EmbedplugEmbeddings]:
        params: dict[str, Any] = self.embedding_model_params  # type: ignore[attr-defined]
        embeddings = EmbedplugEmbeddings(**params)
        try:
            yield embeddings
        finally:
            await embeddings.aclose()


class TestLocalUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[EmbedplugEmbeddings]:
        return EmbedplugEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return dict(LOCAL)


class TestStubCohereUnit(EmbeddingsUnitTests):
    """Construction of an HTTP provider, and its key from its environment variable."""

    lc: LangChainStubs

    @pytest.fixture(autouse=True)
    def _stubs(self, lc: LangChainStubs) -> None:
        self.lc = lc

    @property
    def embeddings_class(self) -> type[EmbedplugEmbeddings]:
        return EmbedplugEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model": self.lc.cohere_model, "base_url": self.lc.unused_url, "api_key": "k"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {self.lc.cohere_key_env: "key-from-env"},
            {"model": self.lc.cohere_model, "base_url": self.lc.unused_url},
            {"api_key": "key-from-env", "model": self.lc.cohere_model},
        )


@pytest.mark.slow  # the first embedding loads the local model (~10 s)
class TestLocalIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[EmbedplugEmbeddings]:
        return EmbedplugEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return dict(LOCAL)


class TestOpenAIStubIntegration(ClosesModel, EmbeddingsIntegrationTests):
    """The installed ``openai`` provider against an OpenAI-protocol stub server."""

    lc: LangChainStubs

    @pytest.fixture(autouse=True)
    def _stubs(self, lc: LangChainStubs) -> None:
        self.lc = lc

    @property
    def embeddings_class(self) -> type[EmbedplugEmbeddings]:
        return EmbedplugEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return self.lc.openai_params(dimensions=256)


class TestCohereStubIntegration(ClosesModel, EmbeddingsIntegrationTests):
    """A Cohere-v2 protocol provider (test-only, on the core's base) against the Cohere stub."""

    lc: LangChainStubs

    @pytest.fixture(autouse=True)
    def _stubs(self, lc: LangChainStubs) -> None:
        self.lc = lc

    @property
    def embeddings_class(self) -> type[EmbedplugEmbeddings]:
        return EmbedplugEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return self.lc.cohere_params(dimensions=512)
