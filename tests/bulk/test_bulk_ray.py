"""Ray Data: ``EmbedBatches`` alone, and a pipeline on a local Ray instance (``num_cpus=2``).

The pipeline test needs Ray (``pip install 'embedplug[ray]'``) and is skipped
without it. It runs in the test process: Ray's driver talks to its own
processes over loopback only (see ``local_ray``: every Ray service listens on
127.0.0.1; no dashboard, no usage statistics), which the socket rules allow;
its actors reach the stub server over loopback too. Ray's internals raise
``DeprecationWarning`` under ``filterwarnings=error``, so the Ray test ignores
those.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from embedplug.bulk import embed_file
from embedplug.testing import StubServer

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

OPENAI = "openai:text-embedding-3-small"
HAS_OPENAI = importlib.util.find_spec("embedplug_openai") is not None
HAS_RAY = importlib.util.find_spec("ray") is not None


def corpus(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for i in range(300):
        text = f"passage {i % 250}: on subject {i % 9}"  # 50 repeats
        if i in (7, 150):
            text = ""  # rejected by both, for the same reason
        rows.append({"id": f"p{i:04d}", "text": text})
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return rows


# ----------------------------------------------------------------------------- no Ray needed


def test_embed_batches_matches_the_embed_file_schema_and_rejects(
    tmp_path: Path, openai_stub: StubServer
) -> None:
    from embedplug.bulk.ray import EmbedBatches

    table = pa.table(
        {
            "id": [1, 2, 3, 4],
            "text": ["alpha", "", "beta", "alpha"],
            "lang": ["en", "fr", "de", "en"],
        }
    )
    drop = EmbedBatches(
        "bulkstub:stub-text",
        id_column="id",
        embedding_types=["float", "int8"],
        keep_columns=["lang"],
    )
    out = drop(table)
    assert out.column_names == ["id", "vector", "vector_int8", "lang"]
    assert out.schema.field("vector").type == pa.list_(pa.float32(), 256)
    assert out.column("id").to_pylist() == [1, 3, 4]
    assert out.column("lang").to_pylist() == ["en", "de", "en"]
    vectors = np.stack(out.column("vector").to_numpy(zero_copy_only=False))
    expected = openai_stub.expected_vectors(["alpha", "beta", "alpha"])
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert openai_stub.inputs_seen["alpha"] == 1  # the repeat was fanned out

    keep = EmbedBatches("bulkstub:stub-text", id_column="id", on_reject="keep")
    kept = keep(table)
    assert kept.column("id").to_pylist() == [1, None, 3, 4]
    assert kept.column("vector").null_count == 1
    assert kept.column("error").to_pylist() == [None, "empty or whitespace-only text", None, None]

    strict = EmbedBatches("bulkstub:stub-text", id_column="id", on_reject="raise")
    with pytest.raises(ValueError, match="empty or whitespace-only text"):
        strict(table)
    with pytest.raises(Exception, match="no column 'text'"):
        drop(pa.table({"id": [1], "body": ["x"]}))


# ----------------------------------------------------------------------------- on Ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    """A local Ray instance bound to loopback only.

    Ray replaces ``127.0.0.1`` with the machine's routable address and binds
    every service to all interfaces unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``
    (read when ``ray`` is imported): then the GCS, the raylet and the workers
    listen on 127.0.0.1 only. No dashboard, no usage statistics.
    """
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")
        ray = pytest.importorskip("ray")
        from ray._private import ray_constants

        if ray_constants.ENABLE_RAY_CLUSTER:  # ray was imported earlier in this session
            pytest.skip("ray was imported before its loopback-only setting could apply")
        ray.init(
            num_cpus=2,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
        try:
            assert [n["NodeManagerAddress"] for n in ray.nodes()] == ["127.0.0.1"]
            yield ray
        finally:
            ray.shutdown()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.skipif(not HAS_RAY, reason="needs ray: pip install 'embedplug[ray]'")
@pytest.mark.skipif(not HAS_OPENAI, reason="needs the embedplug-openai provider")
def test_ray_data_gives_the_same_vectors_as_embed_file(tmp_path: Path, local_ray: Any) -> None:
    import ray.data

    from embedplug.bulk.ray import embed_dataset

    source = tmp_path / "corpus.jsonl"
    rows = corpus(source)
    with StubServer("openai") as stub:
        options = {"base_url": stub.url + "/v1", "dimensions": 256}

        report = embed_file(source, tmp_path / "file.parquet", OPENAI, id_column="id", **options)
        from_file = pq.ParquetFile(tmp_path / "file.parquet").read()

        dataset = ray.data.read_json(str(source), lines=True)
        vectors = embed_dataset(
            dataset, OPENAI, id_column="id", concurrency=2, batch_size=64, **options
        )
        vectors.write_parquet(str(tmp_path / "ray"))

    assert report.rows_written == 298
    assert report.rejected == 2
    from_ray = pq.read_table(tmp_path / "ray").sort_by("id")
    assert from_ray.schema.field("id").type == from_file.schema.field("id").type == pa.string()
    assert from_ray.schema.field("vector").type == from_file.schema.field("vector").type
    assert from_ray.schema.field("vector").type == pa.list_(pa.float32(), 256)
    assert from_ray.column_names == from_file.column_names == ["id", "vector"]
    assert from_ray.column("id").to_pylist() == from_file.column("id").to_pylist()
    ray_vectors = from_ray.column("vector").combine_chunks().values.to_numpy()
    file_vectors = from_file.column("vector").combine_chunks().values.to_numpy()
    assert ray_vectors.tobytes() == file_vectors.tobytes()
    good = [r["text"] for r in rows if r["text"]]
    np.testing.assert_allclose(
        file_vectors.reshape(-1, 256), stub.expected_vectors(good, 256), atol=1e-6
    )
