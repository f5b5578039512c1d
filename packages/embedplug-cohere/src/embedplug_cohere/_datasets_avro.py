"""Reading the parts of a Cohere dataset: Avro object container files, or JSON Lines.

Cohere's SDK reads every part of a dataset with ``fastavro.reader`` (its
``utils.dataset_generator``), so parts are Avro object container files; this
module reads them the same way. fastavro handles every schema type and the
``null``, ``deflate``, ``bzip2`` and ``xz`` codecs by itself (``snappy``,
``zstandard`` and ``lz4`` need their compression library installed). A part
that does not start with the Avro magic is read as JSON Lines: detected, not
assumed.
"""

from __future__ import annotations

import io
from typing import Any

import fastavro
import orjson

from embedplug.errors import ResponseFormatError

__all__ = ["AVRO_MAGIC", "read_avro", "read_records"]

AVRO_MAGIC = b"Obj\x01"


def read_avro(data: bytes) -> list[dict[str, Any]]:
    """The records of an Avro object container file, as dicts."""
    try:
        records = list(fastavro.reader(io.BytesIO(data)))
    # The bytes come from the network: whatever a damaged file makes fastavro raise
    # (ValueError, EOFError, IndexError, zlib/lzma/bz2 errors, schema errors...) is a
    # malformed answer, not a bug here.
    except Exception as exc:
        raise ResponseFormatError(
            f"malformed Avro dataset part: {type(exc).__name__}: {exc}"
        ) from None
    rows = [record for record in records if isinstance(record, dict)]
    if len(rows) != len(records):
        raise ResponseFormatError("the Avro file's records are not records")
    return rows


def _read_json_lines(data: bytes) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ResponseFormatError(
                f"dataset part line {number} is neither Avro nor JSON: {exc}"
            ) from None
        if not isinstance(record, dict):
            raise ResponseFormatError(f"dataset part line {number} is not a JSON object")
        records.append(record)
    return records


def read_records(data: bytes, *, expected_rows: int | None = None) -> list[dict[str, Any]]:
    """The records of one dataset part: Avro if it starts with the Avro magic, else JSON Lines.

    ``expected_rows`` (a part's ``num_rows``) catches a file cut at a block or line
    boundary, which otherwise reads as a shorter but well-formed file.
    """
    records = read_avro(data) if data.startswith(AVRO_MAGIC) else _read_json_lines(data)
    if expected_rows is not None and len(records) != expected_rows:
        raise ResponseFormatError(
            f"the dataset part holds {len(records)} rows, its metadata says {expected_rows}"
        )
    return records
