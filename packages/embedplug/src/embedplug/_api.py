"""The public entry points: ``embedder``, ``embed``, ``aembed``, ``providers``, ``models``."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from embedplug import plugins
from embedplug._long_inputs import coerce_long_inputs
from embedplug.errors import ConfigurationError, UnknownProviderError
from embedplug.types import (
    EmbeddingResult,
    EmbeddingType,
    Image,
    Input,
    InputType,
    LongInputs,
    coerce_embedding_types,
    coerce_input_type,
    normalize_inputs,
)

if TYPE_CHECKING:
    from types import TracebackType

    from embedplug.engine import Engine, ProgressCallback
    from embedplug.provider import ModelInfo, Provider

__all__ = [
    "DEFAULT_MODEL",
    "Embedder",
    "ModelEntry",
    "aembed",
    "embed",
    "embedder",
    "models",
    "providers",
]

DEFAULT_MODEL = "local:all-minilm-l6-v2"
"""Used when neither the caller nor ``EMBEDPLUG_DEFAULT_MODEL`` names a model."""

Inputs = Input | Sequence[Input | Sequence[str | Image]]

_ENGINE_OPTIONS = (
    "max_concurrency",
    "retry",
    "requests_per_minute",
    "tokens_per_minute",
    "max_batch_size",
    "timeout",
    "transport",
    "async_transport",
)
_CALL_DEFAULTS = ("input_type", "dimensions", "embedding_types", "long_inputs")
# The keyword parameters of ``Embedder.embed`` besides the provider's ``call_options``.
_CALL_PARAMETERS = (*_CALL_DEFAULTS, "progress", "on_progress")


class ModelEntry(NamedTuple):
    """One installed model: its provider's name and its ``ModelInfo``."""

    provider: str
    info: ModelInfo

    @property
    def id(self) -> str:
        """``"provider:model"``, the string ``embedder()`` takes."""
        return f"{self.provider}:{self.info.name}"


