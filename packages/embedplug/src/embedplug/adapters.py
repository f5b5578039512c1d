"""The pieces every framework adapter needs, so that each adapter is a thin translation.

An adapter (``langchain-embedplug``, ``llama-index-embeddings-embedplug``, yours)
takes keyword options from its framework, builds one ``Embedder`` with
``embedplug.embedder``, picks an input type per role (query, document) and hands
vectors back as lists of floats. This module does those steps the same way for
all of them, with the public API only; it imports no framework.

- ``split_options``: which options are secrets (kept out of repr and
  serialisation), which are plain (serialisable), which are runtime objects.
- ``reveal``: a ``SecretStr`` (or any object with ``get_secret_value``) as its
  value, at the edge where the option is passed on.
- ``resolve_input_type``: an adapter's role to the input type the model takes,
  dropping an unsupported default, refusing an unsupported explicit choice.
- ``coerce_images``: paths, bytes, ``data:`` URLs, ``BytesIO`` (one or a list) as
  ``Image`` objects, an error naming the input's position.
- ``image_input_type`` / ``image_models_hint``: images need a model that takes them.
- ``to_rows``: an ``EmbeddingResult`` as ``list[list[float]]`` in one ``tolist()``.
- ``ClosesEmbedder``: ``close`` / ``aclose`` and the (async) context manager, for a
  class with an ``embedder`` property.

Checks of dimensions and embedding types run in ``Embedder.validate`` (and at
construction), never in the adapter.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from io import BytesIO
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from embedplug._api import _CALL_DEFAULTS, _ENGINE_OPTIONS
from embedplug.errors import InvalidInputError
from embedplug.types import Image, InputType

if TYPE_CHECKING:
    from embedplug._api import Embedder
    from embedplug.provider import ModelInfo
    from embedplug.types import EmbeddingResult

__all__ = [
    "CALL_DEFAULTS",
    "ClosesEmbedder",
    "ENGINE_OPTIONS",
    "ImageLike",
    "SECRET_NAMES",
    "SECRET_SUFFIXES",
    "SplitOptions",
    "coerce_images",
    "image_input_type",
    "image_models_hint",
    "is_plain",
    "is_secret_option",
    "resolve_input_type",
    "reveal",
    "split_options",
    "to_rows",
]

CALL_DEFAULTS: frozenset[str] = frozenset(_CALL_DEFAULTS)
"""Options of ``embedplug.embedder`` that set per-call defaults (``input_type``, ``dimensions``,
``embedding_types``, ``long_inputs``); an adapter usually gives them fields of its own."""

ENGINE_OPTIONS: frozenset[str] = frozenset(_ENGINE_OPTIONS)
"""Options of ``embedplug.embedder`` for the engine (``max_concurrency``, ``retry``, ...);
every other name is the provider's."""

SECRET_NAMES: frozenset[str] = frozenset(
    {"api_key", "headers", "authorization", "password", "credentials"}
)
"""Option names whose values are secrets, compared case-insensitively."""

SECRET_SUFFIXES: tuple[str, ...] = ("_key", "_secret", "_token", "_password", "_credentials")
"""Name endings that mark an option as a secret (``aws_secret``, ``session_token``, ...)."""


def is_secret_option(name: str, value: Any) -> bool:
    """Whether option ``name=value`` is a secret: by its name, or a ``SecretStr``-like value."""
    lowered = name.lower()
    return (
        hasattr(value, "get_secret_value")
        or lowered in SECRET_NAMES
        or lowered.endswith(SECRET_SUFFIXES)
    )


