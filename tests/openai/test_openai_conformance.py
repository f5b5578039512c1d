"""The shared provider contract, run for ``openai`` against the ``openai`` stub variant."""

from __future__ import annotations

from typing import Any, ClassVar

from embedplug.testing import StubServer
from embedplug.testing.conformance import ProviderConformanceTests


class TestOpenAIConformance(ProviderConformanceTests):
    provider: ClassVar[str] = "openai"
    model: ClassVar[str] = "text-embedding-3-small"
    stub_variant: ClassVar[str] = "openai"

    def provider_options(self, server: StubServer) -> dict[str, Any]:
        return {"base_url": server.url + "/v1", "api_key": self.api_key}


class TestOpenAIFloatsConformance(TestOpenAIConformance):
    """The same contract against a server that ignores ``encoding_format`` (JSON floats)."""

    stub_variant: ClassVar[str] = "openai-floats"
