"""Durable, resumable outputs: Parquet parts, NPY files grown in place, the rejects file.

Every ``write`` returns only once its data is on disk (``fsync``); the job then
records the writer's ``state()`` in the checkpoint. ``open(state)`` puts the
files back exactly as that state describes, dropping whatever a killed process
wrote after its last checkpoint. ``finalise()`` moves the results into place.

* Parquet: one part file per chunk in the work directory; ``finalise`` copies
  them, one at a time, into the output as row groups (a Parquet file's footer
  is written last, so a file being written cannot survive a kill; parts can).
* NPY: one file per embedding type with a fixed 128-byte header reserved up
  front; rows are appended; ``finalise`` writes the real shape into the header
  and renames. Ids go to a JSON-lines file alongside, one id per line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import orjson

from embedplug.errors import ConfigurationError
from embedplug.types import EmbeddingType

if TYPE_CHECKING:
    import numpy.typing as npt
    import pyarrow as pa

__all__ = [
    "NpyWriter",
    "OutputFormat",
    "ParquetWriter",
    "RejectsWriter",
    "arrow_schema",
    "arrow_table",
    "atomic_write",
    "empty_table",
    "fsync_dir",
    "npy_paths",
    "vector_column",
]

OutputFormat = Literal["parquet", "npy"]
NPY_HEADER_BYTES = 128


# ----------------------------------------------------------------------------- files


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable (a no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open directories
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file, whole."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _append(path: Path, data: bytes | memoryview) -> int:
    """Append ``data`` durably; returns the new size."""
    with open(path, "ab") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        return fh.tell()


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as fh:
        fh.truncate(size)
        fh.flush()
        os.fsync(fh.fileno())


# ----------------------------------------------------------------------------- schema


def vector_column(kind: EmbeddingType, types: Sequence[EmbeddingType]) -> str:
    """``vector`` for the first embedding type asked for, ``vector_<type>`` for the others."""
    return "vector" if kind == types[0] else f"vector_{kind.value}"


def _arrow_value_type(kind: EmbeddingType) -> pa.DataType:
    import pyarrow as pa

    return {"float32": pa.float32(), "int8": pa.int8(), "uint8": pa.uint8()}[kind.dtype]


def arrow_schema(
    types: Sequence[EmbeddingType],
    widths: dict[EmbeddingType, int],
    id_kind: str | None,
    *,
    with_id: bool = True,
    metadata: dict[str, Any] | None = None,
) -> pa.Schema:
    """``id`` (int64 or string), then one fixed-size list column per embedding type."""
    import pyarrow as pa

    fields = []
    if with_id:
        fields.append(pa.field("id", pa.string() if id_kind == "str" else pa.int64()))
    for kind in types:
        fields.append(
            pa.field(vector_column(kind, types), pa.list_(_arrow_value_type(kind), widths[kind]))
        )
    meta = {b"embedplug": orjson.dumps(metadata)} if metadata else None
    return pa.schema(fields, metadata=meta)


def _numeric_array(values: npt.NDArray[Any], arrow_type: pa.DataType) -> pa.Array:
    """A flat Arrow array over NumPy's buffer (``pa.array`` would import pandas if present)."""
    import pyarrow as pa

    flat = np.ascontiguousarray(values).reshape(-1)
    return pa.Array.from_buffers(arrow_type, len(flat), [None, pa.py_buffer(flat)])


def _id_array(ids: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    import pyarrow as pa

    if pa.types.is_integer(arrow_type):
        return _numeric_array(np.asarray(ids, dtype="<i8"), arrow_type)
    data = [str(i).encode("utf-8") for i in ids]
    offsets = np.zeros(len(data) + 1, dtype="<i4")
    np.cumsum([len(d) for d in data], out=offsets[1:])
    return pa.Array.from_buffers(
        arrow_type, len(data), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))]
    )


def arrow_table(
    ids: Sequence[Any] | None,
    vectors: dict[EmbeddingType, npt.NDArray[Any]],
    schema: pa.Schema,
    types: Sequence[EmbeddingType],
) -> pa.Table:
    """The rows as a table of ``schema`` (vectors stay NumPy buffers, no Python floats)."""
    import pyarrow as pa

    arrays: list[pa.Array] = []
    if ids is not None:
        arrays.append(_id_array(ids, schema.field("id").type))
    for kind in types:
        field = schema.field(vector_column(kind, types))
        width = field.type.list_size
        arr = np.ascontiguousarray(vectors[kind], dtype=np.dtype(kind.dtype).newbyteorder("<"))
        if arr.ndim != 2 or arr.shape[1] != width:
            raise ValueError(f"{kind.value} vectors of shape {arr.shape}, expected width {width}")
        values = _numeric_array(arr, field.type.value_type)
        arrays.append(pa.FixedSizeListArray.from_arrays(values, width))
    return pa.Table.from_arrays(arrays, schema=schema)


