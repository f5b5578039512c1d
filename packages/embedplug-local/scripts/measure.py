"""Measure the figures quoted in the README: import, load, throughput, quality.

Run from the repository root with the project's venv::

    python packages/embedplug-local/scripts/measure.py

With ``--model-factory module:function`` it measures any object with a
sentence-transformers style ``encode(texts, batch_size=..., ...)`` instead of
``LocalProvider`` (how the other candidates were compared, each in its own venv;
the script needs only NumPy then).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

SUBJECTS = [
    "The committee",
    "My neighbour",
    "A small startup",
    "The city council",
    "Our research team",
    "The old fisherman",
    "A young violinist",
    "The delivery driver",
    "The school principal",
    "An elderly couple",
]
VERBS = [
    "announced a plan to",
    "decided to",
    "was reluctant to",
    "finally managed to",
    "promised to",
    "refused to",
    "tried to",
    "is expected to",
    "hopes to",
    "quietly began to",
]
OBJECTS = [
    "renovate the public library before winter",
    "reduce the cost of train tickets for students",
    "publish the results of the long clinical trial",
    "plant five hundred trees along the river",
    "repair the bridge that collapsed last spring",
    "open a bakery next to the central station",
    "learn three new languages in a single year",
    "build a robot that sorts recycling automatically",
    "teach children how to play chess on Saturdays",
    "sell the family farm to a developer",
]

# (a, paraphrase of a, unrelated to a)
PAIRS = [
    (
        "How do I reset my password?",
        "What are the steps to change my login password?",
        "The tomatoes in the garden are finally ripe.",
    ),
    (
        "The cat is sleeping on the sofa.",
        "A kitten is napping on the couch.",
        "Interest rates rose by half a percent today.",
    ),
    (
        "The train to Paris was cancelled because of a strike.",
        "Workers walked out, so the Paris train did not run.",
        "She painted the fence a bright shade of blue.",
    ),
    (
        "Drinking enough water is good for your health.",
        "Staying hydrated benefits your body.",
        "The football match ended in a draw.",
    ),
    (
        "The company reported record profits this quarter.",
        "This quarter the firm earned more than ever before.",
        "Penguins live mostly in the southern hemisphere.",
    ),
]


def sentences(n: int = 1000) -> list[str]:
    """``n`` distinct English sentences of 10-20 words, always the same ones."""
    out = []
    for i in range(n):
        s = SUBJECTS[i % 10]
        v = VERBS[(i // 10) % 10]
        o = OBJECTS[(i // 100) % 10]
        out.append(f"{s} {v} {o}, according to report number {i}.")
    return out


def import_time(module: str) -> float:
    """Cumulative import time of ``module`` in seconds, from ``python -X importtime``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        check=True,
    )
    pattern = re.compile(r"import time:\s+\d+\s+\|\s+(\d+)\s+\|\s*" + re.escape(module) + r"$")
    for line in proc.stderr.splitlines():
        match = pattern.search(line)
        if match:
            return int(match.group(1)) / 1e6
    raise RuntimeError(f"no importtime line for {module}")


def local_encoder() -> tuple[Callable[[list[str]], Any], float]:
    from embedplug.provider import Batch
    from embedplug_local import LocalProvider

    provider = LocalProvider()
    info = provider.model_info(provider.default_model)
    start = time.perf_counter()
    provider.warm_up()
    load = time.perf_counter() - start

    def encode(texts: list[str]) -> Any:
        batch = Batch(number=0, positions=list(range(len(texts))), inputs=list(texts), model=info)
        return provider.embed_batch(batch).vectors[next(iter(batch.embedding_types))]

    return encode, load


def factory_encoder(spec: str) -> tuple[Callable[[list[str]], Any], float]:
    module, _, func = spec.partition(":")
    start = time.perf_counter()
    model = getattr(importlib.import_module(module), func)()
    load = time.perf_counter() - start

    def encode(texts: list[str]) -> Any:
        return model.encode(
            texts,
            batch_size=64,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    return encode, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-factory", help="module:function returning a model with encode()")
    parser.add_argument("--import-module", default="embedplug_local")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

    import numpy as np

    print(f"import {args.import_module}: {import_time(args.import_module):.3f} s (cumulative)")
    encode, load = factory_encoder(args.model_factory) if args.model_factory else local_encoder()
    print(f"model load (stack import + weights): {load:.2f} s")

    texts = sentences(1000)
    encode(texts[:64])  # warm the kernels
    rates = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        for i in range(0, len(texts), 64):
            encode(texts[i : i + 64])
        rates.append(len(texts) / (time.perf_counter() - t0))
    print(
        f"texts/s, 1,000 sentences, batch 64: median {statistics.median(rates):.0f} "
        f"(runs: {', '.join(f'{r:.0f}' for r in rates)})"
    )

    para, unrel = [], []
    for a, b, c in PAIRS:
        vecs = np.asarray(encode([a, b, c]), dtype=np.float32)
        para.append(float(vecs[0] @ vecs[1]))
        unrel.append(float(vecs[0] @ vecs[2]))
    print(
        f"cosine paraphrase mean {statistics.mean(para):.2f} (min {min(para):.2f}); "
        f"unrelated mean {statistics.mean(unrel):.2f} (max {max(unrel):.2f})"
    )


if __name__ == "__main__":
    main()
