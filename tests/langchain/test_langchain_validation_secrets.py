"""A construction error (pydantic's ``ValidationError``) never shows the key.

pydantic prints the input of a failing validator, which here is every keyword
the caller gave, the key included; the model is configured to hide inputs.
"""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from langchain_embedplug import EmbedplugEmbeddings

KEY = "sk-AUDIT-SECRET-7Hq2Lp9Xw4Mz6Rt1"
UNUSED_URL = "http://127.0.0.1:9/v1"  # construction only: never contacted


def _fragments(secret: str) -> list[str]:
    return [secret[i : i + 6] for i in range(len(secret) - 5)]


BAD_CALLS: dict[str, dict[str, Any]] = {
    "key twice": {"api_key": KEY, "provider_options": {"api_key": KEY}},
    "option twice": {"api_key": KEY, "timeout": 3, "provider_options": {"timeout": 4}},
    "call default as an option": {"api_key": KEY, "provider_options": {"input_type": "x"}},
    "bad field": {"api_key": KEY, "embedding_type": "bogus"},
    "key first, then a bad option": {
        "provider_options": {"api_key": KEY, "timeout": 1},
        "timeout": 2,
    },
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
def test_validation_errors_do_not_show_the_key(case: str) -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        EmbedplugEmbeddings(
            model="openai:text-embedding-3-small", base_url=UNUSED_URL, **BAD_CALLS[case]
        )
    error = info.value
    for shown in (str(error), repr(error), repr(error.errors(include_input=False))):
        for piece in _fragments(KEY):
            assert piece not in shown, f"{piece!r} of the key shows: {shown}"
    assert error.errors()  # still says what was wrong


def test_model_validate_of_a_non_mapping_does_not_show_the_key() -> None:
    with pytest.raises(pydantic.ValidationError) as info:
        EmbedplugEmbeddings.model_validate([("api_key", KEY)])
    for piece in _fragments(KEY):
        assert piece not in str(info.value)
