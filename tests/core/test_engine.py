"""Engine logic with httpx.MockTransport: planning, ordering, retries' clock, partial failure."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
import numpy as np
import orjson
import pytest

import embedplug
from embedplug._api import Embedder
from embedplug._http import retry_after_seconds
from embedplug._ratelimit import RateLimiter
from embedplug.engine import RetryPolicy
from embedplug.protocols import OpenAIEmbeddingsProvider
from embedplug.provider import Modality, ModelInfo

DIM = 16


def vector(text: str, dim: int = DIM) -> np.ndarray[Any, Any]:
    seed = int.from_bytes(text.encode()[:8].ljust(8, b"\0"), "little") ^ len(text)
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


class FakeProvider(OpenAIEmbeddingsProvider):
    name: ClassVar[str] = "fake"
    default_model: ClassVar[str] = "m96"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:1"
    api_key_required: ClassVar[bool] = False
    path: ClassVar[str] = "/v1/embeddings"

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [
            ModelInfo(name="m96", dimensions=DIM, max_items_per_call=96),
            ModelInfo(
                name="mat", dimensions=DIM, matryoshka=True, min_dimensions=4, max_items_per_call=8
            ),
            ModelInfo(
                name="img",
                dimensions=DIM,
                modalities=frozenset({Modality.TEXT, Modality.IMAGE}),
                max_image_bytes=100,
            ),
        ]


class Recorder:
    """A MockTransport handler that answers like an OpenAI server, shuffling the data."""

    def __init__(self, fail: Callable[[int, list[str]], httpx.Response | None] | None = None):
        self.batches: list[list[str]] = []
        self.lock = threading.Lock()
        self.fail = fail

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        texts = body["input"]
        with self.lock:
            self.batches.append(texts)
            number = len(self.batches)
        if self.fail is not None:
            response = self.fail(number, texts)
            if response is not None:
                return response
        data = [
            {"index": i, "embedding": base64.b64encode(vector(t).tobytes()).decode()}
            for i, t in enumerate(texts)
        ]
        data.reverse()
        return httpx.Response(200, json={"data": data, "usage": {"prompt_tokens": len(texts)}})

    async def handle_async(self, request: httpx.Request) -> httpx.Response:
        return self(request)


def make(model: str = "m96", recorder: Recorder | None = None, **kwargs: Any) -> Embedder:
    recorder = recorder or Recorder()
    provider = FakeProvider()
    embedder = Embedder(
        provider,
        provider.model_info(model),
        transport=httpx.MockTransport(recorder),
        async_transport=httpx.MockTransport(recorder.handle_async),
        **kwargs,
    )
    embedder.engine.sleep = lambda s: None

    async def no_sleep(_: float) -> None:
        return None

    embedder.engine.async_sleep = no_sleep
    return embedder


def test_batches_and_order() -> None:
    recorder = Recorder()
    texts = [f"text {i}" for i in range(250)]
    with make(recorder=recorder) as e:
        result = e.embed(texts)
    assert sorted(len(b) for b in recorder.batches) == [58, 96, 96]
    assert np.allclose(result.embeddings, np.stack([vector(t) for t in texts]))
    assert result.usage.input_tokens == 250
    assert result.usage.requests == 3


async def test_sync_and_async_give_identical_results() -> None:
    texts = [f"sentence {i}" for i in range(300)]
    e = make()
    sync = await asyncio.to_thread(e.embed, texts, embedding_types=["float", "ubinary"])
    async_ = await e.aembed(texts, embedding_types=["float", "ubinary"])
    await e.aclose()
    for kind in ("float", "ubinary"):
        assert np.array_equal(sync[kind], async_[kind])


def test_empty_list_sends_nothing() -> None:
    recorder = Recorder()
    with make(recorder=recorder) as e:
        result = e.embed([])
    assert len(result) == 0
    assert recorder.batches == []


def test_invalid_input_sends_nothing() -> None:
    recorder = Recorder()
    with make(recorder=recorder) as e, pytest.raises(embedplug.InvalidInputError) as info:
        e.embed(["fine", "also fine", "   "])
    assert info.value.position == 2
    assert recorder.batches == []


def test_image_on_text_model_refused() -> None:
    recorder = Recorder()
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 10
    with make(recorder=recorder) as e, pytest.raises(embedplug.InvalidInputError, match="image"):
        e.embed(["a", embedplug.Image.from_bytes(png)])
    assert recorder.batches == []


def test_matryoshka_truncates_client_side() -> None:
    with make("mat") as e:
        result = e.embed(["one", "two"], dimensions=8)
    expected = np.stack([vector("one")[:8], vector("two")[:8]])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert result.embeddings.shape == (2, 8)
    assert np.allclose(result.embeddings, expected, atol=1e-6)


def test_one_failed_batch_keeps_the_others() -> None:
    def fail(number: int, texts: list[str]) -> httpx.Response | None:
        if "text 100" in texts:
            return httpx.Response(400, json={"error": {"message": "bad batch"}})
        return None

    recorder = Recorder(fail)
    texts = [f"text {i}" for i in range(250)]
    with make(recorder=recorder) as e, pytest.raises(embedplug.BatchFailedError) as info:
        e.embed(texts)
    error = info.value
    assert error.failed_positions == list(range(96, 192))
    kept = [i for i in range(250) if i not in set(error.failed_positions)]
    assert np.allclose(error.partial.embeddings[kept], np.stack([vector(texts[i]) for i in kept]))
    assert isinstance(next(iter(error.errors.values())), embedplug.BadRequestError)


def test_authentication_error_stops_further_batches() -> None:
    def fail(number: int, texts: list[str]) -> httpx.Response | None:
        return httpx.Response(401, json={"error": {"message": "bad key"}})

    recorder = Recorder(fail)
    with (
        make(recorder=recorder, max_concurrency=1) as e,
        pytest.raises(embedplug.BatchFailedError) as info,
    ):
        e.embed([f"t{i}" for i in range(500)])
    assert len(recorder.batches) == 1  # the other 5 batches were not sent
    assert len(info.value.failed_positions) == 500


def test_max_concurrency_bounds_threads() -> None:
    in_flight = 0
    peak = 0
    lock = threading.Lock()
    gate = threading.Event()

    def fail(number: int, texts: list[str]) -> httpx.Response | None:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        gate.wait(0.02)
        with lock:
            in_flight -= 1
        return None

    with make(recorder=Recorder(fail), max_concurrency=3) as e:
        e.embed([f"t{i}" for i in range(96 * 12)])
    assert peak == 3


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, 10.0),
        ({"x-ratelimit-reset": "3s"}, 3.0),
        ({"x-ratelimit-reset": "1445412490"}, 10.0),
        ({}, None),
        ({"retry-after": "soon"}, None),
    ],
)
def test_retry_after_parsing(headers: dict[str, str], expected: float | None) -> None:
    now = 1445412480.0  # 10 s before both dates above
    assert retry_after_seconds(headers, now=now) == expected


def test_retry_policy_waits_what_the_server_asks() -> None:
    sleeps: list[float] = []
    calls = 0

    def fail(number: int, texts: list[str]) -> httpx.Response | None:
        nonlocal calls
        calls += 1
        if calls == 1:
            return httpx.Response(429, headers={"retry-after": "2"}, json={"error": "slow"})
        return None

    with make(recorder=Recorder(fail), retry=RetryPolicy(max_attempts=3)) as e:
        e.engine.sleep = sleeps.append
        e.embed(["x"])
    assert sleeps == [2.0]


def test_retry_after_longer_than_allowed_is_not_waited_for() -> None:
    def fail(number: int, texts: list[str]) -> httpx.Response | None:
        return httpx.Response(429, headers={"retry-after": "3600"}, json={"error": "later"})

    recorder = Recorder(fail)
    with make(recorder=recorder) as e, pytest.raises(embedplug.RateLimitError):
        e.embed(["x"])
    assert len(recorder.batches) == 1


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    limiter = RateLimiter(requests_per_minute=60, tokens_per_minute=None, clock=lambda: now[0])
    waits: list[float] = []
    for _ in range(62):
        limiter.acquire(1, waits.append)
    # a full bucket of 60 passes at once, then one request a second
    assert len(waits) == 2
    assert waits == pytest.approx([1.0, 2.0])


def test_tokens_per_minute_limit() -> None:
    now = [0.0]
    limiter = RateLimiter(requests_per_minute=None, tokens_per_minute=1000, clock=lambda: now[0])
    waits: list[float] = []
    limiter.acquire(800, waits.append)
    limiter.acquire(400, waits.append)
    assert waits == pytest.approx([12.0])  # 200 tokens short at 1000/min


def test_progress_callback_reaches_total() -> None:
    seen: list[tuple[int, int]] = []
    with make() as e:
        e.embed([f"t{i}" for i in range(200)], on_progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (200, 200)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
