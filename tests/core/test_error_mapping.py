"""Which error a provider's answer becomes: the status table, and errors inside a 200.

Every provider is driven through ``httpx.MockTransport``; nothing leaves the process.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import embedplug
from embedplug import errors
from embedplug.errors import (
    AuthenticationError,
    BadRequestError,
    ClientClosedRequestError,
    ErrorEnvelopeError,
    InvalidTokenError,
    NotImplementedByProviderError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    error_for_status,
)

KEY = "sk-test-mapping-0123456789"

# ---------------------------------------------------------------------------- statuses


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (498, InvalidTokenError, False),
        (499, ClientClosedRequestError, False),
        (501, NotImplementedByProviderError, False),
        (500, ServerError, True),
        (503, ServerError, True),
        (408, ServerError, True),
        (409, ServerError, True),
        (429, RateLimitError, True),
        (400, BadRequestError, False),
        (418, BadRequestError, False),  # not in the table: a 4xx is a bad request
        (599, ServerError, True),  # not in the table: a 5xx is a server error
    ],
)
def test_status_classes(status: int, cls: type[ProviderError], retryable: bool) -> None:
    error = error_for_status(status, "boom", provider="p")
    assert type(error) is cls
    assert error.status == status
    assert error.retryable is retryable
    assert embedplug.RetryPolicy().should_retry(error) is retryable


def test_cancelled_and_not_implemented_are_not_bad_requests_nor_server_errors() -> None:
    assert not isinstance(error_for_status(499, "cancelled"), BadRequestError)
    assert not isinstance(error_for_status(501, "no"), (BadRequestError, ServerError))
    assert isinstance(error_for_status(498, "deny-listed"), BadRequestError)


def test_every_status_of_the_table_is_documented() -> None:
    from pathlib import Path

    concepts = Path(__file__).parents[2] / "docs" / "concepts.md"
    text = concepts.read_text(encoding="utf-8")
    for status, cls in errors._STATUS_CLASSES.items():
        rows = [line for line in text.splitlines() if line.startswith(f"| {status} ")]
        assert rows, f"docs/concepts.md has no row for status {status}"
        assert f"`{cls.__name__}`" in rows[0], rows[0]


def _openai(handler: Any, **options: Any) -> Any:
    return embedplug.embedder(
        "openai:text-embedding-3-small",
        api_key=KEY,
        transport=httpx.MockTransport(handler),
        retry=embedplug.RetryPolicy(max_attempts=3, initial_backoff=0.0, jitter=0.0),
        **options,
    )


@pytest.mark.parametrize(
    ("status", "cls", "sent"),
    [
        (499, ClientClosedRequestError, 1),
        (501, NotImplementedByProviderError, 1),
        (503, ServerError, 3),
    ],
)
def test_only_transient_statuses_are_resent(
    status: int, cls: type[ProviderError], sent: int
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json={"message": f"status {status}"})

    with _openai(handler) as embedder, pytest.raises(cls) as info:
        embedder.embed(["x"])
    assert info.value.status == status
    assert f"status {status}" in str(info.value)
    assert len(seen) == sent


# ---------------------------------------------------------------------------- envelopes

PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("openai:text-embedding-3-small", "https://api.example.com/v1"),
    "cohere": ("cohere:embed-v4.0", "https://api.example.com"),
    "heroku": ("heroku:cohere-embed-multilingual", "https://api.example.com"),
    "nugen": ("nugen:nugen-flash-embed", "https://api.example.com"),
    "ig1-qwen": ("ig1:qwen3-vl-embedding-8b", "https://api.example.com"),
    "ig1-bge": ("ig1:bge-m3", "https://api.example.com"),
}

ENVELOPES: dict[str, tuple[dict[str, Any], type[ProviderError], str]] = {
    "openai-quota": (
        {
            "error": {
                "message": "You exceeded your current quota, check your plan",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        },
        QuotaExceededError,
        "You exceeded your current quota",
    ),
    "numeric-code": (
        {"error": {"code": 429, "message": "Rate limit reached for requests"}},
        RateLimitError,
        "Rate limit reached",
    ),
    "code-string": (
        {
            "error": {
                "message": "Incorrect API key",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
        AuthenticationError,
        "Incorrect API key",
    ),
    "cohere-message": (
        {"id": "abc", "message": "the model is warming up, try again in a minute", "status": 503},
        ServerError,
        "the model is warming up",
    ),
    "message-only": (
        {"message": "something went wrong on our side: ref 7f3a"},
        ErrorEnvelopeError,
        "something went wrong on our side: ref 7f3a",
    ),
    "error-string": (
        {"error": "upstream worker crashed"},
        ErrorEnvelopeError,
        "upstream worker crashed",
    ),
    "fastapi-detail": (
        {"detail": "Not authenticated"},
        ErrorEnvelopeError,
        "Not authenticated",
    ),
}


@pytest.mark.parametrize("case", sorted(ENVELOPES))
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_an_error_inside_a_200_raises_the_typed_error(provider: str, case: str) -> None:
    model, base_url = PROVIDERS[provider]
    body, cls, message = ENVELOPES[case]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=body, headers={"x-request-id": "req-42"})

    embedder = embedplug.embedder(
        model,
        api_key=KEY,
        base_url=base_url,
        transport=httpx.MockTransport(handler),
        retry=embedplug.RetryPolicy(max_attempts=1),
    )
    with embedder, pytest.raises(ProviderError) as info:
        embedder.embed(["some text"])
    error = info.value
    assert type(error) is cls, f"{type(error).__name__}: {error}"
    assert message in str(error)
    assert "malformed response" not in str(error)
    assert error.provider == provider.partition("-")[0]
    assert error.request_id == "req-42"
    if cls is ErrorEnvelopeError:
        assert isinstance(error, ResponseFormatError)
        assert error.status == 200
    assert len(seen) == 1


def test_a_success_with_empty_error_fields_is_not_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        data = [{"object": "embedding", "index": 0, "embedding": [0.5] * 1536}]
        return httpx.Response(
            200, json={"data": data, "error": None, "message": "ok", "usage": {"total_tokens": 1}}
        )

    with _openai(handler) as embedder:
        assert embedder.embed(["x"]).embeddings.shape == (1, 1536)


def test_a_protocol_a_plugin_wrote_falls_back_on_envelopes_too() -> None:
    """A provider whose own parser trips over an error body (KeyError) still raises the
    provider's message, not "malformed response: KeyError"."""
    from embedplug.protocols import OpenAIEmbeddingsProvider
    from embedplug.provider import Batch, BatchResult, ModelInfo

    class Naive(OpenAIEmbeddingsProvider):
        name = "naive"
        default_model = "m"

        @classmethod
        def known_models(cls) -> list[ModelInfo]:
            return [ModelInfo(name="m", dimensions=4)]

        def parse_response(self, response: httpx.Response, batch: Batch) -> BatchResult:
            return BatchResult(vectors=response.json()["vectors"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"error": {"message": "no capacity", "code": "server_error"}}
        )

    provider = Naive(api_key=KEY, base_url="https://naive.example.com")
    embedder = embedplug.Embedder(
        provider,
        provider.known_models()[0],
        transport=httpx.MockTransport(handler),
        retry=embedplug.RetryPolicy(max_attempts=1),
    )
    with embedder, pytest.raises(ServerError, match="no capacity"):
        embedder.embed(["x"])


@pytest.mark.parametrize("case", ["message-only", "code-string"])
def test_cohere_jobs_client_recognises_error_envelopes(case: str) -> None:
    from embedplug_cohere.jobs import EmbedJobsClient

    body, cls, message = ENVELOPES[case]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    client = EmbedJobsClient(
        api_key=KEY,
        base_url="https://api.example.com",
        transport=httpx.MockTransport(handler),
        retry=embedplug.RetryPolicy(max_attempts=1),
    )
    with client, pytest.raises(cls, match=message):
        client.create_job("embed-v4.0", "dataset-1")
