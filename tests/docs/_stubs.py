"""One stub server per provider, and the environment variables a user would set for each."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from embedplug.testing import OpenAIVariant, StubServer
from embedplug_cohere._stub import CohereJobsStub

KEYS = {
    "openai": "docs-openai-key",
    "cohere": "docs-cohere-key",
    "heroku": "docs-heroku-key",
    "nugen": "docs-nugen-key",
    "ig1": "docs-ig1-key",
}


class DocsOpenAIVariant(OpenAIVariant):
    """OpenAI's models, plus the open models the docs serve from a self-hosted server.

    Their real vector length, so that a page declaring ``dimensions=1024`` for
    bge-m3 holds against the stub as against vLLM or TEI.
    """

    name = "docs-openai"
    model_dimensions: ClassVar[Mapping[str, int]] = {
        **OpenAIVariant.model_dimensions,
        "BAAI/bge-m3": 1024,
        "BAAI/bge-large-en-v1.5": 1024,
        "nomic-embed-text": 768,
        "intfloat/e5-large-v2": 1024,
    }


class IG1Stub(StubServer):
    """IG1 under one base URL: its Cohere path (qwen3-vl) and its OpenAI path (bge-m3).

    The provider sends both models to ``IG1AI_BASE_URL``; the stub has one
    variant per path, so requests for the OpenAI path go to a second (never
    started) ``ig1-openai`` stub's handler.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__("ig1", **options)
        self.openai = StubServer("ig1-openai", **options)

    def _respond(self, handler: Any, record: Any, *args: Any) -> None:
        if record.path == self.openai.variant.path:
            self.openai._respond(handler, record, *args)
        else:
            super()._respond(handler, record, *args)


@contextlib.contextmanager
def provider_stubs() -> Iterator[dict[str, str]]:
    """Start every stub; yield the environment that points each provider at its stub."""
    servers = {
        "openai": StubServer(DocsOpenAIVariant(), api_key=KEYS["openai"]),
        "cohere": CohereJobsStub(api_key=KEYS["cohere"], job_polls=0, validation_polls=0),
        "heroku": StubServer("heroku", api_key=KEYS["heroku"]),
        "nugen": StubServer("nugen", api_key=KEYS["nugen"]),
        "ig1": IG1Stub(api_key=KEYS["ig1"]),
    }
    with contextlib.ExitStack() as stack:
        for server in servers.values():
            stack.enter_context(server)
        yield {
            "OPENAI_BASE_URL": servers["openai"].url + "/v1",
            "OPENAI_API_KEY": KEYS["openai"],
            "CO_API_URL": servers["cohere"].url,
            "CO_API_KEY": KEYS["cohere"],
            "EMBEDDING_URL": servers["heroku"].url,
            "EMBEDDING_KEY": KEYS["heroku"],
            "NUGEN_BASE_URL": servers["nugen"].url,
            "NUGEN_API_KEY": KEYS["nugen"],
            "IG1AI_BASE_URL": servers["ig1"].url,
            "IG1AI_API_KEY": KEYS["ig1"],
        }
