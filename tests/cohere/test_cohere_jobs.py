"""Cohere embed jobs: datasets, jobs, waiting, reading results, resuming, errors, CLI."""

from __future__ import annotations

import builtins
import csv
import importlib.util
import io
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import fastavro
import httpx
import numpy as np
import orjson
import pytest
from click.testing import CliRunner

import embedplug
from embedplug.engine import RetryPolicy
from embedplug.errors import ResponseFormatError
from embedplug.testing import Fault
from embedplug_cohere._datasets_avro import AVRO_MAGIC, read_avro, read_records
from embedplug_cohere._jobs_protocol import assemble_result
from embedplug_cohere._stub import AvroCodec, CohereJobsStub, avro_file
from embedplug_cohere.jobs import (
    INDEX_FIELD,
    AsyncEmbedJobsClient,
    DatasetValidationError,
    EmbedJob,
    EmbedJobCancelledError,
    EmbedJobError,
    EmbedJobFailedError,
    EmbedJobResult,
    EmbedJobsClient,
    EmbedJobStatus,
    JobState,
    WaitTimeoutError,
)

KEY = "co-jobs-secret-key-7f3a9"
MODEL = "embed-english-v3.0"
ALL_TYPES = ["float", "int8", "uint8", "binary", "ubinary"]


