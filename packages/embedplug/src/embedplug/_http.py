"""Small helpers for reading HTTP responses: error messages, request ids, Retry-After."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from embedplug.errors import (
    _ERROR_CODE_STATUSES,
    ConnectionFailedError,
    ErrorEnvelopeError,
    ProviderError,
    ResponseFormatError,
    TimeoutError,
    error_for_status,
)

if TYPE_CHECKING:
    import httpx

_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "cf-ray", "x-trace-id")


def transport_error(exc: httpx.HTTPError, provider: str) -> ProviderError:
    """The embedplug error for an httpx failure: a timeout, a refused or reset connection
    (both retried), or an answer httpx could not decode (not retried)."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(f"request timed out ({type(exc).__name__})", provider=provider)
    if isinstance(exc, httpx.TransportError):
        return ConnectionFailedError(
            f"connection failed: {type(exc).__name__}: {exc}", provider=provider
        )
    return ResponseFormatError(
        f"unreadable response: {type(exc).__name__}: {exc}", provider=provider
    )


def request_id(response: httpx.Response) -> str | None:
    """The provider's request id, from the usual headers or the JSON body's ``id``."""
    for name in _REQUEST_ID_HEADERS:
        value: str | None = response.headers.get(name)
        if value:
            return value
    return None


def _message_from(body: Any) -> str | None:
    if isinstance(body, str):
        return body
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail", "error_message", "msg"):
            if key in body:
                found = _message_from(body[key])
                if found:
                    return found
    if isinstance(body, list) and body:
        # FastAPI's 422 ``detail``: a list of {loc, msg, type}
        parts = []
        for item in body:
            if isinstance(item, Mapping) and "msg" in item:
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {item['msg']}" if loc else str(item["msg"]))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return None


def error_message(response: httpx.Response) -> str:
    """A readable message from an error response's JSON body, else its text."""
    try:
        response.read()
        body = orjson.loads(response.content)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        text = response.text.strip() if response.content else ""
        return text[:500] or response.reason_phrase or f"HTTP {response.status_code}"
    return (_message_from(body) or str(body))[:2000]


_MESSAGE_KEYS = ("message", "detail", "error_message", "errorMessage")
_STATUS_KEYS = ("status", "status_code", "statusCode", "http_status", "code")
_CODE_KEYS = ("code", "type", "status", "error_code", "errorCode")


def _envelope_status(parts: list[Mapping[str, Any]]) -> int | None:
    """The HTTP status an error body states, as a number, else through a known code."""
    for part in parts:
        for key in _STATUS_KEYS:
            value = part.get(key)
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if isinstance(value, int) and not isinstance(value, bool) and 400 <= value < 600:
                return value
    for part in parts:
        for key in _CODE_KEYS:
            value = part.get(key)
            if isinstance(value, str) and value.lower() in _ERROR_CODE_STATUSES:
                return _ERROR_CODE_STATUSES[value.lower()]
    return None


def envelope_error(
    payload: Any, response: httpx.Response, *, provider: str, expected: str | None
) -> ProviderError | None:
    """The error a 2xx answer carries instead of its result, or ``None``.

    An error envelope is a JSON object without the ``expected`` field (any
    object, when ``expected`` is None) that has a non-empty ``error``, or a
    ``message`` / ``detail``. The class comes from the status or code the
    envelope states (``{"error": {"code": 429}}``, ``"code": "invalid_api_key"``),
    through the same table as HTTP statuses; with none, it is an
    ``ErrorEnvelopeError``. Either way the message is the provider's own.
    """
    if not isinstance(payload, Mapping):
        return None
    if expected is not None and payload.get(expected) is not None:
        return None
    inner = payload.get("error")
    if not inner and not any(payload.get(key) for key in _MESSAGE_KEYS):
        return None
    message = (_message_from(payload) or str(payload))[:2000]
    parts = [inner, payload] if isinstance(inner, Mapping) else [payload]
    status = _envelope_status(parts)
    rid = request_id(response)
    where = f"error in an HTTP {response.status_code} answer"
    if status is None:
        return ErrorEnvelopeError(
            f"{message} ({where})", provider=provider, status=response.status_code, request_id=rid
        )
    return error_for_status(
        status,
        f"{message} ({where})",
        provider=provider,
        request_id=rid,
        retry_after=retry_after_seconds(response.headers),
    )


def raise_for_envelope(
    payload: Any, response: httpx.Response, *, provider: str, expected: str | None
) -> None:
    """Raise ``envelope_error(...)`` if the answer is an error envelope."""
    error = envelope_error(payload, response, provider=provider, expected=expected)
    if error is not None:
        raise error


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait before retrying, from ``retry-after-ms``, ``retry-after`` or
    ``x-ratelimit-reset``; ``None`` when the response does not say."""
    value = headers.get("retry-after-ms")
    if value:
        try:
            return max(0.0, float(value) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    value = headers.get("x-ratelimit-reset") or headers.get("x-ratelimit-reset-requests")
    if value:
        try:
            seconds = float(value.rstrip("s"))
        except ValueError:
            return None
        current = now if now is not None else time.time()
        # a large number is an epoch timestamp, a small one a delay in seconds
        return max(0.0, seconds - current) if seconds > 1e9 else max(0.0, seconds)
    return None
