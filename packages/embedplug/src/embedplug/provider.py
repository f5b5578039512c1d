"""What a provider plugin implements.

A provider states its models' capabilities and limits as ``ModelInfo`` and is
one of two kinds:

* ``HTTPProvider`` is sans-IO: ``build_request(batch)`` returns an
  ``httpx.Request`` and ``parse_response(response, batch)`` turns the answer
  into a ``BatchResult``. It never sends anything itself; the engine does, sync
  or async, with batching, concurrency, retries and ordering.
* ``InProcessProvider`` computes vectors itself in ``embed_batch(batch)``
  (the local model). The engine runs it in a worker thread for async callers.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from embedplug.errors import ProviderError, UnknownModelError, error_for_status
from embedplug.types import EmbeddingType, Input, InputType, Usage

if TYPE_CHECKING:
    import httpx
    import numpy.typing as npt
    from pydantic import SecretStr

__all__ = [
    "Batch",
    "BatchResult",
    "HTTPProvider",
    "InProcessProvider",
    "Modality",
    "ModelInfo",
    "Provider",
    "Tokenizer",
]


_SECRET_HEADER_WORDS = ("key", "token", "secret", "auth", "password", "cookie")


def _is_secret_header(name: str, listed: frozenset[str]) -> bool:
    return name in listed or any(word in name for word in _SECRET_HEADER_WORDS)


class Modality(str, enum.Enum):
    """What a model can embed."""

    TEXT = "text"
    IMAGE = "image"
    MIXED = "mixed"  # text and image parts in one input, one vector

    def __str__(self) -> str:
        return self.value


_ALL_INPUT_TYPES = frozenset(
    {
        InputType.SEARCH_DOCUMENT,
        InputType.SEARCH_QUERY,
        InputType.CLASSIFICATION,
        InputType.CLUSTERING,
    }
)


@dataclass(frozen=True)
class ModelInfo:
    """A model's capabilities and limits; the engine validates and plans with them.

    ``dimensions`` is the default vector length (0: unknown, as for a model a
    provider has not heard of; the engine then checks only that every batch
    agrees). ``allowed_dimensions`` lists
    the lengths the model can produce; with ``matryoshka=True`` any length in
    ``[min_dimensions, dimensions]`` is allowed instead. ``native_dimensions``
    says the provider's API takes the length as a parameter; when it does not,
    the engine truncates and re-normalises client-side. ``embedding_types`` are
    the types the API returns natively; others are quantised client-side. With
    ``one_embedding_type_per_call`` the engine sends one request per native
    type asked for (the API takes one a request), never quantising itself.
    ``input_types_by_modality`` narrows ``input_types`` per kind of input
    (e.g. ``image`` for images only); a kind not listed takes all of them.
    ``None`` for a limit means "no limit known".
    """

    name: str
    dimensions: int
    modalities: frozenset[Modality] = frozenset({Modality.TEXT})
    allowed_dimensions: tuple[int, ...] | None = None
    matryoshka: bool = False
    min_dimensions: int = 32
    native_dimensions: bool = False
    input_types: frozenset[InputType] = _ALL_INPUT_TYPES
    embedding_types: frozenset[EmbeddingType] = frozenset({EmbeddingType.FLOAT})
    one_embedding_type_per_call: bool = False
    max_items_per_call: int = 96
    max_chars_per_item: int | None = None
    max_tokens_per_item: int | None = None
    max_tokens_per_call: int | None = None
    max_images_per_call: int | None = None
    max_image_bytes: int | None = None
    max_payload_bytes: int | None = None
    description: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    input_types_by_modality: Mapping[Modality, frozenset[InputType]] = field(
        default_factory=dict, compare=False
    )

    def supports(self, modality: Modality | str) -> bool:
        """Whether the model embeds inputs of this modality."""
        return Modality(modality) in self.modalities

    def dimension_choices(self) -> str:
        """A human-readable statement of the allowed lengths."""
        if self.allowed_dimensions:
            return ", ".join(str(d) for d in self.allowed_dimensions)
        if not self.dimensions:
            return "any the server accepts" if self.native_dimensions else "the server's"
        if self.matryoshka:
            return f"any from {self.min_dimensions} to {self.dimensions}"
        return str(self.dimensions)

    def allows_dimensions(self, dims: int) -> bool:
        """Whether ``dims`` is a length this model can give."""
        if self.allowed_dimensions:
            return dims in self.allowed_dimensions
        if not self.dimensions:  # unknown model: the server decides what it accepts
            return self.native_dimensions and dims >= 1
        if self.matryoshka:
            return self.min_dimensions <= dims <= self.dimensions
        return dims == self.dimensions


@runtime_checkable
class Tokenizer(Protocol):
    """An exact, offline tokenizer for one model."""

    #: Tokens the model adds to every input (e.g. [CLS] and [SEP]: 2).
    special_tokens: int

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets in ``text`` of each token, in order,
        special tokens excluded."""


