"""Rows to inputs, validated one by one; and the embedding of a chunk with fan-out.

Shared by ``embed_file`` and the Ray Data callable, so that both turn the same
records into the same inputs and the same vectors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedplug._planning import validate
from embedplug.cache import content_hash
from embedplug.errors import (
    BadRequestError,
    BatchFailedError,
    ConfigurationError,
    InvalidInputError,
)
from embedplug.provider import Modality, ModelInfo
from embedplug.types import EmbeddingType, Image, Input, InputType, Mixed, Usage

if TYPE_CHECKING:
    import numpy.typing as npt

    from embedplug._api import Embedder

__all__ = [
    "Accepted",
    "ChunkResult",
    "RawRow",
    "Rejected",
    "RowSpec",
    "embed_chunk",
    "expected_width",
    "reject_record",
]

logger = logging.getLogger("embedplug.bulk")

IdKind = Literal["int", "str"]
_SINGLES_BEFORE_GIVING_UP = 3


@dataclass
class RawRow:
    """One record read from the input, or why it could not be read."""

    number: int | None
    """0-based position in the input (``None`` where there is none, as in Ray Data)."""
    record: Mapping[str, Any] | None
    error: str | None = None
    raw: str | None = None
    """An excerpt of an undecodable line."""


@dataclass
class Accepted:
    """A row that passed validation."""

    number: int | None
    id: Any
    item: Input
    digest: bytes
    size: int
    index: int = 0
    """Position among the rows handed to ``RowSpec.prepare`` (for Ray: within the batch)."""


@dataclass
class Rejected:
    """A row that failed validation, with the reason."""

    number: int | None
    id: Any
    reason: str
    record: Any = None
    index: int = 0


def expected_width(model: ModelInfo, dimensions: int | None, kind: EmbeddingType) -> int:
    """The row width of ``kind`` vectors before any has been seen (0 when unknown)."""
    dims = dimensions if dimensions is not None else model.dimensions
    return dims // 8 if kind.packed else dims


def _message(exc: InvalidInputError) -> str:
    text = str(exc)
    prefix = f"input {exc.position}: " if exc.position is not None else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def reject_record(record: Any) -> Any:
    """A record made JSON-safe for the rejects file (bytes shown by their size)."""
    if isinstance(record, Mapping):
        return {str(k): reject_record(v) for k, v in record.items()}
    if isinstance(record, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(record))} bytes>"
    if isinstance(record, (list, tuple)):
        return [reject_record(v) for v in record]
    if record is None or isinstance(record, (str, int, float, bool)):
        return record
    return str(record)


@dataclass
class RowSpec:
    """How records become inputs: which columns, and the model they are checked against.

    ``column`` holds the text, ``image_column`` an image (a path, relative to
    ``base_dir``; a ``data:`` URL; bytes; or a ``{"bytes": ..., "path": ...}``
    struct as Hugging Face datasets store images); both make a mixed input.
    ``id_column`` names the id; without one the row number is the id.
    """

    model: ModelInfo
    column: str | None = "text"
    image_column: str | None = None
    id_column: str | None = None
    base_dir: Path | None = None
    id_kind: IdKind | None = None
    """Fixed by the first id seen (int or str); later ids of the other kind are rejected."""

    def __post_init__(self) -> None:
        if self.column is None and self.image_column is None:
            raise ConfigurationError("name a text column, an image column, or both")
        needed = self.modality
        if not self.model.supports(needed):
            kinds = ", ".join(sorted(m.value for m in self.model.modalities))
            raise ConfigurationError(
                f"model {self.model.name!r} does not embed {needed.value} inputs "
                f"(it takes: {kinds}); check --column / --image-column"
            )

    @property
    def modality(self) -> Modality:
        """What every input of this job is."""
        if self.column is not None and self.image_column is not None:
            return Modality.MIXED
        return Modality.IMAGE if self.image_column is not None else Modality.TEXT

    @property
    def columns(self) -> list[str]:
        """The columns read from the input."""
        names = [self.id_column, self.column, self.image_column]
        return [n for n in dict.fromkeys(names) if n is not None]

    def check_columns(self, available: Sequence[str], where: str) -> None:
        """Raise ``ConfigurationError`` if a needed column is absent from a schema."""
        missing = [c for c in self.columns if c not in available]
        if missing:
            listed = ", ".join(repr(c) for c in missing)
            have = ", ".join(repr(c) for c in available) or "none"
            raise ConfigurationError(f"{where} has no column {listed}; its columns: {have}")

    def _id(self, row: RawRow) -> tuple[Any, str | None]:
        if self.id_column is None:
            return row.number, None
        record = row.record or {}
        if self.id_column not in record:
            return None, f"missing id column {self.id_column!r}"
        value = record[self.id_column]
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            what = "null" if value is None else type(value).__name__
            return None, f"id column {self.id_column!r} holds {what}, not a string or integer"
        kind: IdKind = "int" if isinstance(value, int) else "str"
        if self.id_kind is None:
            self.id_kind = kind
        elif kind != self.id_kind:
            return value, f"id {value!r} is {kind}, but the ids before it are {self.id_kind}"
        return value, None

    def _text(self, record: Mapping[str, Any]) -> str:
        assert self.column is not None
        if self.column not in record:
            raise InvalidInputError(f"missing column {self.column!r}")
        value = record[self.column]
        if value is None:
            raise InvalidInputError(f"column {self.column!r} is null")
        if not isinstance(value, str):
            raise InvalidInputError(
                f"column {self.column!r} holds {type(value).__name__}, not a string"
            )
        return value

    def _image(self, record: Mapping[str, Any]) -> Image:
        assert self.image_column is not None
        name = self.image_column
        if name not in record:
            raise InvalidInputError(f"missing column {name!r}")
        value = record[name]
        if isinstance(value, Mapping):  # Hugging Face datasets' image struct
            value = value.get("bytes") or value.get("path")
        if value is None:
            raise InvalidInputError(f"column {name!r} is null")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return Image.from_bytes(bytes(value), source=f"column {name!r}")
        if isinstance(value, str):
            if not value.strip():
                raise InvalidInputError(f"column {name!r} is an empty path")
            if value.startswith(("data:", "http://", "https://")):
                return Image.coerce(value)
            path = Path(value)
            if not path.is_absolute() and self.base_dir is not None:
                path = self.base_dir / path
            return Image.from_path(path)
        raise InvalidInputError(
            f"column {name!r} holds {type(value).__name__}, not a path, data URL or bytes"
        )

    def prepare(self, row: RawRow, index: int = 0) -> Accepted | Rejected:
        """Turn one record into a validated input, or say why it cannot be one."""
        if row.error is not None or row.record is None:
            raw = row.raw if row.record is None else row.record
            return Rejected(row.number, None, row.error or "no record", reject_record(raw), index)
        ident, problem = self._id(row)
        if problem is not None:
            return Rejected(row.number, ident, problem, reject_record(row.record), index)
        try:
            parts: list[str | Image] = []
            if self.column is not None:
                parts.append(self._text(row.record))
            if self.image_column is not None:
                parts.append(self._image(row.record))
            item: Input = parts[0] if len(parts) == 1 else Mixed(parts)
            validate([item], self.model, input_type=None, dimensions=None)
        except InvalidInputError as exc:
            return Rejected(row.number, ident, _message(exc), reject_record(row.record), index)
        size = sum(len(p) if isinstance(p, str) else p.size for p in parts)
        return Accepted(row.number, ident, item, content_hash(item), size, index)


@dataclass
class ChunkResult:
    """The vectors of a chunk's accepted rows, and rows the provider refused."""

    vectors: dict[EmbeddingType, npt.NDArray[Any]]
    """Rows in the order of the accepted rows kept (refused ones removed)."""
    kept: list[Accepted]
    refused: list[Rejected] = field(default_factory=list)
    distinct: int = 0
    usage: Usage = field(default_factory=Usage)
    cache_hits: int = 0
    sent: int = 0


