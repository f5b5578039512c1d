"""Issue 14, Nugen: only the fields Nugen documents are sent, unless asked for explicitly."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import embedplug
from embedplug import ConfigurationError
from embedplug.testing import StubServer

Serve = Callable[..., StubServer]
KEY = "nugen-audit-0123456789"
TEXTS = ["first document", "second document"]


def test_encoding_format_is_not_a_nugen_option() -> None:
    with pytest.raises(ConfigurationError, match=r"encoding_format.*extra_body"):
        embedplug.embedder("nugen", api_key=KEY, encoding_format="base64")


@pytest.mark.parametrize("option", ["encoding_format", "user"])
def test_undocumented_per_call_fields_are_refused(serve: Serve, option: str) -> None:
    server = serve(dimensions=768)
    with embedplug.embedder("nugen", base_url=server.url, api_key=KEY) as e:
        with pytest.raises(ConfigurationError, match=option):
            e.embed(TEXTS, **{option: "base64"})
        e.embed(TEXTS, dimensions=64)
    assert server.request_count == 1
    assert set(server.requests[0].json) == {"model", "input", "dimensions"}


def test_extra_body_sends_what_the_caller_asks_for(serve: Serve) -> None:
    server = serve(dimensions=768)
    extra = {"encoding_format": "base64"}
    with embedplug.embedder("nugen", base_url=server.url, api_key=KEY, extra_body=extra) as e:
        result = e.embed(TEXTS)
    assert server.requests[0].json == {"model": "nugen-flash-embed", "input": TEXTS, **extra}
    np.testing.assert_allclose(result.embeddings, server.expected_vectors(TEXTS), atol=1e-7)
