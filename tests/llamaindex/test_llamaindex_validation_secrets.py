"""A validation error of the LlamaIndex adapter never shows the key.

The adapter keeps secrets out of its pydantic fields, but pydantic still prints
whatever input reaches a failing validation (``model_validate`` of a sequence
or a string holding the key); the model is configured to hide inputs.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from llama_index.embeddings.embedplug import EmbedplugEmbedding

KEY = "sk-AUDIT-SECRET-7Hq2Lp9Xw4Mz6Rt1"


def _fragments(secret: str) -> list[str]:
    return [secret[i : i + 6] for i in range(len(secret) - 5)]


BAD_INPUTS: dict[str, Any] = {
    "pairs": [("api_key", KEY)],
    "a string": f"api_key={KEY}",
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_validation_errors_do_not_show_the_key(case: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        EmbedplugEmbedding.model_validate(BAD_INPUTS[case])
    error = info.value
    for shown in (str(error), repr(error)):
        for piece in _fragments(KEY):
            assert piece not in shown, f"{piece!r} of the key shows: {shown}"


def test_constructor_errors_do_not_show_the_key() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        EmbedplugEmbedding(
            "openai:text-embedding-3-small",
            api_key=KEY,
            base_url="http://127.0.0.1:9/v1",  # construction only: never contacted
            embed_batch_size="many",
        )
    for piece in _fragments(KEY):
        assert piece not in str(info.value)
