"""Ray Data integration (the ``embedplug[ray]`` extra): embed a column on a cluster.

``EmbedBatches`` is a callable class for ``Dataset.map_batches``: each actor
builds one embedder (one engine, one HTTP client, ``max_concurrency``
requests in flight per actor) and turns each batch into the same table
``embed-file`` writes (``id``, ``vector`` as a fixed-size list, one more
column per extra embedding type). Rows are validated one by one, exactly as
``embed-file`` does; identical inputs in a batch are embedded once::

    import ray
    from embedplug.bulk.ray import embed_dataset

    ds = ray.data.read_json("s3://bucket/corpus/", lines=True)
    vectors = embed_dataset(ds, "openai:text-embedding-3-small", id_column="id",
                            dimensions=256, concurrency=4)
    vectors.write_parquet("s3://bucket/vectors/")

Provider options (``api_key``, ``base_url``...) pass through as keyword
arguments; keys are better read by each actor from its environment (Ray's
``runtime_env={"env_vars": ...}``) than shipped in the task's arguments.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from embedplug.bulk._rows import Accepted, RawRow, Rejected, RowSpec, embed_chunk, expected_width
from embedplug.bulk._writers import arrow_schema, arrow_table, vector_column
from embedplug.errors import InvalidInputError
from embedplug.types import EmbeddingType, coerce_embedding_types, coerce_input_type

if TYPE_CHECKING:
    import pyarrow as pa

    from embedplug._api import Embedder
    from embedplug.cache import Cache

__all__ = ["EmbedBatches", "embed_dataset"]

OnReject = Literal["drop", "raise", "keep"]


class EmbedBatches:
    """Embed ``column`` (and/or ``image_column``) of each batch; for ``map_batches``.

    ``on_reject``: ``"drop"`` (default) leaves rows that fail validation out,
    as ``embed-file`` does; ``"raise"`` fails the batch; ``"keep"`` keeps them
    with null vectors and the reason in an ``error`` column. ``keep_columns``
    carries input columns through to the output. ``cache`` is a SQLite path
    (shared by the actors of a node). Without ``id_column`` the output has no
    ``id`` (Ray Data has no global row numbers; add one before if you need it).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        column: str | None = None,
        image_column: str | None = None,
        id_column: str | None = None,
        input_type: str | None = None,
        dimensions: int | None = None,
        embedding_types: str | Sequence[str] | None = None,
        keep_columns: Sequence[str] = (),
        on_reject: OnReject = "drop",
        cache: str | os.PathLike[str] | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        max_concurrency: int | None = None,
        **options: Any,
    ) -> None:
        from embedplug._api import embedder as make_embedder

        if on_reject not in ("drop", "raise", "keep"):
            raise ValueError(f"on_reject must be 'drop', 'raise' or 'keep', not {on_reject!r}")
        if max_concurrency is not None:
            options["max_concurrency"] = max_concurrency
        self._embedder: Embedder = make_embedder(model, **options)
        self._cache: Cache | None = None
        self._use: Embedder = self._embedder
        if cache is not None:
            from embedplug.cache import Cache, CachedEmbedder

            self._cache = Cache(cache)
            self._use = CachedEmbedder(self._embedder, self._cache)
        info = self._embedder.model_info
        self.input_type = coerce_input_type(input_type) or self._embedder.input_type
        self.dimensions = dimensions if dimensions is not None else self._embedder.dimensions
        self.types = (
            coerce_embedding_types(embedding_types)
            if embedding_types is not None
            else list(self._embedder.embedding_types)
        )
        self.spec = RowSpec(
            info,
            column=column if column is not None else (None if image_column else "text"),
            image_column=image_column,
            id_column=id_column,
            base_dir=Path(base_dir) if base_dir is not None else None,
        )
        self.keep_columns = list(keep_columns)
        self.on_reject: OnReject = on_reject
        self.metadata = {
            "model": self._embedder.id,
            "provider_settings": self._embedder.provider.cache_fingerprint() or None,
            "input_type": self.input_type.value if self.input_type is not None else None,
            "dimensions": self.dimensions,
            "embedding_types": [t.value for t in self.types],
        }
        self._widths: dict[EmbeddingType, int] = {}

    def __call__(self, batch: Any) -> pa.Table:
        """Embed one batch (a ``pyarrow.Table``, a dict of arrays or a pandas frame)."""
        import pyarrow as pa

        table = _as_table(batch)
        self.spec.check_columns(table.column_names, "the dataset")
        missing = [c for c in self.keep_columns if c not in table.column_names]
        if missing:
            raise ValueError(f"keep_columns names columns the dataset lacks: {missing}")
        records = table.select(self.spec.columns).to_pylist()
        accepted: list[Accepted] = []
        rejected: list[Rejected] = []
        for index, record in enumerate(records):
            prepared = self.spec.prepare(RawRow(None, record), index)
            if isinstance(prepared, Accepted):
                accepted.append(prepared)
            else:
                rejected.append(prepared)
        result = embed_chunk(
            self._use,
            accepted,
            input_type=self.input_type,
            dimensions=self.dimensions,
            embedding_types=self.types,
        )
        rejected = sorted([*rejected, *result.refused], key=lambda r: r.index)
        if rejected and self.on_reject == "raise":
            first = rejected[0]
            raise InvalidInputError(
                f"{len(rejected)} row(s) of the batch failed validation; first: {first.reason} "
                f"(id {first.id!r})"
            )
        for kind in self.types:
            if result.kept:
                self._widths[kind] = int(result.vectors[kind].shape[1])
            else:
                self._widths.setdefault(
                    kind, expected_width(self.spec.model, self.dimensions, kind)
                )
        with_id = self.spec.id_column is not None
        id_kind = self.spec.id_kind or _id_kind(table, self.spec.id_column)
        schema = arrow_schema(
            self.types, self._widths, id_kind, with_id=with_id, metadata=self.metadata
        )
        if self.on_reject == "keep" and rejected:
            out = self._with_rejects(table, result.kept, result.vectors, rejected, schema)
        else:
            ids = [r.id for r in result.kept] if with_id else None
            out = arrow_table(ids, result.vectors, schema, self.types)
            if self.keep_columns:
                rows = pa.array([r.index for r in result.kept], type=pa.int64())
                kept = table.select(self.keep_columns).take(rows)
                for name in self.keep_columns:
                    out = out.append_column(kept.schema.field(name), kept.column(name))
        return out

    def _with_rejects(
        self,
        table: pa.Table,
        kept: list[Accepted],
        vectors: dict[EmbeddingType, Any],
        rejected: list[Rejected],
        schema: pa.Schema,
    ) -> pa.Table:
        """Every row, in order: null vectors and an ``error`` for the rejected ones."""
        import pyarrow as pa

        n = table.num_rows
        order = np.asarray([r.index for r in kept], dtype=np.intp)
        valid = np.zeros(n, dtype=bool)
        valid[order] = True
        columns: dict[str, pa.Array] = {}
        if self.spec.id_column is not None:
            ids = table.column(self.spec.id_column).to_pylist()
            columns["id"] = pa.array(
                [i if ok else None for i, ok in zip(ids, valid, strict=True)],
                type=schema.field("id").type,
            )
        for kind in self.types:
            field = schema.field(vector_column(kind, self.types))
            width = field.type.list_size
            full = np.zeros((n, width), dtype=np.dtype(kind.dtype))
            full[order] = vectors[kind]
            values = pa.array(full.reshape(-1), type=field.type.value_type)
            mask = pa.array(~valid)
            columns[field.name] = pa.FixedSizeListArray.from_arrays(values, width, mask=mask)
        errors: list[str | None] = [None] * n
        for r in rejected:
            errors[r.index] = r.reason
        columns["error"] = pa.array(errors, type=pa.string())
        out = pa.table(columns)
        for name in self.keep_columns:
            out = out.append_column(table.schema.field(name), table.column(name))
        return out

    def __del__(self) -> None:
        try:
            self._embedder.close()
            if self._cache is not None:
                self._cache.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def _id_kind(table: pa.Table, column: str | None) -> str | None:
    if column is None:
        return None
    import pyarrow as pa

    kind = table.schema.field(column).type
    return "int" if pa.types.is_integer(kind) else "str"


