"""The stub HTTP server: a threaded ``http.server`` on 127.0.0.1 that speaks one variant."""

from __future__ import annotations

import collections
import dataclasses
import socket
import struct
import threading
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from embedplug.testing._faults import INDEX_FAULTS, Fault, FaultKind, FaultQueue
from embedplug.testing._registry import get_variant
from embedplug.testing._transport import _Handler, _HTTPServer, reason
from embedplug.testing._variant import Context, StubError, Variant
from embedplug.testing._vectors import (
    MAX_DIMENSIONS,
    ContentLike,
    InputKey,
    VectorSource,
    content_digest,
    describe_content,
)

if TYPE_CHECKING:
    import numpy.typing as npt

__all__ = ["RecordedRequest", "StubServer"]

_JSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY
_CLEAN_FAULTS = frozenset({FaultKind.LATENCY, FaultKind.SHUFFLE})
"""Faults after which the answer is still complete and correct (inputs count as embedded)."""
_ARRAY_FAULTS = frozenset({FaultKind.WRONG_COUNT, FaultKind.WRONG_DIMENSION})
_DEFAULT_MESSAGES = {
    400: "bad request",
    401: "invalid API key",
    403: "permission denied",
    404: "not found",
    408: "request timeout",
    409: "conflict",
    422: "unprocessable entity",
    429: "rate limit exceeded, retry later",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


@dataclass
class RecordedRequest:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    """Header names in lower case."""
    body: bytes
    json: Any
    """The parsed JSON body (``None`` if absent or invalid)."""
    request_id: str
    status: int | None = None
    """The status answered (``None`` while in flight or when the connection was dropped)."""
    fault: Fault | None = None
    """The fault applied, if any."""


class StubServer:
    """A local HTTP server that speaks one provider's embeddings protocol.

    ``StubServer(variant="openai", dimensions=None, latency=0.0, api_key=None,
    max_items=None)``; ``dimensions`` overrides every model's full dimension
    (default: the variant's per-model dimension), ``latency`` (seconds) delays
    every answer, ``api_key`` requires ``Authorization: Bearer <key>``,
    ``max_items`` overrides the variant's limit of inputs per request.
    ``record=False`` keeps no ``requests`` and no ``inputs_seen`` (for long
    benchmarks; counts and ``peak_in_flight`` are still kept).

    Use it as a context manager or call ``start()``/``stop()``::

        with StubServer("openai", dimensions=256) as server:
            httpx.post(server.endpoint, json={"model": "m", "input": ["hi"]})
            assert server.inputs_seen["hi"] == 1
    """

    def __init__(
        self,
        variant: str | Variant | type[Variant] = "openai",
        *,
        dimensions: int | None = None,
        latency: float = 0.0,
        api_key: str | None = None,
        max_items: int | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = True,
    ) -> None:
        self.variant: Variant = get_variant(variant)
        if dimensions is not None and not 1 <= dimensions <= MAX_DIMENSIONS:
            raise ValueError(f"dimensions must be in [1, {MAX_DIMENSIONS}], not {dimensions}")
        if latency < 0:
            raise ValueError(f"latency must be >= 0, not {latency}")
        if max_items is not None and max_items < 1:
            raise ValueError(f"max_items must be >= 1, not {max_items}")
        self._dimensions = dimensions
        self.latency = latency
        self.api_key = api_key
        self.max_items = max_items
        self.record = record
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._faults = FaultQueue()
        self._vectors = VectorSource()
        self._lock = threading.Lock()
        self._sequence = 0
        self._requests: list[RecordedRequest] = []
        self._request_count = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._inputs_seen: collections.Counter[InputKey] = collections.Counter()

    # -- life cycle -------------------------------------------------------------

    def start(self) -> StubServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread; returns ``self``."""
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer(self._address, self)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"embedplug-stub-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close every connection and the listening socket, join the threads."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.close_connections(timeout)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout)
        self._httpd = None
        self._thread = None

    @property
    def running(self) -> bool:
        """Whether the server is serving."""
        return self._httpd is not None

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._httpd is not None else "stopped"
        return f"<StubServer {self.variant.name} {where}>"

    # -- addresses --------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port."""
        if self._httpd is None:
            raise RuntimeError("the stub server is not started")
        return int(self._httpd.server_address[1])

    @property
    def host(self) -> str:
        """The bound host."""
        return self._address[0]

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self.host}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The full URL of the variant's embeddings endpoint."""
        return self.url + self.variant.path

    # -- vectors ------------------------------------------------------------------

    @property
    def dimensions(self) -> int:
        """The full dimension of the variant's default model on this server."""
        return self.dimensions_for(None)

    def dimensions_for(self, model: str | None) -> int:
        """The full dimension of ``model`` (``None``: the variant's default model)."""
        ctx = Context(request_number=0, dimensions=self._dimensions)
        return self.variant.full_dimensions(model or self.variant.default_model, ctx)

    def expected_vector(
        self,
        content: ContentLike,
        dimensions: int | None = None,
        *,
        input_type: str | None = None,
        model: str | None = None,
    ) -> npt.NDArray[np.float32]:
        """The float32 unit vector the server answers for ``content``.

        ``content``: a text, image bytes, an ``embedplug.types.Image``, a
        ``Mixed`` or a list of text/image parts (a mixed input). ``dimensions``
        defaults to the model's full dimension. ``input_type`` matters only
        for variants that mix it into the vector (``salt_input_type``).
        """
        parts, _ = describe_content(content)
        salt = input_type if self.variant.salt_input_type else None
        dims = dimensions if dimensions is not None else self.dimensions_for(model)
        row: npt.NDArray[np.float32] = self._vectors.rows([content_digest(parts, salt)], dims)[0]
        return row

    def expected_vectors(
        self,
        contents: Sequence[ContentLike],
        dimensions: int | None = None,
        *,
        embedding_type: str = "float",
        input_type: str | None = None,
        model: str | None = None,
    ) -> npt.NDArray[Any]:
        """The ``(n, d)`` array the server answers for ``contents`` as ``embedding_type``
        (``float``, ``int8``, ``uint8``, ``binary``, ``ubinary``)."""
        salt = input_type if self.variant.salt_input_type else None
        dims = dimensions if dimensions is not None else self.dimensions_for(model)
        digests = [content_digest(describe_content(c)[0], salt) for c in contents]
        return self.variant.typed(self._vectors.rows(digests, dims), embedding_type, None)

    @staticmethod
    def content_key(content: ContentLike) -> InputKey:
        """The key ``content`` is counted under in ``inputs_seen``."""
        return describe_content(content)[1]

    # -- faults -------------------------------------------------------------------

    def inject(self, *faults: Fault) -> None:
        """Queue faults (FIFO); each request to the endpoint takes the next that applies."""
        for fault in faults:
            if fault.kind in INDEX_FAULTS and not self.variant.indexed:
                raise ValueError(
                    f"{fault!r} needs indexed items, which variant {self.variant.name!r} has not"
                )
            self._faults.push(fault)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        self._faults.clear()

    @property
    def pending_faults(self) -> list[tuple[Fault, int | None]]:
        """Queued faults with their remaining uses (``None``: unlimited)."""
        return self._faults.pending()

    # -- recording ----------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the requests received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def request_count(self) -> int:
        """How many requests were received."""
        return self._request_count

    @property
    def in_flight(self) -> int:
        """How many requests are being handled now."""
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        """The most requests handled at the same time."""
        return self._peak_in_flight

    @property
    def inputs_seen(self) -> collections.Counter[InputKey]:
        """How many times each input was embedded in a complete, correct answer.

        Keys: the text itself; ``"image:<blake2b hex>"`` for an image (see
        ``content_key``); a tuple of those for a mixed input of several parts.
        Faulted answers (errors, resets, corrupt bodies) do not count, so after
        retries every input should have been counted exactly once.
        """
        with self._lock:
            return collections.Counter(self._inputs_seen)

    def reset_stats(self) -> None:
        """Forget recorded requests, counts, the in-flight peak and ``inputs_seen``."""
        with self._lock:
            self._requests.clear()
            self._request_count = 0
            self._peak_in_flight = self._in_flight
            self._inputs_seen.clear()

    # -- handling -------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        with self._lock:
            self._sequence += 1
            number = self._sequence
            self._request_count += 1
            self._in_flight += 1
            if self._in_flight > self._peak_in_flight:
                self._peak_in_flight = self._in_flight
        try:
            body = self._read_body(handler)
            try:
                parsed: Any = orjson.loads(body) if body else None
                valid_json = True
            except orjson.JSONDecodeError:
                parsed, valid_json = None, False
            record = RecordedRequest(
                method=handler.command,
                path=handler.path.split("?", 1)[0],
                headers={k.lower(): v for k, v in handler.headers.items()},
                body=body,
                json=parsed,
                request_id=f"req-{number}",
            )
            if self.record:
                with self._lock:
                    self._requests.append(record)
            self._respond(handler, record, number, parsed, valid_json)
        except (ConnectionError, TimeoutError):
            handler.close_connection = True
        finally:
            with self._lock:
                self._in_flight -= 1

    @staticmethod
    def _read_body(handler: _Handler) -> bytes:
        length = handler.headers.get("Content-Length")
        if length is not None:
            return handler.rfile.read(int(length))
        if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(handler.rfile.read(size))
                handler.rfile.readline()
        return b""

    def _respond(
        self,
        handler: _Handler,
        record: RecordedRequest,
        number: int,
        parsed: Any,
        valid_json: bool,
    ) -> None:
        variant = self.variant
        rid = record.request_id

        def send_error(err: StubError) -> None:
            payload = variant.error(
                err.status, err.message, code=err.code, param=err.param, loc=err.loc
            )
            record.status = err.status
            self._send(handler, err.status, orjson.dumps(payload), rid, err.headers.items())

        if record.path != variant.path:
            send_error(StubError(404, f"no route for {record.method} {record.path}"))
            return
        if record.method != "POST":
            send_error(StubError(405, f"method {record.method} not allowed"))
            return

        fault = self._faults.take(record.path)
        record.fault = fault
        delay = self.latency + (fault.seconds if fault is not None else 0.0)
        if delay > 0 and self._stopping.wait(delay):
            handler.close_connection = True
            return
        if fault is not None:
            if fault.kind is FaultKind.STATUS:
                self._send_status_fault(handler, record, fault, rid)
                return
            if fault.kind is FaultKind.DISCONNECT:
                handler.close_connection = True
                return

        if self.api_key is not None:
            auth = handler.headers.get("Authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or token.strip() != self.api_key:
                send_error(StubError(401, "invalid or missing API key"))
                return
        if not valid_json:
            send_error(variant.invalid("the request body is not valid JSON"))
            return

        ctx = Context(request_number=number, dimensions=self._dimensions, max_items=self.max_items)
        try:
            call = variant.parse(parsed, ctx)
            digests = [item.digest for item in call.items]
            vectors = self._vectors.rows(digests, call.dimensions)
            if fault is not None and fault.kind in _ARRAY_FAULTS:
                vectors = self._array_faults(vectors, fault)
            else:
                source = self._vectors
                ctx = dataclasses.replace(
                    ctx, vectors=vectors, cached_base64=lambda: source.base64_rows(digests, vectors)
                )
            payload = variant.render(call, vectors, fault, ctx)
            out = orjson.dumps(payload, option=_JSON_OPTIONS)
        except StubError as err:
            send_error(err)
            return
        except Exception as exc:
            traceback.print_exc()
            send_error(StubError(500, f"stub server error: {type(exc).__name__}: {exc}"))
            return

        if fault is not None:
            kind = fault.kind
            if kind is FaultKind.NAN:
                out = out.replace(b"[null", b"[NaN", 1)
            elif kind is FaultKind.MALFORMED_JSON:
                out = out[: max(1, len(out) // 2)]
            elif kind is FaultKind.RESET:
                self._send(handler, 200, out, rid, (), partial=int(len(out) * fault.fraction))
                if fault.abort:
                    # linger 0: the close sends a RST; the socket really closes once the
                    # handler's files are closed, before socketserver's shutdown (a FIN)
                    handler.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    handler.connection.close()
                return
        record.status = 200
        # counted before sending: a client may act on the answer before this thread runs again
        if self.record and (fault is None or fault.kind in _CLEAN_FAULTS):
            with self._lock:
                self._inputs_seen.update(item.key for item in call.items)
        self._send(handler, 200, out, rid, ())

    @staticmethod
    def _array_faults(
        vectors: npt.NDArray[np.float32], fault: Fault | None
    ) -> npt.NDArray[np.float32]:
        if fault is None:
            return vectors
        if fault.kind is FaultKind.WRONG_COUNT:
            return vectors[:-1]
        if fault.kind is FaultKind.WRONG_DIMENSION:
            dims = vectors.shape[1]
            wrong = fault.dimensions
            if wrong is None:
                wrong = (dims // 2) // 8 * 8 or dims // 2 or dims + 1
            if wrong <= dims:
                return np.ascontiguousarray(vectors[:, :wrong])
            extra = np.zeros((vectors.shape[0], wrong - dims), dtype=np.float32)
            return np.ascontiguousarray(np.hstack([vectors, extra]))
        return vectors

    def _send_status_fault(
        self, handler: _Handler, record: RecordedRequest, fault: Fault, rid: str
    ) -> None:
        status = fault.status_code
        body = fault.body
        content_type = "application/json"
        if body is None:
            message = fault.message or _DEFAULT_MESSAGES.get(status, reason(status).lower())
            out = orjson.dumps(self.variant.error(status, message, code=fault.error_code))
        elif isinstance(body, bytes):
            out = body
        elif isinstance(body, str):
            out, content_type = body.encode("utf-8"), "text/plain; charset=utf-8"
        else:
            out = orjson.dumps(body)
        headers = dict(fault.headers)
        for name in list(headers):
            if name.lower() == "content-type":
                content_type = headers.pop(name)
        record.status = status
        self._send(handler, status, out, rid, headers.items(), content_type=content_type)

    @staticmethod
    def _send(
        handler: _Handler,
        status: int,
        body: bytes,
        request_id: str,
        headers: Iterable[tuple[str, str]],
        *,
        content_type: str = "application/json",
        partial: int | None = None,
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {reason(status)}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"x-request-id: {request_id}\r\n"
        )
        for name, value in headers:
            head += f"{name}: {value}\r\n"
        if partial is not None:
            handler.close_connection = True
            handler.wfile.write((head + "\r\n").encode("latin-1") + body[:partial])
            return
        if handler.close_connection:
            head += "Connection: close\r\n"
        raw = (head + "\r\n").encode("latin-1")
        if len(body) < 65536:
            handler.wfile.write(raw + body)
        else:
            handler.wfile.write(raw)
            handler.wfile.write(body)
