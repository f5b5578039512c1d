"""The files of the Cohere jobs stub: Avro parts it writes and multipart uploads it reads."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

from embedplug.testing import StubError

__all__ = [
    "EMBEDDING_TYPES",
    "AvroCodec",
    "avro_file",
    "avro_schema",
    "list_param",
    "multipart",
    "rows_of_upload",
]

EMBEDDING_TYPES = ("float", "int8", "uint8", "binary", "ubinary", "base64")
# codecs fastavro writes with the standard library alone
AvroCodec = Literal["null", "deflate", "bzip2", "xz"]

# ---------------------------------------------------------------------------- Avro writing


_KEPT_UNION = ["null", "boolean", "long", "double", "string"]


def _kept_value(value: Any) -> tuple[str, Any] | None:
    """A kept field's value with its branch of ``_KEPT_UNION`` (fastavro's tuple notation)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, int):
        return ("long", value)
    if isinstance(value, float):
        return ("double", value)
    return ("string", value if isinstance(value, str) else orjson.dumps(value).decode())


def _vector_type(kind: str) -> dict[str, Any]:
    return {"type": "array", "items": "float" if kind == "float" else "int"}


def avro_schema(kept: Sequence[str]) -> dict[str, Any]:
    vector_fields = [
        {
            "name": kind,
            "type": ["null", "string" if kind == "base64" else _vector_type(kind)],
            "default": None,
        }
        for kind in EMBEDDING_TYPES
    ]
    return {
        "type": "record",
        "name": "EmbedOutput",
        "namespace": "embedplug.stub",
        "fields": [
            {"name": "text", "type": "string"},
            {
                "name": "embeddings",
                "type": {"type": "record", "name": "Embeddings", "fields": vector_fields},
            },
            *({"name": name, "type": list(_KEPT_UNION)} for name in kept),
        ],
    }


def _avro_record(record: Mapping[str, Any], kept: Sequence[str]) -> dict[str, Any]:
    vectors = record["embeddings"]
    embeddings: dict[str, list[float] | list[int] | str | None] = {}
    for kind in EMBEDDING_TYPES:
        values = vectors.get(kind)
        if values is None or kind == "base64":  # base64: one string per vector
            embeddings[kind] = values
        elif kind == "float":
            embeddings[kind] = [float(v) for v in values]
        else:
            embeddings[kind] = [int(v) for v in values]
    return {
        "text": record["text"],
        "embeddings": embeddings,
        **{name: _kept_value(record.get(name)) for name in kept},
    }


def avro_file(
    records: Sequence[Mapping[str, Any]],
    kept: Sequence[str],
    *,
    codec: AvroCodec = "deflate",
    block_size: int = 40,
    sync: bytes = b"embedplug-stub!!",
) -> bytes:
    """An Avro object container file of embed-output ``records``, ``block_size`` per block."""
    from fastavro.write import Writer  # here: importing embedplug.testing must not need it

    out = io.BytesIO()
    writer = Writer(
        out,
        avro_schema(kept),
        codec=codec,
        sync_interval=2**62,  # blocks are cut by the flushes below, not by size
        sync_marker=sync,
    )
    for start in range(0, len(records), block_size):
        for record in records[start : start + block_size]:
            writer.write(_avro_record(record, kept))
        writer.flush()
    return out.getvalue()


# ---------------------------------------------------------------------------- uploads


def multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """Fields of a multipart/form-data body: name -> (filename, content)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise StubError(400, "expected a multipart/form-data body")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        found = re.search(r'\bname="([^"]*)"', disposition)
        if found is None:
            continue
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        fields[found.group(1)] = (filename.group(1) if filename else None, content)
    return fields


def list_param(values: Sequence[str]) -> list[str]:
    """``keep_fields`` given repeated, comma-separated or as a JSON list."""
    out: list[str] = []
    for value in values:
        text = value.strip()
        if text.startswith("["):
            try:
                parsed = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise StubError(400, f"invalid list {value!r}") from None
            out.extend(str(v) for v in parsed)
        else:
            out.extend(v.strip() for v in text.split(",") if v.strip())
    return out


def rows_of_upload(filename: str | None, content: bytes) -> list[dict[str, Any]]:
    if filename and filename.lower().endswith(".csv"):
        import csv

        return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    rows = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise ValueError(f"line {number} is not valid JSON") from None
        if not isinstance(row, dict):
            raise ValueError(f"line {number} is not a JSON object")
        rows.append(row)
    return rows
