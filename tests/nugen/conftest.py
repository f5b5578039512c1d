"""Fixtures for the ``nugen`` provider's tests: stub servers and embedders on them."""

from __future__ import annotations

from collections.abc import Callable
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
def serve(stub_server: Callable[..., StubServer]) -> Callable[..., StubServer]:
    """``serve(variant="nugen", **kwargs)``: the core's ``stub_server`` fixture with
    this provider's variant as the default."""

    def start(variant: str = "nugen", **kwargs: Any) -> StubServer:
        return stub_server(variant, **kwargs)

    return start
