"""Bulk embedding: resumable file jobs on one machine (``embed_file``), Ray Data beyond it.

::

    from embedplug.bulk import embed_file

    report = embed_file("corpus.jsonl", "vectors.parquet", "openai:text-embedding-3-small",
                        column="text", id_column="id", resume=True)
    print(report.summary())

The command line is ``embedplug embed-file``; Ray Data integration is
``embedplug.bulk.ray`` (the ``embedplug[ray]`` extra). See ``docs/bulk.md``.
Names load on first use, so the CLI stays quick to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embedplug._lazy import lazy_attributes
from embedplug.bulk._defaults import DEFAULT_BATCH_ROWS, DEFAULT_CHUNK_BYTES

if TYPE_CHECKING:
    from embedplug.bulk._job import (
        JobReport,
        JobStateError,
        JobStoppedError,
        embed_file,
        paths_for,
    )
    from embedplug.bulk._writers import arrow_schema, npy_paths, vector_column

_LAZY = {
    "JobReport": "embedplug.bulk._job",
    "JobStateError": "embedplug.bulk._job",
    "JobStoppedError": "embedplug.bulk._job",
    "embed_file": "embedplug.bulk._job",
    "paths_for": "embedplug.bulk._job",
    "arrow_schema": "embedplug.bulk._writers",
    "npy_paths": "embedplug.bulk._writers",
    "vector_column": "embedplug.bulk._writers",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


__all__ = [
    "DEFAULT_BATCH_ROWS",
    "DEFAULT_CHUNK_BYTES",
    "JobReport",
    "JobStateError",
    "JobStoppedError",
    "arrow_schema",
    "embed_file",
    "npy_paths",
    "paths_for",
    "vector_column",
]