class FakeClock:
    """A clock that moves only when the client sleeps; records every sleep."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def stub() -> Iterator[CohereJobsStub]:
    with CohereJobsStub(api_key=KEY) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_client(stub: CohereJobsStub, clock: FakeClock, **kwargs: Any) -> EmbedJobsClient:
    client = EmbedJobsClient(api_key=KEY, base_url=stub.url, **kwargs)
    client.sleep = clock.sleep
    client.clock = clock.time
    return client


def make_async_client(
    stub: CohereJobsStub, clock: FakeClock, **kwargs: Any
) -> AsyncEmbedJobsClient:
    client = AsyncEmbedJobsClient(api_key=KEY, base_url=stub.url, **kwargs)
    client.sleep = clock.asleep
    client.clock = clock.time
    return client


@pytest.fixture
def client(stub: CohereJobsStub, clock: FakeClock) -> Iterator[EmbedJobsClient]:
    with make_client(stub, clock) as c:
        yield c


@pytest.fixture
async def aclient(stub: CohereJobsStub, clock: FakeClock) -> AsyncIterator[AsyncEmbedJobsClient]:
    async with make_async_client(stub, clock) as c:
        yield c


def texts(n: int, prefix: str = "document") -> list[str]:
    return [f"{prefix} number {i} about topic {i % 7}" for i in range(n)]


def assert_matches_stub(
    result: EmbedJobResult, stub: CohereJobsStub, inputs: list[str], kinds: list[str]
) -> None:
    assert result.texts == inputs
    assert [k.value for k in result.vectors] == kinds
    for kind in kinds:
        expected = stub.expected_vectors(inputs, model=MODEL, embedding_type=kind)
        assert result[kind].dtype == expected.dtype
        assert np.array_equal(result[kind], expected), kind


# ---------------------------------------------------------------------------- the life of a job


def test_create_wait_download_gives_vectors_in_input_order(clock: FakeClock) -> None:
    inputs = texts(37)
    with (
        CohereJobsStub(api_key=KEY, shuffle_output=True, rows_per_part=8) as stub,
        make_client(stub, clock) as client,
    ):
        dataset_id = client.upload_dataset(inputs, name="corpus")
        job_id = client.create_job(MODEL, dataset_id, "search_document", embedding_types=ALL_TYPES)
        job = client.wait(job_id, poll_interval=1)
        result = client.download(job_id)
        assert job.status == EmbedJobStatus.COMPLETE
        assert job.output_dataset_id
        assert stub.dataset(job.output_dataset_id)["dataset_parts"][0]["num_rows"] == 8
        part_requests = [r for r in stub.requests if r.path.startswith("/storage/")]
        output_rows = [r["text"] for r in read_records(_first_part(stub, job.output_dataset_id))]
    assert output_rows != inputs[:8]  # served out of order, put back by the index field
    assert_matches_stub(result, stub, inputs, ALL_TYPES)
    assert result.meta["order"] == "index"
    assert result["float"].shape == (37, 1024)
    assert result["binary"].shape == (37, 128)
    assert result["binary"].dtype == np.int8
    assert result["ubinary"].shape == (37, 128)
    assert result["ubinary"].dtype == np.uint8
    assert result.job_id == job_id
    assert result.dataset_id == job.output_dataset_id
    assert result.model == MODEL
    assert result.provider == "cohere"
    assert result.usage.input_tokens == sum(len(t.split()) for t in inputs)
    assert isinstance(result, embedplug.EmbeddingResult)
    assert len(part_requests) == 5
    assert all("authorization" not in r.headers for r in part_requests)  # another origin


def _first_part(stub: CohereJobsStub, dataset_id: str) -> bytes:
    url = stub.dataset(dataset_id)["dataset_parts"][0]["url"]
    return httpx.get(url).content


def test_the_upload_is_multipart_with_the_index_field_kept(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    dataset_id = client.upload_dataset(["a b", "c"], name="tiny")
    upload = stub.requests[0]
    assert upload.method == "POST"
    assert upload.path == "/v1/datasets"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="data"' in upload.body
    assert stub.dataset(dataset_id)["preserve_fields"] == [INDEX_FIELD]
    assert stub.dataset_rows(dataset_id) == [
        {"text": "a b", INDEX_FIELD: 0},
        {"text": "c", INDEX_FIELD: 1},
    ]
    assert stub.dataset(dataset_id)["validation_status"] == "validated"


def test_wait_polls_with_capped_exponential_backoff(clock: FakeClock) -> None:
    with CohereJobsStub(api_key=KEY, job_polls=6) as stub, make_client(stub, clock) as client:
        job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "clustering")
        clock.sleeps.clear()
        client.wait(job_id, poll_interval=1.0, max_poll_interval=3.0)
    assert clock.sleeps == [1.0, 1.5, 2.25, 3.0, 3.0, 3.0]


def test_wait_reports_progress_to_a_callable_and_to_tqdm(
    stub: CohereJobsStub, client: EmbedJobsClient, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_query")
    client.wait(job_id, poll_interval=0, progress=lambda job: seen.append(str(job.status)))
    assert seen == ["processing", "processing", "complete"]

    job_id = client.create_job(MODEL, client.upload_dataset(["y"]), "search_query")
    client.wait(job_id, poll_interval=0, progress=True)
    assert f"embed job {job_id}" in capsys.readouterr().err


def test_a_failed_job_raises_a_typed_error_with_its_status(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    stub.script_job("failed")
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    with pytest.raises(EmbedJobFailedError) as info:
        client.wait(job_id, poll_interval=0)
    assert not isinstance(info.value, EmbedJobCancelledError)
    assert info.value.status == "failed"
    assert info.value.job_id == job_id
    assert info.value.job is not None
    assert info.value.job.status == EmbedJobStatus.FAILED
    assert isinstance(info.value, embedplug.EmbedplugError)
    with pytest.raises(EmbedJobFailedError):
        client.download(job_id)


def test_cancel_goes_through_cancelling_to_cancelled(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    stub.job_polls = 10
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    client.cancel_job(job_id)
    assert stub.cancels == 1
    assert stub.job(job_id)["status"] == "cancelling"
    with pytest.raises(EmbedJobCancelledError) as info:
        client.wait(job_id, poll_interval=0)
    assert info.value.status == "cancelled"
    assert client.get_job(job_id).status == EmbedJobStatus.CANCELLED
    assert [r.path for r in stub.requests if r.method == "POST"][-1].endswith("/cancel")


def test_a_job_cancelled_server_side_raises_cancelled(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    stub.script_job("cancelled", polls=0)
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    with pytest.raises(EmbedJobCancelledError):
        client.wait(job_id, poll_interval=0)


def test_cancelling_a_complete_job_is_a_bad_request(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    stub.script_job("complete", polls=0)
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    client.wait(job_id, poll_interval=0)
    with pytest.raises(embedplug.BadRequestError, match="cannot be cancelled"):
        client.cancel_job(job_id)


def test_list_jobs_and_get_job(stub: CohereJobsStub, client: EmbedJobsClient) -> None:
    dataset_id = client.upload_dataset(["x", "y"])
    first = client.create_job(MODEL, dataset_id, "search_document", name="first")
    second = client.create_job(MODEL, dataset_id, "classification", truncate="start")
    jobs = client.list_jobs()
    assert [j.job_id for j in jobs] == [first, second]
    assert all(isinstance(j, EmbedJob) and j.status == "processing" for j in jobs)
    assert jobs[0].name == "first"
    assert jobs[0].input_dataset_id == dataset_id
    assert jobs[1].truncate == "START"
    created = [r.json for r in stub.requests if r.path == "/v1/embed-jobs" and r.method == "POST"]
    assert created[1] == {
        "model": MODEL,
        "dataset_id": dataset_id,
        "input_type": "classification",
        "truncate": "START",
    }
    job = client.get_job(first)
    assert job.model == MODEL
    assert not job.done
    assert job.output_dataset_id is None


def test_list_jobs_when_there_are_none(client: EmbedJobsClient) -> None:
    assert client.list_jobs() == []


# ---------------------------------------------------------------------------- inputs


def test_upload_from_jsonl_with_another_text_field_and_kept_fields(
    tmp_path: Path, stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    path = tmp_path / "docs.jsonl"
    rows = [{"body": f"row {i} text", "title": f"T{i}", "views": i * 10} for i in range(12)]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n\n" for r in rows))
    stub.shuffle_output = True
    result = client.embed_dataset(
        path,
        model=MODEL,
        text_field="body",
        keep_fields=["title", "views"],
        poll_interval=0,
    )
    assert result.texts == [r["body"] for r in rows]
    assert result.fields == {
        "title": [r["title"] for r in rows],
        "views": [r["views"] for r in rows],
    }
    assert_matches_stub(result, stub, result.texts, ["float"])


def test_upload_from_csv(tmp_path: Path, stub: CohereJobsStub, client: EmbedJobsClient) -> None:
    path = tmp_path / "docs.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerows([[i, f"csv text, with a comma {i}"] for i in range(5)])
    result = client.embed_dataset(path, model=MODEL, keep_fields=["id"], poll_interval=0)
    assert result.texts == [f"csv text, with a comma {i}" for i in range(5)]
    assert result.fields["id"] == [str(i) for i in range(5)]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda c: c.upload_dataset(["fine", ""]), "input 1: text is missing or empty"),
        (lambda c: c.upload_dataset([]), "no rows"),
        (lambda c: c.upload_dataset("no-such-file.jsonl"), "no such file"),
        (lambda c: c.create_job(MODEL, "ds", "search_document", truncate="NONE"), "START or END"),
        (lambda c: c.create_job(MODEL, "ds", "image"), "image datasets cannot be uploaded"),
        (lambda c: c.create_job(MODEL, "ds", "pictures"), "input_type"),
        (lambda c: c.embed_dataset(["x"]), "model is required"),
        (lambda c: c.embed_dataset(model=MODEL), "nothing to embed"),
        (lambda c: c.embed_dataset(["x", " "], model=MODEL), "input 1"),
        (lambda c: c.download(), "job id"),
    ],
)
def test_bad_inputs_are_refused_before_any_request(
    stub: CohereJobsStub, client: EmbedJobsClient, call: Any, match: str
) -> None:
    with pytest.raises(embedplug.InvalidInputError, match=match):
        call(client)
    assert stub.request_count == 0


def test_a_file_of_another_kind_is_refused(tmp_path: Path, client: EmbedJobsClient) -> None:
    path = tmp_path / "docs.txt"
    path.write_text("hello\n")
    with pytest.raises(embedplug.InvalidInputError, match=r"\.jsonl or \.csv"):
        client.upload_dataset(path)


def test_a_dataset_that_fails_validation_raises(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    stub.script_dataset("failed", error="row 3: text too long")
    with pytest.raises(DatasetValidationError, match="row 3: text too long") as info:
        client.upload_dataset(["x"])
    assert info.value.status == "failed"
    assert stub.jobs_created == 0


def test_dataset_validation_has_a_deadline(clock: FakeClock) -> None:
    with (
        CohereJobsStub(api_key=KEY, validation_polls=1000) as stub,
        make_client(stub, clock) as client,
        pytest.raises(WaitTimeoutError, match="dataset") as info,
    ):
        client.upload_dataset(["x"], timeout=5, poll_interval=1)
    assert info.value.status == "processing"
    assert sum(clock.sleeps) == pytest.approx(5.0)


def test_upload_without_waiting(stub: CohereJobsStub, client: EmbedJobsClient) -> None:
    dataset_id = client.upload_dataset(["x"], wait=False)
    assert stub.request_count == 1
    assert client.get_dataset(dataset_id).validation_status == "processing"
    dataset = client.get_dataset(dataset_id)
    assert dataset.validated
    assert dataset.dataset_type == "embed-input"


# ---------------------------------------------------------------------------- reading output


def test_download_takes_the_output_dataset_id_too(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    inputs = texts(5)
    job_id = client.create_job(MODEL, client.upload_dataset(inputs), "search_document")
    job = client.wait(job_id, poll_interval=0)
    assert job.output_dataset_id is not None
    by_guess = client.download(job.output_dataset_id)  # no job has that id: read as a dataset
    by_name = client.download(dataset_id=job.output_dataset_id)
    for result in (by_guess, by_name):
        assert_matches_stub(result, stub, inputs, ["float"])
        assert result.job_id is None


def test_download_refuses_an_input_dataset_and_an_unfinished_job(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    dataset_id = client.upload_dataset(["x"])
    with pytest.raises(embedplug.ConfigurationError, match="embed-input"):
        client.download(dataset_id=dataset_id)
    job_id = client.create_job(MODEL, dataset_id, "search_document")
    with pytest.raises(EmbedJobError, match="still processing; wait"):
        client.download(job_id)
    with pytest.raises(embedplug.NotFoundError):
        client.download("neither-a-job-nor-a-dataset")


@pytest.mark.parametrize(
    "options",
    [{"output_format": "jsonl"}, {"codec": "null"}, {"codec": "xz"}, {"rows_per_part": 1}],
)
def test_other_part_formats_read_the_same(clock: FakeClock, options: dict[str, Any]) -> None:
    inputs = texts(6)
    with CohereJobsStub(api_key=KEY, **options) as stub, make_client(stub, clock) as client:
        result = client.embed_dataset(
            inputs, model=MODEL, embedding_types=["float", "uint8"], poll_interval=0
        )
    assert_matches_stub(result, stub, inputs, ["float", "uint8"])


def test_download_can_pick_embedding_types(stub: CohereJobsStub, client: EmbedJobsClient) -> None:
    inputs = texts(3)
    result = client.embed_dataset(
        inputs, model=MODEL, embedding_types=["int8", "float"], poll_interval=0
    )
    assert [k.value for k in result.vectors] == ["int8", "float"]  # the order asked for
    assert result.embeddings.dtype == np.int8
    assert result.job_id is not None
    only = client.download(result.job_id, embedding_types=["float"])
    assert list(only.vectors) == [embedplug.EmbeddingType.FLOAT]
    with pytest.raises(ResponseFormatError, match="no ubinary"):
        client.download(result.job_id, embedding_types=["ubinary"])


def test_rows_without_the_index_field_keep_the_dataset_order(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    content = b"".join(orjson.dumps({"text": t}) + b"\n" for t in ["b", "a", "c"])
    response = httpx.post(
        stub.url + "/v1/datasets",
        params={"name": "raw", "type": "embed-input"},
        files={"data": ("raw.jsonl", content)},
        headers={"authorization": f"Bearer {KEY}"},
    )
    dataset_id = response.json()["id"]
    while not client.get_dataset(dataset_id).validated:
        pass
    job_id = client.create_job(MODEL, dataset_id, "search_document")
    client.wait(job_id, poll_interval=0)
    result = client.download(job_id)
    assert result.texts == ["b", "a", "c"]
    assert result.meta["order"] == "dataset"
    assert_matches_stub(result, stub, ["b", "a", "c"], ["float"])


def _record(text: str, index: Any, vector: list[float] | None = None) -> dict[str, Any]:
    return {"text": text, INDEX_FIELD: index, "embeddings": {"float": vector or [0.5, 0.5]}}


@pytest.mark.parametrize(
    ("records", "match"),
    [
        ([_record("a", 0), _record("b", 0)], "share"),
        ([_record("a", 0), _record("b", 2)], "out of range"),
        ([_record("a", 0), _record("b", "x")], "not an integer"),
        ([_record("a", 0), _record("b", 1, [0.5])], "one length"),
        ([_record("a", 0), _record("b", 1, [float("nan"), 0.0])], "NaN"),
        ([_record("a", 0), {"text": "b", INDEX_FIELD: 1}], "no 'embeddings'"),
        ([_record("a", 0), {"text": "b", INDEX_FIELD: 1, "embeddings": {}}], "row 1 has no float"),
    ],
)
def test_broken_output_rows_raise_response_format_errors(
    records: list[dict[str, Any]], match: str
) -> None:
    with pytest.raises(ResponseFormatError, match=match):
        assemble_result(records, model=MODEL, job_id="j", dataset_id="d")


def test_an_output_with_the_wrong_row_count_is_refused() -> None:
    with pytest.raises(ResponseFormatError, match="1 rows, 2 were uploaded"):
        assemble_result(
            [_record("a", 0)], model=MODEL, job_id="j", dataset_id="d", expected_count=2
        )


def test_the_older_single_embedding_schema_and_string_indices_are_read() -> None:
    records = [
        {"text": "b", INDEX_FIELD: "1", "embedding": [0.0, 1.0]},
        {"text": "a", INDEX_FIELD: "0", "embedding": [1.0, 0.0]},
    ]
    result = assemble_result(records, model=MODEL, job_id=None, dataset_id="d")
    assert result.texts == ["a", "b"]
    assert result.embeddings.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert result.embeddings.dtype == np.float32


# ---------------------------------------------------------------------------- Avro

# fastavro reads bzip2 and xz with the standard library; snappy only with cramjam or python-snappy
CODECS = ["null", "deflate", "bzip2", "xz"] + (
    ["snappy"] if any(importlib.util.find_spec(m) for m in ("cramjam", "snappy")) else []
)

SCHEMA = {
    "type": "record",
    "name": "Row",
    "namespace": "test.ns",
    "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "colour", "type": {"type": "enum", "name": "Colour", "symbols": ["RED", "BLUE"]}},
        {"name": "tags", "type": {"type": "map", "values": "long"}},
        {"name": "id", "type": {"type": "fixed", "name": "Id", "size": 2}},
        {"name": "blob", "type": "bytes"},
        {"name": "vec", "type": {"type": "array", "items": "float"}},
        {"name": "maybe", "type": ["null", "test.ns.Row"]},
    ],
}


def _row(n: int, maybe: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "flag": n % 2 == 0,
        "colour": ["RED", "BLUE"][n % 2],
        "tags": {"a": -n, "b": 300 * n},
        "id": n.to_bytes(2, "big"),
        "blob": bytes([n % 256]) * n,
        "vec": [0.5 * n, -2.0, 0.25 * n],  # exact in float32
        "maybe": maybe,
    }


def _avro(
    records: list[Any],
    schema: Any = SCHEMA,
    codec: str = "null",
    sync_interval: int = 64,
) -> bytes:
    out = io.BytesIO()
    fastavro.writer(out, schema, records, codec=codec, sync_interval=sync_interval)
    return out.getvalue()


def _blocks(data: bytes) -> int:
    return sum(1 for _ in fastavro.block_reader(io.BytesIO(data)))


@pytest.mark.parametrize("codec", CODECS)
def test_the_avro_reader_reads_records_in_every_codec(codec: str) -> None:
    records = [_row(n) for n in range(30)] + [_row(30, maybe=_row(31))]
    data = _avro(records, codec=codec)
    assert _blocks(data) > 1  # several blocks, each checked against the sync marker
    read = read_records(data, expected_rows=len(records))
    assert [r["id"] for r in read] == [n.to_bytes(2, "big") for n in range(31)]
    assert read[3]["colour"] == "BLUE"
    assert read[3]["tags"] == {"a": -3, "b": 900}
    assert read[3]["vec"] == [1.5, -2.0, 0.75]
    assert read[30]["maybe"]["id"] == b"\x00\x1f"
    assert read[30]["maybe"]["maybe"] is None
    assert read == records


def test_a_corrupt_avro_part_is_a_response_format_error() -> None:
    good = _avro([_row(n) for n in range(12)])
    bad_sync = good[:-1] + bytes([good[-1] ^ 0xFF])
    bad_schema = good.replace(b'"boolean"', b'"bolean!"', 1)
    for data in (bad_sync, bad_schema, AVRO_MAGIC + b"\xff" * 40):
        with pytest.raises(ResponseFormatError, match="malformed Avro dataset part"):
            read_records(data)
    with pytest.raises(ResponseFormatError, match="neither Avro nor JSON"):
        read_records(b"not json at all\n")
    with pytest.raises(ResponseFormatError, match="line 2 is not a JSON object"):
        read_records(b'{"text": "a"}\n[1, 2]\n')


def test_a_truncated_avro_part_is_a_response_format_error() -> None:
    records = [_row(n) for n in range(12)]
    good = _avro(records)
    for cut in (3, 20, len(good) // 2, len(good) - 5):  # the magic, the header, a block, the sync
        with pytest.raises(ResponseFormatError, match="malformed Avro dataset part"):
            read_avro(good[:cut])
    # cut right after a block: a well-formed but shorter file, caught by the part's num_rows
    first_block = _avro(records[:1], sync_interval=1)
    both = _avro(records[:2], sync_interval=1)
    assert _blocks(both) == 2
    assert read_avro(first_block) == read_avro(both[: len(first_block)])
    with pytest.raises(ResponseFormatError, match="holds 1 rows, its metadata says 2"):
        read_records(both[: len(first_block)], expected_rows=2)


def test_an_unreadable_codec_and_a_non_record_schema_are_response_format_errors() -> None:
    data = _avro([_row(1)])
    codec_entry = b"\x14avro.codec\x08null"
    assert codec_entry in data
    with pytest.raises(ResponseFormatError, match="made-up"):
        read_avro(data.replace(codec_entry, b"\x14avro.codec\x0emade-up"))
    with pytest.raises(ResponseFormatError, match="records are not records"):
        read_avro(_avro(["a", "b"], schema="string"))


@pytest.mark.parametrize("codec", ["null", "deflate", "bzip2", "xz"])
def test_the_stub_writes_what_the_reader_reads(codec: AvroCodec) -> None:
    kept = [True, 2, 2.5, "s", None, {"nested": [1]}]
    records = [
        {
            "text": f"é {i}",
            "embeddings": {"float": [0.5 * i, -1.0], "int8": [-128, i]},
            "k": value,
        }
        for i, value in enumerate(kept)
    ]
    data = avro_file(records, ["k"], codec=codec, block_size=4, sync=b"s" * 16)
    assert fastavro.reader(io.BytesIO(data)).codec == codec
    assert _blocks(data) == 2
    assert data.endswith(b"s" * 16)  # the given sync marker
    read = read_records(data, expected_rows=len(records))
    assert [r["text"] for r in read] == [r["text"] for r in records]
    assert [r["embeddings"]["float"] for r in read] == [[0.5 * i, -1.0] for i in range(6)]
    assert [r["embeddings"]["int8"] for r in read] == [[-128, i] for i in range(6)]
    assert all(r["embeddings"]["ubinary"] is None for r in read)
    assert [r["k"] for r in read] == [True, 2, 2.5, "s", None, '{"nested":[1]}']
    assert [type(r["k"]) for r in read[:3]] == [bool, int, float]


def test_importing_the_stubs_does_not_import_fastavro() -> None:
    code = "import sys, embedplug_cohere._stub; print('fastavro' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


# ---------------------------------------------------------------------------- resuming


class DiedError(Exception):
    """The process 'dies' here."""


def die_on_first_poll(job: EmbedJob) -> None:
    raise DiedError(job.job_id)


def test_a_job_resumed_from_its_state_file_embeds_nothing_again(
    tmp_path: Path, stub: CohereJobsStub, clock: FakeClock
) -> None:
    inputs = texts(20)
    state_file = tmp_path / "state" / "job.json"
    with make_client(stub, clock) as first, pytest.raises(DiedError):
        first.embed_dataset(
            inputs,
            model=MODEL,
            embedding_types=["float", "int8"],
            state_file=state_file,
            poll_interval=0,
            progress=die_on_first_poll,
        )
    state = JobState.load(state_file)
    assert state.job_id is not None
    assert state.dataset_id is not None
    assert state.count == 20
    assert (stub.datasets_created, stub.jobs_created) == (1, 1)

    with make_client(stub, clock) as second:  # a new process
        result = second.embed_dataset(resume=state_file, poll_interval=0)
    assert (stub.datasets_created, stub.jobs_created) == (1, 1)
    assert set(stub.texts_embedded.values()) == {1}
    assert result.job_id == state.job_id
    assert_matches_stub(result, stub, inputs, ["float", "int8"])
    uploads = [r for r in stub.requests if r.path == "/v1/datasets"]
    assert len(uploads) == 1


def test_a_job_resumed_by_id_downloads_without_recreating_it(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    inputs = texts(4)
    job_id = client.create_job(MODEL, client.upload_dataset(inputs), "search_document")
    result = client.embed_dataset(resume=job_id, poll_interval=0)
    assert (stub.datasets_created, stub.jobs_created) == (1, 1)
    assert_matches_stub(result, stub, inputs, ["float"])
    with pytest.raises(embedplug.ConfigurationError, match="no such state file"):
        client.embed_dataset(resume="missing/state.json")


def test_running_again_with_the_same_state_file_picks_the_job_up(
    tmp_path: Path, stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    inputs = texts(3)
    state_file = tmp_path / "job.json"
    first = client.embed_dataset(inputs, model=MODEL, state_file=state_file, poll_interval=0)
    again = client.embed_dataset(inputs, model=MODEL, state_file=state_file, poll_interval=0)
    assert (stub.datasets_created, stub.jobs_created) == (1, 1)
    assert np.array_equal(first.embeddings, again.embeddings)
    with pytest.raises(embedplug.ConfigurationError, match="belongs to other inputs"):
        client.embed_dataset(["other"], model=MODEL, state_file=state_file, poll_interval=0)
    with pytest.raises(embedplug.ConfigurationError, match="belongs to other inputs"):
        client.embed_dataset(["other"], resume=state_file, poll_interval=0)
    assert stub.jobs_created == 1


def test_a_crash_between_upload_and_job_creation_does_not_upload_again(
    tmp_path: Path, stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    inputs = texts(5)
    state_file = tmp_path / "job.json"
    stub.inject(Fault.status(500, path="/v1/embed-jobs"))
    with pytest.raises(embedplug.ServerError):
        client.embed_dataset(inputs, model=MODEL, state_file=state_file, poll_interval=0)
    state = JobState.load(state_file)
    assert state.dataset_id is not None
    assert state.job_id is None
    result = client.embed_dataset(resume=state_file, poll_interval=0)
    assert (stub.datasets_created, stub.jobs_created) == (1, 1)
    assert JobState.load(state_file).job_id == result.job_id
    assert_matches_stub(result, stub, inputs, ["float"])


def test_a_broken_state_file_is_a_configuration_error(
    tmp_path: Path, client: EmbedJobsClient
) -> None:
    path = tmp_path / "job.json"
    path.write_text("{not json")
    with pytest.raises(embedplug.ConfigurationError, match="not JSON"):
        client.embed_dataset(resume=path)
    path.write_text('{"version": 99}')
    with pytest.raises(embedplug.ConfigurationError, match="not an embedplug"):
        client.embed_dataset(resume=path)


# ---------------------------------------------------------------------------- errors


DOCUMENTED = [
    (400, embedplug.BadRequestError, False),
    (401, embedplug.AuthenticationError, False),
    (403, embedplug.PermissionDeniedError, False),
    (404, embedplug.NotFoundError, False),
    (422, embedplug.BadRequestError, False),
    (429, embedplug.RateLimitError, True),
    (498, embedplug.InvalidTokenError, False),
    (499, embedplug.ClientClosedRequestError, False),
    (500, embedplug.ServerError, True),
    (501, embedplug.NotImplementedByProviderError, False),
    (503, embedplug.ServerError, True),
    (504, embedplug.ServerError, True),
]


@pytest.mark.parametrize(("status", "error", "retried"), DOCUMENTED)
def test_each_documented_status_maps_to_its_error(
    stub: CohereJobsStub,
    client: EmbedJobsClient,
    clock: FakeClock,
    status: int,
    error: type[embedplug.ProviderError],
    retried: bool,
) -> None:
    path = "/v1/embed-jobs/job-1"
    stub.inject(Fault.status(status, message=f"status {status} here", times=None, path=path))
    with pytest.raises(error) as info:
        client.get_job("job-1")
    assert type(info.value) is error
    assert info.value.status == status
    assert info.value.provider == "cohere"
    assert f"status {status} here" in str(info.value)
    assert info.value.request_id is not None
    attempts = [r for r in stub.requests if r.path == path]
    assert len(attempts) == (5 if retried else 1)
    assert len(clock.sleeps) == (4 if retried else 0)


@pytest.mark.parametrize(
    ("status", "retried"), [(429, True), (503, True), (500, False), (504, False)]
)
def test_creating_a_job_is_retried_only_when_it_surely_did_nothing(
    stub: CohereJobsStub, client: EmbedJobsClient, status: int, retried: bool
) -> None:
    dataset_id = client.upload_dataset(["x"])
    stub.inject(Fault.status(status, path="/v1/embed-jobs"))
    if retried:
        client.create_job(MODEL, dataset_id, "search_document")
    else:
        with pytest.raises(embedplug.ServerError):
            client.create_job(MODEL, dataset_id, "search_document")
    posts = [r for r in stub.requests if r.path == "/v1/embed-jobs" and r.method == "POST"]
    assert len(posts) == (2 if retried else 1)
    assert stub.jobs_created == (1 if retried else 0)


def test_an_upload_refused_with_503_is_sent_again(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    stub.inject(Fault.status(503, path="/v1/datasets"))
    dataset_id = client.upload_dataset(["a", "b"])
    assert stub.datasets_created == 1
    assert [r["text"] for r in stub.dataset_rows(dataset_id)] == ["a", "b"]


def test_retry_after_is_honoured_and_a_quota_429_is_not_retried(
    stub: CohereJobsStub, client: EmbedJobsClient, clock: FakeClock
) -> None:
    stub.inject(Fault.status(429, headers={"Retry-After": "7"}, path="/v1/embed-jobs"))
    assert client.list_jobs() == []
    assert clock.sleeps == [7.0]
    stub.inject(Fault.status(429, message="monthly quota exceeded", path="/v1/embed-jobs"))
    with pytest.raises(embedplug.QuotaExceededError):
        client.list_jobs()


def test_polling_rides_out_transient_errors(stub: CohereJobsStub, client: EmbedJobsClient) -> None:
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    stub.inject(Fault.status(503, times=2, path=f"/v1/embed-jobs/{job_id}"))
    stub.inject(Fault.disconnect(path=f"/v1/embed-jobs/{job_id}"))
    assert client.wait(job_id, poll_interval=0).succeeded


def test_a_refused_connection_is_retried_then_reported(clock: FakeClock) -> None:
    with CohereJobsStub() as stub:
        url = stub.url
    with EmbedJobsClient(api_key=KEY, base_url=url) as client:
        client.sleep = clock.sleep
        with pytest.raises(embedplug.ConnectionFailedError):
            client.create_job(MODEL, "ds", "search_document")  # never reached: safe to resend
    assert len(clock.sleeps) == 4


def test_a_malformed_answer_is_a_response_format_error(
    stub: CohereJobsStub, client: EmbedJobsClient
) -> None:
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    stub.inject(Fault.malformed_json(path=f"/v1/embed-jobs/{job_id}"))
    with pytest.raises(ResponseFormatError, match="not JSON"):
        client.get_job(job_id)
    stub.inject(Fault.status(200, body={"status": "processing"}, path="/v1/embed-jobs/j"))
    with pytest.raises(ResponseFormatError, match="job_id"):
        client.get_job("j")


def test_a_wrong_key_is_an_authentication_error(stub: CohereJobsStub, clock: FakeClock) -> None:
    client = EmbedJobsClient(api_key="wrong", base_url=stub.url)
    with client, pytest.raises(embedplug.AuthenticationError):
        client.list_jobs()
    assert stub.requests[-1].status == 401


def test_wait_has_a_deadline(
    stub: CohereJobsStub, client: EmbedJobsClient, clock: FakeClock
) -> None:
    stub.script_job("processing")
    job_id = client.create_job(MODEL, client.upload_dataset(["x"]), "search_document")
    clock.sleeps.clear()
    with pytest.raises(WaitTimeoutError) as info:
        client.wait(job_id, timeout=10, poll_interval=1, max_poll_interval=4)
    assert isinstance(info.value, builtins.TimeoutError)
    assert isinstance(info.value, embedplug.EmbedplugError)
    assert info.value.status == "processing"
    assert info.value.id == job_id
    assert sum(clock.sleeps) == pytest.approx(10.0)
    assert max(clock.sleeps) <= 4.0
    assert "still 'processing' after 10.0s" in str(info.value)
    assert stub.job(job_id)["status"] == "processing"  # nothing was cancelled


def test_the_default_client_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, stub: CohereJobsStub
) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.setenv("COHERE_API_KEY", KEY)
    monkeypatch.setenv("CO_API_URL", stub.url)
    with EmbedJobsClient() as client:
        assert client.base_url == stub.url
        assert client.list_jobs() == []
    monkeypatch.delenv("COHERE_API_KEY")
    with pytest.raises(embedplug.ConfigurationError, match="CO_API_KEY or COHERE_API_KEY"):
        EmbedJobsClient()
    assert EmbedJobsClient(api_key="k").base_url == stub.url
    monkeypatch.delenv("CO_API_URL")
    assert EmbedJobsClient(api_key="k").base_url == "https://api.cohere.com"
    with pytest.raises(embedplug.ConfigurationError, match="plain http"):
        EmbedJobsClient(api_key="k", base_url="http://example.com")


def test_the_key_never_shows_in_reprs_errors_logs_or_state(
    tmp_path: Path,
    stub: CohereJobsStub,
    client: EmbedJobsClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    state_file = tmp_path / "job.json"
    result = client.embed_dataset(["a", "b"], model=MODEL, state_file=state_file, poll_interval=0)
    stub.inject(Fault.status(401, times=None))
    errors: list[BaseException] = []
    for call in (client.list_jobs, lambda: client.upload_dataset(["x"])):
        with pytest.raises(embedplug.AuthenticationError) as info:
            call()
        errors.append(info.value)
    stub.clear_faults()
    stub.script_job("failed")
    with pytest.raises(EmbedJobFailedError) as failed:
        client.embed_dataset(["c"], model=MODEL, poll_interval=0)
    errors.append(failed.value)
    seen = [repr(client), str(client), repr(result), caplog.text, state_file.read_text()]
    seen += [str(e) for e in errors] + [repr(e) for e in errors]
    assert caplog.text  # something was logged
    for text in seen:
        assert KEY not in text
    assert all(KEY in r.headers["authorization"] for r in stub.requests if r.path.startswith("/v1"))


# ---------------------------------------------------------------------------- async


async def test_async_gives_the_same_results(
    stub: CohereJobsStub, aclient: AsyncEmbedJobsClient, clock: FakeClock
) -> None:
    inputs = texts(9)
    stub.shuffle_output = True
    stub.rows_per_part = 4
    stub.job_polls = 3
    dataset_id = await aclient.upload_dataset(inputs)
    job_id = await aclient.create_job(
        MODEL, dataset_id, "search_document", embedding_types=ALL_TYPES
    )
    assert (await aclient.get_job(job_id)).status == "processing"
    assert [j.job_id for j in await aclient.list_jobs()] == [job_id]
    clock.sleeps.clear()
    job = await aclient.wait(job_id, poll_interval=2)
    assert job.succeeded
    assert clock.sleeps == [2.0, 3.0]
    result = await aclient.download(job_id)
    assert_matches_stub(result, stub, inputs, ALL_TYPES)
    with make_client(stub, clock) as sync_client:
        again = sync_client.download(job_id)
    for kind in ALL_TYPES:
        assert np.array_equal(result[kind], again[kind])


async def test_async_failures_cancel_deadline_and_resume(
    tmp_path: Path, stub: CohereJobsStub, aclient: AsyncEmbedJobsClient
) -> None:
    stub.script_job("failed")
    with pytest.raises(EmbedJobFailedError) as failed:
        await aclient.embed_dataset(["x"], model=MODEL, poll_interval=0)
    assert failed.value.status == "failed"

    stub.script_job("processing")
    job_id = await aclient.create_job(MODEL, await aclient.upload_dataset(["y"]), "clustering")
    with pytest.raises(WaitTimeoutError):
        await aclient.wait(job_id, timeout=3, poll_interval=1)
    await aclient.cancel_job(job_id)
    with pytest.raises(EmbedJobCancelledError):
        await aclient.wait(job_id, poll_interval=0)

    state_file = tmp_path / "job.json"
    with pytest.raises(DiedError):
        await aclient.embed_dataset(
            ["p", "q"],
            model=MODEL,
            state_file=state_file,
            poll_interval=0,
            progress=die_on_first_poll,
        )
    jobs_before = stub.jobs_created
    result = await aclient.embed_dataset(resume=state_file, poll_interval=0)
    assert stub.jobs_created == jobs_before
    assert_matches_stub(result, stub, ["p", "q"], ["float"])

    stub.inject(Fault.status(403, path="/v1/embed-jobs"))
    with pytest.raises(embedplug.PermissionDeniedError):
        await aclient.list_jobs()


async def test_async_retries_transient_errors(
    stub: CohereJobsStub, aclient: AsyncEmbedJobsClient, clock: FakeClock
) -> None:
    stub.inject(Fault.status(504, times=2, path="/v1/embed-jobs"))
    assert await aclient.list_jobs() == []
    assert len(clock.sleeps) == 2
    stub.inject(Fault.status(500, path="/v1/embed-jobs"))
    dataset_id = await aclient.upload_dataset(["x"])
    with pytest.raises(embedplug.ServerError):
        await aclient.create_job(MODEL, dataset_id, "search_document")  # not retried


# ---------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_env(stub: CohereJobsStub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from embedplug.cli import _load_plugin_commands

    _load_plugin_commands()
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    return {"CO_API_KEY": KEY, "CO_API_URL": stub.url, "COHERE_API_KEY": ""}


def run_cli(env: dict[str, str], *args: str, input: str | None = None) -> Any:  # noqa: A002
    from embedplug.cli import cli

    return CliRunner(env=env).invoke(cli, ["cohere", "jobs", *args], input=input)


def test_cli_create_get_wait_download(
    tmp_path: Path, stub: CohereJobsStub, cli_env: dict[str, str]
) -> None:
    inputs = ["first text", "second text", "third text"]
    state_file = tmp_path / "state.json"
    created = run_cli(
        cli_env,
        "create",
        *inputs,
        "-m",
        MODEL,
        "--type",
        "float",
        "--type",
        "int8",
        "--truncate",
        "end",
        "--state-file",
        str(state_file),
        "--poll-interval",
        "0",
    )
    assert created.exit_code == 0, created.output
    job_id = created.stdout.strip().splitlines()[-1]
    assert stub.job(job_id)["truncate"] == "END"
    assert JobState.load(state_file).job_id == job_id

    got = run_cli(cli_env, "get", job_id)
    assert got.exit_code == 0
    assert orjson.loads(got.stdout)["status"] == "processing"

    waited = run_cli(cli_env, "wait", job_id, "--poll-interval", "0", "--no-progress")
    assert waited.exit_code == 0, waited.output
    assert f"{job_id}  complete" in waited.stdout

    listed = run_cli(cli_env, "list")
    assert job_id in listed.stdout
    assert "complete" in listed.stdout

    npy = tmp_path / "vectors.npy"
    downloaded = run_cli(cli_env, "download", job_id, "-o", str(npy))
    assert downloaded.exit_code == 0, downloaded.output
    assert np.array_equal(np.load(npy), stub.expected_vectors(inputs, model=MODEL))
    int8 = np.load(tmp_path / "vectors.int8.npy")
    assert np.array_equal(int8, stub.expected_vectors(inputs, model=MODEL, embedding_type="int8"))

    jsonl = tmp_path / "vectors.jsonl"
    assert run_cli(cli_env, "download", job_id, "-o", str(jsonl)).exit_code == 0
    rows = [orjson.loads(line) for line in jsonl.read_bytes().splitlines()]
    assert [r["text"] for r in rows] == inputs
    assert [r["index"] for r in rows] == [0, 1, 2]
    assert np.allclose(rows[1]["float"], stub.expected_vector("second text", model=MODEL))

    pq = pytest.importorskip("pyarrow.parquet")
    parquet = tmp_path / "vectors.parquet"
    only_float = run_cli(cli_env, "download", job_id, "-o", str(parquet), "--type", "float")
    assert only_float.exit_code == 0, only_float.output
    table = pq.read_table(parquet)
    assert table.column_names == ["index", "text", "float"]
    assert np.allclose(np.array(table.column("float").to_pylist()), np.load(npy))


def test_cli_create_from_a_file_and_from_stdin(
    tmp_path: Path, stub: CohereJobsStub, cli_env: dict[str, str]
) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"body": "from a file"}\n')
    result = run_cli(cli_env, "create", "-f", str(path), "--text-field", "body", "-m", MODEL)
    assert result.exit_code == 0, result.output
    result = run_cli(cli_env, "create", "-m", MODEL, input="one\ntwo\n\n")
    assert result.exit_code == 0, result.output
    job_id = result.stdout.strip().splitlines()[-1]
    dataset_id = stub.job(job_id)["input_dataset_id"]
    assert [r["text"] for r in stub.dataset_rows(dataset_id)] == ["one", "two"]


def test_cli_cancel_and_errors_are_one_line(
    stub: CohereJobsStub, cli_env: dict[str, str], tmp_path: Path
) -> None:
    stub.job_polls = 50
    job_id = run_cli(cli_env, "create", "x", "-m", MODEL).stdout.strip().splitlines()[-1]
    cancelled = run_cli(cli_env, "cancel", job_id)
    assert cancelled.exit_code == 0
    assert f"cancelling {job_id}" in cancelled.stdout
    failed = run_cli(cli_env, "wait", job_id, "--poll-interval", "0")
    assert failed.exit_code == 1
    assert "EmbedJobCancelledError" in failed.output
    assert "Traceback" not in failed.output

    missing = run_cli(cli_env, "get", "no-such-job")
    assert missing.exit_code == 1
    lines = [line for line in missing.output.splitlines() if line.strip()]
    assert lines == [
        f"Error: NotFoundError: [cohere, HTTP 404, request {_rid(stub)}] "
        "embed job no-such-job not found"
    ]

    bad = run_cli(cli_env, "download", job_id, "-o", str(tmp_path / "out.bin"))
    assert bad.exit_code == 2
    assert "--format" in bad.output
    refused = run_cli(cli_env, "create", "x", "-m", MODEL, "--type", "float", "--truncate", "none")
    assert refused.exit_code == 2  # click refuses NONE: the jobs API has no NONE


def _rid(stub: CohereJobsStub) -> str:
    return stub.requests[-1].request_id


def test_cli_without_a_key_says_which_variables(
    monkeypatch: pytest.MonkeyPatch, cli_env: dict[str, str]
) -> None:
    monkeypatch.delenv("CO_API_KEY", raising=False)
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    result = run_cli({**cli_env, "CO_API_KEY": ""}, "list")
    assert result.exit_code == 1
    assert "CO_API_KEY or COHERE_API_KEY" in result.output


# ---------------------------------------------------------------------------- the public surface


def test_the_jobs_api_is_re_exported_lazily() -> None:
    import embedplug_cohere
    import embedplug_cohere.jobs as jobs

    assert embedplug_cohere.EmbedJobsClient is jobs.EmbedJobsClient
    assert set(embedplug_cohere.__all__) >= {"EmbedJobsClient", "AsyncEmbedJobsClient"}
    for name in jobs.__all__:
        assert getattr(jobs, name) is not None
    with pytest.raises(AttributeError):
        embedplug_cohere.NoSuchThing  # noqa: B018


# ---------------------------------------------------------------------------- live


@pytest.mark.live
@pytest.mark.skipif(not os.environ.get("CO_API_KEY"), reason="needs CO_API_KEY")
def test_live_embed_job() -> None:  # pragma: no cover - never counts as coverage
    inputs = ["embedplug live embed job test", "a second short text"]
    with EmbedJobsClient(retry=RetryPolicy(max_attempts=3)) as client:
        result = client.embed_dataset(
            inputs,
            model="embed-english-light-v3.0",
            embedding_types=["float"],
            timeout=1800,
            poll_interval=10,
        )
    assert result.texts == inputs
    assert result.embeddings.shape == (2, 384)
