"""Run a stub server in the foreground: ``python -m embedplug.testing.stub --variant openai``.

``--variant`` is any registered variant: the core's, or one a provider package
registers with the ``register_stub_variants`` hook, possibly with its own
server (one that serves more than the embeddings endpoint) and options
(its ``stub_options``, shown as a group in ``--help``). The first
line of stdout is the server's base URL (e.g. ``http://127.0.0.1:54321``); the
endpoint's full URL goes to stderr. Serves until SIGTERM or SIGINT, then shuts
down cleanly and exits 0. ``docs/testing.md`` shows every variant in use.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedplug.testing._server import StubServer

__all__ = ["main", "serve_in_subprocess"]


@contextmanager
def serve_in_subprocess(
    variant: str = "openai", *, dimensions: int | None = None, latency_ms: float = 0.0
) -> Iterator[str]:
    """A stub server in a child process (so it does not share this one's CPU); yields its URL.

    For benchmarks: "client CPU" measured in the parent then counts only the client.
    """
    command = [sys.executable, "-m", "embedplug.testing.stub", "--variant", variant]
    if dimensions is not None:
        command += ["--dimensions", str(dimensions)]
    command += ["--latency-ms", str(latency_ms), "--port", "0"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"stub server did not start: {url!r}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _factories() -> dict[str, Any]:
    """The names that have a server factory of their own, with the factory."""
    from embedplug.testing._registry import all_variant_names, stub_factory

    found = {name: stub_factory(name) for name in all_variant_names()}
    return {name: factory for name, factory in found.items() if factory is not None}


def _option_flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _parser(factories: dict[str, Any]) -> argparse.ArgumentParser:
    from embedplug.testing._registry import all_variant_names

    parser = argparse.ArgumentParser(
        prog="python -m embedplug.testing.stub",
        description="Serve a local embeddings stub that speaks one provider's protocol.",
    )
    parser.add_argument("--variant", default="openai", choices=all_variant_names())
    parser.add_argument(
        "--dimensions",
        type=int,
        default=None,
        help="full vector length for every model (default: the variant's per model)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY'")
    parser.add_argument("--max-items", type=int, default=None, help="inputs per request limit")
    seen: set[str] = set()
    for name, factory in sorted(factories.items()):
        options = dict(getattr(factory, "stub_options", {}) or {})
        group = parser.add_argument_group(f"{name} only")
        for option, (kind, default, text) in options.items():
            if option in seen:
                continue
            seen.add(option)
            group.add_argument(
                _option_flag(option), type=kind, default=None, help=f"{text} (default: {default})"
            )
    return parser


def _server(args: argparse.Namespace, factories: dict[str, Any]) -> StubServer:
    from embedplug.testing._server import StubServer

    common: dict[str, Any] = {
        "dimensions": args.dimensions,
        "latency": args.latency_ms / 1000.0,
        "api_key": args.api_key,
        "host": args.host,
        "port": args.port,
    }
    factory = factories.get(args.variant)
    if factory is None:
        # record=False: nobody can read the records; keep memory flat on long runs
        return StubServer(args.variant, max_items=args.max_items, record=False, **common)
    if args.max_items is not None:
        raise ValueError(f"--max-items does not apply to {args.variant}")
    options = dict(getattr(factory, "stub_options", {}) or {})
    extra = {
        option: getattr(args, option) if getattr(args, option) is not None else default
        for option, (_kind, default, _text) in options.items()
    }
    server: StubServer = factory(**extra, **common)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, serve until a signal, return the exit status."""
    factories = _factories()
    args = _parser(factories).parse_args(argv)
    try:
        server = _server(args, factories)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with server:
            print(server.url, flush=True)
            more = "".join(f" and {server.url}{path}" for path in _extra_paths(server))
            print(
                f"{args.variant} stub: POST {server.endpoint}{more} "
                f"({server.dimensions} dimensions by default)",
                file=sys.stderr,
                flush=True,
            )
            while not done.wait(1.0):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _extra_paths(server: StubServer) -> tuple[str, ...]:
    """Paths a factory's server serves besides the embeddings endpoint (``extra_paths``)."""
    return tuple(getattr(server, "extra_paths", ()))


if __name__ == "__main__":
    sys.exit(main())
