"""``embedplug.settings``: base URLs (no plain http off loopback) and keys (as ``SecretStr``)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from embedplug.errors import ConfigurationError
from embedplug.settings import check_base_url, resolve_api_key, resolve_setting

ENV = ("ACME_API_KEY", "ACME_KEY", "LEGACY_ACME_TOKEN")


@pytest.fixture(autouse=True)
def _no_acme_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.example.com/v1", "https://api.example.com/v1"),
        ("https://api.example.com/v1/", "https://api.example.com/v1"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://embed.localhost:8080/", "http://embed.localhost:8080"),
        ("http://127.0.0.1:9000/v1", "http://127.0.0.1:9000/v1"),
        ("http://127.8.9.10", "http://127.8.9.10"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_https_and_loopback_http_are_accepted(url: str, expected: str) -> None:
    assert check_base_url(url, provider="acme") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.example.com/v1",
        "http://10.0.0.5:8080",
        "http://192.168.1.20",
        "http://[2001:db8::1]:80",
        "http://localhost.example.com",
    ],
)
def test_plain_http_to_other_hosts_is_refused_unless_allowed(url: str) -> None:
    with pytest.raises(ConfigurationError, match="refusing plain http") as info:
        check_base_url(url, provider="acme")
    assert str(info.value).startswith("acme: ")
    assert "allow_insecure_http=True" in str(info.value)
    assert check_base_url(url, provider="acme", allow_insecure_http=True) == url.rstrip("/")


@pytest.mark.parametrize("url", ["ftp://example.com", "example.com/v1", "https://", "file:///x"])
def test_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="is not an http"):
        check_base_url(url, provider="acme", allow_insecure_http=True)


def test_provider_constructor_applies_the_url_check(fake_openai_class: Any) -> None:
    with pytest.raises(ConfigurationError, match="refusing plain http"):
        fake_openai_class(api_key="k", base_url="http://embeddings.internal/v1")
    provider = fake_openai_class(
        api_key="k", base_url="http://embeddings.internal/v1/", allow_insecure_http=True
    )
    assert provider.base_url == "http://embeddings.internal/v1"


def test_base_url_from_environment_then_default(
    fake_openai_class: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fake_openai_class(api_key="k").base_url == "https://fake-openai.invalid/v1"
    monkeypatch.setenv("FAKE_OPENAI_BASE_URL", "https://proxy.example.com/v1")
    assert fake_openai_class(api_key="k").base_url == "https://proxy.example.com/v1"
    explicit = fake_openai_class(api_key="k", base_url="https://other.example.com")
    assert explicit.base_url == "https://other.example.com"


def test_explicit_key_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_KEY", "from-env")
    key = resolve_api_key("explicit", ENV, provider="acme")
    assert isinstance(key, SecretStr)
    assert key.get_secret_value() == "explicit"


def test_environment_variables_are_read_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEGACY_ACME_TOKEN", "third")
    assert _secret(resolve_api_key(None, ENV, provider="acme")) == "third"
    monkeypatch.setenv("ACME_KEY", "second")
    assert _secret(resolve_api_key(None, ENV, provider="acme")) == "second"
    monkeypatch.setenv("ACME_API_KEY", "first")
    assert _secret(resolve_api_key(None, ENV, provider="acme")) == "first"


def test_empty_variables_and_arguments_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_API_KEY", "")
    monkeypatch.setenv("ACME_KEY", "second")
    assert _secret(resolve_api_key("", ENV, provider="acme")) == "second"
    assert _secret(resolve_api_key(SecretStr(""), ENV, provider="acme")) == "second"


def test_secret_str_argument_is_kept() -> None:
    given = SecretStr("s3cret")
    assert resolve_api_key(given, ENV, provider="acme") is given


def test_missing_key_names_every_variable_and_not_required_gives_none() -> None:
    with pytest.raises(
        ConfigurationError,
        match="acme: no API key; set ACME_API_KEY or ACME_KEY or LEGACY_ACME_TOKEN, pass api_key",
    ):
        resolve_api_key(None, ENV, provider="acme")
    with pytest.raises(
        ConfigurationError,
        match=r"no API key; pass api_key=\.\.\. \(on the command line: --api-key\)",
    ):
        resolve_api_key(None, (), provider="acme")
    assert resolve_api_key(None, ENV, provider="acme", required=False) is None


def test_resolve_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_setting(None, ENV) is None
    monkeypatch.setenv("ACME_KEY", "env")
    assert resolve_setting(None, ENV) == "env"
    assert resolve_setting("arg", ENV) == "arg"


def _secret(value: SecretStr | None) -> str:
    assert isinstance(value, SecretStr)
    return value.get_secret_value()
