"""Cohere provider for embedplug: v2 embed (text, images, mixed) and embed jobs.

The ``cohere`` provider registers through the ``register_providers`` hook;
``embedplug cohere jobs ...`` through ``register_commands``. The embed-jobs
API (``EmbedJobsClient``, ``AsyncEmbedJobsClient``...) lives in
``embedplug_cohere.jobs`` and is re-exported here, loaded on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from embedplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from embedplug.provider import Provider
    from embedplug_cohere.jobs import (
        AsyncEmbedJobsClient,
        Dataset,
        DatasetValidationError,
        EmbedJob,
        EmbedJobCancelledError,
        EmbedJobError,
        EmbedJobFailedError,
        EmbedJobResult,
        EmbedJobsClient,
        EmbedJobStatus,
        WaitTimeoutError,
    )

__all__ = [
    "AsyncEmbedJobsClient",
    "Dataset",
    "DatasetValidationError",
    "EmbedJob",
    "EmbedJobCancelledError",
    "EmbedJobError",
    "EmbedJobFailedError",
    "EmbedJobResult",
    "EmbedJobStatus",
    "EmbedJobsClient",
    "WaitTimeoutError",
    "register_commands",
    "register_providers",
    "register_stub_variants",
]

_JOBS_NAMES = frozenset(__all__) - {
    "register_commands",
    "register_providers",
    "register_stub_variants",
}


def __getattr__(name: str) -> Any:
    # the jobs API loads NumPy and httpx: only when asked for, not at plugin load
    if name not in _JOBS_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("embedplug_cohere.jobs"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


@hookimpl
def register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register the ``cohere`` provider."""
    from embedplug_cohere._provider import CohereProvider

    register(CohereProvider)


@hookimpl
def register_commands(cli: Any) -> None:
    """Add ``embedplug cohere jobs ...``."""
    try:
        from embedplug_cohere._cli import cohere
    except ImportError:  # the jobs CLI is optional while it is being built
        return
    cli.add_command(cohere)


@hookimpl
def register_stub_variants(register: Callable[..., None]) -> None:
    """Register ``cohere-jobs``: the core's ``cohere`` stub plus Cohere's Embed Jobs APIs."""
    from embedplug_cohere._stub import CohereJobsStub, CohereVariant

    register(CohereVariant, name="cohere-jobs", server=CohereJobsStub)
