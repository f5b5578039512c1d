"""The fault suite: the engine against the stub server's injected faults (no real sleeping)."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pytest

import embedplug
from embedplug._api import Embedder
from embedplug.protocols import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo
from embedplug.testing import Fault, StubServer

KEY = "sk-fault-suite-SECRET-0123456789"


class StubOpenAI(OpenAIEmbeddingsProvider):
    name: ClassVar[str] = "stub-openai"
    default_model: ClassVar[str] = "m"
    path: ClassVar[str] = "/v1/embeddings"

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [ModelInfo(name="m", dimensions=64, max_items_per_call=96)]


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer("openai", dimensions=64, api_key=KEY) as s:
        yield s


def make(server: StubServer, sleeps: list[float] | None = None, **kwargs: Any) -> Embedder:
    provider = StubOpenAI(base_url=server.url, api_key=KEY)
    e = Embedder(provider, provider.model_info("m"), **kwargs)
    record = sleeps if sleeps is not None else []
    e.engine.sleep = record.append

    async def asleep(seconds: float) -> None:
        record.append(seconds)

    e.engine.async_sleep = asleep
    return e


def texts(n: int, tag: str = "t") -> list[str]:
    return [f"{tag} {i}" for i in range(n)]


def test_429_retry_after_is_waited_once(server: StubServer) -> None:
    sleeps: list[float] = []
    server.inject(Fault.status(429, headers={"Retry-After": "2"}))
    with make(server, sleeps) as e:
        e.embed(["x"])
    assert sleeps == [2.0]
    assert server.request_count == 2


def test_retry_after_ms_is_preferred(server: StubServer) -> None:
    sleeps: list[float] = []
    server.inject(Fault.status(429, headers={"Retry-After": "7", "retry-after-ms": "250"}))
    with make(server, sleeps) as e:
        e.embed(["x"])
    assert sleeps == [0.25]


def test_500_500_200_succeeds_after_two_retries(server: StubServer) -> None:
    sleeps: list[float] = []
    server.inject(Fault.status(500, times=2))
    with make(server, sleeps) as e:
        result = e.embed(texts(3))
    assert server.request_count == 3
    # exponential backoff from 0.5 s with up to 0.5 s of jitter: [0.5, 1.0], then [1.0, 1.5]
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0
    assert 1.0 <= sleeps[1] <= 1.5
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(texts(3)), atol=1e-6)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, embedplug.BadRequestError),
        (401, embedplug.AuthenticationError),
        (403, embedplug.PermissionDeniedError),
        (404, embedplug.NotFoundError),
        (422, embedplug.BadRequestError),
    ],
)
def test_client_errors_are_not_retried(
    server: StubServer, status: int, error: type[Exception]
) -> None:
    server.inject(Fault.status(status))
    with make(server) as e, pytest.raises(error):
        e.embed(["x"])
    assert server.request_count == 1


def test_quota_exhausted_429_is_not_retried(server: StubServer) -> None:
    server.inject(
        Fault.status(429, message="You exceeded your current quota", code="insufficient_quota")
    )
    with make(server) as e, pytest.raises(embedplug.QuotaExceededError):
        e.embed(["x"])
    assert server.request_count == 1


def test_reset_mid_body_is_retried_without_partial_vectors(server: StubServer) -> None:
    server.inject(Fault.reset())
    with make(server) as e:
        result = e.embed(texts(10))
    assert server.request_count == 2
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(texts(10)), atol=1e-6)
    assert all(count == 1 for count in server.inputs_seen.values())


@pytest.mark.parametrize(
    "fault",
    [
        Fault.malformed_json(),
        Fault.wrong_count(),
        Fault.duplicate_index(),
        Fault.out_of_range_index(),
        Fault.nan(),
        Fault.bad_base64(),
        Fault.wrong_dimension(),
    ],
    ids=lambda f: f.kind.value,
)
def test_broken_answers_are_typed_errors_with_request_id(server: StubServer, fault: Fault) -> None:
    server.inject(fault)
    with make(server) as e, pytest.raises(embedplug.ResponseFormatError) as info:
        e.embed(texts(5))
    assert info.value.request_id is not None
    assert info.value.request_id.startswith("req-")
    assert info.value.batch == 0
    assert server.request_count == 1  # a broken answer is not retried


def test_shuffled_indices_are_reordered(server: StubServer) -> None:
    server.inject(Fault.shuffle())
    with make(server) as e:
        result = e.embed(texts(40))
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(texts(40)), atol=1e-6)


def test_250_texts_go_out_as_96_96_58_within_the_concurrency_limit(server: StubServer) -> None:
    server.inject(Fault.latency(0.05, times=3))
    with make(server, max_concurrency=2) as e:
        e.embed(texts(250))
    sizes = sorted(len(r.json["input"]) for r in server.requests)
    assert sizes == [58, 96, 96]
    assert server.peak_in_flight <= 2


def test_a_batch_failing_for_good_keeps_the_others(server: StubServer) -> None:
    # one batch meets five 503s in a row (all its attempts); the others succeed
    server.inject(Fault.status(503, times=5))
    with make(server, max_concurrency=1) as e, pytest.raises(embedplug.BatchFailedError) as info:
        e.embed(texts(250))
    error = info.value
    assert error.failed_positions == list(range(96))
    kept = np.arange(96, 250)
    expected = server.expected_vectors(texts(250))
    np.testing.assert_allclose(error.partial.embeddings[kept], expected[kept], atol=1e-6)
    assert isinstance(error.errors[0], embedplug.ServerError)


async def test_500_concurrent_async_embeds_through_10_connections(server: StubServer) -> None:
    e = make(server, max_concurrency=10)
    results = await asyncio.gather(*(e.aembed([f"c {i}", f"d {i}"]) for i in range(500)))
    assert len(results) == 500
    assert server.peak_in_flight <= 10
    client, _ = await e.engine._async_client()
    pool = client._transport._pool  # type: ignore[attr-defined]
    assert len(pool.connections) <= 10
    await e.aclose()
    assert client.is_closed
    gc.collect()


def test_key_never_in_reprs_errors_or_logs(
    server: StubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "embedplug"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    server.inject(Fault.status(500), Fault.status(401))
    with make(server) as e:
        with pytest.raises(embedplug.AuthenticationError) as info:
            e.embed(["x"])
        texts_seen = [repr(e), repr(e.provider), str(info.value), repr(info.value), caplog.text]
    assert "httpcore" in caplog.text or "httpx" in caplog.text  # debug logging really ran
    for text in texts_seen:
        assert KEY not in text