@dataclass
class Batch:
    """One call's worth of inputs, planned by the engine.

    ``positions[i]`` is the caller's index of ``inputs[i]``. ``dimensions`` is
    set only when the provider should pass it to its API; ``embedding_types``
    are the types the provider should ask for (always native to the model).
    """

    number: int
    positions: list[int]
    inputs: list[Input]
    model: ModelInfo
    input_type: InputType | None = None
    dimensions: int | None = None
    embedding_types: list[EmbeddingType] = field(default_factory=lambda: [EmbeddingType.FLOAT])
    options: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.inputs)


@dataclass
class BatchResult:
    """A batch's vectors, rows in batch order, one 2-D array per embedding type."""

    vectors: dict[EmbeddingType, npt.NDArray[Any]]
    usage: Usage = field(default_factory=Usage)
    meta: dict[str, Any] = field(default_factory=dict)


class Provider(abc.ABC):
    """Base of every provider. Subclass ``HTTPProvider`` or ``InProcessProvider``.

    Subclasses set ``name`` (the prefix in ``"name:model"``), ``default_model``
    and return their known models from ``known_models()``, which must not need
    a key or a network (``embedplug models`` lists it).
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    default_model: ClassVar[str]
    #: Per-call options ``build_request`` / ``embed_batch`` read from ``batch.options``;
    #: ``embed(..., other=...)`` with a name not listed is refused before any request.
    call_options: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    @abc.abstractmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        """The models this provider knows, with their capabilities."""

    # Instance settings that cannot change a vector; everything else in ``vars(self)`` may.
    _NOT_IN_FINGERPRINT: ClassVar[frozenset[str]] = frozenset(
        {"api_key", "headers", "timeout", "max_concurrency", "base_url", "encoding_format"}
    )

    def cache_fingerprint(self) -> dict[str, str]:
        """The instance's settings that may change a vector (prefixes, truncation, extra
        body fields...), as text; a cache keys its entries with them. Secrets never."""
        out = {}
        for name, value in sorted(vars(self).items()):
            if name.lstrip("_") in self._NOT_IN_FINGERPRINT or value in (None, {}, [], ()):
                continue
            if isinstance(value, Provider):  # a delegate (one provider, two protocols)
                nested = value.cache_fingerprint()
                if nested:
                    out[name] = repr(sorted(nested.items()))
            else:
                out[name] = repr(value)
        return out

    def prepare(self, inputs: list[Input], model: ModelInfo) -> list[Input]:
        """Adjust inputs before validation (e.g. resize images); the default returns them as is."""
        return inputs

    def tokenizer(self, model: ModelInfo) -> Tokenizer | None:
        """An exact offline tokenizer for ``model``, or None (the default): the engine then
        uses a bound that never refuses an input that fits."""
        return None

    def truncates_long_inputs(self, model: ModelInfo, options: Mapping[str, Any]) -> bool:
        """Whether the server itself accepts and cuts inputs over ``model.max_tokens_per_item``
        under these call options (default False: the limit is hard, the server refuses).

        When True, ``long_inputs="error"`` sends such inputs instead of refusing them.
        """
        return False

    def model_info(self, model: str) -> ModelInfo:
        """The ``ModelInfo`` for ``model``; raises ``UnknownModelError`` by default."""
        for info in self.known_models():
            if info.name == model:
                return info
        raise UnknownModelError(self.name, model, [m.name for m in self.known_models()])

    def secrets(self) -> list[str]:
        """Every secret this instance holds (keys, secret header values). Errors and log
        records never show them: see ``redact_error``. The default holds none."""
        return []

    def redact_error(self, error: BaseException) -> None:
        """Replace every one of ``secrets()`` in ``error`` (and fragments and masked echoes
        of them, as a provider may send back) by ``[REDACTED]``, in place.

        The engine and the embed-jobs client apply it to every error a provider
        gives before it is raised or logged; a provider need only list its secrets.
        """
        from embedplug._redact import Redactor, redact_error

        redact_error(error, Redactor(self.secrets()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class InProcessProvider(Provider):
    """A provider that computes vectors in this process."""

    @abc.abstractmethod
    def embed_batch(self, batch: Batch) -> BatchResult:
        """Embed one batch; rows in ``batch.inputs`` order. May block; thread-safe."""


class HTTPProvider(Provider):
    """A sans-IO provider over HTTP: it builds requests and parses responses.

    The constructor resolves the key and base URL from its arguments, else the
    environment variables the subclass names in ``api_key_env`` /
    ``base_url_env``, else ``default_base_url``. Keys are ``SecretStr``;
    ``repr`` never shows them. Plain ``http://`` is refused except to loopback
    unless ``allow_insecure_http=True``.
    """

    api_key_env: ClassVar[tuple[str, ...]] = ()
    base_url_env: ClassVar[tuple[str, ...]] = ()
    default_base_url: ClassVar[str | None] = None
    api_key_required: ClassVar[bool] = True
    #: Header names (lower case) whose values are secrets, besides any name that contains
    #: ``key``, ``token``, ``secret``, ``auth``, ``password`` or ``cookie``.
    secret_headers: ClassVar[frozenset[str]] = frozenset(
        {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
    )

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: float = 60.0,
        headers: Mapping[str, str] | None = None,
        max_concurrency: int = 8,
        allow_insecure_http: bool = False,
    ) -> None:
        from embedplug.errors import ConfigurationError
        from embedplug.settings import check_base_url, resolve_api_key, resolve_setting

        url = resolve_setting(base_url, self.base_url_env) or self.default_base_url
        if url is None:
            hint = f"set {' or '.join(self.base_url_env)} or " if self.base_url_env else ""
            raise ConfigurationError(f"{self.name}: no base URL; {hint}pass base_url=...")
        self.base_url = check_base_url(
            url, provider=self.name, allow_insecure_http=allow_insecure_http
        )
        self.api_key = resolve_api_key(
            api_key, self.api_key_env, provider=self.name, required=self.api_key_required
        )
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.max_concurrency = max_concurrency
        from embedplug._redact import install_log_filter

        install_log_filter(self)  # httpcore logs response headers at DEBUG

    base_url: str
    api_key: SecretStr | None
    timeout: float
    max_concurrency: int
    headers: dict[str, str]

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <key>`` plus the caller's extra headers."""
        out = {"content-type": "application/json", **self.headers}
        if self.api_key is not None:
            out["authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        return out

    @abc.abstractmethod
    def build_request(self, batch: Batch) -> httpx.Request:
        """The request that embeds ``batch``. Must not send anything."""

    @abc.abstractmethod
    def parse_response(self, response: httpx.Response, batch: Batch) -> BatchResult:
        """Turn a 2xx response into vectors in ``batch.inputs`` order.

        Raise ``ResponseFormatError`` when the answer breaks the protocol.
        """

    def secrets(self) -> list[str]:
        """The key, and each secret header's value (whole, and without its auth scheme)."""
        found = [self.api_key.get_secret_value()] if self.api_key is not None else []
        for name, value in self.headers.items():
            if _is_secret_header(name.lower(), self.secret_headers) and value:
                found.append(value)
                credentials = value.partition(" ")[2]
                if credentials.strip():
                    found.append(credentials.strip())
        return found

    def parse_error(self, response: httpx.Response) -> ProviderError:
        """Turn a non-2xx response into the matching ``ProviderError``, secrets redacted."""
        from embedplug._http import error_message, request_id, retry_after_seconds

        error = error_for_status(
            response.status_code,
            error_message(response),
            provider=self.name,
            request_id=request_id(response),
            retry_after=retry_after_seconds(response.headers),
        )
        self.redact_error(error)
        return error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r})"