def empty_table(schema: pa.Schema, types: Sequence[EmbeddingType]) -> pa.Table:
    """A table of ``schema`` with no rows."""
    with_id = "id" in schema.names
    vectors = {
        kind: np.zeros((0, schema.field(vector_column(kind, types)).type.list_size), kind.dtype)
        for kind in types
    }
    return arrow_table([] if with_id else None, vectors, schema, types)


# ----------------------------------------------------------------------------- Parquet


class ParquetWriter:
    """Chunks as part files in ``work``; ``finalise`` merges them into ``output``."""

    def __init__(self, work: Path, output: Path, types: Sequence[EmbeddingType]) -> None:
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError(
                "writing Parquet needs pyarrow: pip install pyarrow, "
                "or write NPY (an output ending in .npy)"
            ) from exc
        self.work = work
        self.output = output
        self.types = list(types)
        self.parts: list[dict[str, Any]] = []

    def open(self, state: dict[str, Any] | None) -> None:
        """Resume from ``state``: forget part files written after it."""
        self.parts = list((state or {}).get("parts", []))
        known = {p["file"] for p in self.parts}
        for path in self.work.glob("part-*"):
            if path.name not in known:
                path.unlink()
        for part in self.parts:
            if not (self.work / part["file"]).is_file():
                raise ConfigurationError(
                    f"the checkpoint names {part['file']!r}, which is missing from "
                    f"{str(self.work)!r}; start again with --overwrite"
                )

    def state(self) -> dict[str, Any]:
        return {"parts": list(self.parts)}

    def write(self, ids: Sequence[Any], vectors: dict[EmbeddingType, Any], schema: Any) -> None:
        import pyarrow.parquet as pq

        if not ids:
            return
        table = arrow_table(ids, vectors, schema, self.types)
        name = f"part-{len(self.parts):06d}.parquet"
        tmp = self.work / (name + ".tmp")
        pq.write_table(table, tmp, compression="snappy", use_dictionary=False)
        _fsync_file(tmp)
        os.replace(tmp, self.work / name)
        fsync_dir(self.work)
        self.parts.append({"file": name, "rows": len(ids)})

    def finalise(self, schema: Any) -> list[Path]:
        import pyarrow.parquet as pq

        tmp = self.work / (self.output.name + ".tmp")
        with pq.ParquetWriter(tmp, schema, compression="snappy", use_dictionary=False) as writer:
            if not self.parts:
                writer.write_table(empty_table(schema, self.types))
            for part in self.parts:
                # ParquetFile.read, not pq.read_table, which imports pandas when it is installed.
                with pq.ParquetFile(self.work / part["file"]) as source:
                    writer.write_table(source.read())
        _fsync_file(tmp)
        os.replace(tmp, self.output)
        fsync_dir(self.output.parent)
        return [self.output]


# ----------------------------------------------------------------------------- NPY


def npy_paths(
    output: Path, types: Sequence[EmbeddingType]
) -> tuple[dict[EmbeddingType, Path], Path]:
    """Where the NPY outputs go: the first type at ``output``, others at ``<stem>.<type>.npy``;
    the ids at ``<stem>.ids.jsonl``."""
    stem = output.name[: -len(".npy")] if output.name.endswith(".npy") else output.name
    paths = {
        kind: output if i == 0 else output.with_name(f"{stem}.{kind.value}.npy")
        for i, kind in enumerate(types)
    }
    return paths, output.with_name(f"{stem}.ids.jsonl")


def _npy_header(dtype: np.dtype[Any], rows: int, width: int) -> bytes:
    descr = np.lib.format.dtype_to_descr(dtype)
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': ({rows}, {width}), }}"
    body = text.encode("latin-1")
    room = NPY_HEADER_BYTES - 10 - 1
    if len(body) > room:  # pragma: no cover - 2**64 rows would still fit
        raise ValueError("NPY header too long")
    header_len = NPY_HEADER_BYTES - 10
    return b"\x93NUMPY\x01\x00" + header_len.to_bytes(2, "little") + body.ljust(room) + b"\n"


