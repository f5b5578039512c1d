"""The one exception hierarchy of embedplug.

Catch ``EmbedplugError`` for everything, or a subclass for the level you care
about. Provider errors carry the provider's name, the HTTP status, the request
id and the provider's own message; they never carry a key (the provider's
secrets are redacted before an error is raised or logged).

``error_for_status`` picks the class of an HTTP status from one table
(``_STATUS_CLASSES``, listed in docs/concepts.md); a status it does not list
is a ``ServerError`` from 500 up and a ``BadRequestError`` below.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from embedplug.types import EmbeddingResult

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BatchFailedError",
    "ClientClosedRequestError",
    "ConfigurationError",
    "ConnectionFailedError",
    "EmbedplugError",
    "ErrorEnvelopeError",
    "InvalidInputError",
    "InvalidTokenError",
    "NotFoundError",
    "NotImplementedByProviderError",
    "PermissionDeniedError",
    "PluginLoadError",
    "ProviderError",
    "QuotaExceededError",
    "RateLimitError",
    "ResponseFormatError",
    "ServerError",
    "TimeoutError",
    "UnknownModelError",
    "UnknownProviderError",
    "error_for_status",
]


class EmbedplugError(Exception):
    """Root of every error raised by embedplug."""


class ConfigurationError(EmbedplugError):
    """Something about the set-up is wrong: a missing key, URL or option."""


class UnknownProviderError(ConfigurationError):
    """No installed plugin registers a provider of that name."""

    def __init__(self, name: str, available: Sequence[str]) -> None:
        self.name = name
        self.available = list(available)
        listed = ", ".join(sorted(self.available)) or "none"
        super().__init__(f"unknown provider {name!r}; installed providers: {listed}")


class UnknownModelError(ConfigurationError):
    """The provider does not know that model."""

    def __init__(self, provider: str, model: str, available: Sequence[str]) -> None:
        self.provider = provider
        self.model = model
        self.available = list(available)
        listed = ", ".join(self.available) or "none"
        super().__init__(
            f"unknown model {model!r} for provider {provider!r}; known models: {listed}"
        )


class PluginLoadError(ConfigurationError):
    """A plugin's entry point could not be imported or registered."""

    def __init__(self, plugin: str, cause: BaseException) -> None:
        self.plugin = plugin
        self.cause = cause
        super().__init__(f"plugin {plugin!r} failed to load: {type(cause).__name__}: {cause}")


class InvalidInputError(EmbedplugError, ValueError):
    """An input was refused before any request was sent.

    ``position`` is the index of the offending input in the caller's list, or
    ``None`` when the problem is with the call as a whole.
    """

    def __init__(self, message: str, *, position: int | None = None) -> None:
        self.position = position
        prefix = f"input {position}: " if position is not None else ""
        super().__init__(prefix + message)


class ProviderError(EmbedplugError):
    """A provider answered with an error, or could not be reached."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.message = message
        self.provider = provider
        self.status = status
        self.request_id = request_id
        self.retry_after = retry_after
        self.body = body
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.provider:
            parts.append(self.provider)
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.request_id:
            parts.append(f"request {self.request_id}")
        head = f"[{', '.join(parts)}] " if parts else ""
        return head + self.message


class BadRequestError(ProviderError):
    """400 or 422: the provider refused the request as malformed."""


class InvalidTokenError(BadRequestError):
    """498 (Cohere): the request or the response holds a deny-listed token, a word of the
    *content* the provider will not process (not a credential). Resending cannot help."""


class AuthenticationError(ProviderError):
    """401: the key is missing, wrong or expired."""


class PermissionDeniedError(ProviderError):
    """403: the key is valid but may not do this."""


class NotFoundError(ProviderError):
    """404: unknown endpoint, model, dataset or job."""


class ClientClosedRequestError(ProviderError):
    """499: the request was cancelled (by the caller, or a proxy on its behalf) before the
    provider answered. Not a bad request, and not retried: a cancellation is deliberate."""


class NotImplementedByProviderError(ProviderError):
    """501: the provider does not implement what was asked (a feature, a parameter value).
    Unlike other 5xx it is not transient, so it is not retried."""


class RateLimitError(ProviderError):
    """429: too many requests; retried with backoff."""

    retryable = True


class QuotaExceededError(ProviderError):
    """402, or a 429 that says the quota or budget is spent: never retried."""


class ServerError(ProviderError):
    """408, 409 or 5xx but 501: a transient failure on the provider's side; retried."""

    retryable = True


