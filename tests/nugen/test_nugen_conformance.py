"""The shared provider contract, run for ``nugen`` against the ``nugen`` stub variant."""

from __future__ import annotations

from typing import Any, ClassVar

from embedplug.testing.conformance import ProviderConformanceTests


class TestNugenConformance(ProviderConformanceTests):
    provider: ClassVar[str] = "nugen"
    model: ClassVar[str] = "nugen-flash-embed"
    stub_variant: ClassVar[str] = "nugen"
    # The stub's nugen variant defaults to 1024-d; nugen-flash-embed is declared 768-d.
    stub_options: ClassVar[dict[str, Any]] = {"dimensions": 768}