def _as_table(batch: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(batch, pa.Table):
        return batch
    if isinstance(batch, pa.RecordBatch):
        return pa.Table.from_batches([batch])
    if isinstance(batch, dict):
        return pa.table(dict(batch))
    if hasattr(batch, "to_dict") and hasattr(batch, "columns"):  # a pandas DataFrame
        return pa.Table.from_pandas(batch, preserve_index=False)
    raise TypeError(f"cannot embed a batch of type {type(batch).__name__}")


def embed_dataset(
    dataset: Any,
    model: str | None = None,
    *,
    concurrency: int = 1,
    batch_size: int | None = 1024,
    num_cpus: float = 0.25,
    ray_remote_args: dict[str, Any] | None = None,
    **kwargs: Any,
) -> Any:
    """``dataset.map_batches(EmbedBatches, ...)`` with a fixed pool of ``concurrency`` actors.

    ``kwargs`` go to ``EmbedBatches`` (``column``, ``id_column``,
    ``dimensions``, provider options...). Returns the lazy ``Dataset``.

    ``num_cpus`` is what each actor reserves: an actor calling an HTTP API
    mostly waits, so the default is a quarter of a CPU, which also leaves CPUs
    for the tasks that read the input (actors that reserve every CPU starve
    the readers and the pipeline stalls). Give an in-process model (the
    ``local`` provider) a whole CPU or more.
    """
    import ray.data

    extra: dict[str, Any] = dict(ray_remote_args or {})
    return dataset.map_batches(
        EmbedBatches,
        fn_constructor_kwargs={"model": model, **kwargs},
        batch_format="pyarrow",
        batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus,
        **extra,
    )
