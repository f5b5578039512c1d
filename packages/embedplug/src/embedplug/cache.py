"""An optional content-addressed cache of vectors, in one SQLite file.

An entry is keyed by what determines a vector: the provider (and its base URL),
the model, the input type, the dimensions, the embedding type, the provider
call options, and a BLAKE2b hash of the input's content. Wrap any ``Embedder``
to use it::

    import embedplug
    from embedplug.cache import Cache, CachedEmbedder

    with CachedEmbedder(embedplug.embedder("openai:text-embedding-3-small"), "vectors.db") as e:
        e.embed(["a", "b"])        # two inputs sent
        e.embed(["b", "a", "a"])   # nothing sent: served from the cache

``CachedEmbedder`` is an ``Embedder`` (same ``embed`` / ``aembed`` signatures),
so anything that takes an ``Embedder`` takes it. Identical inputs within one
call are embedded once and fanned out. SQLite runs in WAL mode, so several
processes (Ray actors on one machine, parallel jobs) may share a file.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from embedplug._api import Embedder, Inputs
from embedplug.errors import BatchFailedError
from embedplug.provider import HTTPProvider
from embedplug.types import (
    EmbeddingResult,
    EmbeddingType,
    Image,
    Input,
    InputType,
    Usage,
    normalize_inputs,
)

if TYPE_CHECKING:
    from types import TracebackType

    import numpy.typing as npt

    from embedplug.engine import ProgressCallback

__all__ = ["Cache", "CacheKey", "CacheStats", "CachedEmbedder", "content_hash"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spaces (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    input_type TEXT NOT NULL,
    dimensions INTEGER NOT NULL,
    embedding_type TEXT NOT NULL,
    options TEXT NOT NULL,
    UNIQUE (provider, endpoint, model, input_type, dimensions, embedding_type, options)
);
CREATE TABLE IF NOT EXISTS vectors (
    space INTEGER NOT NULL REFERENCES spaces(id),
    digest BLOB NOT NULL,
    vector BLOB NOT NULL,
    UNIQUE (space, digest)
);
"""
# A rowid table, not WITHOUT ROWID: rows of 1-4 KB blobs are three times smaller
# on disk and written three times faster in a rowid table.
_IN_CLAUSE = 500  # digests per SELECT (SQLite's variable limit is 999 on old builds)


def content_hash(item: Input) -> bytes:
    """The 16-byte BLAKE2b hash of an input's content (stable across runs and machines).

    A text hashes its UTF-8 bytes, an image its encoded bytes, a mixed input
    each part with its kind and length, so ``"ab"`` and ``["a", "b"]`` differ.
    """
    h = hashlib.blake2b(digest_size=16)
    if isinstance(item, str):
        h.update(b"t")
        h.update(item.encode("utf-8", "surrogatepass"))
    elif isinstance(item, Image):
        h.update(b"i")
        h.update(item.data)
    else:
        h.update(b"m")
        for part in item.parts:
            data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part.data
            h.update(b"t" if isinstance(part, str) else b"i")
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
    return h.digest()


@dataclass(frozen=True)
class CacheKey:
    """Everything but the content that determines a vector."""

    provider: str
    model: str
    input_type: str
    dimensions: int
    embedding_type: str
    endpoint: str = ""
    options: str = ""

    @classmethod
    def for_call(
        cls,
        embedder: Embedder,
        *,
        input_type: InputType | None,
        dimensions: int | None,
        embedding_type: EmbeddingType,
        options: Mapping[str, Any] | None = None,
    ) -> CacheKey:
        """The key of a call on ``embedder`` with these settings.

        ``dimensions=None`` means the model's default and shares entries with
        an explicit default; ``input_type=None`` is its own key (``"none"``).
        The endpoint is an HTTP provider's base URL, so two servers that serve
        a model of the same name do not share entries.
        """
        provider = embedder.provider
        endpoint = provider.base_url if isinstance(provider, HTTPProvider) else ""
        dims = dimensions if dimensions is not None else embedder.model_info.dimensions
        settings = dict(options or {})
        policy = settings.pop("long_inputs", None) or getattr(embedder, "long_inputs", "error")
        if policy != "error":  # truncate and chunk change the vectors of long texts
            settings["long_inputs"] = policy
        fingerprint = provider.cache_fingerprint()
        if fingerprint:  # e.g. prefixes or truncation set when the provider was made
            settings["provider settings"] = fingerprint
        opts = orjson.dumps(settings, option=orjson.OPT_SORT_KEYS, default=str)
        return cls(
            provider=provider.name,
            model=embedder.model_info.name,
            input_type=input_type.value if input_type is not None else "none",
            dimensions=int(dims),
            embedding_type=embedding_type.value,
            endpoint=endpoint,
            options="" if opts == b"{}" else opts.decode(),
        )


