"""What the ``openai`` provider knows about models: OpenAI's own, and prefix rules for open ones.

OpenAI's limits come from its Embeddings API reference: at most 2,048 inputs
and 300,000 tokens per request, 8,192 tokens per input; ``dimensions`` is
accepted by the ``text-embedding-3`` models only.

Any other name is accepted (self-hosted servers serve whatever they load) with
conservative limits: 32 inputs a request and 2 MB of JSON are the defaults of
Hugging Face Text Embeddings Inference (``--max-client-batch-size``,
``--payload-limit``), the strictest of the common servers. The vector length
of such a model is unknown, so it is only checked for consistency.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from embedplug.provider import ModelInfo
from embedplug.types import InputType

__all__ = [
    "KNOWN_MODELS",
    "UNKNOWN_MAX_ITEMS",
    "UNKNOWN_MAX_PAYLOAD_BYTES",
    "prefixes_for_model",
    "unknown_model",
]

_OPENAI_LIMITS: dict[str, Any] = {
    "max_items_per_call": 2048,
    "max_tokens_per_call": 300_000,
    "max_tokens_per_item": 8192,
}

KNOWN_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name="text-embedding-3-small",
        dimensions=1536,
        matryoshka=True,
        min_dimensions=1,
        native_dimensions=True,
        description="OpenAI text-embedding-3-small: 1536-d, shortened with `dimensions`.",
        **_OPENAI_LIMITS,
    ),
    ModelInfo(
        name="text-embedding-3-large",
        dimensions=3072,
        matryoshka=True,
        min_dimensions=1,
        native_dimensions=True,
        description="OpenAI text-embedding-3-large: 3072-d, shortened with `dimensions`.",
        **_OPENAI_LIMITS,
    ),
    ModelInfo(
        name="text-embedding-ada-002",
        dimensions=1536,
        description="OpenAI text-embedding-ada-002: 1536-d, no `dimensions`.",
        **_OPENAI_LIMITS,
    ),
)

UNKNOWN_MAX_ITEMS = 32
UNKNOWN_MAX_PAYLOAD_BYTES = 2_000_000

_E5 = {
    InputType.SEARCH_QUERY: "query: ",
    InputType.SEARCH_DOCUMENT: "passage: ",
    InputType.CLASSIFICATION: "query: ",
    InputType.CLUSTERING: "query: ",
}
_NOMIC = {
    InputType.SEARCH_QUERY: "search_query: ",
    InputType.SEARCH_DOCUMENT: "search_document: ",
    InputType.CLASSIFICATION: "classification: ",
    InputType.CLUSTERING: "clustering: ",
}
_RETRIEVAL_QUERY = "Represent this sentence for searching relevant passages: "
_QWEN3_QUERY = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery:"
)

# (pattern on the lower-cased model name, prefixes by input type); first match wins.
# Each is the usage its model card prescribes.
_PREFIX_RULES: tuple[tuple[re.Pattern[str], Mapping[InputType, str]], ...] = (
    (re.compile(r"(?<![a-z0-9])e5-(small|base|large)(-v2)?(?![a-z0-9-])"), _E5),
    (re.compile(r"nomic-embed-text"), _NOMIC),
    (re.compile(r"qwen3-embedding"), {InputType.SEARCH_QUERY: _QWEN3_QUERY}),
    (re.compile(r"bge-(small|base|large)-en-v1\.5"), {InputType.SEARCH_QUERY: _RETRIEVAL_QUERY}),
    (re.compile(r"mxbai-embed-large"), {InputType.SEARCH_QUERY: _RETRIEVAL_QUERY}),
)


def prefixes_for_model(model: str) -> dict[InputType, str]:
    """The query/document prefixes a model's card prescribes, by input type (may be empty)."""
    lowered = model.lower()
    for pattern, prefixes in _PREFIX_RULES:
        if pattern.search(lowered):
            return dict(prefixes)
    return {}


def unknown_model(name: str) -> ModelInfo:
    """Conservative ``ModelInfo`` for a model name the provider does not know."""
    prefixes = prefixes_for_model(name)
    extra: dict[str, object] = {"known": False}
    if prefixes:
        extra["prefixes"] = {k.value: v for k, v in prefixes.items()}
    return ModelInfo(
        name=name,
        dimensions=0,
        native_dimensions=True,
        max_items_per_call=UNKNOWN_MAX_ITEMS,
        max_payload_bytes=UNKNOWN_MAX_PAYLOAD_BYTES,
        description="not known to embedplug: conservative limits, vector length from the server",
        extra=extra,
    )
