"""Keys never show: not in a repr, an exception, a traceback or a log line (at DEBUG)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import SecretStr

import embedplug
from embedplug._api import Embedder
from embedplug.errors import AuthenticationError, ConfigurationError
from embedplug.protocols import OpenAIEmbeddingsProvider
from embedplug.provider import ModelInfo
from embedplug.testing import StubServer

GOOD_KEY = "sk-good-4f9a1c7e5b3d2e8f0a6b"
WRONG_KEY = "sk-wrong-0c8e2a4f6b1d3e5f7a9c"

MakeEmbedder = Callable[..., tuple[Any, Any]]


def _assert_absent(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert secret[-8:] not in text  # not even a tail of it


def test_key_is_a_secret_str_and_absent_from_reprs(fake_openai_class: Any) -> None:
    provider = fake_openai_class(api_key=GOOD_KEY)
    assert isinstance(provider.api_key, SecretStr)
    assert provider.api_key.get_secret_value() == GOOD_KEY
    embedder = Embedder(provider, provider.known_models()[0])
    for text in (repr(provider), str(provider), repr(embedder), repr(vars(provider))):
        _assert_absent(text, GOOD_KEY)
    # the key is really there, where it belongs: the request's header
    assert provider.auth_headers()["authorization"] == f"Bearer {GOOD_KEY}"


def test_key_from_the_environment_is_a_secret_str(
    fake_openai_class: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_OPENAI_API_KEY", GOOD_KEY)
    provider = fake_openai_class()
    assert isinstance(provider.api_key, SecretStr)
    assert provider.api_key.get_secret_value() == GOOD_KEY
    _assert_absent(repr(provider), GOOD_KEY)


def test_missing_key_error_names_the_variable(
    fake_openai_class: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAKE_OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="set FAKE_OPENAI_API_KEY, pass api_key="):
        fake_openai_class()


def test_401_from_mock_transport_does_not_show_the_key(make_embedder: MakeEmbedder) -> None:
    embedder, server = make_embedder()
    server.status = 401
    with pytest.raises(AuthenticationError) as info:
        embedder.embed(["text"])
    error = info.value
    assert error.status == 401
    assert error.provider == "fake-openai"
    assert "Incorrect API key provided" in str(error)
    # the key was sent (so it could have leaked) ...
    assert (
        server.requests[0]
        .headers["authorization"]
        .endswith(embedder.provider.api_key.get_secret_value())
    )
    key = embedder.provider.api_key.get_secret_value()
    # ... and shows nowhere in the error
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    for shown in (str(error), repr(error), repr(vars(error)), text):
        _assert_absent(shown, key)


class StubbedOpenAI(OpenAIEmbeddingsProvider):
    name: ClassVar[str] = "stubbed-openai"
    default_model: ClassVar[str] = "text-embedding-3-small"

    @classmethod
    def known_models(cls) -> Sequence[ModelInfo]:
        return ()


def _every_logged_text(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        lines.append(repr(record.args))
        lines.append(repr(record.__dict__))
    return "\n".join(lines) + caplog.text


def test_keys_absent_from_debug_logs_of_real_http(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = ModelInfo(name="text-embedding-3-small", dimensions=32)
    with StubServer("openai", api_key=GOOD_KEY, dimensions=32) as server:
        base_url = server.url + "/v1"
        with Embedder(StubbedOpenAI(api_key=GOOD_KEY, base_url=base_url), model) as good:
            assert good.embed(["one", "two"]).embeddings.shape == (2, 32)  # the key works
        wrong = Embedder(StubbedOpenAI(api_key=WRONG_KEY, base_url=base_url), model)
        with wrong, pytest.raises(AuthenticationError) as info:
            wrong.embed(["three"])
        assert server.request_count == 2
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"httpx", "httpcore", "embedplug"} <= loggers  # the noisy loggers were captured
    logged = _every_logged_text(caplog)
    assert "401" in logged
    _assert_absent(logged, GOOD_KEY, WRONG_KEY)
    error = info.value
    for shown in (str(error), repr(error), "".join(traceback.format_exception(error))):
        _assert_absent(shown, GOOD_KEY, WRONG_KEY)


def test_connection_failure_messages_do_not_show_the_key(fake_openai_class: Any) -> None:
    provider = fake_openai_class(api_key=GOOD_KEY)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    embedder = Embedder(
        provider,
        provider.known_models()[0],
        transport=httpx.MockTransport(refuse),
        retry=embedplug.RetryPolicy(max_attempts=1),
    )
    with embedder, pytest.raises(embedplug.ConnectionFailedError) as info:
        embedder.embed(["x"])
    text = "".join(traceback.format_exception(info.value))
    _assert_absent(text, GOOD_KEY)