def is_plain(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip (so an adapter may serialise it)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def reveal(value: Any) -> Any:
    """``value.get_secret_value()`` for a ``SecretStr``-like value, else ``value`` itself."""
    getter = getattr(value, "get_secret_value", None)
    return getter() if callable(getter) else value


class SplitOptions(NamedTuple):
    """Options sorted by how an adapter may keep them (insertion order preserved)."""

    public: dict[str, Any]
    """Plain, not secret: safe to show and serialise."""
    secret: dict[str, Any]
    """Secrets (``SecretStr``-wrapped when given as ``str``): never shown nor serialised."""
    runtime: dict[str, Any]
    """Not secret but not serialisable (a transport, a ``RetryPolicy``, ...)."""

    def merged(self) -> dict[str, Any]:
        """Every option, secrets revealed: what ``embedplug.embedder(**...)`` takes."""
        return {**self.public, **self.runtime, **{k: reveal(v) for k, v in self.secret.items()}}


def split_options(
    options: Mapping[str, Any], *, reserved: Mapping[str, str] | None = None
) -> SplitOptions:
    """Sort ``options`` into public, secret and runtime ones.

    ``reserved`` maps option names the adapter sets itself to the error
    message for each: such a name raises ``ValueError`` with that message
    (a ``ValueError``, so that pydantic validators report it as their own).
    """
    from pydantic import SecretStr

    reserved = reserved or {}
    split = SplitOptions({}, {}, {})
    for name, value in options.items():
        if name in reserved:
            raise ValueError(reserved[name])
        if is_secret_option(name, value):
            split.secret[name] = SecretStr(value) if isinstance(value, str) else value
        elif is_plain(value):
            split.public[name] = value
        else:
            split.runtime[name] = value
    return split


def resolve_input_type(
    wanted: InputType | str | None, info: ModelInfo, *, option: str, explicit: bool
) -> InputType | None:
    """The input type to send for one role of the adapter (``option`` names it in errors).

    ``wanted`` when the model takes it; ``None`` for ``None`` or for a default
    (``explicit=False``) the model does not take, so that models without input
    types still work; ``ValueError`` for an explicit choice the model does not
    take, or for a string that is no input type.
    """
    if wanted is None:
        return None
    try:
        kind = InputType(wanted)
    except ValueError:
        allowed = ", ".join(t.value for t in InputType)
        raise ValueError(f"{option}={wanted!r} is not an input type; allowed: {allowed}") from None
    if kind in info.input_types:
        return kind
    if not explicit:
        return None
    allowed = ", ".join(sorted(t.value for t in info.input_types)) or "none"
    raise ValueError(
        f"model {info.name!r} does not take {option}={kind.value!r}; it takes: {allowed}"
    )


ImageLike = str | bytes | os.PathLike[str] | Image | BytesIO
"""An image as frameworks hand it over: a path, encoded bytes, a ``data:`` URL, ``BytesIO``."""


def coerce_images(images: Sequence[ImageLike] | ImageLike) -> list[Image]:
    """``images`` (one, or a sequence) as ``Image`` objects; nothing is fetched.

    Raises ``InvalidInputError`` naming the position of an input that is not
    a png, jpeg, webp or gif image (URLs are refused, not fetched).
    """
    if isinstance(images, (str, bytes, os.PathLike, Image, BytesIO)):
        images = [images]  # one image, not a sequence of characters or bytes
    out: list[Image] = []
    for position, value in enumerate(images):
        try:
            if isinstance(value, BytesIO):
                out.append(Image.from_bytes(value.getvalue(), source="BytesIO"))
            else:
                out.append(Image.coerce(value))
        except InvalidInputError as exc:
            raise InvalidInputError(str(exc), position=position) from None
    return out


def image_input_type(info: ModelInfo) -> InputType | None:
    """``InputType.IMAGE`` where the model lists it, else ``None`` (its protocol sends its own)."""
    return InputType.IMAGE if InputType.IMAGE in info.input_types else None


def image_models_hint() -> str:
    """Where to find a model that embeds images, for an adapter's error message."""
    from embedplug import Modality, models

    try:
        candidates = [e.id for e in models() if e.info.supports(Modality.IMAGE)]
    except Exception:  # pragma: no cover - the list is only a hint
        candidates = []
    if candidates:
        return f"installed models that do: {', '.join(candidates)}"
    return "install a provider plugin with a model that takes images (see `embedplug models`)"


def to_rows(result: EmbeddingResult) -> list[list[float]]:
    """The vectors as ``list[list[float]]``: one ``tolist()`` over the (first) array.

    ``int8`` / ``uint8`` / packed-bit rows become whole-number floats, exactly.
    """
    import numpy as np

    array = result.embeddings
    if array.dtype.kind != "f":
        array = array.astype(np.float32)
    rows: list[list[float]] = array.tolist()
    return rows


_Self = TypeVar("_Self", bound="ClosesEmbedder")


class ClosesEmbedder:
    """Mixin: closing an adapter closes its ``embedder`` (a property the class defines)."""

    __slots__ = ()

    @property
    def embedder(self) -> Embedder:  # pragma: no cover - the adapter defines it
        raise NotImplementedError

    def close(self) -> None:
        """Close the embedder's sync HTTP client (it reopens on the next call)."""
        self.embedder.close()

    async def aclose(self) -> None:
        """Close the sync client and the async client of the running event loop.

        Await it before an event loop you made ends (``asyncio.run``, a test):
        an async client cannot be closed once its loop is gone.
        """
        await self.embedder.aclose()

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    async def __aenter__(self: _Self) -> _Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
