"""EmbedplugEmbedding against the Cohere-protocol stub: input types, images, batching,
async, instrumentation and secrets."""

from __future__ import annotations

import base64
import io
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core.callbacks import CallbackManager
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.callbacks.schema import CBEventType, EventPayload
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import (
    EmbeddingEndEvent,
    EmbeddingStartEvent,
)
from llamaindex_support import (
    MULTIMODAL_MODEL,
    PROVIDER,
    STUB_DIMENSIONS,
    STUB_KEY,
    TEXT_ONLY_MODEL,
    png_bytes,
)

import llama_index.embeddings.embedplug as package
from embedplug import ConfigurationError, InvalidInputError, RetryPolicy
from embedplug.testing import StubServer
from llama_index.embeddings.embedplug import EmbedplugEmbedding

pytestmark = pytest.mark.usefixtures("stub_provider")

MODEL = f"{PROVIDER}:{MULTIMODAL_MODEL}"


Make = Callable[..., EmbedplugEmbedding]


@pytest.fixture
def closing() -> Iterator[list[EmbedplugEmbedding]]:
    """Embeddings to close at teardown (their sync HTTP clients hold sockets)."""
    made: list[EmbedplugEmbedding] = []
    yield made
    for emb in made:
        emb.close()


@pytest.fixture
def make(cohere_stub: StubServer, closing: list[EmbedplugEmbedding]) -> Make:
    """``make(model=MODEL, **kwargs)``: an EmbedplugEmbedding on the stub, closed at teardown."""

    def factory(model: str = MODEL, **kwargs: Any) -> EmbedplugEmbedding:
        emb = EmbedplugEmbedding(model, api_key=STUB_KEY, base_url=cohere_stub.url, **kwargs)
        closing.append(emb)
        return emb

    return factory


def bodies(server: StubServer) -> list[dict[str, Any]]:
    return [r.json for r in server.requests if r.path == "/v2/embed"]


def assert_close(actual: list[list[float]], expected: np.ndarray[Any, Any]) -> None:
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float32), expected, atol=1e-6)


# ---------------------------------------------------------------------------- surface


def test_public_surface() -> None:
    assert package.__all__ == ["EmbedplugEmbedding"]
    assert issubclass(EmbedplugEmbedding, MultiModalEmbedding)
    assert EmbedplugEmbedding.class_name() == "EmbedplugEmbedding"


def test_fields_and_batch_size_default_to_the_model(make: Make, cohere_stub: StubServer) -> None:
    emb = make()
    assert emb.model_name == MODEL
    assert emb.embed_batch_size == 96  # the model's max_items_per_call, not LlamaIndex's 10
    assert emb.dimensions is None
    assert emb.embedding_type == "float"
    assert emb.model_info.dimensions == STUB_DIMENSIONS
    assert emb.supports_images
    assert emb.provider_options == {"base_url": cohere_stub.url}

    assert make(embed_batch_size=20).embed_batch_size == 20
    capped = make(max_batch_size=32)
    assert capped.embed_batch_size == 32
    assert capped.provider_options["max_batch_size"] == 32
    # a bare provider name resolves to its default model
    assert make(model=PROVIDER).model_name == MODEL


def test_options_the_adapter_owns_are_refused(make: Make, cohere_stub: StubServer) -> None:
    with pytest.raises(ValueError, match="chooses input_type per call"):
        make(input_type="search_query")
    with pytest.raises(ValueError, match="embedding_type="):
        make(embedding_types=["int8"])
    with pytest.raises(ValueError, match="not both"):
        EmbedplugEmbedding(MODEL, model_name="local:all-minilm-l6-v2")


def test_bad_dimensions_fail_at_construction(make: Make, cohere_stub: StubServer) -> None:
    with pytest.raises(InvalidInputError, match="cannot give 32 dimensions"):
        make(dimensions=32)
    assert cohere_stub.request_count == 0


# ---------------------------------------------------------------------------- input types


