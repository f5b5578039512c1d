"""The ``nugen`` provider: Nugen's ``POST /api/v3/inference/embeddings``.

OpenAI-like: ``model``, ``input``, ``dimensions`` for Matryoshka models. The
response carries ``id``, ``created`` (float seconds) and ``usage.total_tokens``
only (no ``prompt_tokens``); ``id``, ``created`` and ``model`` land in the
result's ``meta["batches"]`` and ``total_tokens`` in ``usage.input_tokens``.
Validation errors come back as FastAPI 422 ``detail`` lists, which the core
turns into a readable ``BadRequestError`` message (``"input: ..."``).

Only documented fields are sent: Nugen lists no ``encoding_format`` and no
``user``, so neither is an option here (vectors travel as JSON floats, decoded
on the core's NumPy fast path); ``extra_body={...}`` sends any other field the
caller asks for explicitly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from embedplug.protocols.openai import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pydantic import SecretStr

    from embedplug.protocols.openai import EncodingFormat
    from embedplug.types import InputType

__all__ = ["DEFAULT_DIMENSIONS", "DEFAULT_MODEL", "NugenProvider"]

DEFAULT_MODEL = "nugen-flash-embed"
DEFAULT_DIMENSIONS = 768
"""nugen-flash-embed's full length. Nugen's API page does not state it; Nugen's own
RAG cookbook notebook sets ``EMBED_DIMENSION = 768`` ("768 for Nugen's embeddings")
and sample apps built on the model use 768-d collections. The engine checks the
length of every answer, so a change on Nugen's side shows as a clear error."""

MAX_ITEMS_PER_CALL = 96
"""Not documented by Nugen; batches of 100 are known to work, 96 matches the other providers."""

KNOWN_MODELS: tuple[ModelInfo, ...] = (
    ModelInfo(
        name=DEFAULT_MODEL,
        dimensions=DEFAULT_DIMENSIONS,
        matryoshka=True,
        native_dimensions=True,
        max_items_per_call=MAX_ITEMS_PER_CALL,
        description="Nugen Flash Embed: 768-d text vectors, shortened with `dimensions`",
        extra={"dimensions_source": "Nugen RAG cookbook (EMBED_DIMENSION = 768)"},
    ),
)


class NugenProvider(OpenAIEmbeddingsProvider):
    """Nugen embeddings.

    The key comes from ``api_key`` or ``NUGEN_API_KEY``, the base URL from
    ``base_url`` or ``NUGEN_BASE_URL`` (default ``https://api.nugen.in``).
    ``nugen-flash-embed`` is known (768-d, Matryoshka); any other model name
    is accepted and its vector length taken from the answers.

    Only Nugen's documented fields are sent (``model``, ``input``,
    ``dimensions``); ``extra_body={"field": value}`` adds others explicitly.
    ``prefixes`` and the usual ``timeout``, ``headers``, ``max_concurrency``
    and ``allow_insecure_http`` work as for every OpenAI-like provider.
    """

    name: ClassVar[str] = "nugen"
    description: ClassVar[str] = "Nugen (nugen-flash-embed)"
    default_model: ClassVar[str] = DEFAULT_MODEL
    api_key_env: ClassVar[tuple[str, ...]] = ("NUGEN_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("NUGEN_BASE_URL",)
    default_base_url: ClassVar[str | None] = "https://api.nugen.in"
    path: ClassVar[str] = "/api/v3/inference/embeddings"
    float_value: ClassVar[str | None] = None  # Nugen has no encoding_format: send nothing
    default_encoding_format: ClassVar[EncodingFormat] = "float"
    call_options: ClassVar[frozenset[str]] = frozenset()  # no per-call field is documented

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        prefixes: Mapping[InputType | str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        max_concurrency: int = 8,
        allow_insecure_http: bool = False,
    ) -> None:
        # No ``**options``: ``encoding_format`` and ``user`` are not Nugen's, so they are
        # refused by name (use ``extra_body`` to send them anyway).
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            prefixes=prefixes,
            extra_body=extra_body,
            timeout=timeout,
            headers=headers,
            max_concurrency=max_concurrency,
            allow_insecure_http=allow_insecure_http,
        )

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return KNOWN_MODELS

    def model_info(self, model: str) -> ModelInfo:
        """The model's info; an unknown name gets an unknown length and 96 inputs a request."""
        for info in KNOWN_MODELS:
            if info.name == model:
                return info
        return ModelInfo(
            name=model,
            dimensions=0,
            native_dimensions=True,
            max_items_per_call=MAX_ITEMS_PER_CALL,
            description="not known to embedplug: vector length from the server",
            extra={"known": False},
        )
