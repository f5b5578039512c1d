"""End to end with the offline local model: an ``InMemoryVectorStore`` and an LCEL chain.

Marked ``slow``: the first embedding in a process loads the model (~10 s).

Each query shares (almost) no words with its document, so lexical luck cannot
pass; the same check run with random vectors (LangChain's
``DeterministicFakeEmbedding``) must fail, which shows the check can fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough
from langchain_core.vectorstores import InMemoryVectorStore

from langchain_embedplug import EmbedplugEmbeddings

DOCUMENTS = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "Emperor penguins breed during the Antarctic winter.",
    "Photosynthesis converts sunlight, water and carbon dioxide into sugar.",
    "The stock market fell sharply after the central bank raised interest rates.",
    "A sourdough loaf needs flour, water, salt and a starter culture.",
]
QUERIES = {
    "Which famous landmark stands in the French capital?": 0,
    "Which birds raise their chicks on the ice near the South Pole?": 1,
    "How do plants make food from light?": 2,
    "Why did share prices drop?": 3,
    "What ingredients do I need to bake bread?": 4,
}
MIN_MARGIN = 0.1
"""Cosine gap required between the right document and the runner-up, for every query."""


@pytest.fixture(scope="module")
def local() -> EmbedplugEmbeddings:
    return EmbedplugEmbeddings(model="local:all-minilm-l6-v2")


def make_store(embeddings: Embeddings) -> InMemoryVectorStore:
    metadatas = [{"doc": i} for i in range(len(DOCUMENTS))]
    return InMemoryVectorStore.from_texts(DOCUMENTS, embeddings, metadatas=metadatas)


def retrieval_margins(store: InMemoryVectorStore) -> dict[str, float]:
    """Per query: score of the right document minus the best wrong one (negative = wrong)."""
    margins = {}
    for query, right in QUERIES.items():
        hits = store.similarity_search_with_score(query, k=len(DOCUMENTS))
        scores = {doc.metadata["doc"]: score for doc, score in hits}
        wrong = max(score for i, score in scores.items() if i != right)
        margins[query] = scores[right] - wrong
    return margins


def retrieves_well(margins: dict[str, float]) -> bool:
    return all(margin >= MIN_MARGIN for margin in margins.values())


@pytest.mark.slow
def test_in_memory_store_finds_the_right_document(local: EmbedplugEmbeddings) -> None:
    margins = retrieval_margins(make_store(local))
    assert retrieves_well(margins), margins


def test_random_vectors_fail_the_same_check() -> None:
    margins = retrieval_margins(make_store(DeterministicFakeEmbedding(size=384)))
    assert not retrieves_well(margins), margins


def format_docs(docs: list[Document]) -> str:
    return "\n".join(doc.page_content for doc in docs)


def retrieval_chain(store: InMemoryVectorStore) -> Runnable[str, str]:
    """retriever -> prompt; the rendered prompt stands in for a chat model's input."""
    retriever = store.as_retriever(search_kwargs={"k": 1})
    prompt = ChatPromptTemplate.from_template(
        "Answer from the context only.\nContext:\n{context}\n\nQuestion: {question}"
    )
    render: Runnable[Any, str] = RunnableLambda(lambda value: value.to_string())
    return (
        {"context": retriever | RunnableLambda(format_docs), "question": RunnablePassthrough()}
        | prompt
        | render
    )


@pytest.mark.slow
def test_lcel_retrieval_chain(local: EmbedplugEmbeddings) -> None:
    chain = retrieval_chain(make_store(local))
    for query, right in QUERIES.items():
        rendered = chain.invoke(query)
        assert DOCUMENTS[right] in rendered
        assert query in rendered
        assert [d for d in DOCUMENTS if d in rendered] == [DOCUMENTS[right]]


@pytest.mark.slow
async def test_lcel_retrieval_chain_async(local: EmbedplugEmbeddings) -> None:
    store = InMemoryVectorStore(embedding=local)
    await store.aadd_texts(DOCUMENTS, metadatas=[{"doc": i} for i in range(len(DOCUMENTS))])
    chain = retrieval_chain(store)
    for query, right in QUERIES.items():
        rendered = await chain.ainvoke(query)
        assert [d for d in DOCUMENTS if d in rendered] == [DOCUMENTS[right]]
