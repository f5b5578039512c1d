"""The ``hello`` provider: a toy that embeds text by hashing its words.

Feature hashing: every word of a text (lower-cased, split on non-word
characters) is hashed with BLAKE2b into one of ``d`` buckets and a sign, the
signed counts are summed and the vector is scaled to unit length. Texts that
share words get similar vectors; synonyms do not. It is deterministic across
processes and machines, needs no network and no model, and is fast, which is
what an example and a test fixture need. It is **not** a semantic model.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import ClassVar

from embedplug.errors import ConfigurationError, InvalidInputError
from embedplug.provider import Batch, BatchResult, InProcessProvider, Modality, ModelInfo
from embedplug.types import EmbeddingType, Usage

__all__ = ["TOY_64", "TOY_256", "HelloProvider", "hash_words"]

_WORD = re.compile(r"\w+")

TOY_64 = ModelInfo(
    name="toy-64",
    dimensions=64,
    modalities=frozenset({Modality.TEXT}),
    embedding_types=frozenset({EmbeddingType.FLOAT}),  # the engine quantises the rest
    max_items_per_call=256,
    max_chars_per_item=20_000,
    description="Toy: words hashed into 64 signed buckets, unit-norm. Not semantic.",
)
TOY_256 = ModelInfo(
    name="toy-256",
    dimensions=256,
    modalities=frozenset({Modality.TEXT}),
    embedding_types=frozenset({EmbeddingType.FLOAT}),
    max_items_per_call=256,
    max_chars_per_item=20_000,
    description="Toy: words hashed into 256 signed buckets, unit-norm. Not semantic.",
)


def hash_words(text: str, dimensions: int, seed: int = 0) -> tuple[list[float], int]:
    """The unnormalised hashed vector of ``text`` and its number of words."""
    vector = [0.0] * dimensions
    words = _WORD.findall(text.lower())
    salt = seed.to_bytes(16, "little")
    for word in words:
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8, salt=salt).digest()
        value = int.from_bytes(digest, "little")
        bucket = value % dimensions
        vector[bucket] += 1.0 if (value >> 63) & 1 else -1.0
    return vector, len(words)


class HelloProvider(InProcessProvider):
    """A toy provider: words hashed into signed buckets (see the module docstring).

    Option: ``seed`` (a non-negative int below 2**128) picks another hash
    function, so two seeds give unrelated vectors for the same text. Input
    types are accepted and ignored; a text with no word characters gets a zero
    vector.
    """

    name: ClassVar[str] = "hello"
    description: ClassVar[str] = "Toy hashing embeddings for examples and tests (not semantic)"
    default_model: ClassVar[str] = TOY_64.name

    def __init__(self, *, seed: int = 0) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**128:
            raise ConfigurationError(f"hello: seed must be an int in [0, 2**128), not {seed!r}")
        self.seed = seed

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        """The two toy models; needs no key, network or import."""
        return (TOY_64, TOY_256)

    def embed_batch(self, batch: Batch) -> BatchResult:
        """Hash each text of the batch; float32 rows of unit length, in batch order."""
        import numpy as np

        width = batch.model.dimensions
        rows: list[list[float]] = []
        words = 0
        for offset, item in enumerate(batch.inputs):
            if not isinstance(item, str):
                raise InvalidInputError("hello embeds text only", position=batch.positions[offset])
            vector, count = hash_words(item, width, self.seed)
            rows.append(vector)
            words += count
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), width)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return BatchResult(
            vectors={EmbeddingType.FLOAT: vectors / norms},
            usage=Usage(input_tokens=words),
        )

    def __repr__(self) -> str:
        return f"HelloProvider(seed={self.seed})"
