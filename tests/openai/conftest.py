"""Fixtures for the ``openai`` provider's tests: stub servers and embedders on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from embedplug.testing import StubServer

OPENAI_ENVIRONMENT = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
)


@pytest.fixture(autouse=True)
def _no_openai_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's real key or base URL must never leak into these tests."""
    for name in OPENAI_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def serve(stub_server: Callable[..., StubServer]) -> Callable[..., StubServer]:
    """``serve(variant="openai", **kwargs)``: the core's ``stub_server`` fixture with
    this provider's variant as the default."""

    def start(variant: str = "openai", **kwargs: Any) -> StubServer:
        return stub_server(variant, **kwargs)

    return start
