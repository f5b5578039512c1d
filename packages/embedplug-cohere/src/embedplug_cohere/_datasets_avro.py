"""Reading the parts of a Cohere dataset: Avro object container files, or JSON Lines.

Cohere's SDK reads every part of a dataset with ``fastavro.reader`` (its
``utils.dataset_generator``), so parts are Avro object container files. This
module decodes them without a dependency: the container format (magic,
metadata map, sync marker, blocks) and the ``null`` and ``deflate`` codecs,
for every schema type. Arrays of ``float``/``double`` become NumPy arrays
straight from the block's bytes. Other codecs (``snappy``, ``zstandard``...)
are read with ``fastavro`` when it is installed (``pip install
'embedplug-cohere[avro]'``). A part that does not start with the Avro magic is
read as JSON Lines: detected, not assumed.
"""

from __future__ import annotations

import importlib
import io
import struct
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import orjson

from embedplug.errors import ResponseFormatError

__all__ = ["AVRO_MAGIC", "read_avro", "read_records"]

AVRO_MAGIC = b"Obj\x01"
_SYNC_SIZE = 16
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

Decoder = Callable[["_Buffer"], Any]


class _Buffer:
    """A cursor over bytes with Avro's primitive decoders."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def long(self) -> int:
        data = self.data
        pos = self.pos
        byte = data[pos]
        pos += 1
        value = byte & 0x7F
        shift = 7
        while byte & 0x80:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
        self.pos = pos
        return (value >> 1) ^ -(value & 1)

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise IndexError("read past the end of the Avro data")
        start = self.pos
        self.pos = start + size
        return self.data[start : self.pos]

    def bytes_(self) -> bytes:
        return self.take(self.long())

    def string(self) -> str:
        return self.take(self.long()).decode("utf-8")


def _null(buf: _Buffer) -> None:
    return None


def _boolean(buf: _Buffer) -> bool:
    return buf.take(1) != b"\x00"


def _float(buf: _Buffer) -> float:
    value: float = struct.unpack("<f", buf.take(4))[0]
    return value


def _double(buf: _Buffer) -> float:
    value: float = struct.unpack("<d", buf.take(8))[0]
    return value


_PRIMITIVE_DECODERS: dict[str, Decoder] = {
    "null": _null,
    "boolean": _boolean,
    "int": _Buffer.long,
    "long": _Buffer.long,
    "float": _float,
    "double": _double,
    "bytes": _Buffer.bytes_,
    "string": _Buffer.string,
}


class _Compiler:
    """Turns a parsed Avro schema into a decoder function, resolving named types."""

    def __init__(self) -> None:
        self.named: dict[str, Decoder] = {}

    def compile(self, schema: Any, namespace: str | None = None) -> Decoder:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return _PRIMITIVE_DECODERS[schema]
            return self._reference(schema, namespace)
        if isinstance(schema, list):
            branches = [self.compile(branch, namespace) for branch in schema]

            def union(buf: _Buffer) -> Any:
                return branches[buf.long()](buf)

            return union
        if not isinstance(schema, Mapping) or "type" not in schema:
            raise ResponseFormatError(f"unsupported Avro schema: {schema!r}")
        kind = schema["type"]
        if kind in _PRIMITIVES or isinstance(kind, (list, Mapping)):
            return self.compile(kind, namespace)  # {"type": "string", "logicalType": ...}
        if kind == "record" or kind == "error":
            return self._record(schema, namespace)
        if kind == "enum":
            symbols = list(schema["symbols"])
            decoder: Decoder = lambda buf: symbols[buf.long()]  # noqa: E731
            self._register(schema, namespace, decoder)
            return decoder
        if kind == "fixed":
            size = int(schema["size"])
            decoder = lambda buf: buf.take(size)  # noqa: E731
            self._register(schema, namespace, decoder)
            return decoder
        if kind == "array":
            return self._array(schema["items"], namespace)
        if kind == "map":
            values = self.compile(schema["values"], namespace)
            return lambda buf: dict(_blocks(buf, lambda b: (b.string(), values(b))))
        if isinstance(kind, str):
            return self._reference(kind, namespace)
        raise ResponseFormatError(f"unsupported Avro type {kind!r}")

    def _full_name(
        self, schema: Mapping[str, Any], namespace: str | None
    ) -> tuple[str, str | None]:
        name = str(schema["name"])
        if "." in name:
            return name, name.rsplit(".", 1)[0]
        space = schema.get("namespace", namespace) or None
        return (f"{space}.{name}" if space else name), space

    def _register(self, schema: Mapping[str, Any], namespace: str | None, decoder: Decoder) -> None:
        full, _ = self._full_name(schema, namespace)
        self.named[full] = decoder
        self.named.setdefault(full.rsplit(".", 1)[-1], decoder)

    def _reference(self, name: str, namespace: str | None) -> Decoder:
        candidates = (
            [name] if "." in name else [f"{namespace}.{name}", name] if namespace else [name]
        )

        def named(buf: _Buffer) -> Any:  # looked up late: a record may refer to itself
            for candidate in candidates:
                found = self.named.get(candidate)
                if found is not None:
                    return found(buf)
            raise ResponseFormatError(f"the Avro schema names an unknown type {name!r}")

        return named

    def _record(self, schema: Mapping[str, Any], namespace: str | None) -> Decoder:
        full, space = self._full_name(schema, namespace)
        holder: list[Decoder] = []
        self.named[full] = lambda buf: holder[0](buf)
        self.named.setdefault(full.rsplit(".", 1)[-1], self.named[full])
        fields = [(str(f["name"]), self.compile(f["type"], space)) for f in schema["fields"]]

        def record(buf: _Buffer) -> dict[str, Any]:
            return {name: decode(buf) for name, decode in fields}

        holder.append(record)
        return record

    def _array(self, items: Any, namespace: str | None) -> Decoder:
        item_type = items.get("type") if isinstance(items, Mapping) else items
        if item_type in ("float", "double"):
            dtype = np.dtype("<f4" if item_type == "float" else "<f8")

            def numbers(buf: _Buffer) -> Any:
                chunks = []
                while True:
                    count = buf.long()
                    if count == 0:
                        break
                    if count < 0:
                        count = -count
                        buf.long()  # the block's size in bytes
                    chunks.append(np.frombuffer(buf.take(count * dtype.itemsize), dtype=dtype))
                if not chunks:
                    return np.zeros(0, dtype=dtype)
                return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

            return numbers
        decode = self.compile(items, namespace)
        return lambda buf: list(_blocks(buf, decode))


def _blocks(buf: _Buffer, decode: Callable[[_Buffer], Any]) -> Iterator[Any]:
    """The items of an Avro array or map: blocks of ``count`` items until a zero count."""
    while True:
        count = buf.long()
        if count == 0:
            return
        if count < 0:
            count = -count
            buf.long()  # the block's size in bytes, for skipping; not needed here
        for _ in range(count):
            yield decode(buf)


def _decompress(codec: str, block: bytes) -> bytes:
    return block if codec == "null" else zlib.decompress(block, -15)


def _read_with_fastavro(data: bytes, codec: str) -> list[dict[str, Any]]:
    try:
        fastavro = importlib.import_module("fastavro")
    except ImportError:
        raise ResponseFormatError(
            f"the dataset part uses the Avro codec {codec!r}; reading it needs fastavro: "
            "pip install 'embedplug-cohere[avro]'"
        ) from None
    return [dict(record) for record in fastavro.reader(io.BytesIO(data))]


def read_avro(data: bytes) -> list[dict[str, Any]]:
    """The records of an Avro object container file, as dicts."""
    try:
        buf = _Buffer(data)
        if buf.take(4) != AVRO_MAGIC:
            raise ResponseFormatError("not an Avro object container file")
        meta = dict(_blocks(buf, lambda b: (b.string(), b.bytes_())))
        sync = buf.take(_SYNC_SIZE)
        schema = orjson.loads(meta["avro.schema"])
        codec = meta.get("avro.codec", b"null").decode("ascii") or "null"
        if codec not in ("null", "deflate"):
            return _read_with_fastavro(data, codec)
        decode = _Compiler().compile(schema)
        records: list[dict[str, Any]] = []
        while buf.pos < len(data):
            count = buf.long()
            block = buf.take(buf.long())
            if buf.take(_SYNC_SIZE) != sync:
                raise ResponseFormatError("an Avro block does not end with the file's sync marker")
            inner = _Buffer(_decompress(codec, block))
            for _ in range(count):
                record = decode(inner)
                if not isinstance(record, dict):
                    raise ResponseFormatError("the Avro file's records are not records")
                records.append(record)
        return records
    except ResponseFormatError:
        raise
    except (IndexError, KeyError, ValueError, TypeError, zlib.error, struct.error) as exc:
        raise ResponseFormatError(
            f"malformed Avro dataset part: {type(exc).__name__}: {exc}"
        ) from None


def read_records(data: bytes) -> list[dict[str, Any]]:
    """The records of one dataset part: Avro if it starts with the Avro magic, else JSON Lines."""
    if data.startswith(AVRO_MAGIC):
        return read_avro(data)
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