def test_queries_and_documents_use_their_input_types(make: Make, cohere_stub: StubServer) -> None:
    emb = make()
    query = emb.get_query_embedding("where do cats sleep?")
    text = emb.get_text_embedding("Cats sleep on windowsills.")
    texts = emb.get_text_embedding_batch(["one", "two"])

    sent = bodies(cohere_stub)
    assert [(b["input_type"], b["texts"]) for b in sent] == [
        ("search_query", ["where do cats sleep?"]),
        ("search_document", ["Cats sleep on windowsills."]),
        ("search_document", ["one", "two"]),
    ]
    assert all(b["embedding_types"] == ["base64"] for b in sent)  # floats travel as base64
    assert_close([query], cohere_stub.expected_vectors(["where do cats sleep?"]))
    assert_close([text], cohere_stub.expected_vectors(["Cats sleep on windowsills."]))
    assert_close(texts, cohere_stub.expected_vectors(["one", "two"]))
    assert all(isinstance(x, float) for x in query)


def test_input_types_follow_the_model_and_can_be_changed(
    make: Make, cohere_stub: StubServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    text_only = f"{PROVIDER}:{TEXT_ONLY_MODEL}"  # takes search_document and classification

    # a default the model lacks is dropped (nothing sent), not an error
    emb = make(model=text_only)
    assert emb.query_input_type is None
    assert emb.text_input_type == "search_document"
    seen: list[Any] = []
    original = emb.embedder.embed

    def spy(inputs: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("input_type"))
        return original(inputs, **kwargs)

    monkeypatch.setattr(emb.embedder, "embed", spy)
    emb.get_query_embedding("q")
    emb.get_text_embedding("t")
    assert [str(s) if s else None for s in seen] == [None, "search_document"]

    # an explicit choice the model lacks is an error at construction
    with pytest.raises(ValueError, match="does not take query_input_type='search_query'"):
        make(model=text_only, query_input_type="search_query")
    with pytest.raises(ValueError, match="not an input type"):
        make(query_input_type="questions")

    # and one it has is sent
    chosen = make(model=text_only, query_input_type="classification", text_input_type=None)
    assert chosen.to_dict()["query_input_type"] == "classification"
    chosen.get_query_embedding("label me")
    assert bodies(cohere_stub)[-1]["input_type"] == "classification"


def test_int8_vectors_reach_llama_index_as_floats(make: Make, cohere_stub: StubServer) -> None:
    emb = make(embedding_type="int8")
    vectors = emb.get_text_embedding_batch(["alpha", "beta"])
    assert bodies(cohere_stub)[0]["embedding_types"] == ["int8"]
    assert all(isinstance(x, float) for x in vectors[0])
    expected = cohere_stub.expected_vectors(["alpha", "beta"], embedding_type="int8")
    np.testing.assert_array_equal(np.asarray(vectors), expected.astype(np.float64))


# ---------------------------------------------------------------------------- images


def test_images_reach_the_stub_as_images(
    make: Make, cohere_stub: StubServer, two_images: tuple[Path, Path]
) -> None:
    red, blue = two_images
    emb = make()
    red_bytes, blue_bytes = red.read_bytes(), blue.read_bytes()
    green_bytes = png_bytes((20, 200, 20))

    by_path = emb.get_image_embedding(str(red))
    by_bytesio = emb.get_image_embedding(io.BytesIO(blue_bytes))
    batch = emb.get_image_embedding_batch([str(red), io.BytesIO(green_bytes)])

    sent = bodies(cohere_stub)
    assert len(sent) == 3
    for body in sent:
        assert body["input_type"] == "image"
        assert "texts" not in body
        assert "inputs" not in body
    decoded = [[base64.b64decode(url.split(",", 1)[1]) for url in body["images"]] for body in sent]
    assert decoded == [[red_bytes], [blue_bytes], [red_bytes, green_bytes]]
    assert all(url.startswith("data:image/png;base64,") for b in sent for url in b["images"])

    assert_close([by_path], cohere_stub.expected_vectors([red_bytes]))
    assert_close([by_bytesio], cohere_stub.expected_vectors([blue_bytes]))
    assert_close(batch, cohere_stub.expected_vectors([red_bytes, green_bytes]))
    assert by_path == batch[0]


def test_other_image_forms_are_taken_too(
    make: Make, cohere_stub: StubServer, two_images: tuple[Path, Path]
) -> None:
    red, _ = two_images
    data = red.read_bytes()
    data_url = "data:image/png;base64," + base64.b64encode(data).decode()
    emb = make()
    vectors = [
        emb.get_image_embedding(red),  # type: ignore[arg-type]  # pathlib.Path
        emb.get_image_embedding(data),  # type: ignore[arg-type]  # bytes
        emb.get_image_embedding(data_url),
    ]
    assert vectors[0] == vectors[1] == vectors[2]
    assert_close([vectors[0]], cohere_stub.expected_vectors([data]))
    assert cohere_stub.request_count == 3


def test_image_batches_follow_embed_batch_size(
    make: Make, cohere_stub: StubServer, tmp_path: Path
) -> None:
    emb = make(embed_batch_size=2)
    paths = []
    for i in range(5):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png_bytes((i * 40, 10, 10)))
        paths.append(str(path))
    vectors = emb.get_image_embedding_batch(paths)
    assert [len(b["images"]) for b in bodies(cohere_stub)] == [2, 2, 1]
    assert_close(vectors, cohere_stub.expected_vectors([Path(p).read_bytes() for p in paths]))


