"""Fixtures for the LlamaIndex adapter tests (helpers live in ``llamaindex_support``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llamaindex_support import PROVIDER, STUB_DIMENSIONS, STUB_KEY, StubPlugin, png_bytes

from embedplug import plugins
from embedplug.testing import StubServer


@pytest.fixture
def stub_provider() -> Iterator[str]:
    """Register the stub provider for one test; yields its name."""
    plugin = StubPlugin()
    name = plugins.register_plugin(plugin, name="llamatest-stub-plugin")
    try:
        yield PROVIDER
    finally:
        plugins.unregister_plugin(name=name)


@pytest.fixture
def cohere_stub() -> Iterator[StubServer]:
    """A Cohere v2 stub server that requires ``STUB_KEY`` and answers 64-d vectors."""
    with StubServer("cohere", dimensions=STUB_DIMENSIONS, api_key=STUB_KEY) as server:
        yield server


@pytest.fixture
def two_images(tmp_path: Path) -> tuple[Path, Path]:
    """Two different PNG files."""
    red = tmp_path / "red.png"
    blue = tmp_path / "blue.png"
    red.write_bytes(png_bytes((220, 20, 20)))
    blue.write_bytes(png_bytes((20, 20, 220), size=(12, 6)))
    return red, blue