class TimeoutError(ProviderError):  # noqa: A001 - deliberate, namespaced by the module
    """The request timed out; retried."""

    retryable = True


class ConnectionFailedError(ProviderError):
    """The connection failed or was reset; retried."""

    retryable = True


class ResponseFormatError(ProviderError):
    """The provider's answer is not what the protocol promises.

    Wrong count, missing/duplicate/out-of-range index, wrong dimension, NaN or
    infinity, bad base64, malformed JSON. ``batch`` names the failing batch.
    """

    def __init__(self, message: str, *, batch: int | None = None, **kwargs: Any) -> None:
        self.batch = batch
        if batch is not None:
            message = f"batch {batch}: {message}"
        super().__init__(message, **kwargs)


class ErrorEnvelopeError(ResponseFormatError):
    """A 2xx answer whose body is an error (``{"error": {...}}``, ``{"message": ...}``) with
    no status or code that names a better class; ``message`` is the provider's own."""


class BatchFailedError(EmbedplugError):
    """Some batches failed for good; what succeeded is kept.

    ``partial`` holds the result over every input (rows of failed positions are
    zero) and ``failed_positions`` the input positions that have no vector.
    ``errors`` maps batch number to the error that ended it.
    """

    def __init__(
        self,
        errors: Mapping[int, BaseException],
        failed_positions: Sequence[int],
        partial: EmbeddingResult,
    ) -> None:
        self.errors = dict(errors)
        self.failed_positions = list(failed_positions)
        self.partial = partial
        first = next(iter(self.errors.values()))
        super().__init__(
            f"{len(self.errors)} batch(es) failed, {len(self.failed_positions)} input(s) "
            f"without a vector, {len(partial) - len(self.failed_positions)} kept; "
            f"first error: {first}"
        )


_STATUS_CLASSES: Mapping[int, type[ProviderError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: QuotaExceededError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: ServerError,  # request timeout: transient
    409: ServerError,  # conflict: transient
    422: BadRequestError,
    429: RateLimitError,  # QuotaExceededError when the message says the quota is spent
    498: InvalidTokenError,  # Cohere: a deny-listed token in the request or response
    499: ClientClosedRequestError,  # Cohere: cancelled by the user
    500: ServerError,
    501: NotImplementedByProviderError,
    502: ServerError,
    503: ServerError,
    504: ServerError,
}
"""The class of each HTTP status; others are ``ServerError`` from 500, else ``BadRequestError``.
Whether an error is retried is its class's ``retryable``."""

# Error codes and types that providers put in an error body, and the status each means
# (for an error inside a 2xx answer, which has no status of its own).
_ERROR_CODE_STATUSES: Mapping[str, int] = {
    "invalid_request_error": 400,
    "bad_request": 400,
    "invalid_request": 400,
    "invalid_api_key": 401,
    "authentication_error": 401,
    "unauthorized": 401,
    "unauthenticated": 401,
    "insufficient_quota": 402,
    "billing_hard_limit_reached": 402,
    "permission_error": 403,
    "permission_denied": 403,
    "forbidden": 403,
    "not_found": 404,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_exceeded": 429,
    "rate_limit_error": 429,
    "too_many_requests": 429,
    "server_error": 500,
    "internal_server_error": 500,
    "internal_error": 500,
    "api_error": 500,
    "invalid_argument": 400,
    "failed_precondition": 400,
    "resource_exhausted": 429,
    "not_implemented": 501,
    "unimplemented": 501,
    "overloaded_error": 503,
    "service_unavailable": 503,
    "unavailable": 503,
    "timeout": 504,
    "deadline_exceeded": 504,
}

_QUOTA_WORDS = ("quota", "insufficient_quota", "budget", "billing", "credit")


def error_for_status(
    status: int,
    message: str,
    *,
    provider: str | None = None,
    request_id: str | None = None,
    retry_after: float | None = None,
    body: Any = None,
) -> ProviderError:
    """Build the error class that matches an HTTP status (and, for 429, the message)."""
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else BadRequestError
    if cls is RateLimitError and any(word in message.lower() for word in _QUOTA_WORDS):
        cls = QuotaExceededError
    return cls(
        message,
        provider=provider,
        status=status,
        request_id=request_id,
        retry_after=retry_after,
        body=body,
    )