async def test_text_only_model_refuses_images_before_sending(
    make: Make, cohere_stub: StubServer, two_images: tuple[Path, Path]
) -> None:
    emb = make(model=f"{PROVIDER}:{TEXT_ONLY_MODEL}")
    assert not emb.supports_images
    red, _ = two_images
    with pytest.raises(InvalidInputError, match="not images"):
        emb.get_image_embedding(str(red))
    with pytest.raises(InvalidInputError, match="not images"):
        emb.get_image_embedding_batch([str(red), str(red)])
    with pytest.raises(InvalidInputError, match="not images"):
        await emb.aget_image_embedding(io.BytesIO(red.read_bytes()))
    with pytest.raises(InvalidInputError, match="not images"):
        await emb.aget_image_embedding_batch([str(red)])
    # also before reading anything: a missing file gives the same clear error
    with pytest.raises(InvalidInputError, match="not images"):
        emb.get_image_embedding("/nonexistent/picture.png")
    assert cohere_stub.request_count == 0
    await emb.aclose()


def test_bad_image_inputs_raise_before_sending(
    make: Make, cohere_stub: StubServer, tmp_path: Path
) -> None:
    emb = make()
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("just text")
    with pytest.raises(InvalidInputError, match="not a png"):
        emb.get_image_embedding(str(not_an_image))
    with pytest.raises(InvalidInputError, match="not fetched"):
        emb.get_image_embedding("https://example.com/cat.png")
    assert cohere_stub.request_count == 0


# ---------------------------------------------------------------------------- batching


def test_250_texts_go_out_as_96_96_58(make: Make, cohere_stub: StubServer) -> None:
    emb = make()
    texts = [f"document number {i}" for i in range(250)]
    vectors = emb.get_text_embedding_batch(texts)
    assert [len(b["texts"]) for b in bodies(cohere_stub)] == [96, 96, 58]
    assert cohere_stub.request_count == 3
    assert_close(vectors, cohere_stub.expected_vectors(texts))


async def test_250_texts_go_out_as_96_96_58_async(make: Make, cohere_stub: StubServer) -> None:
    emb = make()
    texts = [f"document number {i}" for i in range(250)]
    vectors = await emb.aget_text_embedding_batch(texts)
    assert sorted(len(b["texts"]) for b in bodies(cohere_stub)) == [58, 96, 96]
    assert_close(vectors, cohere_stub.expected_vectors(texts))
    await emb.aclose()


