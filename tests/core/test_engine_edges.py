"""Edge cases found in review: stopping after fatal errors, undecodable answers, cache keys,
token estimates for CJK text, truncation with native quantised types, one-shot progress."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

import embedplug
from embedplug._api import Embedder
from embedplug._planning import estimate_tokens
from embedplug.protocols import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo
from embedplug.testing import Fault, StubServer
from embedplug.types import EmbeddingType

KEY = "edge-key"


class Edge(OpenAIEmbeddingsProvider):
    name: ClassVar[str] = "edge"
    default_model: ClassVar[str] = "m"
    path: ClassVar[str] = "/v1/embeddings"

    @classmethod
    def known_models(cls) -> list[ModelInfo]:
        return [
            ModelInfo(name="m", dimensions=64, max_items_per_call=5),
            ModelInfo(
                name="mat-int8",
                dimensions=64,
                matryoshka=True,
                min_dimensions=8,
                embedding_types=frozenset({EmbeddingType.FLOAT, EmbeddingType.INT8}),
            ),
        ]


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer("openai", dimensions=64, api_key=KEY) as s:
        yield s


@pytest.fixture
def openai_server() -> Iterator[StubServer]:
    """Dimensions as text-embedding-3-small gives them."""
    with StubServer("openai", dimensions=1536, api_key=KEY) as s:
        yield s


def make(server: StubServer, model: str = "m", key: str = KEY, **kwargs: Any) -> Embedder:
    provider = Edge(base_url=server.url, api_key=key)
    e = Embedder(provider, provider.model_info(model), **kwargs)
    e.engine.sleep = lambda s: None

    async def no_sleep(_: float) -> None:
        return None

    e.engine.async_sleep = no_sleep
    return e


texts = [f"text {i}" for i in range(100)]  # 20 batches of 5


def test_sync_stops_sending_after_an_authentication_error(server: StubServer) -> None:
    with (
        make(server, key="wrong", max_concurrency=2) as e,
        pytest.raises(embedplug.BatchFailedError) as info,
    ):
        e.embed(texts)
    assert server.request_count <= 2  # the batches already in flight, no more
    assert len(info.value.failed_positions) == 100


async def test_async_stops_sending_after_an_authentication_error(server: StubServer) -> None:
    e = make(server, key="wrong", max_concurrency=2)
    with pytest.raises(embedplug.BatchFailedError):
        await e.aembed(texts)
    await e.aclose()
    assert server.request_count <= 2


async def test_an_undecodable_answer_is_typed_and_stops_the_rest(server: StubServer) -> None:
    bogus = {"content-encoding": "gzip", "content-type": "application/json"}
    server.inject(Fault.status(200, headers=bogus, body=b"not gzip at all", times=None))
    e = make(server, max_concurrency=2)
    with pytest.raises(embedplug.EmbedplugError) as info:
        await e.aembed(texts)
    await e.aclose()
    errors = getattr(info.value, "errors", {0: info.value})
    assert all(isinstance(err, embedplug.ResponseFormatError) for err in errors.values())


def test_provider_settings_are_part_of_the_cache_key(
    openai_server: StubServer, tmp_path: Path
) -> None:
    server = openai_server
    cache = str(tmp_path / "c.sqlite")
    base = {"base_url": server.url + "/v1", "api_key": KEY, "cache": cache}
    with embedplug.embedder("openai:text-embedding-3-small", **base) as plain:
        plain.embed(["what is a cat"], input_type="search_query")
    prefixed = {**base, "prefixes": {"search_query": "query: "}}
    with embedplug.embedder("openai:text-embedding-3-small", **prefixed) as e:
        result = e.embed(["what is a cat"], input_type="search_query")
    assert server.request_count == 2  # a different prefix is a different vector: a miss
    assert result.meta["cache"]["misses"] == 1


@pytest.mark.parametrize("text", ["日本語のテキスト" * 50, "plain english words " * 20])
def test_token_estimate_is_never_below_a_real_tokenizer_bound(text: str) -> None:
    # CJK runs about one token per character, English about one per 4 characters
    bound = len(text) if not text.isascii() else len(text) // 4
    assert estimate_tokens(text) >= bound


def test_cjk_texts_are_split_to_respect_a_tokens_per_call_limit() -> None:
    info = ModelInfo(name="t", dimensions=8, max_items_per_call=2048, max_tokens_per_call=300_000)
    provider = Edge(base_url="http://127.0.0.1:9", api_key=KEY)
    e = Embedder(provider, info)
    plan = e.engine.plan(["中" * 425] * 2048)
    assert len(plan.batches) >= 3  # 870k characters cannot go in one 300k-token request
    for batch in plan.batches:
        assert sum(len(t) for t in batch.inputs if isinstance(t, str)) <= 300_000


def test_truncation_applies_to_every_type_even_a_native_one(server: StubServer) -> None:
    with make(server, "mat-int8") as e:
        result = e.embed(["a", "b"], dimensions=16, embedding_types=["float", "int8"])
    assert result["float"].shape == (2, 16)
    assert result["int8"].shape == (2, 16)
    assert server.requests[0].json["encoding_format"] == "base64"


def test_one_shot_embed_takes_progress(openai_server: StubServer) -> None:
    server = openai_server
    seen: list[tuple[int, int]] = []
    result = embedplug.embed(
        [f"t{i}" for i in range(10)],
        "openai:text-embedding-3-small",
        base_url=server.url + "/v1",
        api_key=KEY,
        max_batch_size=4,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    assert len(result) == 10
    assert seen[-1] == (10, 10)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_asyncio_run_per_call_leaves_no_open_client(server: StubServer) -> None:
    e = make(server)
    for _ in range(3):
        asyncio.run(e.aembed(["x"]))
    clients = [entry[0] for entry in e.engine._async.values()]
    assert all(client.is_closed for client in clients)
    np.testing.assert_allclose(
        e.embed(["x"]).embeddings[0], server.expected_vector("x", 64), atol=1e-6
    )
    e.close()


class Interrupting(Edge):
    """Raises KeyboardInterrupt (as Ctrl-C would) in the second batch, once the first
    batch has had its 503 and gone to sleep before retrying."""

    server: StubServer

    def build_request(self, batch: Any) -> Any:
        if batch.number == 1:
            for _ in range(200):
                if any(r.status == 503 for r in self.server.requests):
                    break
                time.sleep(0.01)
            time.sleep(0.2)  # batch 0 is now in its 30 s wait
            raise KeyboardInterrupt
        return super().build_request(batch)


def test_ctrl_c_wakes_and_stops_the_other_batches_retries(server: StubServer) -> None:
    # every answer says "retry in 30 s"; the engine's real clock is used on purpose
    server.inject(Fault.status(503, headers={"Retry-After": "30"}, times=None))
    provider = Interrupting(base_url=server.url, api_key=KEY)
    provider.server = server
    e = Embedder(provider, provider.model_info("m"), max_concurrency=2)
    with pytest.raises(KeyboardInterrupt):
        e.embed(texts)
    workers = [t for t in threading.enumerate() if t.name.startswith("embedplug_")]  # the pool
    assert workers  # batch 0's worker was still waiting to retry when Ctrl-C came
    for worker in workers:
        worker.join(timeout=10)  # far below the 30 s retry waits they were in
    assert not any(worker.is_alive() for worker in workers)
    assert server.request_count <= 2  # no retry was sent after the interrupt
    e.close()
