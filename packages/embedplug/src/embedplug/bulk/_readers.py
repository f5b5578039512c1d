"""Streaming readers for JSONL, CSV and Parquet: one record at a time, never the whole file.

Each reader starts at a given row (resuming): JSONL seeks to the byte offset
recorded in the checkpoint; CSV, gzip-compressed files and Parquet skip rows
(Parquet skips whole row groups by their metadata). ``position()`` is what
the checkpoint records after the last row handed out.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, cast

import orjson

from embedplug.bulk._rows import RawRow
from embedplug.errors import ConfigurationError

__all__ = ["InputFormat", "Reader", "detect_format", "open_reader"]

InputFormat = Literal["jsonl", "csv", "tsv", "parquet"]
_SUFFIXES: dict[str, InputFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_EXCERPT = 200
_COUNT_BLOCK = 1 << 20
_CSV_FIELD_LIMIT = 2**31 - 1  # the default (128 KiB) is shorter than many documents


def detect_format(path: Path, given: str | None = None) -> InputFormat:
    """The input format: ``given``, else from the suffix (``.gz`` is looked through)."""
    if given is not None:
        if given not in ("jsonl", "csv", "tsv", "parquet"):
            raise ConfigurationError(f"unknown input format {given!r}: jsonl, csv, tsv or parquet")
        fmt: InputFormat = given  # type: ignore[assignment]
        return fmt
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in _SUFFIXES:
        return _SUFFIXES[suffixes[-1]]
    raise ConfigurationError(
        f"cannot tell the format of {str(path)!r} from its name; "
        "use .jsonl, .csv, .tsv or .parquet (optionally .gz), or pass the format"
    )


def _gzipped(path: Path) -> bool:
    return path.suffix.lower() == ".gz"


def _open_binary(path: Path) -> BinaryIO:
    if _gzipped(path):
        return cast(BinaryIO, gzip.open(path, "rb"))
    return open(path, "rb")


class Reader:
    """Base: iterate ``rows()``; ``position()`` after each row; ``close()``."""

    def __init__(self, path: Path, start_row: int) -> None:
        self.path = path
        self.start_row = start_row
        self.row = start_row

    def rows(self) -> Iterator[RawRow]:
        raise NotImplementedError

    def position(self) -> dict[str, Any]:
        """What the checkpoint records to resume after the last row handed out."""
        return {"row": self.row}

    def total_rows(self) -> int | None:
        """The number of rows, or an estimate (``None`` if unknown without reading)."""
        return None

    def columns(self) -> list[str] | None:
        """The column names, for formats that declare them (CSV, Parquet)."""
        return None

    def close(self) -> None:
        """Release the file."""


def _count_lines(fh: IO[bytes]) -> int:
    count = 0
    last = b"\n"
    while True:
        block = fh.read(_COUNT_BLOCK)
        if not block:
            break
        count += block.count(b"\n")
        last = block[-1:]
    return count + (0 if last == b"\n" else 1)


class JsonlReader(Reader):
    """One JSON object per line; blank lines are skipped and not counted as rows."""

    def __init__(self, path: Path, start_row: int = 0, offset: int | None = None) -> None:
        super().__init__(path, start_row)
        self._gzip = _gzipped(path)
        self._fh = _open_binary(path)
        self._offset = 0
        self._skip = start_row
        if offset is not None and not self._gzip:
            self._fh.seek(offset)
            self._offset = offset
            self._skip = 0

    def position(self) -> dict[str, Any]:
        return {"row": self.row, "offset": None if self._gzip else self._offset}

    def total_rows(self) -> int | None:
        if self._gzip:
            return None
        with open(self.path, "rb") as fh:
            return _count_lines(fh)

    def rows(self) -> Iterator[RawRow]:
        for line in self._fh:
            self._offset += len(line)
            if not line.strip():
                continue
            if self._skip:
                self._skip -= 1
                continue
            number = self.row
            self.row += 1
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                excerpt = line[:_EXCERPT].decode("utf-8", "replace").rstrip("\r\n")
                yield RawRow(number, None, f"invalid JSON: {exc}", excerpt)
                continue
            if not isinstance(record, dict):
                excerpt = line[:_EXCERPT].decode("utf-8", "replace").rstrip("\r\n")
                yield RawRow(
                    number,
                    None,
                    f"the line holds a JSON {type(record).__name__}, not an object",
                    excerpt,
                )
                continue
            yield RawRow(number, record)

    def close(self) -> None:
        self._fh.close()


class CsvReader(Reader):
    """A header row, then one record per row (fields quoted as CSV allows)."""

    def __init__(self, path: Path, start_row: int = 0, *, delimiter: str = ",") -> None:
        super().__init__(path, start_row)
        if csv.field_size_limit() < _CSV_FIELD_LIMIT:
            csv.field_size_limit(_CSV_FIELD_LIMIT)  # documents can be long
        self._fh = io.TextIOWrapper(
            _open_binary(path), encoding="utf-8-sig", newline="", errors="replace"
        )
        self._reader = csv.DictReader(self._fh, delimiter=delimiter)
        try:
            self._fieldnames = list(self._reader.fieldnames or [])
        except csv.Error as exc:
            raise ConfigurationError(f"cannot read the CSV header of {str(path)!r}: {exc}") from exc

    def columns(self) -> list[str] | None:
        return self._fieldnames

    def total_rows(self) -> int | None:
        if _gzipped(self.path):
            return None
        with open(self.path, "rb") as fh:
            return max(0, _count_lines(fh) - 1)  # an estimate when fields hold newlines

    def rows(self) -> Iterator[RawRow]:
        skip = self.start_row
        iterator = iter(self._reader)
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                return
            except csv.Error as exc:
                if skip:
                    skip -= 1
                    continue
                number = self.row
                self.row += 1
                yield RawRow(number, None, f"invalid CSV: {exc}")
                continue
            if skip:
                skip -= 1
                continue
            number = self.row
            self.row += 1
            if None in record:  # more fields than the header names
                extra = record.pop(None)
                yield RawRow(number, None, f"{len(extra)} more field(s) than the header", None)
                continue
            yield RawRow(number, {k: v for k, v in record.items()})

    def close(self) -> None:
        self._fh.close()


class ParquetReader(Reader):
    """Record batches of the needed columns only; resuming skips whole row groups."""

    def __init__(self, path: Path, start_row: int = 0, columns: list[str] | None = None) -> None:
        super().__init__(path, start_row)
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigurationError("reading Parquet needs pyarrow: pip install pyarrow") from exc
        self._file = pq.ParquetFile(path)
        self._wanted = columns

    def columns(self) -> list[str] | None:
        return list(self._file.schema_arrow.names)

    def total_rows(self) -> int | None:
        return int(self._file.metadata.num_rows)

    def rows(self) -> Iterator[RawRow]:
        meta = self._file.metadata
        skip = self.start_row
        first_group = 0
        while first_group < meta.num_row_groups:
            size = meta.row_group(first_group).num_rows
            if skip < size:
                break
            skip -= size
            first_group += 1
        groups = list(range(first_group, meta.num_row_groups))
        if not groups:
            return
        names = self.columns() or []
        wanted = [c for c in (self._wanted or names) if c in names]
        for batch in self._file.iter_batches(batch_size=1024, row_groups=groups, columns=wanted):
            records = batch.to_pylist()
            if skip:
                drop = min(skip, len(records))
                records = records[drop:]
                skip -= drop
            for record in records:
                number = self.row
                self.row += 1
                yield RawRow(number, record)

    def close(self) -> None:
        self._file.close()


def open_reader(
    path: Path,
    fmt: InputFormat,
    *,
    start_row: int = 0,
    position: dict[str, Any] | None = None,
    columns: list[str] | None = None,
) -> Reader:
    """A reader for ``path`` positioned at ``start_row`` (using ``position`` when it can)."""
    if not path.is_file():
        raise ConfigurationError(f"input file {str(path)!r} does not exist")
    if fmt == "jsonl":
        offset = (position or {}).get("offset")
        return JsonlReader(path, start_row, offset if isinstance(offset, int) else None)
    if fmt in ("csv", "tsv"):
        return CsvReader(path, start_row, delimiter="\t" if fmt == "tsv" else ",")
    return ParquetReader(path, start_row, columns)