def test_llama_index_default_batch_size_would_send_25_calls(
    make: Make, cohere_stub: StubServer
) -> None:
    # the control for the test above: LlamaIndex's own default is 10 per call
    emb = make(embed_batch_size=10)
    emb.get_text_embedding_batch([f"document number {i}" for i in range(250)])
    assert cohere_stub.request_count == 25


# ---------------------------------------------------------------------------- async


async def test_async_gives_the_same_vectors_as_sync(
    make: Make, cohere_stub: StubServer, two_images: tuple[Path, Path]
) -> None:
    emb = make()
    red, blue = two_images
    texts = ["a cat", "a dog", "a bird"]
    assert await emb.aget_query_embedding("pets") == emb.get_query_embedding("pets")
    assert await emb.aget_text_embedding("a cat") == emb.get_text_embedding("a cat")
    assert await emb.aget_text_embedding_batch(texts) == emb.get_text_embedding_batch(texts)
    assert await emb.aget_image_embedding(str(red)) == emb.get_image_embedding(str(red))
    images = [str(red), str(blue)]
    assert await emb.aget_image_embedding_batch(images) == emb.get_image_embedding_batch(images)
    types = [b["input_type"] for b in bodies(cohere_stub)]
    assert types.count("search_query") == 2
    assert types.count("image") == 4
    await emb.aclose()


async def test_async_methods_use_the_async_engine(
    make: Make,
    cohere_stub: StubServer,
    monkeypatch: pytest.MonkeyPatch,
    two_images: tuple[Path, Path],
) -> None:
    emb = make()

    def no_sync(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an async method called the sync Embedder.embed")

    monkeypatch.setattr(emb.embedder, "embed", no_sync)
    red, _ = two_images
    await emb.aget_query_embedding("q")
    await emb.aget_text_embedding("t")
    await emb.aget_text_embedding_batch(["t1", "t2"])
    await emb.aget_image_embedding(str(red))
    await emb.aget_image_embedding_batch([str(red)])
    assert cohere_stub.request_count == 5
    with pytest.raises(AssertionError, match=r"sync Embedder\.embed"):
        emb.get_query_embedding("q")
    await emb.aclose()


# ---------------------------------------------------------------------------- events


class _EventCollector(BaseEventHandler):
    events: list[BaseEvent]

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        self.events.append(event)


class _CallbackCollector(BaseCallbackHandler):
    def __init__(self) -> None:
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])
        self.starts: list[dict[str, Any]] = []
        self.ends: list[dict[str, Any]] = []

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: Any,
    ) -> str:
        if event_type is CBEventType.EMBEDDING:
            self.starts.append(payload or {})
        return event_id

    def on_event_end(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        **kwargs: Any,
    ) -> None:
        if event_type is CBEventType.EMBEDDING:
            self.ends.append(payload or {})

    def start_trace(self, trace_id: str | None = None) -> None:
        pass

    def end_trace(
        self, trace_id: str | None = None, trace_map: dict[str, list[str]] | None = None
    ) -> None:
        pass