@dataclass
class CacheStats:
    """Counts for a ``CachedEmbedder`` since it was made (distinct inputs per call)."""

    hits: int = 0
    misses: int = 0
    deduplicated: int = 0
    """Inputs that repeated another input of the same call."""


class Cache:
    """A SQLite file of vectors keyed by ``CacheKey`` and content hash.

    Thread-safe (one connection behind a lock); several processes may share
    the file. ``get_many`` / ``put_many`` work on many digests at once;
    ``CachedEmbedder`` is the usual way to use a cache.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 60.0) -> None:
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            str(self.path), timeout=timeout, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA page_size=16384")  # takes effect on a new file only
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        with self._transaction() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
        self._spaces: dict[CacheKey, int] = {}

    # -- plumbing -----------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError(f"the cache {str(self.path)!r} is closed")
        return self._conn

    class _Tx:
        def __init__(self, cache: Cache) -> None:
            self.cache = cache

        def __enter__(self) -> sqlite3.Connection:
            self.cache._lock.acquire()
            try:
                conn = self.cache._connection()
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.cache._lock.release()
                raise
            return conn

        def __exit__(
            self,
            exc_type: type[BaseException] | None,
            exc: BaseException | None,
            tb: TracebackType | None,
        ) -> None:
            try:
                conn = self.cache._connection()
                conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
            finally:
                self.cache._lock.release()

    def _transaction(self) -> Cache._Tx:
        return Cache._Tx(self)

    def _space(self, key: CacheKey, *, create: bool) -> int | None:
        cached = self._spaces.get(key)
        if cached is not None:
            return cached
        fields = (
            key.provider,
            key.endpoint,
            key.model,
            key.input_type,
            key.dimensions,
            key.embedding_type,
            key.options,
        )
        where = (
            "provider=? AND endpoint=? AND model=? AND input_type=? AND dimensions=? "
            "AND embedding_type=? AND options=?"
        )
        with self._lock:
            conn = self._connection()
            row = conn.execute(f"SELECT id FROM spaces WHERE {where}", fields).fetchone()
            if row is None and create:
                with self._transaction() as tx:
                    tx.execute(
                        "INSERT OR IGNORE INTO spaces (provider, endpoint, model, input_type, "
                        "dimensions, embedding_type, options) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        fields,
                    )
                row = conn.execute(f"SELECT id FROM spaces WHERE {where}", fields).fetchone()
            if row is None:
                return None
            self._spaces[key] = int(row[0])
            return int(row[0])

    # -- public -------------------------------------------------------------------

    def get_many(self, key: CacheKey, digests: Sequence[bytes]) -> dict[bytes, npt.NDArray[Any]]:
        """The cached rows (1-D arrays of the key's dtype) for the digests that have one."""
        space = self._space(key, create=False)
        if space is None or not digests:
            return {}
        dtype = np.dtype(EmbeddingType(key.embedding_type).dtype).newbyteorder("<")
        found: dict[bytes, npt.NDArray[Any]] = {}
        unique = list(dict.fromkeys(digests))
        with self._lock:
            conn = self._connection()
            for start in range(0, len(unique), _IN_CLAUSE):
                part = unique[start : start + _IN_CLAUSE]
                marks = ",".join("?" * len(part))
                rows = conn.execute(
                    f"SELECT digest, vector FROM vectors WHERE space=? AND digest IN ({marks})",
                    (space, *part),
                ).fetchall()
                for digest, blob in rows:
                    found[bytes(digest)] = np.frombuffer(blob, dtype=dtype)
        return found

    def put_many(self, key: CacheKey, digests: Sequence[bytes], rows: npt.NDArray[Any]) -> None:
        """Store ``rows[i]`` under ``digests[i]`` (one transaction)."""
        if len(digests) != len(rows):
            raise ValueError(f"{len(digests)} digests for {len(rows)} rows")
        if not digests:
            return
        space = self._space(key, create=True)
        dtype = np.dtype(EmbeddingType(key.embedding_type).dtype).newbyteorder("<")
        data = np.ascontiguousarray(rows, dtype=dtype)
        with self._transaction() as tx:
            tx.executemany(  # rows bound as buffers: no bytes copy of every vector
                "INSERT OR REPLACE INTO vectors (space, digest, vector) VALUES (?, ?, ?)",
                ((space, d, memoryview(data[i])) for i, d in enumerate(digests)),
            )

    def keys(self) -> list[tuple[CacheKey, int]]:
        """Every key in the cache with its number of entries."""
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT s.provider, s.model, s.input_type, s.dimensions, s.embedding_type, "
                    "s.endpoint, s.options, COUNT(v.digest) FROM spaces s "
                    "LEFT JOIN vectors v ON v.space = s.id GROUP BY s.id ORDER BY s.id"
                )
                .fetchall()
            )
        return [(CacheKey(*row[:7]), int(row[7])) for row in rows]

    def __len__(self) -> int:
        with self._lock:
            (count,) = self._connection().execute("SELECT COUNT(*) FROM vectors").fetchone()
        return int(count)

    def clear(self) -> None:
        """Delete every entry."""
        with self._transaction() as tx:
            tx.execute("DELETE FROM vectors")
            tx.execute("DELETE FROM spaces")
        self._spaces.clear()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Cache({str(self.path)!r})"


