"""End to end: LlamaIndex indexes and pipelines with EmbedplugEmbedding.

Text retrieval uses the offline ``local`` model (real semantics, no network);
a random-vector embedding shows the same retrieval checks would fail without
them. The multimodal index runs against the Cohere-protocol stub.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex
from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.indices.multi_modal import MultiModalVectorStoreIndex
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import ImageDocument, ImageNode
from llamaindex_support import MULTIMODAL_MODEL, PROVIDER, STUB_DIMENSIONS, STUB_KEY

from embedplug.testing import StubServer
from llama_index.embeddings.embedplug import EmbedplugEmbedding

LOCAL_MODEL = "local:all-minilm-l6-v2"

# Six documents on unrelated subjects, and for each a query that shares (almost) no
# words with it: only an embedding that captures meaning ranks the right one first.
DOCUMENTS = {
    "cat": "The kitten purred on the warm windowsill, then pounced on a toy mouse.",
    "bank": "Stock markets tumbled after the central bank raised interest rates again.",
    "cake": "Whisk flour, sugar, eggs and butter, then bake the batter for forty minutes.",
    "rocket": "The launch vehicle lifted off from Cape Canaveral carrying a weather satellite.",
    "football": "The striker scored twice in the second half and the home side won the cup.",
    "volcano": "Lava poured down the slopes of the mountain and ash covered nearby villages.",
}
QUERIES = {
    "cat": "Which pet likes to chase rodents?",
    "bank": "How did investors react to monetary policy?",
    "cake": "How do I make a dessert in the oven?",
    "rocket": "Sending spacecraft into orbit",
    "football": "Who won the soccer match?",
    "volcano": "An eruption destroyed towns",
}


class RandomEmbedding(BaseEmbedding):
    """The control: a deterministic random unit vector per text, no meaning at all."""

    dims: int = 384

    def _vector(self, text: str) -> Embedding:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self.dims)
        out: Embedding = (v / np.linalg.norm(v)).tolist()
        return out

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._vector(text)


def documents() -> list[Document]:
    return [Document(text=text, doc_id=key) for key, text in DOCUMENTS.items()]


def hits(index: VectorStoreIndex) -> dict[str, str]:
    """For each query, the document key of the top node."""
    retriever = index.as_retriever(similarity_top_k=1)
    return {
        key: retriever.retrieve(query)[0].node.ref_doc_id or "" for key, query in QUERIES.items()
    }


def splitter() -> SentenceSplitter:
    # LlamaIndex's own tokenizer (tiktoken, files bundled in llama-index-core): offline
    return SentenceSplitter(chunk_size=256, chunk_overlap=0)


@pytest.fixture
def settings_embed_model() -> Iterator[None]:
    """Restore ``Settings.embed_model`` (the private slot: the setter cannot take None)."""
    saved = Settings._embed_model
    try:
        yield
    finally:
        Settings._embed_model = saved


@pytest.fixture(scope="module")
def local_embedding() -> Iterator[EmbedplugEmbedding]:
    emb = EmbedplugEmbedding(LOCAL_MODEL)
    yield emb
    emb.close()


def expected_hits() -> dict[str, str]:
    return {key: key for key in QUERIES}


# ---------------------------------------------------------------------------- text


@pytest.mark.slow
@pytest.mark.usefixtures("settings_embed_model")
def test_vector_store_index_retrieves_the_right_node(
    local_embedding: EmbedplugEmbedding,
) -> None:
    Settings.embed_model = local_embedding
    index = VectorStoreIndex.from_documents(documents(), transformations=[splitter()])
    assert hits(index) == expected_hits()
    assert local_embedding.embed_batch_size == 64  # the local model's items per call
    node = next(iter(index.docstore.docs.values()))
    stored = index.vector_store.get(node.node_id)
    assert len(stored) == 384
    assert abs(float(np.linalg.norm(stored)) - 1.0) < 1e-3


def test_random_vectors_fail_the_same_retrieval() -> None:
    # the control: without meaning in the vectors the same checks do not pass
    index = VectorStoreIndex.from_documents(
        documents(), transformations=[splitter()], embed_model=RandomEmbedding()
    )
    found = hits(index)
    wrong = [key for key in QUERIES if found[key] != key]
    assert len(wrong) >= 3, found


@pytest.mark.slow
async def test_async_index_matches_sync(local_embedding: EmbedplugEmbedding) -> None:
    index = VectorStoreIndex.from_documents(
        documents(), transformations=[splitter()], embed_model=local_embedding, use_async=True
    )
    retriever = index.as_retriever(similarity_top_k=1)
    for key, query in QUERIES.items():
        (hit,) = await retriever.aretrieve(query)
        assert hit.node.ref_doc_id == key
    sync = local_embedding.get_text_embedding_batch(list(DOCUMENTS.values()))
    asynchronous = await local_embedding.aget_text_embedding_batch(list(DOCUMENTS.values()))
    np.testing.assert_allclose(np.asarray(asynchronous), np.asarray(sync), atol=1e-5)
    await local_embedding.aclose()


@pytest.mark.slow
async def test_ingestion_pipeline_embeds_nodes_for_an_index(
    local_embedding: EmbedplugEmbedding,
) -> None:
    pipeline = IngestionPipeline(transformations=[splitter(), local_embedding])
    nodes = pipeline.run(documents=documents())
    assert len(nodes) == len(DOCUMENTS)
    assert all(node.embedding is not None and len(node.embedding) == 384 for node in nodes)

    # nodes that carry embeddings are indexed as they are (no second embedding pass)
    index = VectorStoreIndex(nodes, embed_model=local_embedding)
    assert hits(index) == expected_hits()

    # the async run gives the same vectors (a fresh pipeline: the first one caches)
    fresh = IngestionPipeline(transformations=[splitter(), local_embedding])
    again = await fresh.arun(documents=documents())
    by_doc = {n.ref_doc_id: n.embedding for n in nodes}
    for node in again:
        np.testing.assert_allclose(node.embedding or [], by_doc[node.ref_doc_id], atol=1e-5)
    await local_embedding.aclose()


# ---------------------------------------------------------------------------- images


@pytest.mark.usefixtures("stub_provider")
def test_multimodal_index_embeds_images_as_images(
    cohere_stub: StubServer, two_images: tuple[Path, Path]
) -> None:
    red, blue = two_images
    # LlamaIndex skips documents whose embed-mode content is empty, so an image
    # document needs some metadata (SimpleDirectoryReader's file metadata would do)
    documents = [
        ImageDocument(image_path=str(red), doc_id="red", metadata={"file_name": red.name}),
        ImageDocument(image_path=str(blue), doc_id="blue", metadata={"file_name": blue.name}),
        Document(text="A note about colours.", doc_id="note"),
    ]
    with EmbedplugEmbedding(
        f"{PROVIDER}:{MULTIMODAL_MODEL}", api_key=STUB_KEY, base_url=cohere_stub.url
    ) as emb:
        index = MultiModalVectorStoreIndex.from_documents(
            documents,
            embed_model=emb,
            image_embed_model=emb,
            transformations=[splitter()],
            storage_context=StorageContext.from_defaults(),
        )

        image_calls = [r.json for r in cohere_stub.requests if "images" in r.json]
        text_calls = [r.json for r in cohere_stub.requests if "texts" in r.json]
        assert len(image_calls) == 1  # both images in one call (embed_batch_size is 96)
        assert image_calls[0]["input_type"] == "image"
        sent = [base64.b64decode(url.split(",", 1)[1]) for url in image_calls[0]["images"]]
        assert sent == [red.read_bytes(), blue.read_bytes()]
        assert [(c["input_type"], c["texts"]) for c in text_calls] == [
            ("search_document", ["A note about colours."])
        ]

        # the image store holds the stub's vectors for the image bytes
        image_nodes = {
            node.ref_doc_id: node
            for node in index.docstore.docs.values()
            if isinstance(node, ImageNode)
        }
        assert set(image_nodes) == {"red", "blue"}
        for doc_id, path in (("red", red), ("blue", blue)):
            stored = index.image_vector_store.get(image_nodes[doc_id].node_id)
            assert len(stored) == STUB_DIMENSIONS
            np.testing.assert_allclose(
                stored, cohere_stub.expected_vector(path.read_bytes()), atol=1e-6
            )

        # image-to-image retrieval finds each image itself; a text query goes out as a query
        retriever = index.as_retriever(image_similarity_top_k=1, similarity_top_k=1)
        for path, doc_id in ((red, "red"), (blue, "blue")):
            (hit,) = retriever.image_to_image_retrieve(str(path))
            assert hit.node.ref_doc_id == doc_id
            assert hit.score == pytest.approx(1.0, abs=1e-5)
        cohere_stub.reset_stats()
        (hit,) = retriever.text_to_image_retrieve("a red square")
        assert isinstance(hit.node, ImageNode)
        (query_call,) = [r.json for r in cohere_stub.requests]
        assert (query_call["input_type"], query_call["texts"]) == ("search_query", ["a red square"])
