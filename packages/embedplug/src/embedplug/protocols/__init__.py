"""The wire protocols most providers speak, as sans-IO provider base classes.

* ``OpenAIEmbeddingsProvider``: OpenAI's ``/v1/embeddings`` (base64 by default,
  JSON floats decoded on a fast path when a server ignores ``encoding_format``).
* ``CohereV2Provider``: Cohere's ``/v2/embed`` (``texts``, ``images`` or
  ``inputs`` content blocks; ``embeddings`` by type).

Provider packages subclass these and set their name, paths, models and
environment variables; they do not copy them.
"""

from embedplug.protocols.cohere import CohereV2Provider
from embedplug.protocols.openai import OpenAIEmbeddingsProvider

__all__ = ["CohereV2Provider", "OpenAIEmbeddingsProvider"]
