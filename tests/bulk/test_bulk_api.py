"""The public surface of ``embedplug.bulk`` and ``embedplug.cache``, and the CLI's light import."""

from __future__ import annotations

import subprocess
import sys

import embedplug.bulk
import embedplug.cache


def test_bulk_all() -> None:
    assert sorted(embedplug.bulk.__all__) == [
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
    for name in embedplug.bulk.__all__:
        assert getattr(embedplug.bulk, name) is not None
    assert sorted(dir(embedplug.bulk)) == sorted(embedplug.bulk.__all__)


def test_cache_all() -> None:
    assert sorted(embedplug.cache.__all__) == [
        "Cache",
        "CacheKey",
        "CacheStats",
        "CachedEmbedder",
        "content_hash",
    ]
    for name in embedplug.cache.__all__:
        assert getattr(embedplug.cache, name) is not None


def test_job_errors_fit_the_hierarchy() -> None:
    from embedplug import ConfigurationError, EmbedplugError

    assert issubclass(embedplug.bulk.JobStoppedError, EmbedplugError)
    assert issubclass(embedplug.bulk.JobStateError, ConfigurationError)


def test_the_cli_does_not_import_the_bulk_machinery_until_it_runs() -> None:
    code = (
        "import sys, embedplug.cli; "
        "heavy = [m for m in ('numpy', 'pyarrow', 'embedplug.bulk._job', 'embedplug.cache') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    from embedplug.cli import cli

    assert "embed-file" in cli.commands
