"""Lazy module attributes: public names imported from their module on first use.

Keeps ``import embedplug`` (and its subpackages) fast: heavy modules load only
when one of their names is touched.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_attributes(
    package: str, names: Mapping[str, str], *, dir_namespace: bool = False
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``; ``names`` maps a name to its module.

    A resolved name is cached in the package's namespace, so each loads once.
    ``__dir__`` lists ``__all__`` (and, with ``dir_namespace``, the namespace too).
    """

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module hook's own name
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        namespace = vars(sys.modules[package])
        listed = set(namespace.get("__all__", ()))
        return sorted(listed | set(namespace) if dir_namespace else listed)

    return __getattr__, __dir__
