"""The shared provider contract, run for ``heroku`` against the ``heroku`` stub variant."""

from __future__ import annotations

from typing import Any, ClassVar

from embedplug.testing import StubServer
from embedplug.testing.conformance import ProviderConformanceTests


class TestHerokuConformance(ProviderConformanceTests):
    provider: ClassVar[str] = "heroku"
    model: ClassVar[str] = "cohere-embed-multilingual"
    stub_variant: ClassVar[str] = "heroku"
    input_type: ClassVar[str | None] = "search_document"


class TestHerokuRawConformance(TestHerokuConformance):
    """The same contract with ``encoding_format="raw"`` (JSON numbers)."""

    def provider_options(self, server: StubServer) -> dict[str, Any]:
        return {**super().provider_options(server), "encoding_format": "raw"}
