"""Fixtures for the ``heroku`` provider's tests: stub servers and embedders on them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
def serve() -> Iterator[Callable[..., StubServer]]:
    """``serve(variant="heroku", **kwargs)`` starts a stub server, stopped at teardown."""
    started: list[StubServer] = []

    def start(variant: str = "heroku", **kwargs: Any) -> StubServer:
        server = StubServer(variant, **kwargs).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()