class Embedder:
    """A provider and a model with default options; ``embed`` / ``aembed`` do the work.

    Made by ``embedplug.embedder(...)``. Holds one HTTP client per event loop
    and one for sync use; close it with ``close()`` / ``aclose()`` or use it as
    a (async) context manager. Safe to share between threads.
    """

    def __init__(
        self,
        provider: Provider,
        model: ModelInfo,
        *,
        input_type: InputType | str | None = None,
        dimensions: int | None = None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
        long_inputs: LongInputs | None = None,
        **engine_options: Any,
    ) -> None:
        from embedplug.engine import Engine

        self.provider = provider
        self.model_info = model
        self.input_type = coerce_input_type(input_type)
        self.dimensions = dimensions
        self.embedding_types = coerce_embedding_types(embedding_types)
        self.long_inputs: LongInputs = coerce_long_inputs(long_inputs) or "error"
        # the defaults are checked now (input type, dimensions, packed types), not at first use
        self.validate()
        self.engine: Engine = Engine(provider, model, **engine_options)

    def validate(
        self,
        *,
        input_type: InputType | str | None = None,
        dimensions: int | None = None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
    ) -> None:
        """Check call options against the model, as ``embed`` does before any request.

        Each option left ``None`` is the embedder's default. Raises
        ``InvalidInputError`` for an input type, a dimension count or an
        embedding type the model does not offer; sends nothing.
        """
        from embedplug._planning import plan_batches

        plan_batches(
            [],
            self.model_info,
            **self._with_defaults(input_type, dimensions, embedding_types),
            options={},
        )

    def _with_defaults(
        self,
        input_type: InputType | str | None,
        dimensions: int | None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None,
    ) -> dict[str, Any]:
        """A call's input type, dimensions and embedding types, each ``None`` the default."""
        return {
            "input_type": coerce_input_type(input_type) or self.input_type,
            "dimensions": dimensions if dimensions is not None else self.dimensions,
            "embedding_types": (
                coerce_embedding_types(embedding_types)
                if embedding_types is not None
                else self.embedding_types
            ),
        }

    @property
    def id(self) -> str:
        """``"provider:model"``."""
        return f"{self.provider.name}:{self.model_info.name}"

    def _plan(
        self,
        inputs: Inputs,
        input_type: InputType | str | None,
        dimensions: int | None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None,
        long_inputs: LongInputs | None,
        options: dict[str, Any],
    ) -> Any:
        unknown = set(options) - self.provider.call_options
        if unknown:
            own = sorted(self.provider.call_options)
            raise ConfigurationError(
                _unknown_options("embed()", unknown, self.provider.name, own, _CALL_PARAMETERS)
            )
        return self.engine.plan(
            normalize_inputs(inputs),
            **self._with_defaults(input_type, dimensions, embedding_types),
            options=options,
            long_inputs=coerce_long_inputs(long_inputs) or self.long_inputs,
        )

    def embed(
        self,
        inputs: Inputs,
        *,
        input_type: InputType | str | None = None,
        dimensions: int | None = None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
        long_inputs: LongInputs | None = None,
        progress: bool = False,
        on_progress: ProgressCallback | None = None,
        **options: Any,
    ) -> EmbeddingResult:
        """Embed ``inputs`` (a text, an image, a mixed list, or a list of those).

        Returns one row per input, in input order. Raises ``InvalidInputError``
        before any request for an input the model cannot take, and
        ``BatchFailedError`` (with what succeeded) when some batches fail for
        good. ``long_inputs`` (``error``, ``truncate`` or ``chunk``; default: the
        embedder's) says what to do with a text over the model's token limit. Extra
        keyword ``options`` go to the provider (e.g. ``truncate``); one it does not
        list in ``call_options`` raises ``ConfigurationError``.
        """
        plan = self._plan(inputs, input_type, dimensions, embedding_types, long_inputs, options)
        return self.engine.run(plan, on_progress=on_progress, progress=progress)

    async def aembed(
        self,
        inputs: Inputs,
        *,
        input_type: InputType | str | None = None,
        dimensions: int | None = None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
        long_inputs: LongInputs | None = None,
        progress: bool = False,
        on_progress: ProgressCallback | None = None,
        **options: Any,
    ) -> EmbeddingResult:
        """The async form of ``embed``, on ``httpx.AsyncClient`` (same results)."""
        plan = self._plan(inputs, input_type, dimensions, embedding_types, long_inputs, options)
        return await self.engine.arun(plan, on_progress=on_progress, progress=progress)

    def close(self) -> None:
        """Close the sync HTTP client."""
        self.engine.close()

    async def aclose(self) -> None:
        """Close every HTTP client."""
        await self.engine.aclose()

    def __enter__(self) -> Embedder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Embedder:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"Embedder({self.id!r}, provider={self.provider!r})"


def _split_model_id(model: str | None) -> tuple[str, str | None]:
    """``(provider, model or None)`` for a model id, resolving defaults (see ``_resolve``)."""
    from embedplug._resolve import split_model_id

    return split_model_id(model)


