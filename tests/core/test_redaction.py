"""A key the provider echoes back never reaches an error or a log record.

A real socket server (so that httpx's and httpcore's DEBUG logging runs, which
prints response headers) answers every request with 401, 403 or 429 and echoes
the caller's secrets: the key in full and masked (``sk-abc...wxyz``, as OpenAI
does), a secret header's value, and the key again in the request-id header.
Every provider's error path is driven through a whole failing call, and the
key must show in no ``str``, ``repr``, ``args``, traceback or log record.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest

import embedplug
from embedplug.errors import (
    AuthenticationError,
    EmbedplugError,
    PermissionDeniedError,
    ProviderError,
    RateLimitError,
)

KEY = "sk-echo-Kq7Rv2Lm9Tx4Wz6Pn3HsQZXJ"
HEADER_SECRET = "hdr-Vb8Nc5Xd2Fg7Jk4MpWQYU"
SECRETS = (KEY, HEADER_SECRET)
STATUS_CLASS: dict[int, type[ProviderError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    429: RateLimitError,
}


def _fragments(secret: str) -> list[str]:
    """What must never show: every 8-character piece of the secret, and its last 4."""
    return [secret[i : i + 8] for i in range(len(secret) - 7)] + [secret[-4:]]


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        for piece in _fragments(secret):
            assert piece not in text, f"{piece!r} (part of a secret) shows in {where}: {text!r}"


class _EchoServer:
    """Answers every request with ``status`` and echoes the secrets it was sent."""

    def __init__(self) -> None:
        self.status = 401
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep stderr quiet
                pass

            def _answer(self) -> None:
                outer.requests += 1
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                auth = self.headers.get("authorization", "")
                key = auth.partition(" ")[2] or "none"
                header = self.headers.get("x-api-key", "none")
                message = (
                    f"Incorrect API key provided: {key}. Masked: {key[:6]}...{key[-4:]} "
                    f"or {key[:10]}{'*' * 20}{key[-4:]}; header {header}"
                )
                body = orjson.dumps(
                    {"error": {"message": message, "type": "invalid_request_error", "key": key}}
                )
                self.send_response(outer.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.send_header("x-request-id", f"req-{key}")
                self.send_header("x-echo", f"{key} {header}")
                if outer.status == 429:
                    self.send_header("retry-after", "0")
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _EchoServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def echo() -> Iterator[_EchoServer]:
    with _EchoServer() as server:
        yield server


_RETRY = embedplug.RetryPolicy(max_attempts=2, initial_backoff=0.0, jitter=0.0)
_COMMON: dict[str, Any] = {
    "api_key": KEY,
    "headers": {"x-api-key": HEADER_SECRET},
    "retry": _RETRY,
}

# model id, base URL suffix, input
PROVIDERS: dict[str, tuple[str, str, Any]] = {
    "openai": ("openai:text-embedding-3-small", "/v1", "text"),
    "cohere": ("cohere:embed-v4.0", "", "text"),
    "heroku": ("heroku:cohere-embed-multilingual", "", "text"),
    "nugen": ("nugen:nugen-flash-embed", "", "text"),
    "ig1-qwen": ("ig1:qwen3-vl-embedding-8b", "", "text"),
    "ig1-bge": ("ig1:bge-m3", "", "text"),
}


def _texts(error: BaseException, caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    shown = {
        "str(error)": str(error),
        "repr(error)": repr(error),
        "error.args": repr(error.args),
        "vars(error)": repr(vars(error)),
        "traceback": "".join(traceback.format_exception(error)),
    }
    for i, record in enumerate(caplog.records):
        shown[f"log record {i} ({record.name})"] = (
            record.getMessage() + repr(record.args) + repr(record.__dict__)
        )
    shown["caplog.text"] = caplog.text
    return shown


def _check_call(
    run: Callable[[], Any], status: int, caplog: pytest.LogCaptureFixture
) -> BaseException:
    caplog.clear()
    with caplog.at_level(logging.DEBUG), pytest.raises(EmbedplugError) as info:
        run()
    error = info.value
    typed = error.errors[0] if isinstance(error, embedplug.BatchFailedError) else error
    assert isinstance(typed, STATUS_CLASS[status])
    assert "Incorrect API key provided" in str(typed)  # the message survives, minus the key
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"httpx", "httpcore"} <= loggers  # the noisy loggers ran and were captured
    for where, text in _texts(error, caplog).items():
        _assert_clean(text, where)
    return typed


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_echoed_secrets_never_reach_errors_or_logs(
    provider: str, status: int, echo: _EchoServer, caplog: pytest.LogCaptureFixture
) -> None:
    model, suffix, item = PROVIDERS[provider]
    echo.status = status
    embedder = embedplug.embedder(model, base_url=echo.url + suffix, **_COMMON)
    with embedder:
        _check_call(lambda: embedder.embed([item]), status, caplog)


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
def test_echoed_secrets_never_reach_async_errors(
    status: int, echo: _EchoServer, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    echo.status = status
    embedder = embedplug.embedder("openai:text-embedding-3-small", base_url=echo.url, **_COMMON)

    async def run() -> None:
        async with embedder:
            await embedder.aembed(["text"])

    _check_call(lambda: asyncio.run(run()), status, caplog)


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
def test_cohere_jobs_client_redacts_echoed_secrets(
    status: int, echo: _EchoServer, caplog: pytest.LogCaptureFixture
) -> None:
    from embedplug_cohere.jobs import EmbedJobsClient

    echo.status = status
    client = EmbedJobsClient(
        api_key=KEY,
        base_url=echo.url,
        headers={"x-api-key": HEADER_SECRET},
        retry=_RETRY,
    )
    client.sleep = lambda seconds: None
    with client:
        _check_call(lambda: client.get_job("job-1"), status, caplog)
        _check_call(lambda: client.create_job("embed-v4.0", "dataset-1"), status, caplog)


@pytest.mark.parametrize("status", sorted(STATUS_CLASS))
def test_async_cohere_jobs_client_redacts_echoed_secrets(
    status: int, echo: _EchoServer, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    from embedplug_cohere.jobs import AsyncEmbedJobsClient

    echo.status = status

    async def run() -> None:
        async with AsyncEmbedJobsClient(
            api_key=KEY, base_url=echo.url, headers={"x-api-key": HEADER_SECRET}, retry=_RETRY
        ) as client:
            client.sleep = _no_sleep
            await client.list_jobs()

    _check_call(lambda: asyncio.run(run()), status, caplog)


async def _no_sleep(seconds: float) -> None:
    return None


# ---------------------------------------------------------------------------- the rule


def test_redaction_rule_full_partial_and_masked_echoes() -> None:
    from embedplug._redact import Redactor

    key = "sk-proj-AbCdEfGh12345678WxYz"
    redact = Redactor([key]).text
    # the whole key, anywhere
    assert key not in redact(f"key={key}!")
    # any 8 consecutive characters of it (a truncated or partly shown key)
    assert "12345678" not in redact("you sent 12345678 and more")
    assert "EfGh1234" not in redact("...EfGh1234...")
    # a masked echo: a visible head and/or tail around a run of * or ...
    for masked in (
        "sk-proj-Ab****WxYz",
        "sk-pro...WxYz",
        "****WxYz",
        "sk-proj…WxYz",
        "sk-p***",
    ):
        out = redact(f"Incorrect API key provided: {masked}.")
        assert "WxYz" not in out, out
        assert "sk-p" not in out, out
        assert out.startswith("Incorrect API key provided: [REDACTED]")
    # what is not the key stays: short common fragments, other masked tokens
    assert (
        redact("sk- keys look like sk-...; see the docs")
        == "sk- keys look like sk-...; see the docs"
    )
    assert redact("token ab***cd is not yours") == "token ab***cd is not yours"
    assert redact("nothing secret here") == "nothing secret here"
    # redacting twice changes nothing more
    once = redact(f"{key} and {key[:12]}")
    assert redact(once) == once


def test_short_secrets_are_redacted_only_whole() -> None:
    from embedplug._redact import Redactor

    redact = Redactor(["abc12"]).text
    assert redact("key abc12 refused") == "key [REDACTED] refused"
    assert redact("xabc12y") == "xabc12y"  # part of a longer word: not this secret


def test_redactor_walks_bodies() -> None:
    from embedplug._redact import Redactor

    redact = Redactor([KEY]).value
    body = {"error": {"message": f"bad {KEY}", "list": [KEY, 3]}, "n": 1}
    cleaned = redact(body)
    _assert_clean(repr(cleaned), "body")
    assert cleaned["n"] == 1
    assert cleaned["error"]["list"][1] == 3
    assert body["error"]["message"] == f"bad {KEY}"  # the original is not modified


def test_provider_secrets_include_key_and_secret_headers() -> None:
    from embedplug_openai import OpenAIProvider

    provider = OpenAIProvider(
        api_key=KEY,
        headers={"X-Api-Key": HEADER_SECRET, "Proxy-Authorization": "Basic dXNlcjpwYXNzd29yZA=="},
        organization="org-public",
    )
    found = provider.secrets()
    assert KEY in found
    assert HEADER_SECRET in found
    assert "dXNlcjpwYXNzd29yZA==" in found
    assert "org-public" not in found  # an organization id is not a secret


def test_an_unhashable_provider_is_still_covered_by_the_log_filter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from embedplug.protocols import OpenAIEmbeddingsProvider

    class Unhashable(OpenAIEmbeddingsProvider):
        name = "unhashable"
        default_model = "m"
        __hash__ = None  # type: ignore[assignment]  # as a dataclass with eq=True

        @classmethod
        def known_models(cls) -> list[Any]:
            return []

    provider = Unhashable(api_key=KEY, base_url="https://example.com")
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("httpcore.http11").debug("headers: x-request-id=%s", KEY)
    assert provider.api_key is not None
    _assert_clean(caplog.text, "httpcore's log")
    assert "[REDACTED]" in caplog.text
