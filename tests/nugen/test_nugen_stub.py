"""The ``nugen`` stub variant (``embedplug_nugen._stub``), registered through the
``register_stub_variants`` hook: wire shapes, vectors, limits, auth."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from _stub_helpers import auth_responses, embed, floats
from embedplug.testing import StubServer, all_variant_names, get_variant


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_hook_register_stub_variants_adds_nugen() -> None:
    from embedplug_nugen._stub import NugenVariant

    assert "nugen" in all_variant_names()
    assert type(get_variant("nugen")) is NugenVariant


def test_auth(client: httpx.Client) -> None:
    missing, _ = auth_responses(client, "nugen", {"model": "m", "input": ["q"]})
    assert isinstance(missing.json()["detail"], str)


# -- nugen -------------------------------------------------------------------------------


def test_nugen_shape_and_errors(client: httpx.Client) -> None:
    with StubServer("nugen", dimensions=32) as server:
        assert server.endpoint.endswith("/api/v3/inference/embeddings")
        body = embed(client, server, ["a b c"], model="nugen-flash-embed").json()
        assert set(body) == {"id", "object", "data", "model", "created", "usage"}
        assert body["id"].startswith("embed-")
        assert body["object"] == "embedding"
        assert isinstance(body["created"], float)
        assert body["usage"] == {"total_tokens": 3}
        assert set(body["data"][0]) == {"object", "embedding", "index"}
        assert np.array_equal(floats(body["data"][0]["embedding"]), server.expected_vector("a b c"))
        as_b64 = embed(client, server, "a", encoding_format="base64").json()
        assert isinstance(as_b64["data"][0]["embedding"], list)  # floats only
        assert len(embed(client, server, "a", dimensions=16).json()["data"][0]["embedding"]) == 16
        for bad in ([], "", ["a", ""]):
            response = embed(client, server, bad)
            assert response.status_code == 422
            detail = response.json()["detail"]
            assert detail[0]["loc"] == ["body", "input"]
            assert detail[0]["type"] == "value_error"
            assert detail[0]["msg"]


@pytest.mark.slow
def test_command_line_server() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "embedplug.testing.stub",
            "--variant",
            "nugen",
            "--dimensions",
            "24",
            "--port",
            "0",
            "--latency-ms",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client() as c:
            response = c.post(
                url + "/api/v3/inference/embeddings", json={"model": "m", "input": "x"}
            )
        assert len(response.json()["data"][0]["embedding"]) == 24
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
