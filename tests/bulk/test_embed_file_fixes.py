"""embed-file never blocks its own fix (issue 13 part 4): a run that fails before any row is
embedded leaves nothing behind; a real stop keeps its checkpoint, resumes with the same
settings, and a change of settings is explained."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from embedplug.cli import cli
from embedplug.testing import Fault, StubServer

MODEL = "bulkstub:stub-text"


def _records(n: int) -> list[dict[str, Any]]:
    return [{"id": f"doc-{i}", "text": f"document {i}"} for i in range(n)]


def _partial(out: Path) -> Path:
    return out.with_name(out.name + ".partial")


def _run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["embed-file", *args, "-m", MODEL, "--no-progress"])


def test_wrong_column_then_the_corrected_command_just_runs(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", _records(5))
    out = tmp_path / "out.npy"
    result = _run(str(source), "-o", str(out), "--column", "body")
    assert result.exit_code == 1
    assert "has no column 'body'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not _partial(out).exists()
    assert not out.exists()
    assert openai_stub.request_count == 0

    result = _run(str(source), "-o", str(out), "--column", "text")  # no --overwrite
    assert result.exit_code == 0, result.stderr
    assert np.load(out).shape == (5, 256)


def test_wrong_csv_column_leaves_nothing_behind(tmp_path: Path, openai_stub: StubServer) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,text\n1,one\n2,two\n")
    out = tmp_path / "out.npy"
    assert _run(str(source), "-o", str(out), "--column", "txt").exit_code == 1
    assert not _partial(out).exists()
    assert _run(str(source), "-o", str(out)).exit_code == 0


def test_missing_pyarrow_is_reported_before_anything_is_created(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # find_spec answers None: not installed
    source = jsonl(tmp_path / "in.jsonl", _records(3))
    out = tmp_path / "out.parquet"
    result = _run(str(source), "-o", str(out))
    assert result.exit_code == 1
    assert "needs pyarrow" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    assert openai_stub.request_count == 0


def test_provider_error_on_the_first_chunk_leaves_nothing(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", _records(4))
    out = tmp_path / "out.npy"
    openai_stub.inject(Fault.status(401, times=None))
    result = _run(str(source), "-o", str(out))
    assert result.exit_code == 1
    assert "before any row was embedded" in result.stderr
    assert not _partial(out).exists()


def test_a_real_stop_resumes_with_the_same_settings_and_explains_a_change(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", _records(12))
    out = tmp_path / "out.npy"
    args = [str(source), "-o", str(out), "--batch-rows", "4", "--option", "retry=null"]
    openai_stub.inject(Fault.latency(0.0))  # chunk 1 answers
    # chunk 2 fails for good: one 401 per batch of the chunk (a 401 is not retried)
    openai_stub.inject(Fault.status(401))
    first = _run(*args)
    assert first.exit_code == 1, first.stderr
    assert _partial(out).exists()  # rows done: the checkpoint is kept

    again = _run(*args)  # without --resume: what is there, and both ways out
    assert again.exit_code == 1
    assert "4 rows done" in again.stderr
    assert "--resume" in again.stderr
    assert "--overwrite" in again.stderr

    changed = _run(*args, "--dimensions", "128", "--resume")
    assert changed.exit_code == 1
    message = changed.stderr
    assert "dimensions was None, now 128" in message
    assert "with the old settings and --resume" in message
    assert "--overwrite to delete it and start again with the new settings" in message

    resumed = _run(*args, "--resume")  # the same settings: the message's advice works
    assert resumed.exit_code == 0, resumed.stderr
    assert np.load(out).shape == (12, 256)
    assert not _partial(out).exists()
