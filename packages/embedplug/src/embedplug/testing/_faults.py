"""Faults a stub server can inject into its next responses.

A :class:`Fault` is an immutable description built with one of its class
methods (``Fault.status(429)``, ``Fault.reset()``, ...). ``StubServer.inject``
queues it; each request that reaches the endpoint takes the first queued fault
whose ``path`` matches (FIFO), and a fault is used ``times`` times (``None``:
every request until ``clear_faults()``). One fault applies per request.

Faults that change the body of a successful answer (``wrong_count``,
``shuffle``, ``nan``...) are consumed by the next request even when that
request is refused for another reason (a 400 for bad input, a 401).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Fault", "FaultKind", "FaultQueue"]


class FaultKind(str, enum.Enum):
    """What a fault does to the response."""

    STATUS = "status"
    """Answer with an error status (and optional headers/body) instead."""
    LATENCY = "latency"
    """Wait ``seconds`` before answering normally."""
    RESET = "reset"
    """Send the headers and part of the body, then close (or abort) the connection."""
    DISCONNECT = "disconnect"
    """Close the connection without sending anything."""
    MALFORMED_JSON = "malformed_json"
    """A 200 whose body is truncated, invalid JSON."""
    WRONG_COUNT = "wrong_count"
    """One vector fewer than inputs."""
    SHUFFLE = "shuffle"
    """Items in a shuffled order, each with its correct ``index``."""
    DUPLICATE_INDEX = "duplicate_index"
    """The second item repeats the first item's ``index``."""
    OUT_OF_RANGE_INDEX = "out_of_range_index"
    """The last item's ``index`` equals the number of inputs."""
    NAN = "nan"
    """The first float of the first vector is NaN (``NaN`` literal in JSON)."""
    BAD_BASE64 = "bad_base64"
    """The first base64 vector is corrupted (length or byte count)."""
    WRONG_DIMENSION = "wrong_dimension"
    """Every vector has another dimension than asked for."""


INDEX_FAULTS = frozenset(
    {FaultKind.SHUFFLE, FaultKind.DUPLICATE_INDEX, FaultKind.OUT_OF_RANGE_INDEX}
)
"""Faults that need per-item indices in the response (OpenAI-style ``data``)."""