def embedder(model: str | None = None, **options: Any) -> Embedder:
    """An ``Embedder`` for ``"provider:model"`` (or a provider name, or a bare model name).

    With no model, ``EMBEDPLUG_DEFAULT_MODEL`` is used, else the offline local
    provider. ``options`` mixes three kinds, told apart by name: call defaults
    (``input_type``, ``dimensions``, ``embedding_types``, ``long_inputs``), engine settings
    (``max_concurrency``, ``retry``, ``requests_per_minute``,
    ``tokens_per_minute``, ``max_batch_size``, ``timeout``) and the provider's
    own options (``api_key``, ``base_url``, ...). ``cache=`` (a path or an
    ``embedplug.cache.Cache``) answers repeated inputs from a local SQLite
    cache and embeds only what is missing. Any other name raises
    ``ConfigurationError`` listing the valid ones.
    """
    from embedplug._resolve import check_model_without_key, provider_class

    provider_name, model_name = _split_model_id(model)
    cls = provider_class(provider_name, model)
    provider_params = _provider_parameters(cls)
    unknown = set(options) - {"cache", *_CALL_DEFAULTS, *_ENGINE_OPTIONS, *provider_params}
    if unknown:
        common = ["cache", *_CALL_DEFAULTS, *_ENGINE_OPTIONS]
        raise ConfigurationError(
            _unknown_options("embedder()", unknown, provider_name, provider_params, common)
        )
    check_model_without_key(cls, model_name or cls.default_model)  # before any missing key
    cache = options.pop("cache", None)
    call_defaults = {k: options.pop(k) for k in _CALL_DEFAULTS if k in options}
    engine_options = {k: options.pop(k) for k in _ENGINE_OPTIONS if k in options}
    try:
        provider = cls(**options)
    except TypeError as exc:  # a parameter the signature shows but the class refuses
        raise ConfigurationError(
            f"provider {provider_name!r} does not take these options: {exc}; "
            f"it takes: {', '.join(provider_params) or 'none'}"
        ) from None
    info = provider.model_info(model_name or cls.default_model)
    made = Embedder(provider, info, **call_defaults, **engine_options)
    if cache is None:
        return made
    from embedplug.cache import CachedEmbedder

    return CachedEmbedder(made, cache)


def _provider_parameters(cls: type[Provider]) -> list[str]:
    """The keyword options a provider class takes: its ``__init__``'s, and those of the
    bases its ``**kwargs`` go on to (never the ``**kwargs`` name itself)."""
    names: list[str] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if klass is object or init is None:
            continue
        params = list(inspect.signature(init).parameters.values())
        for param in params[1:]:
            keyword = param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY)
            if keyword and param.name not in names:
                names.append(param.name)
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names


def _unknown_options(
    where: str, unknown: Collection[str], provider: str, own: Sequence[str], common: Sequence[str]
) -> str:
    """The message for misspelt options: each with a close match if any, then the valid ones."""
    valid = list(dict.fromkeys([*own, *common]))
    parts = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name))
    plural = "s" if len(parts) > 1 else ""
    own_text = ", ".join(own) or "none"
    common_text = ", ".join(o for o in common if o not in own)
    return (
        f"{where}: unknown option{plural} {', '.join(parts)}; provider {provider!r} "
        f"takes: {own_text}; and every {where} takes: {common_text}"
    )


def embed(
    inputs: Inputs,
    model: str | None = None,
    *,
    input_type: InputType | str | None = None,
    dimensions: int | None = None,
    embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
    **options: Any,
) -> EmbeddingResult:
    """One-shot: make an embedder for ``model``, embed ``inputs``, close it."""
    with embedder(model, **options) as e:
        return e.embed(
            inputs,
            input_type=input_type,
            dimensions=dimensions,
            embedding_types=embedding_types,
            progress=progress,
            on_progress=on_progress,
        )


async def aembed(
    inputs: Inputs,
    model: str | None = None,
    *,
    input_type: InputType | str | None = None,
    dimensions: int | None = None,
    embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
    progress: bool = False,
    on_progress: ProgressCallback | None = None,
    **options: Any,
) -> EmbeddingResult:
    """One-shot async: make an embedder for ``model``, embed ``inputs``, close it."""
    async with embedder(model, **options) as e:
        return await e.aembed(
            inputs,
            input_type=input_type,
            dimensions=dimensions,
            embedding_types=embedding_types,
            progress=progress,
            on_progress=on_progress,
        )


def providers() -> dict[str, type[Provider]]:
    """Installed provider classes by name."""
    return plugins.provider_classes()


def models(provider: str | None = None) -> list[ModelEntry]:
    """Every known model of every installed provider (or of one), without keys or network."""
    classes = plugins.provider_classes()
    if provider is not None and provider not in classes:
        raise UnknownProviderError(provider, list(classes))
    entries: list[ModelEntry] = []
    for name in sorted(classes):
        if provider is None or name == provider:
            entries.extend(ModelEntry(name, info) for info in classes[name].known_models())
    return entries
