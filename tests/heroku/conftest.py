"""Fixtures for the ``heroku`` provider's tests: stub servers and embedders on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from embedplug.testing import StubServer

HEROKU_ENVIRONMENT = (
    "EMBEDDING_URL",
    "EMBEDDING_KEY",
    "EMBEDDING_MODEL_ID",
    "INFERENCE_URL",
    "INFERENCE_KEY",
    "INFERENCE_MODEL_ID",
)


@pytest.fixture(autouse=True)
def _no_heroku_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or base URL must never leak into these tests."""
    for name in HEROKU_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def serve(stub_server: Callable[..., StubServer]) -> Callable[..., StubServer]:
    """``serve(variant="heroku", **kwargs)``: the core's ``stub_server`` fixture with
    this provider's variant as the default."""

    def start(variant: str = "heroku", **kwargs: Any) -> StubServer:
        return stub_server(variant, **kwargs)

    return start