@dataclass(frozen=True)
class Fault:
    """One fault to inject; build it with a class method, e.g. ``Fault.status(503)``.

    Every constructor takes ``times`` (how many requests it applies to, ``None``
    for all until cleared) and ``path`` (only requests to that path, e.g.
    ``"/v1/embeddings"``; ``None`` for any endpoint path).
    """

    kind: FaultKind
    times: int | None = 1
    path: str | None = None
    status_code: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    message: str | None = None
    error_code: str | None = None
    seconds: float = 0.0
    fraction: float = 0.5
    dimensions: int | None = None
    mode: Literal["length", "bytes"] = "length"
    abort: bool = False

    def __post_init__(self) -> None:
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None, not {self.times}")
        if self.seconds < 0:
            raise ValueError(f"seconds must be >= 0, not {self.seconds}")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"fraction must be in [0, 1), not {self.fraction}")
        if self.kind is FaultKind.STATUS and not 100 <= self.status_code <= 999:
            raise ValueError(f"not an HTTP status: {self.status_code}")
        if self.dimensions is not None and self.dimensions < 1:
            raise ValueError(f"dimensions must be >= 1, not {self.dimensions}")

    # -- constructors -------------------------------------------------------------

    @classmethod
    def status(
        cls,
        status_code: int,
        *,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | list[Any] | str | bytes | None = None,
        message: str | None = None,
        code: str | None = None,
        times: int | None = 1,
        path: str | None = None,
    ) -> Fault:
        """Answer ``status_code`` instead of embedding.

        ``body``: a dict or list (sent as JSON), ``str`` (text/plain) or
        ``bytes`` (sent as is). Without it the body is the variant's usual error
        shape holding ``message`` (a default per status) and ``code``. Example:
        ``Fault.status(429, headers={"Retry-After": "2"})``.
        """
        return cls(
            FaultKind.STATUS,
            times=times,
            path=path,
            status_code=status_code,
            headers=dict(headers or {}),
            body=body,
            message=message,
            error_code=code,
        )

    @classmethod
    def latency(cls, seconds: float, *, times: int | None = 1, path: str | None = None) -> Fault:
        """Wait ``seconds`` (on top of the server's ``latency``) before answering."""
        return cls(FaultKind.LATENCY, times=times, path=path, seconds=seconds)

    @classmethod
    def reset(
        cls,
        *,
        fraction: float = 0.5,
        abort: bool = False,
        times: int | None = 1,
        path: str | None = None,
    ) -> Fault:
        """Send the status line, headers (full ``Content-Length``) and ``fraction``
        of the body, then close the connection: the client sees a truncated body
        (httpx: ``RemoteProtocolError``). ``abort=True`` closes with a TCP RST
        instead of a FIN (httpx: usually ``ReadError``, connection reset by peer)."""
        return cls(FaultKind.RESET, times=times, path=path, fraction=fraction, abort=abort)

    @classmethod
    def disconnect(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """Close the connection without answering (server disconnected)."""
        return cls(FaultKind.DISCONNECT, times=times, path=path)

    @classmethod
    def malformed_json(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """A 200 ``application/json`` response whose body is cut in half."""
        return cls(FaultKind.MALFORMED_JSON, times=times, path=path)

    @classmethod
    def wrong_count(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """One vector fewer than inputs (the last one is dropped)."""
        return cls(FaultKind.WRONG_COUNT, times=times, path=path)

    @classmethod
    def shuffle(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """Items in a shuffled order (never the original one) with correct indices."""
        return cls(FaultKind.SHUFFLE, times=times, path=path)

    @classmethod
    def duplicate_index(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """Two items carry the same index (a single item is sent twice)."""
        return cls(FaultKind.DUPLICATE_INDEX, times=times, path=path)

    @classmethod
    def out_of_range_index(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """The last item's index is the number of inputs (one past the end)."""
        return cls(FaultKind.OUT_OF_RANGE_INDEX, times=times, path=path)

    @classmethod
    def nan(cls, *, times: int | None = 1, path: str | None = None) -> Fault:
        """The first value of the first float vector is NaN.

        In base64 it is a float32 NaN; in JSON floats it is the bare ``NaN``
        token (what Python's ``json`` emits). Integer embedding types are left
        alone.
        """
        return cls(FaultKind.NAN, times=times, path=path)

    @classmethod
    def bad_base64(
        cls,
        *,
        mode: Literal["length", "bytes"] = "length",
        times: int | None = 1,
        path: str | None = None,
    ) -> Fault:
        """Corrupt the first base64 vector.

        ``mode="length"``: one character dropped, so the length is not a
        multiple of 4. ``mode="bytes"``: valid base64 of two bytes fewer, so it
        decodes to a byte count that is not a whole number of values / the
        wrong dimension. Responses without base64 are left alone.
        """
        return cls(FaultKind.BAD_BASE64, times=times, path=path, mode=mode)

    @classmethod
    def wrong_dimension(
        cls, dimensions: int | None = None, *, times: int | None = 1, path: str | None = None
    ) -> Fault:
        """Every vector has ``dimensions`` values (default: half of what was asked,
        rounded down to a multiple of 8)."""
        return cls(FaultKind.WRONG_DIMENSION, times=times, path=path, dimensions=dimensions)

    def __repr__(self) -> str:
        extras = []
        if self.kind is FaultKind.STATUS:
            extras.append(str(self.status_code))
        if self.kind is FaultKind.LATENCY:
            extras.append(f"{self.seconds}s")
        if self.times != 1:
            extras.append(f"times={self.times}")
        if self.path is not None:
            extras.append(f"path={self.path!r}")
        return f"Fault.{self.kind.value}({', '.join(extras)})"


class _Entry:
    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


class FaultQueue:
    """A thread-safe FIFO of faults; ``take(path)`` hands out the next one that applies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []

    def push(self, fault: Fault) -> None:
        """Queue ``fault`` behind the ones already queued."""
        with self._lock:
            self._entries.append(_Entry(fault))

    def take(self, path: str) -> Fault | None:
        """The first queued fault for ``path``, counting one use of it."""
        if not self._entries:  # fast path, no lock (benchmarks)
            return None
        with self._lock:
            for position, entry in enumerate(self._entries):
                if entry.fault.path is None or entry.fault.path == path:
                    if entry.remaining is not None:
                        entry.remaining -= 1
                        if entry.remaining <= 0:
                            del self._entries[position]
                    return entry.fault
        return None

    def clear(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._entries.clear()

    def pending(self) -> list[tuple[Fault, int | None]]:
        """Queued faults with their remaining uses (``None``: unlimited)."""
        with self._lock:
            return [(e.fault, e.remaining) for e in self._entries]