class CachedEmbedder(Embedder):
    """An ``Embedder`` that answers from a ``Cache`` and embeds only what is missing.

    ``CachedEmbedder(embedder, cache)`` where ``cache`` is a ``Cache`` or a
    path (then the cache is opened here and closed with the embedder). It
    shares the wrapped embedder's provider, model, defaults and engine;
    ``embed`` / ``aembed`` take the same arguments and return the same
    ``EmbeddingResult``, in input order. An input is a hit only when every
    embedding type asked for is cached. ``result.meta["cache"]`` holds the
    call's ``hits``, ``misses`` and ``deduplicated`` counts (distinct inputs),
    and ``stats`` the running totals. When some batches fail for good, the
    vectors that arrived are stored before ``BatchFailedError`` is re-raised
    (with ``partial`` and ``failed_positions`` in the caller's positions).
    """

    def __init__(self, embedder: Embedder, cache: Cache | str | os.PathLike[str]) -> None:
        # Share the wrapped embedder's state (provider, model, defaults, engine).
        self.__dict__.update(vars(embedder))
        self.inner = embedder
        self._owns_cache = not isinstance(cache, Cache)
        self.cache = cache if isinstance(cache, Cache) else Cache(cache)
        self.stats = CacheStats()
        self._stats_lock = threading.Lock()

    # -- the shared logic -----------------------------------------------------------

    def _settings(
        self,
        input_type: InputType | str | None,
        dimensions: int | None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None,
    ) -> tuple[InputType | None, int | None, list[EmbeddingType]]:
        call = self._with_defaults(input_type, dimensions, embedding_types)
        return call["input_type"], call["dimensions"], list(call["embedding_types"])

    def _lookup(
        self,
        items: list[Input],
        kind: InputType | None,
        dims: int | None,
        types: list[EmbeddingType],
        options: Mapping[str, Any],
    ) -> _Lookup:
        digests = [content_hash(item) for item in items]
        first: dict[bytes, int] = {}
        firsts: list[int] = []
        inverse = np.empty(len(items), dtype=np.intp)
        for position, digest in enumerate(digests):
            u = first.setdefault(digest, len(first))
            if u == len(firsts):
                firsts.append(position)
            inverse[position] = u
        unique = list(first)
        keys = {
            t: CacheKey.for_call(
                self, input_type=kind, dimensions=dims, embedding_type=t, options=options
            )
            for t in types
        }
        found = {t: self.cache.get_many(keys[t], unique) for t in types}
        missing = [i for i, d in enumerate(unique) if any(d not in found[t] for t in types)]
        return _Lookup(items, unique, firsts, inverse, keys, found, missing)

    def _store(self, lookup: _Lookup, rows: Sequence[int], result: EmbeddingResult) -> None:
        """Store the result rows ``rows`` (indices into ``lookup.missing``)."""
        if not rows:
            return
        index = np.asarray(rows, dtype=np.intp)
        digests = [lookup.unique[lookup.missing[i]] for i in rows]
        for kind, key in lookup.keys.items():
            self.cache.put_many(key, digests, result.vectors[kind][index])

    def _assemble(
        self, lookup: _Lookup, result: EmbeddingResult | None, failed: Iterable[int] = ()
    ) -> EmbeddingResult:
        n_unique = len(lookup.unique)
        missing = set(lookup.missing)
        hit_index = [u for u in range(n_unique) if u not in missing]
        failed_rows = set(failed)
        good_rows = [r for r in range(len(lookup.missing)) if r not in failed_rows]
        vectors: dict[EmbeddingType, npt.NDArray[Any]] = {}
        all_sent = result is not None and not hit_index and not failed_rows
        for kind in lookup.keys:
            if all_sent:  # the common case in bulk jobs: no copy of the result
                assert result is not None
                arr = result.vectors[kind]
                vectors[kind] = arr if len(lookup.items) == n_unique else arr[lookup.inverse]
                continue
            hits = [lookup.found[kind][lookup.unique[u]] for u in hit_index]
            if result is not None:
                width = int(result.vectors[kind].shape[1])
            else:
                width = int(hits[0].shape[0]) if hits else 0
            if any(row.shape[0] != width for row in hits):
                raise ValueError(
                    f"cached {kind.value} vectors differ in length from the others; "
                    f"the cache file {str(self.cache.path)!r} is inconsistent"
                )
            table = np.zeros((n_unique, width), dtype=np.dtype(kind.dtype))
            if hits:
                table[np.asarray(hit_index, dtype=np.intp)] = np.stack(hits)
            if result is not None and good_rows:
                rows = np.asarray(good_rows, dtype=np.intp)
                targets = np.asarray(lookup.missing, dtype=np.intp)[rows]
                table[targets] = result.vectors[kind][rows]
            vectors[kind] = table[lookup.inverse]
        stats = {
            "hits": len(hit_index),
            "misses": len(lookup.missing),
            "deduplicated": len(lookup.items) - n_unique,
        }
        with self._stats_lock:
            self.stats.hits += stats["hits"]
            self.stats.misses += stats["misses"]
            self.stats.deduplicated += stats["deduplicated"]
        meta: dict[str, Any] = {"cache": stats}
        if result is not None and "batches" in result.meta:
            meta["batches"] = result.meta["batches"]
        if result is not None:
            meta.update(_long_input_meta(lookup, result.meta))
        return EmbeddingResult(
            vectors=vectors,
            model=self.model_info.name,
            provider=self.provider.name,
            usage=result.usage if result is not None else Usage(),
            meta=meta,
        )

    def _failed(self, lookup: _Lookup, exc: BatchFailedError) -> BatchFailedError:
        failed = set(exc.failed_positions)
        good = [r for r in range(len(lookup.missing)) if r not in failed]
        self._store(lookup, good, exc.partial)
        partial = self._assemble(lookup, exc.partial, exc.failed_positions)
        failed_unique = {lookup.missing[r] for r in exc.failed_positions}
        positions = [p for p in range(len(lookup.items)) if lookup.inverse[p] in failed_unique]
        return BatchFailedError(exc.errors, positions, partial)

    # -- Embedder's interface -------------------------------------------------------

    def embed(
        self,
        inputs: Inputs,
        *,
        input_type: InputType | str | None = None,
        dimensions: int | None = None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
        progress: bool = False,
        on_progress: ProgressCallback | None = None,
        **options: Any,
    ) -> EmbeddingResult:
        """Embed ``inputs``, sending only those not in the cache (see ``Embedder.embed``)."""
        kind, dims, types = self._settings(input_type, dimensions, embedding_types)
        lookup = self._lookup(normalize_inputs(inputs), kind, dims, types, options)
        if not lookup.missing:
            return self._assemble(lookup, None)
        try:
            result = self.inner.embed(
                lookup.to_send(),
                input_type=kind,
                dimensions=dims,
                embedding_types=types,
                progress=progress,
                on_progress=on_progress,
                **options,
            )
        except BatchFailedError as exc:
            raise self._failed(lookup, exc) from exc
        self._store(lookup, range(len(lookup.missing)), result)
        return self._assemble(lookup, result)

    async def aembed(
        self,
        inputs: Inputs,
        *,
        input_type: InputType | str | None = None,
        dimensions: int | None = None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
        progress: bool = False,
        on_progress: ProgressCallback | None = None,
        **options: Any,
    ) -> EmbeddingResult:
        """The async form of ``embed``; SQLite work runs in a worker thread."""
        kind, dims, types = self._settings(input_type, dimensions, embedding_types)
        items = normalize_inputs(inputs)
        lookup = await asyncio.to_thread(self._lookup, items, kind, dims, types, options)
        if not lookup.missing:
            return self._assemble(lookup, None)
        try:
            result = await self.inner.aembed(
                lookup.to_send(),
                input_type=kind,
                dimensions=dims,
                embedding_types=types,
                progress=progress,
                on_progress=on_progress,
                **options,
            )
        except BatchFailedError as exc:
            raise await asyncio.to_thread(self._failed, lookup, exc) from exc
        await asyncio.to_thread(self._store, lookup, range(len(lookup.missing)), result)
        return self._assemble(lookup, result)

    def close(self) -> None:
        """Close the engine's sync client, and the cache if this embedder opened it."""
        self.inner.close()
        if self._owns_cache:
            self.cache.close()

    async def aclose(self) -> None:
        """Close every client, and the cache if this embedder opened it."""
        await self.inner.aclose()
        if self._owns_cache:
            self.cache.close()

    def __enter__(self) -> CachedEmbedder:
        return self

    async def __aenter__(self) -> CachedEmbedder:
        return self

    def __repr__(self) -> str:
        return f"CachedEmbedder({self.id!r}, cache={str(self.cache.path)!r})"