def embed_chunk(
    embedder: Embedder,
    rows: Sequence[Accepted],
    *,
    input_type: InputType | None,
    dimensions: int | None,
    embedding_types: Sequence[EmbeddingType],
    on_progress: Callable[[int, int], None] | None = None,
) -> ChunkResult:
    """Embed the distinct inputs of ``rows`` once and fan the vectors out to every row.

    An input the engine refuses (``InvalidInputError`` with a position) or the
    provider refuses alone (400 when sent by itself, after its batch failed
    with 400) is returned in ``refused`` instead of stopping the chunk. Any
    other provider error propagates: the caller stops cleanly.
    """
    types = list(embedding_types)
    first: dict[bytes, int] = {}
    for row in rows:
        first.setdefault(row.digest, len(first))
    distinct: list[Accepted] = []
    for row in rows:
        if first[row.digest] == len(distinct):
            distinct.append(row)
    bad: dict[bytes, str] = {}
    usage = Usage()
    hits = sent = 0
    table: dict[EmbeddingType, npt.NDArray[Any]] | None = None

    def call(items: list[Input], progress: Callable[[int, int], None] | None) -> Any:
        nonlocal hits, sent, usage
        result = embedder.embed(
            items,
            input_type=input_type,
            dimensions=dimensions,
            embedding_types=types,
            on_progress=progress,
        )
        usage = usage + result.usage
        stats = result.meta.get("cache")
        if isinstance(stats, dict):
            hits += int(stats.get("hits", 0))
            sent += int(stats.get("misses", 0))
        else:
            sent += len(items)
        return result

    todo = list(distinct)
    while todo:
        try:
            result = call([r.item for r in todo], on_progress)
        except InvalidInputError as exc:
            if exc.position is None or not 0 <= exc.position < len(todo):
                raise
            bad[todo[exc.position].digest] = _message(exc)
            todo = [r for r in todo if r.digest not in bad]
            continue
        except (BatchFailedError, BadRequestError) as exc:
            table = _retry_singly(exc, todo, call, bad)
            break
        table = dict(result.vectors)
        break
    if table is None:
        table = {t: np.zeros((0, 0), dtype=np.dtype(t.dtype)) for t in types}

    kept = [r for r in rows if r.digest not in bad]
    refused = [
        Rejected(r.number, r.id, bad[r.digest], None, r.index) for r in rows if r.digest in bad
    ]
    done_index = {r.digest: i for i, r in enumerate(todo)}
    take = np.asarray([done_index[r.digest] for r in kept], dtype=np.intp)
    identity = len(take) == len(todo) and bool((take == np.arange(len(take))).all())
    vectors = {t: table[t] if identity else table[t][take] for t in types}
    return ChunkResult(
        vectors=vectors,
        kept=kept,
        refused=refused,
        distinct=len(distinct),
        usage=usage,
        cache_hits=hits,
        sent=sent,
    )


