"""The ``heroku`` stub variant: Heroku Managed Inference's ``/v1/embeddings`` quirks.

Registered with ``embedplug.testing`` through the ``register_stub_variants`` hook.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from embedplug.testing import ALL_EMBEDDING_TYPES, TEXT_INPUT_TYPES, Fault, OpenAIVariant

__all__ = ["HerokuVariant"]


class HerokuVariant(OpenAIVariant):
    """Heroku Managed Inference ``/v1/embeddings`` (Cohere models behind an OpenAI shape)."""

    name = "heroku"
    default_model = "cohere-embed-multilingual"
    default_dimensions = 1024
    model_dimensions: ClassVar[Mapping[str, int]] = {}
    max_items = 96
    max_chars = 2048
    encodings = ("raw", "base64")
    default_encoding = "raw"
    dimensions_param = None
    input_type_param = "input_type"
    input_types = TEXT_INPUT_TYPES
    salt_input_type = True
    embedding_type_param = "embedding_type"
    embedding_types = ALL_EMBEDDING_TYPES
    known_params = frozenset(
        {
            "model",
            "input",
            "input_type",
            "encoding_format",
            "embedding_type",
            "allow_ignored_params",
        }
    )
    ignore_params_flag = "allow_ignored_params"
    int8_scale: ClassVar[float] = 512.0
    """Heroku's int8/uint8 use one calibrated scale for every vector (max about 64 here),
    not embedplug's client-side 127 / max|x|: a client that quantises itself gets other
    vectors than the server's, which is what the provider's tests must catch."""

    def typed(
        self, vectors: npt.NDArray[np.float32], kind: str, fault: Fault | None
    ) -> npt.NDArray[Any]:
        if kind not in ("int8", "uint8"):
            return super().typed(vectors, kind, fault)
        ints = np.clip(np.rint(vectors * self.int8_scale), -128, 127).astype(np.int16)
        out: npt.NDArray[Any] = (
            ints.astype(np.int8) if kind == "int8" else (ints + 128).astype(np.uint8)
        )
        return out
