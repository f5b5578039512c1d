"""The ``openai`` provider: OpenAI's ``/v1/embeddings`` and every server that speaks it.

OpenAI itself, and self-hosted servers such as vLLM, Text Embeddings Inference,
Ollama, LM Studio or a LiteLLM proxy. The wire protocol (request body, base64
decoding, JSON floats when a server ignores ``encoding_format``) is the core's
``OpenAIEmbeddingsProvider``; this class adds the settings and models.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from embedplug.errors import AuthenticationError, InvalidInputError
from embedplug.protocols.openai import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo
from embedplug_openai._models import KNOWN_MODELS, unknown_model

if TYPE_CHECKING:
    from collections.abc import Sequence

    import httpx
    from pydantic import SecretStr

    from embedplug.errors import ProviderError
    from embedplug.protocols.openai import EncodingFormat
    from embedplug.provider import Batch, BatchResult
    from embedplug.types import InputType

__all__ = ["OpenAIProvider"]

logger = logging.getLogger("embedplug.openai")

_ENCODINGS = ("base64", "float")
# The first vector's value in a response: a JSON string (base64) or a list (floats).
_FIRST_EMBEDDING = re.compile(rb'"embedding"\s*:\s*(["\[])')


class OpenAIProvider(OpenAIEmbeddingsProvider):
    """Any server that speaks OpenAI's embeddings API.

    ``base_url`` defaults to ``OPENAI_BASE_URL``, else ``https://api.openai.com/v1``
    (requests go to ``{base_url}/embeddings``). The key comes from ``api_key``
    or ``OPENAI_API_KEY`` and may be absent for a local server; when a server
    answers 401 without one, the error says how to set it. ``organization`` /
    ``project`` (or ``OPENAI_ORG_ID`` / ``OPENAI_PROJECT_ID``) are sent as
    OpenAI's ``OpenAI-Organization`` / ``OpenAI-Project`` headers; ``headers``
    adds any others.

    Vectors travel as base64 by default; ``encoding_format="float"`` here or
    per call (``embed(..., encoding_format="float")``) asks for JSON floats.
    Servers that ignore the field and answer with floats are detected and
    decoded correctly either way (the batch's ``meta`` records
    ``encoding_format``).

    Any model name is accepted: known models carry OpenAI's limits, others
    conservative ones (see ``model_info``). Declare a self-hosted model's real
    limits with ``extra_models=[ModelInfo(...)]``. ``prefixes`` maps input
    types to text prefixes (``{"search_query": "query: "}``), on top of those
    the model's card prescribes for a few open models (E5, nomic-embed-text,
    Qwen3-Embedding, BGE v1.5, mxbai-embed-large); map a type to ``""`` to
    switch a prefix off.
    """

    name: ClassVar[str] = "openai"
    description: ClassVar[str] = (
        "OpenAI and OpenAI-compatible servers (vLLM, TEI, Ollama, LM Studio, LiteLLM)"
    )
    default_model: ClassVar[str] = "text-embedding-3-small"
    api_key_env: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)
    base_url_env: ClassVar[tuple[str, ...]] = ("OPENAI_BASE_URL",)
    default_base_url: ClassVar[str | None] = "https://api.openai.com/v1"
    api_key_required: ClassVar[bool] = False
    path: ClassVar[str] = "/embeddings"

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        organization: str | None = None,
        project: str | None = None,
        encoding_format: EncodingFormat = "base64",
        prefixes: Mapping[InputType | str, str] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_models: Iterable[ModelInfo] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            encoding_format=encoding_format,
            prefixes=prefixes,
            extra_body=extra_body,
            **options,
        )
        self.organization = organization or os.environ.get("OPENAI_ORG_ID") or None
        self.project = project or os.environ.get("OPENAI_PROJECT_ID") or None
        if self.organization:
            self.headers.setdefault("OpenAI-Organization", self.organization)
        if self.project:
            self.headers.setdefault("OpenAI-Project", self.project)
        self.extra_models: dict[str, ModelInfo] = {}
        for info in extra_models or ():
            if not isinstance(info, ModelInfo):
                raise InvalidInputError(
                    f"extra_models takes ModelInfo objects, not {type(info).__name__}"
                )
            self.extra_models[info.name] = info

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return KNOWN_MODELS

    def model_info(self, model: str) -> ModelInfo:
        """Known or declared models' info; any other name with conservative limits.

        An unknown model gets ``dimensions=0`` (the engine then checks only that
        all vectors have one length), at most 32 inputs and 2 MB a request, and
        the prefixes its card prescribes when embedplug knows the family.
        """
        if model in self.extra_models:
            return self.extra_models[model]
        for info in KNOWN_MODELS:
            if info.name == model:
                return info
        return unknown_model(model)

    def encoding_for(self, batch: Batch) -> EncodingFormat:
        """The encoding asked for ``batch``: the call's ``encoding_format``, else ours."""
        value = batch.options.get("encoding_format", self.encoding_format)
        if value not in _ENCODINGS:
            raise InvalidInputError(f"encoding_format must be 'base64' or 'float', not {value!r}")
        encoding: EncodingFormat = value
        return encoding

    def request_body(self, batch: Batch) -> dict[str, Any]:
        self.encoding_for(batch)  # validates a per-call value before anything is sent
        return super().request_body(batch)

    def parse_response(self, response: httpx.Response, batch: Batch) -> BatchResult:
        result = super().parse_response(response, batch)
        match = _FIRST_EMBEDDING.search(response.content)
        if match is not None:
            received: EncodingFormat = "base64" if match.group(1) == b'"' else "float"
            result.meta["encoding_format"] = received
            if received != self.encoding_for(batch):
                logger.debug(
                    "%s answered with %s vectors although %s was asked; decoded them as %s",
                    self.base_url,
                    received,
                    self.encoding_for(batch),
                    received,
                )
        return result

    def parse_error(self, response: httpx.Response) -> ProviderError:
        error = super().parse_error(response)
        if isinstance(error, AuthenticationError) and self.api_key is None:
            error.message = (
                f"{error.message} (no API key was sent: set OPENAI_API_KEY or pass api_key=...)"
            )
            error.args = (error.message,)
        return error
