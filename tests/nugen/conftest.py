"""Fixtures for the ``nugen`` provider's tests: stub servers and embedders on them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from embedplug.testing import StubServer

NUGEN_ENVIRONMENT = ("NUGEN_API_KEY", "NUGEN_BASE_URL")


@pytest.fixture(autouse=True)
def _no_nugen_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or base URL must never leak into these tests."""
    for name in NUGEN_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def serve() -> Iterator[Callable[..., StubServer]]:
    """``serve(variant="nugen", **kwargs)`` starts a stub server, stopped at teardown."""
    started: list[StubServer] = []

    def start(variant: str = "nugen", **kwargs: Any) -> StubServer:
        server = StubServer(variant, **kwargs).start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()
