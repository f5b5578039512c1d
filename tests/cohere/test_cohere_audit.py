"""Issue 14, Cohere: input_type against the payload, response metadata, embed jobs' base64."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from click.testing import CliRunner

import embedplug
from _stub_helpers import png_image as png
from embedplug import InvalidInputError, Mixed
from embedplug._api import Embedder
from embedplug.provider import Batch
from embedplug.testing import StubServer
from embedplug.types import EmbeddingType
from embedplug_cohere._provider import CohereProvider
from embedplug_cohere._stub import CohereJobsStub
from embedplug_cohere.jobs import EmbedJobsClient

KEY = "co-audit-key"
JOBS_MODEL = "embed-english-v3.0"


@pytest.fixture
def server() -> Iterator[StubServer]:
    with StubServer("cohere", api_key=KEY) as s:
        yield s


def cohere(server: StubServer, model: str = "embed-v4.0") -> Embedder:
    return embedplug.embedder(f"cohere:{model}", base_url=server.url, api_key=KEY)


# -- item 6: input_type against the payload ----------------------------------------


@pytest.mark.parametrize("model", ["embed-v4.0", "embed-english-v3.0"])
def test_texts_with_input_type_image_are_refused_before_any_request(
    server: StubServer, model: str
) -> None:
    with cohere(server, model) as e, pytest.raises(InvalidInputError, match="texts") as info:
        e.embed([png(), "a caption"], input_type="image")
    assert info.value.position == 1
    assert server.request_count == 0


def test_mixed_inputs_with_input_type_image_are_refused_before_any_request(
    server: StubServer,
) -> None:
    with cohere(server) as e, pytest.raises(InvalidInputError, match="mixed") as info:
        e.embed([png(), Mixed(["a caption", png(seed=1)])], input_type="image")
    assert info.value.position == 1
    assert server.request_count == 0


def test_v3_images_only_with_input_type_image(server: StubServer) -> None:
    with cohere(server, "embed-english-v3.0") as e:
        with pytest.raises(InvalidInputError, match="image") as info:
            e.embed(["a text", png()], input_type="search_query")
        assert info.value.position == 1
        assert server.request_count == 0
        e.embed([png()])  # no input_type: "image" is set for images
        e.embed([png()], input_type="image")
    assert [r.json["input_type"] for r in server.requests] == ["image", "image"]


def test_v4_image_with_a_search_input_type_keeps_it_through_inputs(server: StubServer) -> None:
    image = png()
    with cohere(server) as e:
        result = e.embed([image], input_type="search_query")
    body = server.requests[0].json
    assert body["input_type"] == "search_query"  # what was asked, not silently "image"
    assert body["inputs"] == [
        {"content": [{"type": "image_url", "image_url": {"url": image.to_data_url()}}]}
    ]
    assert "images" not in body
    assert result.embeddings.shape == (1, 1536)


# -- item 11: response metadata ----------------------------------------------------


def test_texts_api_version_and_billed_units_reach_result_meta(server: StubServer) -> None:
    with cohere(server) as e:
        result = e.embed(["one text", "another text"], input_type="search_document")
    (batch,) = result.meta["batches"]
    assert batch["texts"] == ["one text", "another text"]
    assert batch["api_version"] == {"version": "2"}
    assert batch["billed_units"]["input_tokens"] == result.usage.input_tokens > 0


def test_tokens_cached_tokens_model_and_warnings_are_kept() -> None:
    provider = CohereProvider(api_key=KEY, base_url="https://api.example.com")
    model = provider.model_info("embed-v4.0")
    batch = Batch(number=0, positions=[0], inputs=["x"], model=model)
    body = {
        "id": "r-1",
        "embeddings": {"base64": [base64.b64encode(np.ones(4, "<f4").tobytes()).decode()]},
        "texts": ["x"],
        "model": "embed-v4.0",
        "meta": {
            "api_version": {"version": "2", "is_experimental": False},
            "billed_units": {"input_tokens": 3},
            "tokens": {"input_tokens": 3, "output_tokens": 0},
            "cached_tokens": 2,
            "warnings": ["a warning"],
        },
    }
    response = httpx.Response(200, content=orjson.dumps(body))
    result = provider.parse_response(response, batch)
    assert result.meta["model"] == "embed-v4.0"
    assert result.meta["texts"] == ["x"]
    assert result.meta["tokens"] == {"input_tokens": 3, "output_tokens": 0}
    assert result.meta["cached_tokens"] == 2
    assert result.meta["billed_units"] == {"input_tokens": 3}
    assert result.meta["api_version"]["version"] == "2"
    assert result.meta["warnings"] == ["a warning"]
    assert result.usage.input_tokens == 3


def _jobs_transport(meta: dict[str, Any]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/embed-jobs"
        return httpx.Response(200, json={"job_id": "job-1", "meta": meta})

    return httpx.MockTransport(handler)


def test_embed_job_create_keeps_meta_and_logs_warnings_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    meta = {
        "api_version": {"version": "1"},
        "billed_units": {"input_tokens": 0},
        "warnings": ["model embed-english-v2.0 is deprecated"],
    }
    client = EmbedJobsClient(
        api_key=KEY, base_url="https://api.example.com", transport=_jobs_transport(meta)
    )
    with client, caplog.at_level(logging.WARNING, logger="embedplug_cohere.jobs"):
        job = client.create_job(JOBS_MODEL, "dataset-1", "search_document")
    assert job == "job-1"  # still the id, as before
    assert job.job_id == "job-1"
    assert job.meta["api_version"] == {"version": "1"}
    assert job.warnings == ("model embed-english-v2.0 is deprecated",)
    records = [r for r in caplog.records if "deprecated" in r.getMessage()]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING


# -- item 15: embed jobs take base64, refuse image ---------------------------------


@pytest.fixture
def jobs_stub() -> Iterator[CohereJobsStub]:
    with CohereJobsStub(api_key=KEY, job_polls=0, validation_polls=0) as stub:
        yield stub


def test_embed_job_base64_is_sent_and_decoded_as_floats(jobs_stub: CohereJobsStub) -> None:
    texts = ["first document", "second document", "third"]
    with EmbedJobsClient(api_key=KEY, base_url=jobs_stub.url) as client:
        client.sleep = lambda seconds: None
        result = client.embed_dataset(
            texts, model=JOBS_MODEL, embedding_types=["base64"], poll_interval=0
        )
    created = [r for r in jobs_stub.requests if r.path == "/v1/embed-jobs"]
    assert created[-1].json["embedding_types"] == ["base64"]
    floats = result.vectors[EmbeddingType.FLOAT]
    assert floats.dtype == np.float32
    np.testing.assert_array_equal(floats, jobs_stub.expected_vectors(texts, model=JOBS_MODEL))


def test_embed_job_input_type_image_is_refused_before_any_request(
    jobs_stub: CohereJobsStub,
) -> None:
    with EmbedJobsClient(api_key=KEY, base_url=jobs_stub.url) as client:
        with pytest.raises(InvalidInputError, match="image datasets"):
            client.create_job(JOBS_MODEL, "dataset-1", "image")
        with pytest.raises(InvalidInputError, match="image datasets"):
            client.embed_dataset(["x"], model=JOBS_MODEL, input_type="image")
    assert jobs_stub.request_count == 0


def test_cli_create_offers_base64_and_not_image(
    jobs_stub: CohereJobsStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from embedplug.cli import _load_plugin_commands, cli

    _load_plugin_commands()
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    env = {"CO_API_KEY": KEY, "CO_API_URL": jobs_stub.url, "COHERE_API_KEY": ""}
    runner = CliRunner(env=env)
    base = ["cohere", "jobs", "create", "a text", "-m", JOBS_MODEL, "--poll-interval", "0"]
    refused = runner.invoke(cli, [*base, "--input-type", "image"])
    assert refused.exit_code != 0
    assert "image" in refused.output
    assert jobs_stub.request_count == 0
    created = runner.invoke(cli, [*base, "--type", "base64"])
    assert created.exit_code == 0, created.output
    job_id = created.stdout.strip().splitlines()[-1]
    assert jobs_stub.job(job_id)["job_id"] == job_id
    assert [r for r in jobs_stub.requests if r.path == "/v1/embed-jobs"][-1].json[
        "embedding_types"
    ] == ["base64"]


def test_embed_dataset_returns_the_create_warnings_and_logs_them_once(
    jobs_stub: CohereJobsStub, caplog: pytest.LogCaptureFixture
) -> None:
    jobs_stub.create_warnings = ["this model will be retired"]
    with (
        EmbedJobsClient(api_key=KEY, base_url=jobs_stub.url) as client,
        caplog.at_level(logging.WARNING, logger="embedplug_cohere.jobs"),
    ):
        client.sleep = lambda seconds: None
        result = client.embed_dataset(["a text"], model=JOBS_MODEL, poll_interval=0)
    assert result.meta["warnings"] == ["this model will be retired"]
    assert [r.getMessage() for r in caplog.records if "retired" in r.getMessage()] == [
        f"embed job {result.job_id}: this model will be retired"
    ]
