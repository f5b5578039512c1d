"""The ``ig1`` and ``ig1-openai`` stub variants: IG1's Cohere- and OpenAI-compatible endpoints.

Registered with ``embedplug.testing`` through the ``register_stub_variants`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from embedplug.testing import SEARCH_TYPES, CohereVariant, Context, EmbedCall, OpenAIVariant

__all__ = ["IG1OpenAIVariant", "IG1Variant"]

JSON = Any


class IG1OpenAIVariant(OpenAIVariant):
    """IG1's OpenAI-compatible endpoint (``bge-m3``)."""

    name = "ig1-openai"
    default_model = "bge-m3"
    default_dimensions = 1024
    model_dimensions: ClassVar[Mapping[str, int]] = {"bge-m3": 1024}


class IG1Variant(CohereVariant):
    """IG1's Cohere-compatible ``/cohere/v2/embed`` for ``qwen3-vl-embedding-8b``."""

    name = "ig1"
    path = "/cohere/v2/embed"
    default_model = "qwen3-vl-embedding-8b"
    default_dimensions = 4096
    model_dimensions: ClassVar[Mapping[str, int]] = {"qwen3-vl-embedding-8b": 4096}
    models = ("qwen3-vl-embedding-8b",)
    accepts = ("inputs",)
    input_types = (*SEARCH_TYPES, "image")
    inputs_input_types = None
    embedding_types = ("float",)
    allowed_dimensions = (128, 256, 384, 512, 768, 1024, 1536, 2048, 2560, 3072, 3584, 4096)
    single_image_marker = None
    image_tokens = 256
    api_version: ClassVar[Mapping[str, Any]] = {"version": "2", "is_experimental": True}

    def response_id(self, ctx: Context) -> str:
        return str(ctx.request_number)

    def finish(self, body: dict[str, Any], call: EmbedCall, billed: dict[str, int]) -> JSON:
        body["model"] = call.model
        body["usage"] = {"billed_units": dict(billed)}
        return body
