"""pytest fixtures for stub servers (registered as a ``pytest11`` entry point).

``stub_server`` is a factory: ``stub_server(variant="openai", **kwargs)`` starts a
:class:`~embedplug.testing.StubServer` with those arguments and returns it;
every server it started is stopped at the test's teardown::

    def test_retries(stub_server):
        server = stub_server("cohere", api_key="k")
        server.inject(Fault.status(503))
        ...

The stub's modules load only when the fixture is used, so having the plugin
installed costs nothing to unrelated test sessions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from embedplug.testing._server import StubServer
    from embedplug.testing._variant import Variant

__all__ = ["StubServerFactory", "stub_server"]


class StubServerFactory(Protocol):
    """The type of the ``stub_server`` fixture."""

    def __call__(
        self, variant: str | Variant | type[Variant] = "openai", **kwargs: Any
    ) -> StubServer: ...


@pytest.fixture
def stub_server() -> Iterator[StubServerFactory]:
    """Start stub servers: ``stub_server(variant="openai", **kwargs)``; stopped at teardown."""
    from embedplug.testing._server import StubServer

    started: list[StubServer] = []

    def factory(variant: str | Variant | type[Variant] = "openai", **kwargs: Any) -> StubServer:
        server = StubServer(variant, **kwargs)
        started.append(server)
        return server.start()

    try:
        yield factory
    finally:
        for server in reversed(started):
            server.stop()
