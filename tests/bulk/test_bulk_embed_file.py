"""embed_file on one machine: formats, schema, rejects, dedup, stops and resumes (in-process)."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from embedplug import EmbeddingType
from embedplug.bulk import JobStateError, JobStoppedError, embed_file, npy_paths
from embedplug.testing import Fault, StubServer

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

MODEL = "bulkstub:stub-text"


def texts(n: int, prefix: str = "document") -> list[str]:
    return [f"{prefix} {i}: about topic {i % 7}" for i in range(n)]


def records(items: list[str]) -> list[dict[str, Any]]:
    return [{"id": f"doc-{i}", "text": t} for i, t in enumerate(items)]


# ----------------------------------------------------------------------------- outputs


def test_parquet_output_schema_and_vectors(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    items = texts(50)
    source = jsonl(tmp_path / "in.jsonl", records(items))
    out = tmp_path / "out.parquet"

    report = embed_file(
        source, out, MODEL, id_column="id", embedding_types=["float", "int8", "ubinary"]
    )

    assert report.complete
    assert report.rows_written == 50
    assert report.rejected == 0
    schema = pq.read_schema(out)
    assert schema.names == ["id", "vector", "vector_int8", "vector_ubinary"]
    assert schema.field("id").type == pa.string()
    assert schema.field("vector").type == pa.list_(pa.float32(), 256)
    assert pa.types.is_fixed_size_list(schema.field("vector").type)
    assert schema.field("vector_int8").type == pa.list_(pa.int8(), 256)
    assert schema.field("vector_ubinary").type == pa.list_(pa.uint8(), 32)
    meta = orjson.loads(schema.metadata[b"embedplug"])
    assert meta["model"] == MODEL
    assert meta["embedding_types"] == ["float", "int8", "ubinary"]

    ids, vectors = parquet_rows(out)
    assert ids == [f"doc-{i}" for i in range(50)]
    np.testing.assert_allclose(vectors["vector"], openai_stub.expected_vectors(items), atol=1e-6)
    expected_int8 = openai_stub.expected_vectors(items, embedding_type="int8")
    np.testing.assert_array_equal(vectors["vector_int8"], expected_int8)
    expected_bits = openai_stub.expected_vectors(items, embedding_type="ubinary")
    np.testing.assert_array_equal(vectors["vector_ubinary"], expected_bits)
    assert report.rejects.read_text() == ""
    assert not (tmp_path / "out.parquet.partial").exists()


def test_row_numbers_are_the_ids_without_an_id_column(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", [{"text": t} for t in texts(5)])
    embed_file(source, tmp_path / "out.parquet", MODEL)
    ids, _ = parquet_rows(tmp_path / "out.parquet")
    assert ids == [0, 1, 2, 3, 4]
    assert pq.read_schema(tmp_path / "out.parquet").field("id").type == pa.int64()


def test_npy_output_with_ids_and_one_file_per_type(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    items = texts(40)
    source = jsonl(tmp_path / "in.jsonl", [{"id": 100 + i, "text": t} for i, t in enumerate(items)])
    out = tmp_path / "vectors.npy"

    report = embed_file(
        source, out, MODEL, id_column="id", embedding_types=["float", "binary"], batch_rows=16
    )

    paths, ids_path = npy_paths(out, [EmbeddingType.FLOAT, EmbeddingType.BINARY])
    floats = np.load(out)
    np.testing.assert_array_equal(np.load(out, mmap_mode="r"), floats)
    assert floats.dtype == np.float32
    assert floats.shape == (40, 256)
    np.testing.assert_allclose(floats, openai_stub.expected_vectors(items), atol=1e-6)
    binary_path = tmp_path / "vectors.binary.npy"
    binary = np.load(binary_path)
    assert binary.dtype == np.int8
    assert binary.shape == (40, 32)
    np.testing.assert_array_equal(
        binary, openai_stub.expected_vectors(items, embedding_type="binary")
    )
    ids = [json.loads(line) for line in ids_path.read_text().splitlines()]
    assert ids == [100 + i for i in range(40)]
    assert set(report.outputs) == {out, binary_path, ids_path}
    assert paths == {EmbeddingType.FLOAT: out, EmbeddingType.BINARY: binary_path}


def test_csv_tsv_parquet_and_gzip_inputs_give_the_same_vectors(
    tmp_path: Path, openai_stub: StubServer, parquet_rows: Any
) -> None:
    items = [*texts(20), 'with "quotes", commas\nand a newline']
    rows = [{"id": f"r{i}", "text": t} for i, t in enumerate(items)]
    with open(tmp_path / "in.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["id", "text"])
        writer.writeheader()
        writer.writerows(rows)
    with open(tmp_path / "in.tsv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, ["id", "text"], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=7)
    with gzip.open(tmp_path / "in.jsonl.gz", "wb") as gz:
        gz.write(b"".join(orjson.dumps(r) + b"\n" for r in rows))

    expected = openai_stub.expected_vectors(items)
    for name in ("in.csv", "in.tsv", "in.parquet", "in.jsonl.gz"):
        out = tmp_path / f"{name}.out.parquet"
        report = embed_file(tmp_path / name, out, MODEL, id_column="id", batch_rows=8)
        ids, vectors = parquet_rows(out)
        assert ids == [f"r{i}" for i in range(len(items))], name
        np.testing.assert_allclose(vectors["vector"], expected, atol=1e-6, err_msg=name)
        assert report.rows_read == len(items)


def test_a_column_missing_from_a_schema_is_refused_up_front(
    tmp_path: Path, openai_stub: StubServer
) -> None:
    with open(tmp_path / "in.csv", "w", encoding="utf-8") as fh:
        fh.write("id,body\n1,hello\n")
    with pytest.raises(Exception, match=r"no column 'text'.*'id', 'body'"):
        embed_file(tmp_path / "in.csv", tmp_path / "out.parquet", MODEL)
    assert openai_stub.request_count == 0


# ----------------------------------------------------------------------------- rejects


def test_bad_rows_go_to_the_rejects_file_and_the_job_finishes(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any, rejects_of: Any
) -> None:
    lines: list[Any] = [
        {"id": "a", "text": "fine"},
        {"id": "b", "text": ""},
        {"id": "c", "text": "   "},
        {"id": "d"},
        {"id": "e", "text": None},
        {"id": "f", "text": 42},
        "this is not json",
        "[1, 2]",
        {"text": "no id"},
        {"id": "g", "text": "x" * 2001},
        {"id": "h", "text": "also fine"},
    ]
    source = jsonl(tmp_path / "in.jsonl", lines)

    report = embed_file(source, tmp_path / "out.parquet", MODEL, id_column="id")

    ids, vectors = parquet_rows(tmp_path / "out.parquet")
    assert ids == ["a", "h"]
    np.testing.assert_allclose(
        vectors["vector"], openai_stub.expected_vectors(["fine", "also fine"]), atol=1e-6
    )
    rejects = rejects_of(report.rejects)
    assert report.rejects == tmp_path / "out.rejects.jsonl"
    by_row = {r["row"]: r for r in rejects}
    assert sorted(by_row) == [1, 2, 3, 4, 5, 6, 7, 8, 9]
    assert by_row[1]["reason"] == "empty or whitespace-only text"
    assert by_row[1]["id"] == "b"
    assert by_row[1]["record"] == {"id": "b", "text": ""}
    assert by_row[2]["reason"] == "empty or whitespace-only text"
    assert by_row[3]["reason"] == "missing column 'text'"
    assert by_row[4]["reason"] == "column 'text' is null"
    assert by_row[5]["reason"] == "column 'text' holds int, not a string"
    assert by_row[6]["reason"].startswith("invalid JSON")
    assert by_row[6]["record"] == ("this is not json")
    assert by_row[7]["reason"] == "the line holds a JSON list, not an object"
    assert by_row[8]["reason"] == "missing id column 'id'"
    assert "2001 characters" in by_row[9]["reason"]
    assert report.rejected == 9
    assert report.rows_read == 11
    assert report.rows_written == 2
    # Bad rows never cost a request: only the two good texts were sent.
    assert sorted(openai_stub.inputs_seen) == ["also fine", "fine"]


def test_unreadable_and_missing_images_are_rejected(
    tmp_path: Path, cohere_stub: StubServer, jsonl: Any, parquet_rows: Any, rejects_of: Any
) -> None:
    from PIL import Image as PILImage

    images = []
    for i, colour in enumerate(["red", "green", "blue"]):
        path = tmp_path / f"img{i}.png"
        PILImage.new("RGB", (8, 8), colour).save(path)
        images.append(path.read_bytes())
    (tmp_path / "notes.png").write_text("I am text, not a PNG")
    source = jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": 1, "path": "img0.png"},
            {"id": 2, "path": "missing.png"},
            {"id": 3, "path": "notes.png"},
            {"id": 4},
            {"id": 5, "path": str(tmp_path / "img1.png")},
            {"id": 6, "path": "img2.png"},
        ],
    )

    report = embed_file(
        source, tmp_path / "out.parquet", "bulkstub-mm", image_column="path", id_column="id"
    )

    ids, vectors = parquet_rows(tmp_path / "out.parquet")
    assert ids == [1, 5, 6]
    np.testing.assert_allclose(vectors["vector"], cohere_stub.expected_vectors(images), atol=1e-6)
    reasons = {r["id"]: r["reason"] for r in rejects_of(report.rejects)}
    assert set(reasons) == {2, 3, 4}
    assert reasons[2].startswith("cannot read image")
    assert "missing.png" in reasons[2]
    assert reasons[3].startswith("not a png, jpeg, webp or gif image")
    assert reasons[4] == "missing column 'path'"


def test_text_and_image_columns_make_mixed_inputs(
    tmp_path: Path, cohere_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    from PIL import Image as PILImage

    PILImage.new("RGB", (8, 8), "red").save(tmp_path / "a.png")
    source = jsonl(tmp_path / "in.jsonl", [{"text": "a caption", "img": "a.png"}])
    embed_file(source, tmp_path / "out.parquet", "bulkstub-mm", column="text", image_column="img")
    _, vectors = parquet_rows(tmp_path / "out.parquet")
    expected = cohere_stub.expected_vectors([["a caption", (tmp_path / "a.png").read_bytes()]])
    np.testing.assert_allclose(vectors["vector"], expected, atol=1e-6)


def test_an_image_column_on_a_text_model_is_refused_up_front(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", [{"path": "a.png"}])
    with pytest.raises(Exception, match="does not embed image inputs"):
        embed_file(source, tmp_path / "out.parquet", MODEL, image_column="path")


def test_an_input_the_provider_refuses_alone_is_rejected(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any, rejects_of: Any
) -> None:
    items = texts(6)
    source = jsonl(tmp_path / "in.jsonl", records(items))
    # The batch fails with 400, then the first input sent alone fails too: that input is
    # rejected with the provider's message; the others are sent alone and succeed.
    openai_stub.inject(Fault.status(400, message="this input is refused", times=2))

    report = embed_file(source, tmp_path / "out.parquet", MODEL, id_column="id")

    ids, vectors = parquet_rows(tmp_path / "out.parquet")
    assert ids == [f"doc-{i}" for i in range(1, 6)]
    np.testing.assert_allclose(
        vectors["vector"], openai_stub.expected_vectors(items[1:]), atol=1e-6
    )
    [reject] = rejects_of(report.rejects)
    assert reject["id"] == "doc-0"
    assert "refused by the provider" in reject["reason"]
    assert "this input is refused" in reject["reason"]


def test_a_400_for_every_input_stops_the_job_instead_of_rejecting_everything(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", records(texts(10)))
    openai_stub.inject(Fault.status(400, message="bad model parameter", times=100))
    with pytest.raises(JobStoppedError, match="bad model parameter"):
        embed_file(source, tmp_path / "out.parquet", MODEL, id_column="id")
    # One batch request, then three single tries, then it gives up.
    assert openai_stub.request_count == 4


# ----------------------------------------------------------------------------- dedup


def test_identical_inputs_are_embedded_once_and_fanned_out(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    distinct = texts(10)
    items = [distinct[i % 10] for i in range(60)]  # each text six times, across chunks
    source = jsonl(tmp_path / "in.jsonl", records(items))

    report = embed_file(source, tmp_path / "out.parquet", MODEL, id_column="id", batch_rows=15)

    assert set(openai_stub.inputs_seen.values()) == {1}
    assert len(openai_stub.inputs_seen) == 10
    ids, vectors = parquet_rows(tmp_path / "out.parquet")
    assert len(ids) == 60
    np.testing.assert_allclose(vectors["vector"], openai_stub.expected_vectors(items), atol=1e-6)
    assert report.embedded == 10
    # 15-row chunks hold 10 distinct texts: 5 repeats in each chunk; 3 chunks' worth of
    # texts come from the job's store.
    assert report.deduplicated == 4 * 5
    assert report.cache_hits == 3 * 10


def test_without_dedup_only_repeats_within_a_chunk_are_merged(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    distinct = texts(10)
    items = [distinct[i % 10] for i in range(40)]
    source = jsonl(tmp_path / "in.jsonl", records(items))
    embed_file(source, tmp_path / "out.parquet", MODEL, id_column="id", batch_rows=20, dedup=False)
    assert set(openai_stub.inputs_seen.values()) == {2}  # once per chunk


# ----------------------------------------------------------------------------- cache


def test_a_second_run_with_the_cache_sends_nothing(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    items = texts(30)
    source = jsonl(tmp_path / "in.jsonl", records(items))
    cache = tmp_path / "cache.sqlite"

    first = embed_file(source, tmp_path / "a.parquet", MODEL, id_column="id", cache=cache)
    sent = openai_stub.request_count
    assert first.embedded == 30
    assert sent > 0
    second = embed_file(source, tmp_path / "b.parquet", MODEL, id_column="id", cache=cache)

    assert openai_stub.request_count == sent
    assert second.embedded == 0
    assert second.cache_hits == 30
    assert second.requests == 0
    assert parquet_rows(tmp_path / "a.parquet")[1]["vector"].tobytes() == (
        parquet_rows(tmp_path / "b.parquet")[1]["vector"].tobytes()
    )
    third = embed_file(
        source, tmp_path / "c.parquet", MODEL, id_column="id", cache=cache, dimensions=128
    )
    assert third.embedded == 30
    assert openai_stub.request_count > sent
    np.testing.assert_allclose(
        parquet_rows(tmp_path / "c.parquet")[1]["vector"],
        openai_stub.expected_vectors(items, 128),
        atol=1e-6,
    )


# ----------------------------------------------------------------------------- state


@pytest.mark.parametrize("suffix", ["parquet", "npy"])
def test_an_empty_or_all_rejected_input_still_gives_a_well_formed_output(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, suffix: str
) -> None:
    for name, lines in (("empty", []), ("bad", [{"text": ""}, {"text": " "}])):
        source = jsonl(tmp_path / f"{name}.jsonl", lines)
        out = tmp_path / f"{name}.{suffix}"
        report = embed_file(source, out, MODEL, dimensions=64)
        assert report.rows_written == 0
        assert report.rejected == len(lines)
        if suffix == "npy":
            assert np.load(out).shape == (0, 64)
        else:
            assert pq.read_schema(out).field("vector").type == pa.list_(pa.float32(), 64)
            assert pq.ParquetFile(out).metadata.num_rows == 0
    assert openai_stub.request_count == 0


def test_an_existing_output_or_checkpoint_is_not_clobbered(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    source = jsonl(tmp_path / "in.jsonl", records(texts(5)))
    out = tmp_path / "out.parquet"
    embed_file(source, out, MODEL)
    with pytest.raises(JobStateError, match="exists: pass --overwrite"):
        embed_file(source, out, MODEL)
    again = embed_file(source, out, MODEL, resume=True)
    assert again.already_complete
    assert "already complete" in again.summary()
    assert embed_file(source, out, MODEL, overwrite=True).rows_written == 5

    (tmp_path / "out.parquet.partial").mkdir()
    (tmp_path / "out.parquet.partial" / "checkpoint.json").write_text("{}")
    with pytest.raises(JobStateError, match="pass --resume"):
        embed_file(source, out, MODEL)
    with pytest.raises(JobStateError, match="version"):
        embed_file(source, out, MODEL, resume=True)


def _stop_after(n_chunks: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the job fail (as if the process died) after ``n_chunks`` checkpoints."""
    from embedplug.bulk import _job

    save = _job._Job._save
    calls = {"n": 0}

    def failing_save(self: Any, state: dict[str, Any]) -> None:
        save(self, state)
        if state["rows_read"] and not state["finalising"]:
            calls["n"] += 1
            if calls["n"] >= n_chunks:
                raise KeyboardInterrupt

    monkeypatch.setattr(_job._Job, "_save", failing_save)


