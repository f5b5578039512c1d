"""The stub servers of ``embedplug.testing``: wire shapes, vectors, faults, recording."""

from __future__ import annotations

import base64
import http.client
import json
import math
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any, ClassVar

import httpx
import numpy as np
import orjson
import pytest

from _stub_helpers import data_url, decode_b64, embed, floats, png
from embedplug._quantize import quantize
from embedplug.errors import ConfigurationError
from embedplug.hookspecs import hookimpl
from embedplug.testing import (
    CORE_VARIANTS,
    VARIANTS,
    Fault,
    OpenAIVariant,
    StubServer,
    all_variant_names,
    get_variant,
    register_variant,
)
from embedplug.testing._registry import stub_factory
from embedplug.types import EmbeddingType, Image, Mixed


def _plugin_registered() -> bool:
    return any(
        ep.value.split(":")[0] == "embedplug.testing.pytest_plugin"
        for ep in entry_points(group="pytest11")
    )


pytest_plugins = ["pytester"]
if not _plugin_registered():
    pytest_plugins.append("embedplug.testing.pytest_plugin")


# -- helpers --------------------------------------------------------------------------


GIF = (
    b"GIF89a\x03\x00\x02\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x03\x00\x02\x00\x00\x02\x02D\x01\x00;"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(100)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


@pytest.fixture
def openai() -> Iterator[StubServer]:
    with StubServer("openai", dimensions=64) as server:
        yield server


# -- life cycle ------------------------------------------------------------------------


def test_context_manager_binds_loopback_and_stops_cleanly(client: httpx.Client) -> None:
    with StubServer("openai", dimensions=8) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.endpoint == server.url + "/v1/embeddings"
        assert embed(client, server, "hi").status_code == 200
        port = server.port
        # the client's pooled keep-alive connection stays open: stop must not wait on it
        started = time.perf_counter()
    assert time.perf_counter() - started < 2.0
    assert not server.running
    assert not [t for t in threading.enumerate() if t.name.startswith("embedplug-stub")]
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass


def test_start_stop_are_idempotent_and_restartable(client: httpx.Client) -> None:
    server = StubServer("openai", dimensions=8)
    server.stop()
    assert server.start() is server.start()
    assert embed(client, server, "a").status_code == 200
    server.stop()
    server.stop()
    with server:
        assert embed(client, server, "a").status_code == 200


def test_keep_alive_and_content_length(openai: StubServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", openai.port, timeout=5)
    try:
        body = json.dumps({"model": "m", "input": ["a"]})
        headers = {"Content-Type": "application/json"}
        ids = []
        for _ in range(3):
            conn.request("POST", "/v1/embeddings", body, headers)
            sock = conn.sock
            response = conn.getresponse()
            payload = response.read()
            assert response.status == 200
            assert response.version == 11
            assert int(response.headers["Content-Length"]) == len(payload)
            ids.append(response.headers["x-request-id"])
            assert conn.sock is sock  # the same connection served every request
    finally:
        conn.close()
    assert ids == ["req-1", "req-2", "req-3"]


def test_chunked_request_body(client: httpx.Client, openai: StubServer) -> None:
    body = orjson.dumps({"model": "m", "input": ["chunked"]})
    response = client.post(openai.endpoint, content=iter([body[:5], body[5:]]))
    assert response.status_code == 200
    assert openai.requests[0].headers["transfer-encoding"] == "chunked"
    assert openai.inputs_seen["chunked"] == 1


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="unknown stub variant"):
        StubServer("nope")
    with pytest.raises(ValueError, match="dimensions"):
        StubServer(dimensions=0)
    with pytest.raises(ValueError, match="latency"):
        StubServer(latency=-1)


# -- vectors ---------------------------------------------------------------------------


def test_openai_float_response_shape(client: httpx.Client, openai: StubServer) -> None:
    response = embed(client, openai, ["hello big world", "b"], user="u1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"object", "data", "model", "usage"}
    assert body["object"] == "list"
    assert body["model"] == "m"
    assert body["usage"] == {"prompt_tokens": 4, "total_tokens": 4}
    assert [set(d) for d in body["data"]] == [{"object", "index", "embedding"}] * 2
    assert [d["index"] for d in body["data"]] == [0, 1]
    assert all(d["object"] == "embedding" for d in body["data"])
    first = floats(body["data"][0]["embedding"])
    assert first.shape == (64,)
    assert np.array_equal(first, openai.expected_vector("hello big world"))
    assert math.isclose(float(np.linalg.norm(first)), 1.0, rel_tol=1e-5)


def test_single_string_input(client: httpx.Client, openai: StubServer) -> None:
    body = embed(client, openai, "one").json()
    assert len(body["data"]) == 1
    assert np.array_equal(floats(body["data"][0]["embedding"]), openai.expected_vector("one"))


def test_vectors_are_deterministic_and_distinct(client: httpx.Client) -> None:
    texts = [f"text {i}" for i in range(50)]
    with StubServer("openai", dimensions=128) as a, StubServer("openai", dimensions=128) as b:
        va = np.array([d["embedding"] for d in embed(client, a, texts).json()["data"]])
        vb = np.array([d["embedding"] for d in embed(client, b, texts).json()["data"]])
        again = np.array([d["embedding"] for d in embed(client, a, texts).json()["data"]])
    assert np.array_equal(va, vb)
    assert np.array_equal(va, again)
    assert np.allclose(np.linalg.norm(va, axis=1), 1.0, atol=1e-6)
    sims = va @ va.T - np.eye(len(texts))
    assert sims.max() < 0.5  # distinct texts give clearly distinct vectors


def test_batch_position_does_not_change_a_vector(openai: StubServer) -> None:
    alone = StubServer("openai", dimensions=64).expected_vector("x")
    in_batch = openai.expected_vectors(["a", "b", "x", "c"])[2]
    assert np.array_equal(alone, in_batch)


def test_base64_is_little_endian_float32(client: httpx.Client, openai: StubServer) -> None:
    body = embed(client, openai, ["a", "b"], encoding_format="base64").json()
    for item, text in zip(body["data"], ["a", "b"], strict=True):
        assert isinstance(item["embedding"], str)
        assert np.array_equal(decode_b64(item["embedding"]), openai.expected_vector(text))
    again = embed(client, openai, ["b", "a"], encoding_format="base64").json()  # cached path
    assert again["data"][0]["embedding"] == body["data"][1]["embedding"]


def test_matryoshka_truncation(client: httpx.Client) -> None:
    with StubServer("openai", dimensions=1024) as server:
        full = decode_b64(
            embed(client, server, "t", encoding_format="base64").json()["data"][0]["embedding"]
        )
        small_item = embed(client, server, "t", dimensions=256).json()["data"][0]
        small = floats(small_item["embedding"])
        assert full.shape == (1024,)
        assert small.shape == (256,)
        assert np.allclose(small, full[:256] / np.linalg.norm(full[:256]), atol=1e-6)
        assert math.isclose(float(np.linalg.norm(small)), 1.0, rel_tol=1e-5)
        assert np.array_equal(small, server.expected_vector("t", 256))
        # the 256-d vector is the same whatever the model's full dimension
        with StubServer("openai", dimensions=512) as other:
            assert np.array_equal(other.expected_vector("t", 256), small)


def test_model_dimensions(client: httpx.Client) -> None:
    with StubServer("openai") as server:
        assert server.dimensions == 1536
        large = embed(client, server, "x", model="text-embedding-3-large").json()
        assert len(large["data"][0]["embedding"]) == 3072
        assert server.dimensions_for("text-embedding-3-large") == 3072
        assert len(embed(client, server, "x").json()["data"][0]["embedding"]) == 1536


@pytest.mark.parametrize("dims", [0, 65, "8", 2.5, True])
def test_bad_dimensions(client: httpx.Client, openai: StubServer, dims: Any) -> None:
    response = embed(client, openai, "x", dimensions=dims)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "dimensions"


def test_openai_errors(client: httpx.Client) -> None:
    with StubServer("openai", dimensions=8, max_items=3) as server:
        empty = embed(client, server, ["a", ""])
        assert empty.status_code == 400
        error = empty.json()["error"]
        assert set(error) >= {"message", "type", "code"}
        assert error["type"] == "invalid_request_error"
        assert "input[1]" in error["message"]
        assert embed(client, server, ["a"] * 4).status_code == 400
        assert embed(client, server, ["a"] * 3).status_code == 200
        assert embed(client, server, []).status_code == 400
        assert embed(client, server, [1, 2]).status_code == 400
        assert embed(client, server, "a", encoding_format="int8").status_code == 400
        assert client.post(server.endpoint, json={"input": "a"}).status_code == 400
        bad_json = client.post(server.endpoint, content=b"{nope")
        assert bad_json.status_code == 400
        assert "JSON" in bad_json.json()["error"]["message"]
        missing = client.post(server.url + "/v2/embed", json={})
        assert missing.status_code == 404
        assert "error" in missing.json()
        assert client.get(server.endpoint).status_code == 405
        assert server.inputs_seen == {"a": 3}


def test_openai_default_item_limit(client: httpx.Client, openai: StubServer) -> None:
    texts = [f"t{i}" for i in range(2048)]
    body = embed(client, openai, texts, encoding_format="base64").json()
    assert len(body["data"]) == 2048
    assert embed(client, openai, [*texts, "one more"]).status_code == 400


def test_openai_floats_ignores_encoding_format(client: httpx.Client) -> None:
    with StubServer("openai-floats", dimensions=16) as server:
        item = embed(client, server, "a", encoding_format="base64").json()["data"][0]
        assert isinstance(item["embedding"], list)
        assert np.array_equal(floats(item["embedding"]), server.expected_vector("a"))


# -- cohere ------------------------------------------------------------------------------


@pytest.fixture
def cohere() -> Iterator[StubServer]:
    with StubServer("cohere") as server:
        yield server


def cohere_embed(client: httpx.Client, server: StubServer, **fields: Any) -> httpx.Response:
    body = {"model": "embed-v4.0", "input_type": "search_document", **fields}
    return client.post(server.endpoint, json=body)


def test_cohere_texts_all_types(client: httpx.Client, cohere: StubServer) -> None:
    kinds = ["float", "int8", "uint8", "binary", "ubinary", "base64"]
    texts = ["hello there", "b"]
    response = cohere_embed(
        client, cohere, texts=texts, embedding_types=kinds, output_dimension=256, truncate="END"
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "embeddings", "texts", "meta", "response_type"}
    assert body["response_type"] == "embeddings_by_type"
    assert body["texts"] == texts
    assert body["meta"] == {"api_version": {"version": "2"}, "billed_units": {"input_tokens": 3}}
    assert set(body["embeddings"]) == set(kinds)
    expected = cohere.expected_vectors(texts, 256)
    assert np.array_equal(np.asarray(body["embeddings"]["float"], dtype=np.float32), expected)
    for kind in ["int8", "uint8", "binary", "ubinary"]:
        want = quantize(expected, EmbeddingType(kind))
        assert np.array_equal(np.asarray(body["embeddings"][kind]).astype(want.dtype), want)
    b64 = np.stack([decode_b64(s) for s in body["embeddings"]["base64"]])
    assert np.array_equal(b64, expected)


def test_cohere_images(client: httpx.Client, cohere: StubServer) -> None:
    picture = png(40, 30)
    response = cohere_embed(
        client, cohere, input_type="image", images=[data_url(picture), data_url(GIF, "image/gif")]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["texts"] == []
    assert body["images"] == [
        {"width": 40, "height": 30, "format": "png", "bit_depth": 32},
        {"width": 3, "height": 2, "format": "gif", "bit_depth": 8},
    ]
    assert body["meta"]["billed_units"]["images"] == 2
    vector = floats(body["embeddings"]["float"][0])
    assert np.array_equal(vector, cohere.expected_vector(picture))
    assert np.array_equal(vector, cohere.expected_vector(Image.from_bytes(picture)))
    assert cohere.inputs_seen[StubServer.content_key(picture)] == 1
    assert StubServer.content_key(picture).startswith("image:")


def test_cohere_image_rules(client: httpx.Client, cohere: StubServer) -> None:
    one = data_url(png(2, 2))
    assert cohere_embed(client, cohere, images=[one]).status_code == 400  # needs input_type image
    both = cohere_embed(client, cohere, input_type="image", images=[one], texts=["a"])
    assert both.status_code == 400
    assert set(both.json()) == {"message"}
    v3 = {"model": "embed-english-v3.0", "input_type": "image"}
    assert client.post(cohere.endpoint, json={**v3, "images": [one]}).status_code == 200
    two_on_v3 = client.post(cohere.endpoint, json={**v3, "images": [one, one]})
    assert two_on_v3.status_code == 400
    assert "one image" in two_on_v3.json()["message"]
    assert cohere_embed(client, cohere, input_type="image", images=[one, one]).status_code == 200
    big = png(2, 2) + bytes(5 * 1024 * 1024)
    too_big = cohere_embed(client, cohere, input_type="image", images=[data_url(big)])
    assert too_big.status_code == 400
    assert "bytes" in too_big.json()["message"]
    not_image = cohere_embed(client, cohere, input_type="image", images=[data_url(b"hello")])
    assert not_image.status_code == 400
    assert (
        cohere_embed(client, cohere, input_type="image", images=["http://x/y.png"]).status_code
        == 400
    )
    jpeg = cohere_embed(client, cohere, input_type="image", images=[data_url(JPEG, "image/jpeg")])
    assert jpeg.json()["images"] == [{"width": 0, "height": 0, "format": "jpeg", "bit_depth": 24}]


def test_cohere_mixed_inputs(client: httpx.Client, cohere: StubServer) -> None:
    picture = png(4, 4)
    inputs = [
        {
            "content": [
                {"type": "text", "text": "a cat"},
                {"type": "image_url", "image_url": {"url": data_url(picture)}},
            ]
        },
        {"content": [{"type": "text", "text": "just text"}]},
    ]
    body = cohere_embed(client, cohere, inputs=inputs).json()
    vectors = np.asarray(body["embeddings"]["float"], dtype=np.float32)
    assert vectors.shape == (2, 1536)
    assert np.array_equal(vectors[0], cohere.expected_vector(["a cat", picture]))
    assert np.array_equal(
        vectors[0], cohere.expected_vector(Mixed(["a cat", Image.from_bytes(picture)]))
    )
    assert np.array_equal(vectors[1], cohere.expected_vector("just text"))
    assert body["texts"] == ["a cat", "just text"]
    assert body["meta"]["billed_units"] == {"input_tokens": 4, "images": 1}
    seen = cohere.inputs_seen
    assert seen[("a cat", StubServer.content_key(picture))] == 1
    assert seen["just text"] == 1
    assert cohere_embed(client, cohere, input_type="image", inputs=inputs).status_code == 400
    bad_block = [{"content": [{"type": "video", "text": "x"}]}]
    assert cohere_embed(client, cohere, inputs=bad_block).status_code == 400


def test_cohere_validation(client: httpx.Client, cohere: StubServer) -> None:
    assert cohere_embed(client, cohere, texts=["a"] * 96).status_code == 200
    many = cohere_embed(client, cohere, texts=["a"] * 97)
    assert many.status_code == 400
    assert "96" in many.json()["message"]
    assert (
        cohere_embed(
            client, cohere, inputs=[{"content": [{"type": "text", "text": "a"}]}] * 97
        ).status_code
        == 400
    )
    no_type = client.post(cohere.endpoint, json={"model": "embed-v4.0", "texts": ["a"]})
    assert no_type.status_code == 400
    assert "input_type" in no_type.json()["message"]
    assert cohere_embed(client, cohere, texts=["a"], output_dimension=300).status_code == 400
    assert cohere_embed(client, cohere, texts=["a"], embedding_types=["bits"]).status_code == 400
    assert cohere_embed(client, cohere, texts=["a"], truncate="MIDDLE").status_code == 400
    assert cohere_embed(client, cohere, texts=["a"], max_tokens=0).status_code == 400
    assert cohere_embed(client, cohere, texts=[""]).status_code == 400
    assert cohere_embed(client, cohere).status_code == 400
    default = cohere_embed(client, cohere, texts=["a"], max_tokens=100).json()
    assert list(default["embeddings"]) == ["float"]


def test_cohere_has_no_index_faults(cohere: StubServer) -> None:
    with pytest.raises(ValueError, match="indexed"):
        cohere.inject(Fault.shuffle())
    cohere.inject(Fault.wrong_count())  # fine


# -- auth --------------------------------------------------------------------------------


def minimal_request(variant: str) -> dict[str, Any]:
    if variant == "cohere":
        return {
            "model": "embed-v4.0",
            "input_type": "search_query",
            "inputs": [{"content": [{"type": "text", "text": "q"}]}],
        }
    return {"model": "m", "input": ["q"]}


@pytest.mark.parametrize("variant", CORE_VARIANTS)
def test_auth(client: httpx.Client, variant: str) -> None:
    with StubServer(variant, dimensions=16, api_key="sk-test") as server:
        body = minimal_request(variant)
        missing = client.post(server.endpoint, json=body)
        wrong = client.post(server.endpoint, json=body, headers={"Authorization": "Bearer nope"})
        right = client.post(server.endpoint, json=body, headers={"Authorization": "Bearer sk-test"})
    assert missing.status_code == wrong.status_code == 401
    assert right.status_code == 200, right.text
    shape = missing.json()
    if variant == "cohere":
        assert set(shape) == {"message"}
    else:
        assert shape["error"]["code"] == "invalid_api_key"
    assert missing.headers["x-request-id"] == "req-1"
    assert "sk-test" not in missing.text


def test_registry() -> None:
    assert set(CORE_VARIANTS) <= set(VARIANTS)
    with pytest.raises(ValueError, match="already registered"):
        register_variant(OpenAIVariant)
    with pytest.raises(ValueError, match="unknown stub variant 'nope'"):
        get_variant("nope")


class _FooVariant(OpenAIVariant):
    name = "foo-plugin"
    path = "/foo/embed"
    default_dimensions = 10


class _FooServer(StubServer):
    stub_options: ClassVar[dict[str, tuple[type, Any, str]]] = {"foo_level": (int, 3, "foo")}

    def __init__(self, *, foo_level: int = 3, **kwargs: Any) -> None:
        super().__init__(_FooVariant, **kwargs)
        self.foo_level = foo_level


class _FooPlugin:
    @hookimpl
    def register_stub_variants(self, register: Any) -> None:
        register(_FooVariant)
        register(_FooVariant(), name="foo-server", server=_FooServer)


def test_hook_register_stub_variants_from_a_run_time_plugin(
    register_plugin: Any, client: httpx.Client
) -> None:
    assert "foo-plugin" not in all_variant_names()
    register_plugin(_FooPlugin(), name="foo")
    assert {"foo-plugin", "foo-server"} <= set(all_variant_names())
    assert stub_factory("foo-plugin") is None
    assert stub_factory("foo-server") is _FooServer
    assert stub_factory("openai") is None
    with StubServer("foo-plugin") as server:
        assert server.endpoint.endswith("/foo/embed")
        assert len(embed(client, server, ["a"]).json()["data"][0]["embedding"]) == 10
    server = _stub_server_of(["--variant", "foo-server", "--foo-level", "7"])
    assert isinstance(server, _FooServer)
    assert server.foo_level == 7
    assert _stub_server_of(["--variant", "foo-server"]).foo_level == 3  # type: ignore[attr-defined]


def test_hook_register_stub_variants_refuses_a_name_twice(register_plugin: Any) -> None:
    class Twice:
        @hookimpl
        def register_stub_variants(self, register: Any) -> None:
            register(_FooVariant)
            register(_FooVariant)

    register_plugin(Twice(), name="twice")
    with pytest.raises(ConfigurationError, match="'foo-plugin' registered twice"):
        all_variant_names()


def _stub_server_of(argv: list[str]) -> StubServer:
    from embedplug.testing import stub

    factories = stub._factories()
    return stub._server(stub._parser(factories).parse_args(argv), factories)


def test_custom_variant(client: httpx.Client) -> None:
    class AcmeVariant(OpenAIVariant):
        name = "acme-test"
        path = "/api/embed"
        default_dimensions = 12
        max_items = 2

        def envelope(self, call: Any, data: list[dict[str, Any]], ctx: Any) -> Any:
            return {"vectors": data, "model": call.model}

    register_variant(AcmeVariant)
    try:
        with StubServer("acme-test") as server:
            body = embed(client, server, ["a", "b"]).json()
            assert set(body) == {"vectors", "model"}
            assert len(body["vectors"][0]["embedding"]) == 12
            assert embed(client, server, ["a", "b", "c"]).status_code == 400
    finally:
        del VARIANTS["acme-test"]


# -- faults ------------------------------------------------------------------------------


def test_status_fault_is_one_shot_with_headers(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.status(429, headers={"Retry-After": "2"}))
    limited = embed(client, openai, ["a"])
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert limited.headers["x-request-id"] == "req-1"
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    assert embed(client, openai, ["a"]).status_code == 200
    assert openai.inputs_seen == {"a": 1}
    assert [r.status for r in openai.requests] == [429, 200]
    assert openai.requests[0].fault is not None


def test_status_fault_times_and_fifo(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.status(500, times=2), Fault.status(503))
    assert len(openai.pending_faults) == 2
    codes = [embed(client, openai, "a").status_code for _ in range(4)]
    assert codes == [500, 500, 503, 200]
    assert openai.pending_faults == []


def test_status_fault_bodies(client: httpx.Client, openai: StubServer) -> None:
    quota = {
        "error": {
            "message": "You exceeded your current quota",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    openai.inject(
        Fault.status(429, body=quota),
        Fault.status(502, body="upstream down"),
        Fault.status(400, message="custom words", code="odd"),
        Fault.status(503, body=b"<html>", headers={"Content-Type": "text/html"}),
    )
    first = embed(client, openai, "a")
    assert first.json() == quota
    second = embed(client, openai, "a")
    assert (second.status_code, second.text) == (502, "upstream down")
    assert second.headers["content-type"].startswith("text/plain")
    third = embed(client, openai, "a").json()["error"]
    assert (third["message"], third["code"]) == ("custom words", "odd")
    fourth = embed(client, openai, "a")
    assert (fourth.headers["content-type"], fourth.text) == ("text/html", "<html>")


def test_fault_path_filter_and_clear(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.status(500, path="/elsewhere"), Fault.status(501, path="/v1/embeddings"))
    assert embed(client, openai, "a").status_code == 501
    assert embed(client, openai, "a").status_code == 200
    assert len(openai.pending_faults) == 1
    openai.inject(Fault.status(500, times=None))
    assert embed(client, openai, "a").status_code == 500
    assert embed(client, openai, "a").status_code == 500
    openai.clear_faults()
    assert embed(client, openai, "a").status_code == 200


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="times"):
        Fault.status(500, times=0)
    with pytest.raises(ValueError, match="HTTP status"):
        Fault.status(42)
    with pytest.raises(ValueError, match="fraction"):
        Fault.reset(fraction=1.0)
    with pytest.raises(ValueError, match="seconds"):
        Fault.latency(-1)
    assert repr(Fault.status(429, times=2)) == "Fault.status(429, times=2)"


def test_latency(client: httpx.Client) -> None:
    with StubServer("openai", dimensions=8, latency=0.05) as server:
        server.inject(Fault.latency(0.15))
        started = time.perf_counter()
        assert embed(client, server, "a").status_code == 200
        slow = time.perf_counter() - started
        started = time.perf_counter()
        assert embed(client, server, "a").status_code == 200
        normal = time.perf_counter() - started
    assert slow >= 0.2
    assert 0.05 <= normal < slow
    assert server.inputs_seen == {"a": 2}


def test_reset_mid_body(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.reset())
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        embed(client, openai, ["a", "b"])
    assert embed(client, openai, ["a", "b"]).status_code == 200  # a fresh connection
    assert openai.requests[0].status is None
    assert openai.inputs_seen == {"a": 1, "b": 1}


def test_reset_sends_headers_and_part_of_the_body(openai: StubServer) -> None:
    openai.inject(Fault.reset(fraction=0.25))
    with socket.create_connection(("127.0.0.1", openai.port), 5) as sock:
        body = b'{"model": "m", "input": ["a", "b", "c"]}'
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, partial = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK")
    length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    assert 0 < len(partial) < length
    assert len(partial) == int(length * 0.25)


def test_reset_abort_sends_rst(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.reset(abort=True))
    with pytest.raises(httpx.TransportError):
        embed(client, openai, ["a", "b"])
    assert embed(client, openai, ["a", "b"]).status_code == 200
    with socket.create_connection(("127.0.0.1", openai.port), 5) as sock:
        openai.inject(Fault.reset(abort=True, fraction=0.0))
        body = b'{"model": "m", "input": ["a"]}'
        sock.sendall(
            b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        with pytest.raises(ConnectionResetError):  # noqa: PT012
            while sock.recv(65536):
                pass


def test_record_false_keeps_counts_only(client: httpx.Client) -> None:
    with StubServer("openai", dimensions=8, record=False) as server:
        assert embed(client, server, ["a", "b"]).status_code == 200
        assert server.request_count == 1
        assert server.peak_in_flight == 1
        assert server.requests == []
        assert server.inputs_seen == {}


def test_disconnect(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.disconnect())
    with pytest.raises(httpx.RemoteProtocolError):
        embed(client, openai, "a")
    assert embed(client, openai, "a").status_code == 200


def test_malformed_json(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.malformed_json())
    response = embed(client, openai, ["a"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert openai.inputs_seen == {}


def test_wrong_count(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.wrong_count())
    assert len(embed(client, openai, ["a", "b", "c"]).json()["data"]) == 2
    assert openai.inputs_seen == {}


def test_shuffle_keeps_correct_indices(client: httpx.Client, openai: StubServer) -> None:
    texts = [f"t{i}" for i in range(10)]
    openai.inject(Fault.shuffle())
    data = embed(client, openai, texts, encoding_format="base64").json()["data"]
    indices = [d["index"] for d in data]
    assert indices != sorted(indices)
    assert sorted(indices) == list(range(10))
    for item in data:
        assert np.array_equal(
            decode_b64(item["embedding"]), openai.expected_vector(texts[item["index"]])
        )
    assert openai.inputs_seen == dict.fromkeys(texts, 1)  # a shuffled answer is still correct
    openai.inject(Fault.shuffle())
    two = [d["index"] for d in embed(client, openai, ["a", "b"]).json()["data"]]
    assert two == [1, 0]


def test_index_faults(client: httpx.Client, openai: StubServer) -> None:
    openai.inject(Fault.duplicate_index(), Fault.duplicate_index(), Fault.out_of_range_index())
    duplicated = [d["index"] for d in embed(client, openai, ["a", "b", "c"]).json()["data"]]
    assert duplicated == [0, 0, 2]
    single = [d["index"] for d in embed(client, openai, ["a"]).json()["data"]]
    assert single == [0, 0]
    beyond = [d["index"] for d in embed(client, openai, ["a", "b", "c"]).json()["data"]]
    assert beyond == [0, 1, 3]
    assert openai.inputs_seen == {}


def test_nan(client: httpx.Client, openai: StubServer, cohere: StubServer) -> None:
    openai.inject(Fault.nan(times=2))
    b64 = embed(client, openai, ["a", "b"], encoding_format="base64").json()["data"]
    first = decode_b64(b64[0]["embedding"])
    assert math.isnan(first[0])
    assert not np.isnan(first[1:]).any()
    assert not np.isnan(decode_b64(b64[1]["embedding"])).any()
    as_json = embed(client, openai, ["a"])
    assert b"[NaN," in as_json.content
    assert math.isnan(json.loads(as_json.text)["data"][0]["embedding"][0])
    cohere.inject(Fault.nan())
    body = json.loads(
        cohere_embed(client, cohere, texts=["a"], embedding_types=["float", "int8", "base64"]).text
    )
    assert math.isnan(body["embeddings"]["float"][0][0])
    assert math.isnan(decode_b64(body["embeddings"]["base64"][0])[0])
    assert all(isinstance(v, int) for v in body["embeddings"]["int8"][0])


def test_bad_base64(client: httpx.Client, openai: StubServer, cohere: StubServer) -> None:
    openai.inject(Fault.bad_base64(), Fault.bad_base64(mode="bytes"))
    broken = embed(client, openai, ["a", "b"], encoding_format="base64").json()["data"]
    assert len(broken[0]["embedding"]) % 4 != 0
    assert len(broken[1]["embedding"]) % 4 == 0
    short = embed(client, openai, ["a"], encoding_format="base64").json()["data"][0]["embedding"]
    assert len(short) % 4 == 0
    assert len(base64.b64decode(short)) == 64 * 4 - 2
    cohere.inject(Fault.bad_base64())
    body = cohere_embed(client, cohere, texts=["a"], embedding_types=["base64"]).json()
    assert len(body["embeddings"]["base64"][0]) % 4 != 0


def test_wrong_dimension(client: httpx.Client, openai: StubServer, cohere: StubServer) -> None:
    openai.inject(Fault.wrong_dimension(), Fault.wrong_dimension(100))
    half = embed(client, openai, ["a", "b"], encoding_format="base64").json()["data"]
    assert [decode_b64(d["embedding"]).shape for d in half] == [(32,), (32,)]
    more = embed(client, openai, ["a"]).json()["data"]
    assert len(more[0]["embedding"]) == 100
    cohere.inject(Fault.wrong_dimension())
    body = cohere_embed(client, cohere, texts=["a"], embedding_types=["float", "ubinary"]).json()
    assert len(body["embeddings"]["float"][0]) == 768
    assert len(body["embeddings"]["ubinary"][0]) == 96
    assert openai.inputs_seen == {}
    assert cohere.inputs_seen == {}


def test_cohere_wrong_count(client: httpx.Client, cohere: StubServer) -> None:
    cohere.inject(Fault.wrong_count())
    body = cohere_embed(client, cohere, texts=["a", "b"], embedding_types=["float", "int8"]).json()
    assert len(body["embeddings"]["float"]) == len(body["embeddings"]["int8"]) == 1


def test_data_fault_is_consumed_by_a_refused_request(
    client: httpx.Client, openai: StubServer
) -> None:
    openai.inject(Fault.wrong_count())
    assert embed(client, openai, [""]).status_code == 400
    assert len(embed(client, openai, ["a", "b"]).json()["data"]) == 2


# -- recording ---------------------------------------------------------------------------


def test_recording_and_reset(client: httpx.Client, openai: StubServer) -> None:
    client.post(openai.endpoint, json={"model": "m", "input": ["a", "b"]}, headers={"X-Trace": "1"})
    embed(client, openai, ["b", "c"])
    assert openai.request_count == 2
    first = openai.requests[0]
    assert (first.method, first.path) == ("POST", "/v1/embeddings")
    assert first.headers["x-trace"] == "1"
    assert first.json == {"model": "m", "input": ["a", "b"]}
    assert orjson.loads(first.body) == first.json
    assert first.request_id == "req-1"
    assert first.status == 200
    assert openai.inputs_seen == {"a": 1, "b": 2, "c": 1}
    assert openai.peak_in_flight == 1
    openai.reset_stats()
    assert (openai.request_count, openai.requests, openai.inputs_seen) == (0, [], {})
    embed(client, openai, "d")
    assert openai.requests[0].request_id == "req-3"  # ids stay unique


def test_peak_in_flight_and_thread_safety() -> None:
    texts = [f"t{i}" for i in range(5)]
    ready = threading.Barrier(len(texts))
    with StubServer("openai", dimensions=8, latency=0.2) as server:

        def worker(text: str) -> None:
            with httpx.Client(timeout=10) as c:
                ready.wait(5)
                assert embed(c, server, [text, "shared"]).status_code == 200

        threads = [threading.Thread(target=worker, args=(t,)) for t in texts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.peak_in_flight == len(texts)
        deadline = time.monotonic() + 2
        while server.in_flight and time.monotonic() < deadline:  # handlers finish after sending
            time.sleep(0.01)
        assert server.in_flight == 0
        assert server.request_count == len(texts)
        assert server.inputs_seen == {**dict.fromkeys(texts, 1), "shared": len(texts)}


def test_many_concurrent_requests_are_all_counted() -> None:
    with StubServer("openai", dimensions=8) as server:

        def worker(k: int) -> None:
            with httpx.Client(timeout=10) as c:
                for j in range(20):
                    assert embed(c, server, [f"{k}-{j}"]).status_code == 200

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.request_count == 120
        assert len(server.requests) == 120
        assert len(server.inputs_seen) == 120
        assert {r.request_id for r in server.requests} == {f"req-{n}" for n in range(1, 121)}


# -- command line and pytest plugin ---------------------------------------------------


@pytest.mark.slow
def test_command_line_rejects_unknown_variant() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "embedplug.testing.stub", "--variant", "nope"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_stub_server_fixture(stub_server: Any, client: httpx.Client) -> None:
    server = stub_server("cohere", dimensions=16)
    other = stub_server(variant="openai", latency=0.0)
    assert server.running
    assert other.running
    assert server.port != other.port
    assert cohere_embed(client, server, texts=["a"], output_dimension=None).status_code == 200


@pytest.mark.slow
def test_stub_server_fixture_stops_servers(pytester: pytest.Pytester) -> None:
    conftest = (
        "" if _plugin_registered() else 'pytest_plugins = ["embedplug.testing.pytest_plugin"]\n'
    )
    pytester.makeconftest(conftest)
    pytester.makepyfile(
        """
        SERVERS = []

        def test_start(stub_server):
            SERVERS.append(stub_server("openai", dimensions=8))
            SERVERS.append(stub_server("cohere"))
            assert all(s.running for s in SERVERS)

        def test_stopped():
            assert len(SERVERS) == 2
            assert not any(s.running for s in SERVERS)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
