"""embedplug: every embedding provider a plugin, one engine for all of them.

>>> import embedplug
>>> result = embedplug.embed(["a sentence", "another one"])  # offline local model
>>> result.embeddings.shape
(2, 384)

The names below are the public API. Heavy modules (the engine, httpx, NumPy,
pluggy) load on first use, so ``import embedplug`` stays fast.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from embedplug._lazy import lazy_attributes
from embedplug.errors import (
    AuthenticationError,
    BadRequestError,
    BatchFailedError,
    ClientClosedRequestError,
    ConfigurationError,
    ConnectionFailedError,
    EmbedplugError,
    ErrorEnvelopeError,
    InvalidInputError,
    InvalidTokenError,
    NotFoundError,
    NotImplementedByProviderError,
    PermissionDeniedError,
    PluginLoadError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
    ResponseFormatError,
    ServerError,
    TimeoutError,
    UnknownModelError,
    UnknownProviderError,
)
from embedplug.types import (
    EmbeddingResult,
    EmbeddingType,
    Image,
    Input,
    InputType,
    Mixed,
    Usage,
)

# A library logs and never prints: with no handler of the application's, records stop
# here instead of reaching logging's last-resort handler on stderr.
logging.getLogger("embedplug").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    from embedplug._api import Embedder, ModelEntry, aembed, embed, embedder, models, providers
    from embedplug.engine import RetryPolicy
    from embedplug.hookspecs import hookimpl
    from embedplug.provider import (
        Batch,
        BatchResult,
        HTTPProvider,
        InProcessProvider,
        Modality,
        ModelInfo,
        Provider,
    )

__version__ = "0.1.0"

_LAZY = {
    "Embedder": "embedplug._api",
    "ModelEntry": "embedplug._api",
    "aembed": "embedplug._api",
    "embed": "embedplug._api",
    "embedder": "embedplug._api",
    "models": "embedplug._api",
    "providers": "embedplug._api",
    "RetryPolicy": "embedplug.engine",
    "hookimpl": "embedplug.hookspecs",
    "Batch": "embedplug.provider",
    "BatchResult": "embedplug.provider",
    "HTTPProvider": "embedplug.provider",
    "InProcessProvider": "embedplug.provider",
    "Modality": "embedplug.provider",
    "ModelInfo": "embedplug.provider",
    "Provider": "embedplug.provider",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "Batch",
    "BatchFailedError",
    "BatchResult",
    "ClientClosedRequestError",
    "ConfigurationError",
    "ConnectionFailedError",
    "Embedder",
    "EmbeddingResult",
    "EmbeddingType",
    "EmbedplugError",
    "ErrorEnvelopeError",
    "HTTPProvider",
    "Image",
    "InProcessProvider",
    "Input",
    "InputType",
    "InvalidInputError",
    "InvalidTokenError",
    "Mixed",
    "Modality",
    "ModelEntry",
    "ModelInfo",
    "NotFoundError",
    "NotImplementedByProviderError",
    "PermissionDeniedError",
    "PluginLoadError",
    "Provider",
    "ProviderError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "TimeoutError",
    "Usage",
    "UnknownModelError",
    "UnknownProviderError",
    "__version__",
    "aembed",
    "embed",
    "embedder",
    "hookimpl",
    "models",
    "providers",
]
