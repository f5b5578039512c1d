"""``python -m embedplug.testing.stub --variant cohere-jobs``: the jobs stub from a shell.

docs/testing.md serves it this way and points the jobs client at it; here the
client runs a whole job against the command's server.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest

from embedplug.testing import StubServer
from embedplug_cohere.jobs import EmbedJobsClient

KEY = "stub-command-key"
COMMAND = [sys.executable, "-m", "embedplug.testing.stub", "--variant", "cohere-jobs"]


@pytest.fixture
def jobs_url() -> Iterator[str]:
    options = ["--api-key", KEY, "--dimensions", "64", "--port", "0"]
    options += ["--job-polls", "0", "--validation-polls", "0"]
    proc = subprocess.Popen(
        [*COMMAND, *options], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "cohere-jobs stub: POST " in err
    assert "/v1/embed-jobs" in err


@pytest.mark.slow
def test_a_whole_job_runs_against_the_command(jobs_url: str) -> None:
    texts = ["the kitten purred", "markets fell", "rain is expected"]
    with EmbedJobsClient(api_key=KEY, base_url=jobs_url) as jobs:
        result = jobs.embed_dataset(texts, model="embed-english-v3.0", poll_interval=0.01)
    expected = StubServer("cohere", dimensions=64).expected_vectors(
        texts, model="embed-english-v3.0", input_type="search_document"
    )
    np.testing.assert_allclose(result.embeddings, expected, atol=1e-6)


@pytest.mark.slow
def test_max_items_is_refused_for_the_jobs_stub() -> None:
    done = subprocess.run(
        [*COMMAND, "--max-items", "5"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2
    assert "--max-items does not apply to cohere-jobs" in done.stderr