async def test_instrumentation_events_fire_without_secrets(
    make: Make, cohere_stub: StubServer, two_images: tuple[Path, Path]
) -> None:
    dispatcher = get_dispatcher()  # the root dispatcher
    collector = _EventCollector(events=[])
    dispatcher.add_event_handler(collector)
    try:
        callbacks = _CallbackCollector()
        emb = make(callback_manager=CallbackManager([callbacks]))
        emb.get_query_embedding("q")
        emb.get_text_embedding_batch([f"t{i}" for i in range(100)])  # two batches
        await emb.aget_text_embedding_batch(["a", "b"])
        emb.get_image_embedding_batch([str(two_images[0])])
        await emb.aclose()
    finally:
        dispatcher.event_handlers.remove(collector)

    starts = [e for e in collector.events if isinstance(e, EmbeddingStartEvent)]
    ends = [e for e in collector.events if isinstance(e, EmbeddingEndEvent)]
    assert len(starts) == len(ends) == 4  # query, 2 sync batches, 1 async batch
    assert [len(e.chunks) for e in ends] == [1, 96, 4, 2]
    assert all(len(e.embeddings[0]) == STUB_DIMENSIONS for e in ends)
    model_dict = starts[0].model_dict
    assert model_dict == {
        "class_name": "EmbedplugEmbedding",
        "model_name": MODEL,
        "embed_batch_size": 96,
        "dimensions": None,
        "embedding_type": "float",
    }
    # images go through LlamaIndex's callback manager (MultiModalEmbedding has no
    # dispatcher events for images); the serialised model there is the same payload
    assert len(callbacks.starts) == len(callbacks.ends) == 5
    assert callbacks.starts[-1][EventPayload.SERIALIZED] == model_dict
    assert len(callbacks.ends[-1][EventPayload.EMBEDDINGS]) == 1
    everything = json.dumps([e.model_dump(mode="json") for e in starts]) + repr(callbacks.starts)
    assert STUB_KEY not in everything


# ---------------------------------------------------------------------------- secrets


def test_key_is_absent_from_repr_and_serialisation(
    make: Make,
    closing: list[EmbedplugEmbedding],
    cohere_stub: StubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emb = make(
        headers={"X-Org": "org-secret-42"},
        retry=RetryPolicy(max_attempts=2),
        truncate="END",
    )
    emb.get_text_embedding("hello")
    request = cohere_stub.requests[-1]
    assert request.headers["authorization"] == f"Bearer {STUB_KEY}"  # it is used ...
    assert request.headers["x-org"] == "org-secret-42"

    shown = [repr(emb), str(emb), emb.to_json(), repr(emb.to_dict()), repr(emb.to_payload())]
    for text in shown:  # ... but never shown
        assert STUB_KEY not in text
        assert "org-secret-42" not in text
    data = emb.to_dict()
    assert data["class_name"] == "EmbedplugEmbedding"
    assert data["provider_options"] == {"base_url": cohere_stub.url, "truncate": "END"}
    assert "api_key" not in json.dumps(data)

    # from_json works and takes the key from the provider's environment variable again
    monkeypatch.delenv("LLAMATEST_COHERE_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="LLAMATEST_COHERE_API_KEY"):
        EmbedplugEmbedding.from_json(emb.to_json())
    monkeypatch.setenv("LLAMATEST_COHERE_API_KEY", STUB_KEY)
    restored = EmbedplugEmbedding.from_json(emb.to_json())
    closing.append(restored)
    assert restored.model_name == emb.model_name
    assert restored.embed_batch_size == emb.embed_batch_size
    assert restored.get_text_embedding("hello") == emb.get_text_embedding("hello")
    assert bodies(cohere_stub)[-1]["truncate"] == "END"


def test_pickled_copy_keeps_working(
    make: Make,
    closing: list[EmbedplugEmbedding],
    cohere_stub: StubServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # LlamaIndex pickles transformations for worker processes; the copy must still
    # authenticate even without the environment variable
    monkeypatch.delenv("LLAMATEST_COHERE_API_KEY", raising=False)
    emb = make(embed_batch_size=7, headers={"X-Org": "org-secret-42"})
    copy = pickle.loads(pickle.dumps(emb))
    closing.append(copy)
    assert isinstance(copy, EmbedplugEmbedding)
    assert copy.embed_batch_size == 7
    assert STUB_KEY not in repr(copy)
    assert copy.get_text_embedding("x") == emb.get_text_embedding("x")
    first, second = cohere_stub.requests[-2:]
    assert first.headers["authorization"] == second.headers["authorization"]
    assert first.headers["x-org"] == "org-secret-42"