def _long_input_meta(lookup: _Lookup, sent_meta: dict[str, Any]) -> dict[str, Any]:
    """The long-input policy's ``meta`` keys in the caller's positions (hits: not sent)."""
    out: dict[str, Any] = {}
    inverse = lookup.inverse.tolist()
    if "truncated_inputs" in sent_meta:
        cut = {lookup.missing[row] for row in sent_meta["truncated_inputs"]}
        out["truncated_inputs"] = [p for p, u in enumerate(inverse) if u in cut]
        out["truncated_by"] = sent_meta.get("truncated_by")
    if "chunks" in sent_meta:
        pieces = dict(zip(lookup.missing, sent_meta["chunks"], strict=True))
        out["chunks"] = [pieces.get(u, 0) for u in inverse]
    return out


@dataclass
class _Lookup:
    items: list[Input]
    unique: list[bytes]
    """The distinct digests, in order of first appearance."""
    firsts: list[int]
    """The caller's position of each distinct digest's first input."""
    inverse: npt.NDArray[np.intp]
    """For each caller position, its index into ``unique``."""
    keys: dict[EmbeddingType, CacheKey]
    found: dict[EmbeddingType, dict[bytes, npt.NDArray[Any]]]
    missing: list[int]
    """Indices into ``unique`` of the distinct inputs to embed."""

    def to_send(self) -> list[Input]:
        return [self.items[self.firsts[u]] for u in self.missing]
