"""Benchmark: embedplug's engine against a plain httpx loop, both on the stub server.

Prints a table; asserts nothing about time. Run with ``nox -s bench`` or
``python tests/bench/bench_engine.py [--texts 20000] [--dimensions 1024]``.

The stub server runs in its own process so that "client CPU" (this process's
user+system time) counts only the client's work.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import httpx
import numpy as np
import orjson

from embedplug._api import Embedder
from embedplug.protocols import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo
from embedplug.testing.stub import serve_in_subprocess

BATCH = 96


def stub_process(dimensions: int, latency_ms: float) -> AbstractContextManager[str]:
    """The OpenAI stub in a child process; yields its URL."""
    return serve_in_subprocess("openai", dimensions=dimensions, latency_ms=latency_ms)


def make_provider(url: str, dimensions: int, encoding: str) -> OpenAIEmbeddingsProvider:
    class BenchProvider(OpenAIEmbeddingsProvider):
        name: ClassVar[str] = "bench"
        default_model: ClassVar[str] = "bench"
        api_key_required: ClassVar[bool] = False
        path: ClassVar[str] = "/v1/embeddings"

        @classmethod
        def known_models(cls) -> list[ModelInfo]:
            return [ModelInfo(name="bench", dimensions=dimensions, max_items_per_call=BATCH)]

    return BenchProvider(base_url=url, encoding_format=encoding)  # type: ignore[arg-type]


def plain_httpx(
    url: str, texts: list[str], concurrency: int, encoding: str
) -> np.ndarray[Any, Any]:
    """The practical limit: httpx, threads, base64 decoded by NumPy (or orjson floats)."""
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(limits=limits, timeout=60) as client:

        def one(batch: list[str]) -> np.ndarray[Any, Any]:
            body = {"model": "bench", "input": batch, "encoding_format": encoding}
            response = client.post(url + "/v1/embeddings", content=orjson.dumps(body))
            response.raise_for_status()
            data = orjson.loads(response.content)["data"]
            data.sort(key=lambda d: d["index"])
            if encoding == "base64":
                raw = b"".join(base64.b64decode(d["embedding"]) for d in data)
                return np.frombuffer(raw, dtype="<f4").reshape(len(data), -1)
            return np.array([d["embedding"] for d in data], dtype=np.float32)

        with ThreadPoolExecutor(concurrency) as pool:
            return np.concatenate(list(pool.map(one, batches)))


def measure(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, client CPU seconds, result)."""
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - wall0, time.process_time() - cpu0, out


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    """The median wall time and the median CPU time of several runs."""
    walls = sorted(w for w, _ in runs)
    cpus = sorted(c for _, c in runs)
    return walls[len(walls) // 2], cpus[len(cpus) // 2]


def import_time() -> float:
    """Cumulative import time of ``embedplug`` in a fresh interpreter, in seconds (best of 3)."""
    best = float("inf")
    for _ in range(3):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import embedplug"],
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| embedplug$", line)
            if match:
                best = min(best, int(match.group(1)) / 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--dimensions", type=int, default=1024)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latencies", default="0,50", help="server latencies in ms")
    parser.add_argument("--repeats", type=int, default=3, help="runs per client (median)")
    args = parser.parse_args()
    texts = [f"short benchmark text number {i}" for i in range(args.texts)]

    rows = []
    for latency in (float(x) for x in args.latencies.split(",")):
        with stub_process(args.dimensions, latency) as url:
            for encoding in ("base64", "float"):
                provider = make_provider(url, args.dimensions, encoding)
                model = provider.model_info("bench")
                with Embedder(provider, model, max_concurrency=args.concurrency) as embedder:
                    # warm both (connections, the stub's caches), then alternate the two
                    # clients run by run so that machine noise hits both alike
                    plain_httpx(url, texts[: BATCH * 4], args.concurrency, encoding)
                    embedder.embed(texts[: BATCH * 4])
                    plain_runs, ours_runs = [], []
                    for _ in range(args.repeats):
                        wall, cpu, ref = measure(
                            lambda: plain_httpx(url, texts, args.concurrency, encoding)  # noqa: B023
                        )
                        plain_runs.append((wall, cpu))
                        wall, cpu, result = measure(lambda: embedder.embed(texts))
                        ours_runs.append((wall, cpu))
                        if not np.allclose(result.embeddings, ref, atol=1e-6):
                            raise SystemExit("embedplug and the plain loop disagree on the vectors")
                rows.append(("plain httpx + numpy", encoding, latency, *median(plain_runs)))
                rows.append(("embedplug", encoding, latency, *median(ours_runs)))

    n = args.texts
    print(
        f"\n{n:,} texts, {args.dimensions}-d, batches of {BATCH}, {args.concurrency} in flight, "
        f"median of {args.repeats} alternating runs"
    )
    print(f"{'client':<22}{'transport':<10}{'latency':>9}{'texts/s':>11}{'CPU ms/1k':>11}")
    for client, encoding, latency, wall, cpu in rows:
        cpu_per_1k = cpu * 1000 / n * 1000
        print(f"{client:<22}{encoding:<10}{latency:>7.0f}ms{n / wall:>11,.0f}{cpu_per_1k:>11.1f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:,.0f} MB")
    print(f"import embedplug (cumulative, best of 3): {import_time() * 1000:.1f} ms")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
