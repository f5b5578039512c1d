"""The stub's HTTP transport: a threaded ``http.server`` that tracks its connections."""

from __future__ import annotations

import contextlib
import http
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedplug.testing._server import StubServer

__all__ = ["RequestHandler", "reason"]


def reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "embedplug-stub/1"
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_POST(self) -> None:
        self.server.stub._handle(self)

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


RequestHandler = _Handler
"""The request handler type a ``StubServer`` subclass's ``_respond`` receives."""


class _HTTPServer(ThreadingHTTPServer):
    """Tracks its connections and handler threads so ``close`` can end them all."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], stub: StubServer) -> None:
        self.stub = stub
        self._track_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._work,
            args=(request, client_address),
            name=f"embedplug-stub-{self.server_address[1]}-conn",
            daemon=True,
        )
        with self._track_lock:
            self._connections.add(request)
            self._workers.add(worker)
        worker.start()

    def _work(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._track_lock:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        traceback.print_exc()  # pragma: no cover - a bug in a variant

    def close_connections(self, timeout: float) -> None:
        """Shut every open connection down and wait for the handler threads."""
        with self._track_lock:
            connections = list(self._connections)
            workers = list(self._workers)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for worker in workers:
            worker.join(timeout)