def write_input(tmp_path: Path, kind: str, rows: list[dict[str, Any]]) -> Path:
    """``rows`` as a JSONL, gzipped JSONL, CSV or Parquet file (row groups of 7)."""
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=7)
        return tmp_path / "in.parquet"
    if kind == "csv":
        with open(tmp_path / "in.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return tmp_path / "in.csv"
    data = b"".join(orjson.dumps(r) + b"\n" for r in rows)
    if kind == "jsonl.gz":
        with gzip.open(tmp_path / "in.jsonl.gz", "wb") as gz:
            gz.write(data)
        return tmp_path / "in.jsonl.gz"
    (tmp_path / "in.jsonl").write_bytes(data)
    return tmp_path / "in.jsonl"


@pytest.mark.parametrize(
    ("suffix", "kind"),
    [("parquet", "jsonl"), ("npy", "jsonl"), ("parquet", "csv"), ("npy", "parquet"),
     ("parquet", "jsonl.gz")],
)  # fmt: skip
def test_resume_continues_where_the_checkpoint_left_off(
    tmp_path: Path,
    openai_stub: StubServer,
    monkeypatch: pytest.MonkeyPatch,
    suffix: str,
    kind: str,
) -> None:
    items = texts(100)
    source = write_input(tmp_path, kind, records(items))
    out = tmp_path / f"out.{suffix}"
    with monkeypatch.context() as m:
        _stop_after(3, m)
        with pytest.raises(KeyboardInterrupt):
            embed_file(source, out, MODEL, id_column="id", batch_rows=16)
    assert not out.exists()
    checkpoint = orjson.loads((tmp_path / f"out.{suffix}.partial" / "checkpoint.json").read_bytes())
    assert checkpoint["rows_read"] == 48
    with pytest.raises(JobStateError):
        embed_file(source, out, MODEL, id_column="id", batch_rows=16)

    report = embed_file(source, out, MODEL, id_column="id", batch_rows=10, resume=True)

    assert report.resumed_at == 48
    assert report.rows_written == 100
    assert report.complete
    assert set(openai_stub.inputs_seen.values()) == {1}
    assert len(openai_stub.inputs_seen) == 100
    if suffix == "npy":
        vectors = np.load(out)
        ids = [json.loads(x) for x in (tmp_path / "out.ids.jsonl").read_text().splitlines()]
    else:
        table = pq.ParquetFile(out).read()
        ids = table.column("id").to_pylist()
        vectors = np.stack(table.column("vector").to_numpy(zero_copy_only=False))
    assert ids == [f"doc-{i}" for i in range(100)]
    np.testing.assert_allclose(vectors, openai_stub.expected_vectors(items), atol=1e-6)


def test_resume_refuses_a_different_job_or_a_changed_input(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = jsonl(tmp_path / "in.jsonl", records(texts(40)))
    out = tmp_path / "out.parquet"
    with monkeypatch.context() as m:
        _stop_after(1, m)
        with pytest.raises(KeyboardInterrupt):
            embed_file(source, out, MODEL, id_column="id", batch_rows=16)
    with pytest.raises(JobStateError, match="dimensions"):
        embed_file(source, out, MODEL, id_column="id", dimensions=128, resume=True)
    with open(source, "ab") as fh:
        fh.write(orjson.dumps({"id": "new", "text": "appended"}) + b"\n")
    with pytest.raises(JobStateError, match="input_size"):
        embed_file(source, out, MODEL, id_column="id", resume=True)


def test_a_persistent_provider_error_stops_cleanly_and_resume_finishes(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    from embedplug.engine import RetryPolicy

    items = texts(64)
    source = jsonl(tmp_path / "in.jsonl", records(items))
    out = tmp_path / "out.parquet"
    fast = RetryPolicy(max_attempts=2, initial_backoff=0.0, max_backoff=0.0, jitter=0.0)

    def stop_on_third_chunk(report: Any) -> None:
        if report.rows_read == 32:
            openai_stub.inject(Fault.status(503, times=None))

    with pytest.raises(JobStoppedError) as info:
        embed_file(
            source,
            out,
            MODEL,
            id_column="id",
            batch_rows=16,
            retry=fast,
            on_progress=stop_on_third_chunk,
        )
    assert "HTTP 503" in str(info.value)
    assert "--resume" in str(info.value)
    assert info.value.report.rows_written == 32
    checkpoint = orjson.loads((tmp_path / "out.parquet.partial" / "checkpoint.json").read_bytes())
    assert checkpoint["rows_read"] == 32
    assert len(checkpoint["writer"]["parts"]) == 2

    openai_stub.clear_faults()
    report = embed_file(source, out, MODEL, id_column="id", batch_rows=16, resume=True)

    ids, vectors = parquet_rows(out)
    assert ids == [f"doc-{i}" for i in range(64)]
    assert report.rows_written == 64
    np.testing.assert_allclose(vectors["vector"], openai_stub.expected_vectors(items), atol=1e-6)
    seen = openai_stub.inputs_seen
    assert all(seen[t] == 1 for t in items)


# ----------------------------------------------------------------------------- CLI


def test_cli_embed_file_and_exit_codes(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any, parquet_rows: Any
) -> None:
    from click.testing import CliRunner

    from embedplug.cli import cli

    items = texts(20)
    source = jsonl(tmp_path / "in.jsonl", [*records(items), {"id": "bad", "text": ""}])
    out = tmp_path / "out.parquet"
    runner = CliRunner()
    args = ["embed-file", str(source), "-o", str(out), "-m", MODEL, "--id-column", "id"]

    result = runner.invoke(cli, [*args, "--type", "float", "--type", "int8", "--no-progress"])

    assert result.exit_code == 0, result.output
    assert "wrote 20 vectors" in result.output
    assert "1 rows rejected" in result.output
    _, vectors = parquet_rows(out)
    assert set(vectors) == {"vector", "vector_int8"}

    result = runner.invoke(cli, args)
    assert result.exit_code == 1
    assert "--overwrite" in result.output

    openai_stub.inject(Fault.status(401, times=None))
    result = runner.invoke(cli, [*args, "--overwrite", "--no-progress"])
    assert result.exit_code == 1, result.output  # one exit code for every failure
    assert "before any row was embedded" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not out.with_name(out.name + ".partial").exists()  # nothing left in the way


def test_cli_progress_bar_shows_inputs_per_second(
    tmp_path: Path, openai_stub: StubServer, jsonl: Any
) -> None:
    from click.testing import CliRunner

    from embedplug.cli import cli

    source = jsonl(tmp_path / "in.jsonl", records(texts(30)))
    result = CliRunner().invoke(
        cli,
        ["embed-file", str(source), "-o", str(tmp_path / "o.npy"), "-m", MODEL, "--progress"],
    )
    assert result.exit_code == 0, result.output
    assert "inputs/s" in result.output
    assert "30/30" in result.output
