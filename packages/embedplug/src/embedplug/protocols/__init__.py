"""The wire protocols most providers speak, as sans-IO provider base classes.

* ``OpenAIEmbeddingsProvider``: OpenAI's ``/v1/embeddings`` (base64 by default,
  JSON floats decoded on a fast path when a server ignores ``encoding_format``).
* ``CohereV2Provider``: Cohere's ``/v2/embed`` (``texts``, ``images`` or
  ``inputs`` content blocks; ``embeddings`` by type).

Provider packages subclass these and set their name, paths, models and
environment variables; they do not copy them.

Both names load on first use: ``import embedplug.protocols`` costs nothing, and
``embedplug.protocols.openai`` does not pull in the Cohere protocol. The base
classes themselves import httpx and NumPy, so a plugin's entry-point module
imports its provider class inside ``register_providers``, not at top level.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedplug._lazy import lazy_attributes

if TYPE_CHECKING:
    from embedplug.protocols.cohere import CohereV2Provider
    from embedplug.protocols.openai import OpenAIEmbeddingsProvider

__all__ = ["CohereV2Provider", "OpenAIEmbeddingsProvider"]

__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "CohereV2Provider": "embedplug.protocols.cohere",
        "OpenAIEmbeddingsProvider": "embedplug.protocols.openai",
    },
)
