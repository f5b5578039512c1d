"""Benchmark: peak memory of ``embedplug embed-file`` as the input grows (10,000 and 100,000 rows).

Prints a table; asserts nothing. Run with ``python tests/bench/bench_bulk.py``
(``--rows 10000,100000 --dimensions 256 --formats parquet,npy``).

Each job runs in a fresh child process against the stub server (itself a
separate process), so a row's peak RSS (``ru_maxrss`` of that child alone) is
the whole cost of embedding that file: interpreter, libraries, buffers. Memory
that does not grow with the file's size is the point: the job streams the
input and keeps one chunk of rows and vectors at a time.

Needs the ``openai`` provider (packages/embedplug-openai); Parquet rows need
pyarrow and are skipped without it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path

import orjson

from embedplug.testing.stub import serve_in_subprocess

MODEL = "openai:text-embedding-3-small"

# Runs in the child: the CLI in-process, then its own peak RSS on the last line.
_CHILD = """
import json, resource, sys
from embedplug.cli import main
code = 0
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
print("BENCH " + json.dumps({"code": code, "peak_rss": peak * scale}), flush=True)
"""

_BASELINE = """
import json, resource, sys
import numpy, httpx, orjson, embedplug.cli, embedplug.bulk._job, embedplug.cache
try:
    import pyarrow.parquet
except ImportError:
    pass
import embedplug
embedplug.embedder("openai:text-embedding-3-small").close()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
scale = 1 if sys.platform == "darwin" else 1024
print("BENCH " + json.dumps({"code": 0, "peak_rss": peak * scale}), flush=True)
"""

_WORDS = [
    "the",
    "of",
    "and",
    "embedding",
    "vector",
    "model",
    "search",
    "query",
    "document",
    "corpus",
    "provider",
    "batch",
    "retry",
    "engine",
    "plugin",
    "cache",
    "chunk",
    "resume",
    "parquet",
    "memory",
    "stream",
    "token",
    "image",
    "text",
    "language",
    "cluster",
    "ray",
    "column",
    "schema",
    "index",
    "order",
    "fan",
    "dedup",
    "content",
    "hash",
    "checkpoint",
]


def stub_process(dimensions: int, latency_ms: float) -> AbstractContextManager[str]:
    """The OpenAI stub in a child process; yields its URL."""
    return serve_in_subprocess("openai", dimensions=dimensions, latency_ms=latency_ms)


def write_corpus(path: Path, rows: int, seed: int = 7) -> None:
    """``rows`` distinct JSONL records of about 150 characters, written as a stream."""
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        for i in range(rows):
            words = " ".join(rng.choice(_WORDS) for _ in range(20))
            fh.write(orjson.dumps({"id": f"doc-{i}", "text": f"document {i}: {words}"}) + b"\n")


def run_child(code: str, args: list[str], env: dict[str, str]) -> tuple[int, int, float]:
    """(exit code, peak RSS in bytes, seconds) of one child process."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("BENCH "):
            data = orjson.loads(line[6:])
            if data["code"] != 0:
                sys.stderr.write(proc.stdout + proc.stderr)
            return int(data["code"]), int(data["peak_rss"]), seconds
    raise RuntimeError(f"child failed:\n{proc.stdout}\n{proc.stderr}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="10000,100000", help="comma-separated row counts")
    parser.add_argument("--dimensions", type=int, default=256)
    parser.add_argument("--formats", default="parquet,npy", help="parquet and/or npy")
    parser.add_argument("--batch-rows", type=int, default=None, help="rows per chunk")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="stub latency per request")
    parser.add_argument("--no-dedup", action="store_true", help="run without the dedup store")
    ns = parser.parse_args()

    counts = [int(x) for x in ns.rows.split(",") if x]
    formats = [f for f in ns.formats.split(",") if f]
    if "parquet" in formats and importlib.util.find_spec("pyarrow") is None:
        print("pyarrow is not installed: Parquet rows skipped")
        formats.remove("parquet")
    if importlib.util.find_spec("embedplug_openai") is None:
        sys.exit(
            "the benchmark needs the openai provider: pip install -e packages/embedplug-openai"
        )

    with (
        tempfile.TemporaryDirectory(prefix="embedplug-bench-") as tmp,
        stub_process(ns.dimensions, ns.latency_ms) as url,
    ):
        env = dict(os.environ, OPENAI_BASE_URL=url + "/v1", OPENAI_API_KEY="sk-bench")
        env.pop("EMBEDPLUG_LOAD_PLUGINS", None)
        _, base_rss, _ = run_child(_BASELINE, [], env)
        print(
            f"embed-file through the stub server ({ns.dimensions}-d, {MODEL}, "
            f"latency {ns.latency_ms:g} ms, dedup {'off' if ns.no_dedup else 'on'})"
        )
        print(f"baseline (imports + an embedder, no work): peak RSS {base_rss / 2**20:.0f} MB\n")
        header = (
            f"{'rows':>9} {'format':>8} {'input MB':>9} {'output MB':>10} "
            f"{'seconds':>8} {'texts/s':>9} {'peak RSS MB':>12} {'over baseline':>14}"
        )
        print(header)
        print("-" * len(header))
        for rows in counts:
            source = Path(tmp) / f"corpus-{rows}.jsonl"
            write_corpus(source, rows)
            for fmt in formats:
                out = Path(tmp) / f"out-{rows}.{fmt}"
                args = [
                    "embed-file", str(source), "-o", str(out), "-m", MODEL,
                    "--dimensions", str(ns.dimensions), "--id-column", "id",
                    "--no-progress", "--overwrite",
                ]  # fmt: skip
                if ns.batch_rows:
                    args += ["--batch-rows", str(ns.batch_rows)]
                if ns.no_dedup:
                    args.append("--no-dedup")
                code, peak, seconds = run_child(_CHILD, args, env)
                if code != 0:
                    print(f"{rows:>9,} {fmt:>8}  failed (exit {code})")
                    continue
                outputs = sum(p.stat().st_size for p in Path(tmp).glob(f"out-{rows}*"))
                print(
                    f"{rows:>9,} {fmt:>8} {source.stat().st_size / 2**20:>9.1f} "
                    f"{outputs / 2**20:>10.1f} {seconds:>8.2f} {rows / seconds:>9,.0f} "
                    f"{peak / 2**20:>12.0f} {(peak - base_rss) / 2**20:>14.0f}"
                )
                for path in Path(tmp).glob(f"out-{rows}*"):
                    path.unlink()
            source.unlink()
    print(
        "\nPeak RSS is per child process (ru_maxrss). It should not grow with the row "
        "count: the input is streamed and one chunk is held at a time."
    )


if __name__ == "__main__":
    main()
