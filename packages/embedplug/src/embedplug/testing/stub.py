"""Run a stub server in the foreground: ``python -m embedplug.testing.stub --variant openai``.

``--variant`` is any registered variant, or ``cohere-jobs``: the ``cohere``
stub plus Cohere's Datasets and Embed Jobs APIs (``CohereJobsStub``). The first
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

__all__ = ["COHERE_JOBS", "main", "serve_in_subprocess"]

COHERE_JOBS = "cohere-jobs"
"""The ``--variant`` name of the Cohere stub with the Datasets and Embed Jobs APIs."""


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


def _parser() -> argparse.ArgumentParser:
    from embedplug.testing._variants import VARIANTS

    parser = argparse.ArgumentParser(
        prog="python -m embedplug.testing.stub",
        description="Serve a local embeddings stub that speaks one provider's protocol.",
    )
    parser.add_argument("--variant", default="openai", choices=sorted([*VARIANTS, COHERE_JOBS]))
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
    jobs = parser.add_argument_group(f"{COHERE_JOBS} only")
    jobs.add_argument(
        "--job-polls", type=int, default=2, help="polls a job shows 'processing' (default: 2)"
    )
    jobs.add_argument(
        "--validation-polls",
        type=int,
        default=1,
        help="polls a dataset shows 'processing' before 'validated' (default: 1)",
    )
    return parser


def _server(args: argparse.Namespace) -> StubServer:
    from embedplug.testing._server import StubServer

    common: dict[str, Any] = {
        "dimensions": args.dimensions,
        "latency": args.latency_ms / 1000.0,
        "api_key": args.api_key,
        "host": args.host,
        "port": args.port,
    }
    if args.variant != COHERE_JOBS:
        # record=False: nobody can read the records; keep memory flat on long runs
        return StubServer(args.variant, max_items=args.max_items, record=False, **common)
    from embedplug.testing._cohere_jobs import CohereJobsStub

    if args.max_items is not None:
        raise ValueError(f"--max-items does not apply to {COHERE_JOBS}")
    return CohereJobsStub(
        job_polls=args.job_polls, validation_polls=args.validation_polls, **common
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, serve until a signal, return the exit status."""
    args = _parser().parse_args(argv)
    try:
        server = _server(args)
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
            jobs = f" and {server.url}/v1/embed-jobs" if args.variant == COHERE_JOBS else ""
            print(
                f"{args.variant} stub: POST {server.endpoint}{jobs} "
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


if __name__ == "__main__":
    sys.exit(main())
