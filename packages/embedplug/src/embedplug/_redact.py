"""Removing configured secrets from text a provider sent back, before it is shown.

A provider may echo the key it was sent (OpenAI's 401 says ``Incorrect API key
provided: sk-abc...wxyz``), in a message, a body or a header. The rule, for
every secret of at least ``MIN_FRAGMENT`` (8) characters:

1. any run of 8 or more characters that are consecutive characters of the
   secret is replaced by ``[REDACTED]`` (a whole key, a truncated one, a
   middle part);
2. a *masked echo*: a mask (``*`` or ``•`` twice or more, ``...`` or ``…``)
   right after the secret's first 4 or more characters, or right before its
   last 4 or more, is replaced with them (``sk-abc...wxyz``, ``****wxyz``);
   the provider meant to hide the key, and the head and tail it left are
   still 10 characters of it.

A secret shorter than 8 characters is replaced only where it stands whole,
not inside a longer word. Redacting again changes nothing more. Secrets that
travel transformed (URL-encoded, base64 of ``user:password``) are not found.

``install_log_filter`` applies the same rule to the records of httpx's and
httpcore's loggers, which print response headers at DEBUG.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

__all__ = ["MARKER", "MIN_FRAGMENT", "Redactor", "install_log_filter", "redact_error"]

MARKER = "[REDACTED]"
MIN_FRAGMENT = 8
_MIN_MASKED_PART = 4
_MASK = re.compile(r"[*•]{2,}|\.{3,}|…")


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each of the sorted ``spans`` (merged where they touch) made ``MARKER``."""
    if not spans:
        return text
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out.append(text[last:start])
        out.append(MARKER)
        last = end
    out.append(text[last:])
    return "".join(out)


class Redactor:
    """Replaces the given secrets (and their fragments, see the module) in text and values."""

    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        long = [s for s in self.secrets if len(s) >= MIN_FRAGMENT]
        grams = {s[i : i + MIN_FRAGMENT] for s in long for i in range(len(s) - MIN_FRAGMENT + 1)}
        self._grams = (
            re.compile("(?=(" + "|".join(re.escape(g) for g in sorted(grams)) + "))")
            if grams
            else None
        )
        self._long = long
        short = [s for s in self.secrets if len(s) < MIN_FRAGMENT]
        self._short = (
            re.compile(
                r"(?<![A-Za-z0-9])(?:" + "|".join(re.escape(s) for s in short) + r")(?![A-Za-z0-9])"
            )
            if short
            else None
        )

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, text: str) -> str:
        """``text`` with every secret, fragment and masked echo replaced by ``[REDACTED]``."""
        if not self.secrets or not text:
            return text
        if self._grams is not None:
            spans = [(m.start(), m.start() + MIN_FRAGMENT) for m in self._grams.finditer(text)]
            text = _replace(text, spans)
            text = _replace(text, self._masked_spans(text))
        if self._short is not None:
            text = self._short.sub(MARKER, text)
        return text

    def _masked_spans(self, text: str) -> list[tuple[int, int]]:
        """Masks with a visible head that starts a secret, or a tail that ends one."""
        spans = []
        for match in _MASK.finditer(text):
            start, end = match.span()
            head = max(_head_length(text, start, s) for s in self._long)
            tail = max(_tail_length(text, end, s) for s in self._long)
            if head or tail:
                spans.append((start - head, end + tail))
        return spans

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value (str, mapping, list, tuple) with its strings redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value


def _head_length(text: str, stop: int, secret: str) -> int:
    """The longest ``secret[:k]`` (k >= 4) that ``text[:stop]`` ends with, else 0."""
    for k in range(min(stop, len(secret)), _MIN_MASKED_PART - 1, -1):
        if text.endswith(secret[:k], 0, stop):
            return k
    return 0


def _tail_length(text: str, start: int, secret: str) -> int:
    """The longest ``secret[-k:]`` (k >= 4) that ``text[start:]`` starts with, else 0."""
    for k in range(min(len(text) - start, len(secret)), _MIN_MASKED_PART - 1, -1):
        if text.startswith(secret[-k:], start):
            return k
    return 0


def redact_error(error: BaseException, redactor: Redactor) -> None:
    """Redact ``error`` in place: its string args and, for a ``ProviderError``, its message,
    request id and body; then the same for every exception chained to it."""
    from embedplug.errors import ProviderError

    if not redactor:
        return
    seen: set[int] = set()
    current: BaseException | None = error
    pending: list[BaseException] = []
    while current is not None or pending:
        if current is None:
            current = pending.pop()
        if id(current) in seen:
            current = None
            continue
        seen.add(id(current))
        if isinstance(current, ProviderError):
            current.message = redactor.text(current.message)
            if current.request_id is not None:
                current.request_id = redactor.text(current.request_id)
            current.body = redactor.value(current.body)
        with contextlib.suppress(AttributeError, TypeError):  # a type refusing new args
            current.args = tuple(redactor.value(arg) for arg in current.args)
        if current.__context__ is not None:
            pending.append(current.__context__)
        current = current.__cause__


# ---------------------------------------------------------------------------- logging

_HTTP_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)


class _HasSecrets(Protocol):
    def secrets(self) -> list[str]: ...


class _SecretsLogFilter(logging.Filter):
    """Redacts the secrets of every live registered holder from a record's message."""

    def __init__(self) -> None:
        super().__init__()
        # by id, so that an unhashable provider (a dataclass) can be held too
        self._holders: weakref.WeakValueDictionary[int, _HasSecrets] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()  # providers are made and logged from any thread
        self._cache: tuple[tuple[str, ...], Redactor] | None = None

    def register(self, holder: _HasSecrets) -> None:
        with self._lock:
            self._holders[id(holder)] = holder

    def _redactor(self) -> Redactor | None:
        with self._lock:
            holders = list(self._holders.values())
        found: set[str] = set()
        for holder in holders:
            found.update(holder.secrets())
        if not found:
            return None
        key = tuple(sorted(found))
        cached = self._cache
        if cached is None or cached[0] != key:
            cached = self._cache = (key, Redactor(key))
        return cached[1]

    def filter(self, record: logging.LogRecord) -> bool:
        redactor = self._redactor()
        if redactor is None:
            return True
        message = record.getMessage()
        cleaned = redactor.text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = _SecretsLogFilter()
_installed = False


def install_log_filter(holder: _HasSecrets) -> None:
    """Redact ``holder.secrets()`` from httpx's and httpcore's log records while it lives."""
    global _installed
    _FILTER.register(holder)
    if not _installed:
        for name in _HTTP_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
        _installed = True
