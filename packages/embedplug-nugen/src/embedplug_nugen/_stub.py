"""The ``nugen`` stub variant: Nugen's ``/api/v3/inference/embeddings`` (FastAPI errors).

Registered with ``embedplug.testing`` through the ``register_stub_variants`` hook.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from embedplug.testing import Context, EmbedCall, OpenAIVariant

__all__ = ["NugenVariant"]

JSON = Any


class NugenVariant(OpenAIVariant):
    """Nugen ``/api/v3/inference/embeddings``: floats only, FastAPI 422 errors."""

    name = "nugen"
    path = "/api/v3/inference/embeddings"
    default_model = "nugen-flash-embed"
    default_dimensions = 768
    model_dimensions: ClassVar[Mapping[str, int]] = {}
    force_float = True
    validation_status = 422

    def error(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        loc: Sequence[str | int] = (),
    ) -> JSON:
        if status == 422:
            return {"detail": [{"loc": ["body", *loc], "msg": message, "type": "value_error"}]}
        return {"detail": message}

    def envelope(self, call: EmbedCall, data: list[dict[str, Any]], ctx: Context) -> JSON:
        return {
            "id": f"embed-{ctx.request_number:012x}",
            "object": "embedding",
            "data": [
                {"object": "embedding", "embedding": d["embedding"], "index": d["index"]}
                for d in data
            ],
            "model": call.model,
            "created": float(int(time.time())),
            "usage": {"total_tokens": call.tokens},
        }
