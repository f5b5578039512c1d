"""Keys and base URLs: from arguments, else the provider's usual environment variables.

Keys are held as ``pydantic.SecretStr`` so that they never show in a ``repr``,
a log line or an exception.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from embedplug.errors import ConfigurationError

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["check_base_url", "resolve_api_key", "resolve_setting"]


def resolve_setting(explicit: str | None, env_names: Sequence[str]) -> str | None:
    """``explicit`` if given, else the first non-empty environment variable of ``env_names``."""
    if explicit:
        return explicit
    for name in env_names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def resolve_api_key(
    explicit: str | SecretStr | None,
    env_names: Sequence[str],
    *,
    provider: str,
    required: bool = True,
) -> SecretStr | None:
    """The API key as a ``SecretStr``; raises ``ConfigurationError`` when required and absent."""
    from pydantic import SecretStr

    if isinstance(explicit, SecretStr):
        if explicit.get_secret_value():
            return explicit
        explicit = None
    value = resolve_setting(explicit, env_names)
    if value is None:
        if required:
            where = f"set {' or '.join(env_names)}, " if env_names else ""
            raise ConfigurationError(
                f"{provider}: no API key; {where}pass api_key=... (on the command line: --api-key)"
            )
        return None
    return SecretStr(value)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, *, provider: str, allow_insecure_http: bool = False) -> str:
    """Return ``url`` without a trailing slash; refuse plain http to a non-loopback host.

    Plain ``http://`` would send the key in clear text, so it is allowed only to
    loopback addresses unless ``allow_insecure_http`` is true.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"{provider}: base URL {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{provider}: refusing plain http to {parts.hostname!r} (the key would travel "
            "in clear text); use https or pass allow_insecure_http=True"
        )
    return url.rstrip("/")
