"""all-MiniLM-L6-v2's own tokenizer, from the ``tokenizer.json`` bundled in this package.

Loaded with ``tokenizers.Tokenizer.from_file`` (no model hub involved), once
per process, lazily. Two instances are kept: one that truncates at 256 word
pieces and pads to the longest text of a batch (what the model sees), and one
that does neither (exact token counts and spans for the engine's long-input
policy). Neither is reconfigured after loading; calls on each are serialised
by a lock all the same, since a Hugging Face fast tokenizer shared between
threads has raised "Already borrowed" when anything touched its settings.
"""

from __future__ import annotations

import importlib.resources
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy.typing as npt

#: Word pieces the model sees per text, [CLS] and [SEP] included (sentence-transformers' limit).
MAX_SEQ_LENGTH = 256
#: [CLS] and [SEP].
SPECIAL_TOKENS = 2

#: Set (with ``setdefault``) before ``tokenizers`` is first imported: it brings
#: huggingface_hub, which must never be asked for anything.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def go_offline() -> None:
    """Set the Hugging Face offline switches unless the caller set them already."""
    for variable, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(variable, value)


def tokenizer_path() -> str:
    """The bundled ``tokenizer.json`` (a real file: the package is installed unzipped)."""
    return str(importlib.resources.files("embedplug_local") / "_data" / "tokenizer.json")


@dataclass
class Encoded:
    """A batch of texts as the model takes it, plus what truncation did."""

    input_ids: npt.NDArray[Any]
    attention_mask: npt.NDArray[Any]
    tokens: list[int]
    """Word pieces per text that the model saw (special tokens included)."""
    truncated: list[bool]
    """Whether each text was cut at ``MAX_SEQ_LENGTH``."""


class MiniLMTokenizer:
    """The model's tokenizer; thread-safe. Implements ``embedplug.provider.Tokenizer``."""

    special_tokens: int = SPECIAL_TOKENS

    def __init__(self) -> None:
        go_offline()
        import tokenizers

        path = tokenizer_path()
        self._model = tokenizers.Tokenizer.from_file(path)
        # The file truncates and pads to 128; sentence-transformers uses 256 for this model.
        self._model.enable_truncation(max_length=MAX_SEQ_LENGTH)
        self._model.enable_padding(pad_id=0, pad_token="[PAD]")
        self._exact = tokenizers.Tokenizer.from_file(path)
        self._exact.no_truncation()
        self._exact.no_padding()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> Encoded:
        """Token ids and attention mask, ``(len(texts), longest)`` int64, for the model."""
        import numpy as np

        with self._lock:
            encodings = self._model.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return Encoded(
            input_ids=ids,
            attention_mask=mask,
            tokens=[int(n) for n in mask.sum(axis=1)],
            truncated=[bool(e.overflowing) for e in encodings],
        )

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) character offsets of each word piece of ``text``, special tokens
        excluded, without truncation."""
        with self._lock:
            encoding = self._exact.encode(text, add_special_tokens=False)
        return [(int(start), int(end)) for start, end in encoding.offsets]

    def count(self, text: str) -> int:
        """Word pieces of ``text`` with [CLS] and [SEP], before truncation."""
        return len(self.token_spans(text)) + self.special_tokens


_instance: MiniLMTokenizer | None = None
_instance_lock = threading.Lock()


def get_tokenizer() -> MiniLMTokenizer:
    """The process's tokenizer, loaded on first use."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = MiniLMTokenizer()
    return _instance
