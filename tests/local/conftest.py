"""Fixtures for the local provider: one model load per test session, audited for network use."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from embedplug.provider import Batch, ModelInfo
from embedplug.types import EmbeddingType, Input, InputType
from embedplug_local import LocalProvider
from embedplug_local import _provider as provider_module


@dataclass
class LoadRecord:
    """What happened while the session's model was loaded and first used."""

    network_calls: list[str] = field(default_factory=list)
    log_messages: list[str] = field(default_factory=list)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def _make_batch(
    texts: list[Input],
    *,
    model: ModelInfo | None = None,
    input_type: InputType | None = None,
    number: int = 0,
    positions: list[int] | None = None,
    dimensions: int | None = None,
    embedding_types: list[EmbeddingType] | None = None,
) -> Batch:
    """A batch as the engine would plan it."""
    return Batch(
        number=number,
        positions=positions if positions is not None else list(range(len(texts))),
        inputs=list(texts),
        model=model or LocalProvider.known_models()[0],
        input_type=input_type,
        dimensions=dimensions,
        embedding_types=embedding_types or [EmbeddingType.FLOAT],
    )


MakeBatch = Callable[..., Batch]


@pytest.fixture(scope="session")
def make_batch() -> MakeBatch:
    """Build a ``Batch`` as the engine would plan it."""
    return _make_batch


@pytest.fixture(scope="session")
def load_record() -> LoadRecord:
    """Load the model once for the session, from scratch, recording network calls and logs.

    Sockets are already disabled by pytest-socket (except loopback); on top of
    that every name lookup and connect attempt is recorded, so a library that
    catches the refusal and falls back quietly is still caught.
    """
    record = LoadRecord()
    provider_module._models.clear()  # measure a real first load even if another test loaded

    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        record.network_calls.append(f"getaddrinfo({host!r})")
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(self: socket.socket, address: Any) -> Any:
        record.network_calls.append(f"connect({address!r})")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        record.network_calls.append(f"connect_ex({address!r})")
        return real_connect_ex(self, address)

    handler = _ListHandler(record.log_messages)
    logger = logging.getLogger("embedplug.local")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        try:
            provider = LocalProvider()
            provider.warm_up()
            provider.embed_batch(_make_batch(["warm-up sentence"]))
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
    return record


@pytest.fixture(scope="session")
def provider(load_record: LoadRecord) -> LocalProvider:
    """A provider whose model is already loaded (shared for the session)."""
    return LocalProvider()
