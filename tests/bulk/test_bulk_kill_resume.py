"""Kill ``embedplug embed-file`` (SIGKILL, in a subprocess) and resume it.

The stub runs in the test process, so its ``inputs_seen`` counts what every run
sent. Each test checks that the resumed output equals an uninterrupted run's,
byte for byte, and what was embedded twice (nothing, where nothing can be).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from embedplug.bulk import embed_file
from embedplug.testing import StubServer

pytest.importorskip("pyarrow")
pytestmark = pytest.mark.slow

MODEL = "bulkstub:stub-text"


def make_input(path: Path, n: int) -> list[str]:
    items = [f"row {i}: a sentence about subject {i % 13}" for i in range(n)]
    with open(path, "wb") as fh:
        for i, text in enumerate(items):
            fh.write(orjson.dumps({"id": f"id-{i}", "text": text}) + b"\n")
    return items


def run_driver(driver: Path, env: dict[str, str], *args: str, kill: Sequence[str] = ()) -> int:
    proc = subprocess.run(
        [sys.executable, str(driver), *kill, "--", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"driver failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode


def read_output(out: Path) -> tuple[Any, list[Any], bytes]:
    """(schema, ids, vector bytes) of a Parquet output, or (None, ids, bytes) of NPY."""
    if out.suffix == ".npy":
        ids = [orjson.loads(x) for x in out.with_name("out.ids.jsonl").read_bytes().splitlines()]
        return None, ids, np.load(out).tobytes()
    import pyarrow.parquet as pq

    with pq.ParquetFile(out) as source:
        table = source.read()
    vectors = table.column("vector").combine_chunks().values.to_numpy()
    return table.schema, table.column("id").to_pylist(), vectors.tobytes()


def reference(tmp_path: Path, source: Path, suffix: str) -> tuple[Any, list[Any], bytes]:
    """The output of an uninterrupted run (in-process, same options)."""
    out = tmp_path / "reference" / f"out.{suffix}"
    out.parent.mkdir()
    embed_file(source, out, MODEL, id_column="id", batch_rows=32)
    return read_output(out)


def checkpoint(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(
        (out.parent / (out.name + ".partial") / "checkpoint.json").read_bytes()
    )
    return data


def job_args(source: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(source), "-o", str(out), "-m", MODEL, "--id-column", "id",
        "--batch-rows", "32", "--no-progress", *extra,
    ]  # fmt: skip


@pytest.mark.parametrize("suffix", ["parquet", "npy"])
def test_killed_between_chunks_resumes_with_nothing_embedded_twice(
    tmp_path: Path,
    openai_stub: StubServer,
    driver: Path,
    driver_env: dict[str, str],
    suffix: str,
) -> None:
    source = tmp_path / "in.jsonl"
    items = make_input(source, 200)
    out = tmp_path / f"out.{suffix}"

    code = run_driver(driver, driver_env, *job_args(source, out), kill=["--kill-after-rows", "64"])

    assert code == -signal.SIGKILL
    assert not out.exists()
    assert checkpoint(out)["rows_read"] == 64
    assert dict(openai_stub.inputs_seen) == {t: 1 for t in items[:64]}

    assert run_driver(driver, driver_env, *job_args(source, out, "--resume")) == 0

    assert not (tmp_path / f"out.{suffix}.partial").exists()
    assert dict(openai_stub.inputs_seen) == {t: 1 for t in items}
    resumed = read_output(out)
    openai_stub.reset_stats()
    assert resumed == reference(tmp_path, source, suffix)
    assert resumed[1] == [f"id-{i}" for i in range(200)]


@pytest.mark.parametrize("suffix", ["parquet", "npy"])
def test_killed_after_writing_but_before_the_checkpoint(
    tmp_path: Path,
    openai_stub: StubServer,
    driver: Path,
    driver_env: dict[str, str],
    suffix: str,
) -> None:
    """The worst moment: chunk 3's vectors are on disk but no checkpoint mentions them."""
    source = tmp_path / "in.jsonl"
    items = make_input(source, 150)
    out = tmp_path / f"out.{suffix}"

    code = run_driver(driver, driver_env, *job_args(source, out), kill=["--kill-after-writes", "3"])

    assert code == -signal.SIGKILL
    assert checkpoint(out)["rows_read"] == 64  # the third chunk is written, not recorded
    assert run_driver(driver, driver_env, *job_args(source, out, "--resume")) == 0

    # The orphaned third chunk was dropped and redone from the job's dedup store:
    # every input row has exactly one output row and nothing was sent twice.
    assert dict(openai_stub.inputs_seen) == {t: 1 for t in items}
    resumed = read_output(out)
    openai_stub.reset_stats()
    assert resumed == reference(tmp_path, source, suffix)


def test_without_the_dedup_store_only_the_unrecorded_chunk_is_sent_again(
    tmp_path: Path, openai_stub: StubServer, driver: Path, driver_env: dict[str, str]
) -> None:
    source = tmp_path / "in.jsonl"
    items = make_input(source, 150)
    out = tmp_path / "out.parquet"
    args = job_args(source, out, "--no-dedup")

    assert run_driver(driver, driver_env, *args, kill=["--kill-after-writes", "3"]) < 0
    assert run_driver(driver, driver_env, *args, "--resume") == 0

    twice = {t for t, n in openai_stub.inputs_seen.items() if n == 2}
    assert twice == set(items[64:96])  # the third chunk, written but not checkpointed
    assert set(openai_stub.inputs_seen.values()) == {1, 2}
    resumed = read_output(out)
    openai_stub.reset_stats()
    assert resumed == reference(tmp_path, source, "parquet")


def test_killed_from_outside_at_an_arbitrary_moment(
    tmp_path: Path, bulk_providers: None, driver: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ``kill -9`` mid-run, requests in flight: whatever the checkpoint recorded is
    never embedded again, and the final output equals an uninterrupted run's."""
    with StubServer("openai", dimensions=256, latency=0.03) as slow_stub:
        monkeypatch.setenv("BULKSTUB_OPENAI_URL", slow_stub.url + "/v1")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        source = tmp_path / "in.jsonl"
        items = make_input(source, 600)
        out = tmp_path / "out.parquet"
        proc = subprocess.Popen(
            [sys.executable, str(driver), "--", *job_args(source, out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                path = tmp_path / "out.parquet.partial" / "checkpoint.json"
                if path.exists() and checkpoint(out)["rows_read"] >= 160:
                    break
                time.sleep(0.005)
            time.sleep(random.uniform(0.0, 0.04))  # anywhere in the next chunk's round trip
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        done = checkpoint(out)["rows_read"]
        assert 160 <= done < 600
        settle = time.monotonic() + 10
        while slow_stub.in_flight and time.monotonic() < settle:
            time.sleep(0.01)  # requests the dead process had sent finish on the stub's side
        seen_before = dict(slow_stub.inputs_seen)

        assert run_driver(driver, env, *job_args(source, out, "--resume")) == 0

        seen = slow_stub.inputs_seen
        assert all(seen[t] == 1 for t in items[:done])  # recorded: never sent again
        assert all(seen[t] >= 1 for t in items)  # nothing lost
        twice = {t for t in items if seen[t] == 2}
        # At most the chunk in flight at the kill (32 rows) can have been sent twice,
        # and only inputs the stub had answered before the kill.
        assert len(twice) <= 32
        assert twice <= set(seen_before)
        resumed = read_output(out)
        slow_stub.reset_stats()
        assert resumed == reference(tmp_path, source, "parquet")