class NpyWriter:
    """One growing ``.npy.partial`` per type plus an ids file, in ``work``."""

    def __init__(self, work: Path, output: Path, types: Sequence[EmbeddingType]) -> None:
        self.work = work
        self.output = output
        self.types = list(types)
        self.rows = 0
        self.ids_bytes = 0
        self.widths: dict[EmbeddingType, int] = {}
        self._ids = work / "ids.jsonl.partial"

    def _data(self, kind: EmbeddingType) -> Path:
        return self.work / f"{kind.value}.npy.partial"

    def _row_bytes(self, kind: EmbeddingType) -> int:
        return self.widths[kind] * np.dtype(kind.dtype).itemsize

    def open(self, state: dict[str, Any] | None, widths: dict[EmbeddingType, int]) -> None:
        """Resume from ``state``: cut every file back to what it records."""
        state = state or {}
        self.rows = int(state.get("rows", 0))
        self.ids_bytes = int(state.get("ids_bytes", 0))
        self.widths = dict(widths)
        for kind in self.types:
            path = self._data(kind)
            if not path.exists() or self.rows == 0:
                with open(path, "wb") as fh:
                    fh.write(b"\0" * NPY_HEADER_BYTES)
                    fh.flush()
                    os.fsync(fh.fileno())
            else:
                _truncate(path, NPY_HEADER_BYTES + self.rows * self._row_bytes(kind))
        if self._ids.exists():
            _truncate(self._ids, self.ids_bytes)
        else:
            self._ids.touch()
        fsync_dir(self.work)

    def state(self) -> dict[str, Any]:
        return {"rows": self.rows, "ids_bytes": self.ids_bytes}

    def write(
        self,
        ids: Sequence[Any],
        vectors: dict[EmbeddingType, Any],
        widths: dict[EmbeddingType, int],
    ) -> None:
        if not ids:
            return
        self.widths = dict(widths)
        for kind in self.types:
            arr = np.ascontiguousarray(vectors[kind], dtype=np.dtype(kind.dtype).newbyteorder("<"))
            if arr.shape != (len(ids), self.widths[kind]):
                raise ValueError(f"{kind.value} vectors of shape {arr.shape} for {len(ids)} ids")
            _append(self._data(kind), arr.data)  # the buffer itself, not a copy
        lines = b"".join(orjson.dumps(i) + b"\n" for i in ids)
        self.ids_bytes = _append(self._ids, lines)
        self.rows += len(ids)

    def finalise(self, widths: dict[EmbeddingType, int]) -> list[Path]:
        """Write each header and move the files into place; a file already moved is skipped
        (a kill during a previous ``finalise``)."""
        paths, ids_path = npy_paths(self.output, self.types)
        for kind in self.types:
            data = self._data(kind)
            if not data.exists():
                continue
            dtype = np.dtype(kind.dtype).newbyteorder("<")
            with open(data, "r+b") as fh:
                fh.write(_npy_header(dtype, self.rows, widths[kind]))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(data, paths[kind])
        if self._ids.exists():
            os.replace(self._ids, ids_path)
        fsync_dir(self.output.parent)
        return [*paths.values(), ids_path]


# ----------------------------------------------------------------------------- rejects


class RejectsWriter:
    """``{"row", "id", "reason", "record"}`` per line, appended durably."""

    def __init__(self, work: Path, final: Path) -> None:
        self.path = work / "rejects.jsonl.partial"
        self.final = final
        self.bytes = 0
        self.count = 0

    def open(self, state: dict[str, Any] | None) -> None:
        state = state or {}
        self.bytes = int(state.get("bytes", 0))
        self.count = int(state.get("count", 0))
        if self.path.exists():
            _truncate(self.path, self.bytes)
        else:
            self.path.touch()

    def state(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "count": self.count}

    def write(self, rejects: Sequence[dict[str, Any]]) -> None:
        if not rejects:
            return
        data = b"".join(orjson.dumps(r, default=str) + b"\n" for r in rejects)
        self.bytes = _append(self.path, data)
        self.count += len(rejects)

    def finalise(self) -> Path:
        os.replace(self.path, self.final)
        fsync_dir(self.final.parent)
        return self.final