def _retry_singly(
    exc: BatchFailedError | BadRequestError,
    todo: list[Accepted],
    call: Callable[[list[Input], Callable[[int, int], None] | None], Any],
    bad: dict[bytes, str],
) -> dict[EmbeddingType, npt.NDArray[Any]]:
    """After a 400, send the failed inputs one at a time to find the ones refused.

    Gives up (re-raising ``exc``) when other errors than 400 are involved, or
    when the first few inputs sent alone all fail: then the request, not the
    rows, is at fault.
    """
    if isinstance(exc, BatchFailedError):
        if not all(isinstance(e, BadRequestError) for e in exc.errors.values()):
            raise exc
        failed = list(exc.failed_positions)
        table = {t: arr.copy() for t, arr in exc.partial.vectors.items()}
    else:
        failed = list(range(len(todo)))
        table = {}
    logger.warning(
        "the provider refused a batch (%s); sending its %d inputs one at a time", exc, len(failed)
    )
    succeeded = 0
    for attempt, position in enumerate(failed):
        row = todo[position]
        try:
            single = call([row.item], None)
        except BadRequestError as err:
            if succeeded == 0 and attempt + 1 >= min(_SINGLES_BEFORE_GIVING_UP, len(failed)):
                raise exc from err
            bad[row.digest] = f"refused by the provider: {err}"
            continue
        succeeded += 1
        for kind, arr in single.vectors.items():
            if kind not in table:
                table[kind] = np.zeros((len(todo), arr.shape[1]), dtype=arr.dtype)
            table[kind][position] = arr[0]
    return table
