"""The engine: the one place that does I/O for providers, sync and async.

It validates inputs against the model before any request, plans batches that
respect every limit, sends them concurrently (bounded) over one shared
``httpx.Client`` / ``AsyncClient``, retries each failed batch on its own,
puts vectors back in input order, checks counts, dimensions and finiteness,
quantises or truncates client-side where the provider cannot, and sums usage.
Sync and async share everything but the sending.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import threading
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
import orjson
import tenacity

from embedplug import _quantize
from embedplug._http import envelope_error, request_id, transport_error
from embedplug._planning import Plan, estimate_tokens, plan_batches
from embedplug._ratelimit import RateLimiter
from embedplug.errors import (
    AuthenticationError,
    BatchFailedError,
    ConfigurationError,
    EmbedplugError,
    NotFoundError,
    PermissionDeniedError,
    ProviderError,
    QuotaExceededError,
    ResponseFormatError,
)
from embedplug.provider import Batch, BatchResult, HTTPProvider, InProcessProvider, ModelInfo
from embedplug.types import (
    EmbeddingResult,
    EmbeddingType,
    Input,
    InputType,
    LongInputs,
    Mixed,
    Usage,
)

if TYPE_CHECKING:
    import numpy.typing as npt

    from embedplug.provider import Provider

__all__ = ["Engine", "ProgressCallback", "RetryPolicy"]

logger = logging.getLogger("embedplug.engine")

ProgressCallback = Callable[[int, int], None]
"""Called as ``callback(done_inputs, total_inputs)`` after each batch."""

# Errors after which sending more batches of the same call cannot succeed.
_FATAL = (AuthenticationError, PermissionDeniedError, QuotaExceededError, NotFoundError)


@dataclass
class RetryPolicy:
    """How failed batches are retried.

    ``max_attempts`` counts the first try. Waits grow exponentially from
    ``initial_backoff`` to ``max_backoff`` with jitter, unless the provider
    says how long to wait (``retry-after-ms``, ``retry-after``,
    ``x-ratelimit-reset``); a wait it asks for longer than ``max_retry_after``
    is not waited for: the batch fails.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 20.0
    jitter: float = 0.5
    max_retry_after: float = 120.0

    def should_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt under this policy."""
        if not isinstance(exc, ProviderError) or not exc.retryable:
            return False
        return exc.retry_after is None or exc.retry_after <= self.max_retry_after

    def wait_seconds(self, attempt: int, exc: BaseException | None) -> float:
        """How long to wait after failed attempt number ``attempt`` (1-based)."""
        asked = getattr(exc, "retry_after", None)
        if asked is not None:
            return float(asked)
        exponential: float = self.initial_backoff * 2.0 ** (attempt - 1)
        return min(self.max_backoff, exponential) + random.uniform(0, self.jitter)

    def tenacity_options(
        self,
        sleep: Callable[[float], Any],
        *,
        retry_if: Callable[[BaseException], bool] | None = None,
        describe: str = "request",
    ) -> dict[str, Any]:
        """Keyword arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` under this policy.

        ``retry_if`` narrows what is retried further (e.g. a request that may
        have taken effect); ``sleep`` is the clock tests replace.
        """

        def should_retry(exc: BaseException) -> bool:
            return self.should_retry(exc) and (retry_if is None or retry_if(exc))

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.wait_seconds(state.attempt_number, exc)

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            logger.info(
                "%s: retrying after %s (attempt %d of %d, waiting %.2fs)",
                describe,
                exc,
                state.attempt_number,
                self.max_attempts,
                state.next_action.sleep if state.next_action else 0.0,
            )

        return {
            "stop": tenacity.stop_after_attempt(self.max_attempts),
            "wait": wait,
            "retry": tenacity.retry_if_exception(should_retry),
            "sleep": sleep,
            "reraise": True,
            "before_sleep": log_retry,
        }


@dataclass
class _CallState:
    plan: Plan
    model: str
    provider: str
    on_progress: ProgressCallback | None
    bar: Any = None
    done: int = 0
    results: dict[int, BatchResult] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)
    abort: BaseException | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)
    """Set when the call is abandoned: sleeping retries wake up and stop."""

    def stop(self, reason: BaseException) -> None:
        """No further request for this call: batches not yet sent fail with ``reason``."""
        if self.abort is None:
            self.abort = reason
        self.wake.set()

    def check(self) -> None:
        """Raise the reason the call stopped, if it did (before sending a request)."""
        if self.abort is not None:
            raise self.abort


class Engine:
    """Runs embedding calls for one provider instance and one model.

    ``max_concurrency`` bounds requests in flight across all calls on this
    engine (default: the provider's). ``sleep``/``async_sleep`` are the
    backoff clock; tests replace them so that nothing really waits.
    """

    def __init__(
        self,
        provider: Provider,
        model: ModelInfo,
        *,
        max_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        max_batch_size: int | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        default_concurrency = provider.max_concurrency if isinstance(provider, HTTPProvider) else 1
        self.max_concurrency = max(1, max_concurrency or default_concurrency)
        self.retry = retry or RetryPolicy()
        self.max_batch_size = max_batch_size
        self.timeout = timeout
        self.sleep: Callable[[float], None] = time.sleep
        self.async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._limiter = (
            RateLimiter(requests_per_minute, tokens_per_minute)
            if requests_per_minute or tokens_per_minute
            else None
        )
        self._transport = transport
        self._async_transport = async_transport
        self._client: httpx.Client | None = None
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._async: dict[asyncio.AbstractEventLoop, _AsyncEntry] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ planning

    def plan(
        self,
        inputs: Sequence[Input],
        *,
        input_type: InputType | None = None,
        dimensions: int | None = None,
        embedding_types: Sequence[EmbeddingType] = (EmbeddingType.FLOAT,),
        options: dict[str, Any] | None = None,
        long_inputs: LongInputs = "error",
    ) -> Plan:
        """Validate and batch ``inputs`` without sending anything."""
        options = options or {}
        limited = self.model.max_tokens_per_item is not None
        return plan_batches(
            self.provider.prepare(list(inputs), self.model),
            self.model,
            input_type=input_type,
            dimensions=dimensions,
            embedding_types=embedding_types,
            options=options,
            max_items=self.max_batch_size,
            long_inputs=long_inputs,
            tokenizer=self.provider.tokenizer(self.model) if limited else None,
            server_truncates=limited and self.provider.truncates_long_inputs(self.model, options),
        )

    # ------------------------------------------------------------------ sync

    def run(
        self,
        plan: Plan,
        *,
        on_progress: ProgressCallback | None = None,
        progress: bool = False,
    ) -> EmbeddingResult:
        """Send every batch of ``plan`` and assemble the result (blocking)."""
        state = self._start(plan, on_progress, progress)
        try:
            if not plan.batches:
                return self._finish(state)
            if isinstance(self.provider, InProcessProvider):
                for batch in plan.batches:
                    self._run_in_process(state, batch)
            elif len(plan.batches) == 1 or self.max_concurrency == 1:
                for batch in plan.batches:
                    self._run_http_batch(state, batch)
            else:
                workers = min(self.max_concurrency, len(plan.batches))
                pool = ThreadPoolExecutor(workers, thread_name_prefix="embedplug")
                try:
                    futures = [pool.submit(self._run_http_batch, state, b) for b in plan.batches]
                    for future in as_completed(futures):  # the first to raise, not the first sent
                        future.result()
                except BaseException as exc:  # Ctrl-C, or a bug in a provider
                    state.stop(_cancelled(exc))
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
                pool.shutdown(wait=True)
            return self._finish(state)
        finally:
            if state.bar is not None:
                state.bar.close()

    def _run_in_process(self, state: _CallState, batch: Batch) -> None:
        assert isinstance(self.provider, InProcessProvider)
        if state.abort is not None:
            state.errors[batch.number] = state.abort
            return
        try:
            result = self._check(state.plan, batch, self.provider.embed_batch(batch))
            self._accept(state, batch, result)
        except ConfigurationError:
            raise  # e.g. the model cannot load: no batch can succeed, say so plainly
        except EmbedplugError as exc:
            self._fail(state, batch, exc)

    def _run_http_batch(self, state: _CallState, batch: Batch) -> None:
        if state.abort is not None:
            state.errors[batch.number] = state.abort
            return

        def sleep(seconds: float) -> None:
            if self.sleep is time.sleep:
                state.wake.wait(seconds)  # a stopped call wakes its retries at once
            else:
                self.sleep(seconds)

        try:
            results = []
            for part in _requests_of(batch):
                for attempt in self._retrying(tenacity.Retrying, sleep, part, state):
                    with attempt:
                        result = self._send_once(state, part, check=part is batch)
                results.append(result)
            self._accept(state, batch, self._merged(state.plan, batch, results))
        except EmbedplugError as exc:
            self._fail(state, batch, exc)

    def _merged(self, plan: Plan, batch: Batch, results: list[BatchResult]) -> BatchResult:
        """A batch's one checked result from its requests (one per type, or just one)."""
        if len(results) == 1:
            return results[0]  # already checked
        kinds = batch.embedding_types
        merged = BatchResult(
            vectors={k: v for r in results for k, v in r.vectors.items()},
            usage=sum((r.usage for r in results[1:]), results[0].usage),
            meta={
                "requests": [
                    {"embedding_type": k.value, **r.meta}
                    for k, r in zip(kinds, results, strict=True)
                ]
            },
        )
        per_item = results[0].meta.get("per_item")
        if per_item is not None:
            merged.meta["per_item"] = per_item
            for entry in merged.meta["requests"]:
                entry.pop("per_item", None)
        return self._check(plan, batch, merged)

    def _send_once(self, state: _CallState, batch: Batch, *, check: bool = True) -> BatchResult:
        provider = self._http_provider()
        if self._limiter is not None:
            self._limiter.acquire(self._batch_tokens(batch), self.sleep)
        with self._slots:
            state.check()  # a fatal error elsewhere while this batch waited for a slot
            request = provider.build_request(batch)  # built here: one body in memory per slot
            try:
                response = self._sync_client().send(request)
            except httpx.HTTPError as exc:
                error = transport_error(exc, provider.name)
                provider.redact_error(error)
                raise error from exc
        return self._handle(response, state.plan, batch, check=check)

    def _sync_client(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(
                        timeout=self._timeout(),
                        limits=self._limits(),
                        transport=self._transport,
                    )
        return self._client

    # ------------------------------------------------------------------ async

    async def arun(
        self,
        plan: Plan,
        *,
        on_progress: ProgressCallback | None = None,
        progress: bool = False,
    ) -> EmbeddingResult:
        """Send every batch of ``plan`` and assemble the result (async)."""
        state = self._start(plan, on_progress, progress)
        try:
            if isinstance(self.provider, InProcessProvider):
                for batch in plan.batches:
                    await asyncio.to_thread(self._run_in_process, state, batch)
            elif plan.batches:
                client, slots = await self._async_client()
                tasks = [
                    asyncio.ensure_future(self._arun_http_batch(state, b, client, slots))
                    for b in plan.batches
                ]
                try:
                    await asyncio.gather(*tasks)
                except BaseException as exc:  # cancellation, or a bug in a provider
                    state.stop(_cancelled(exc))
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    raise
            return self._finish(state)
        finally:
            if state.bar is not None:
                state.bar.close()

    async def _arun_http_batch(
        self,
        state: _CallState,
        batch: Batch,
        client: httpx.AsyncClient,
        slots: asyncio.Semaphore,
    ) -> None:
        if state.abort is not None:
            state.errors[batch.number] = state.abort
            return
        try:
            results = []
            for part in _requests_of(batch):
                retrying = self._retrying(tenacity.AsyncRetrying, self.async_sleep, part, state)
                async for attempt in retrying:
                    with attempt:
                        result = await self._asend_once(
                            state, part, client, slots, check=part is batch
                        )
                results.append(result)
            self._accept(state, batch, self._merged(state.plan, batch, results))
        except EmbedplugError as exc:
            self._fail(state, batch, exc)

    async def _asend_once(
        self,
        state: _CallState,
        batch: Batch,
        client: httpx.AsyncClient,
        slots: asyncio.Semaphore,
        *,
        check: bool = True,
    ) -> BatchResult:
        provider = self._http_provider()
        if self._limiter is not None:
            await self._limiter.aacquire(self._batch_tokens(batch), self.async_sleep)
        async with slots:
            state.check()  # a fatal error elsewhere while this batch waited for a slot
            request = provider.build_request(batch)  # built here: one body in memory per slot
            try:
                response = await client.send(request)
            except httpx.HTTPError as exc:
                error = transport_error(exc, provider.name)
                provider.redact_error(error)
                raise error from exc
        return self._handle(response, state.plan, batch, check=check)

    async def _async_client(self) -> tuple[httpx.AsyncClient, asyncio.Semaphore]:
        loop = asyncio.get_running_loop()
        with self._lock:
            for other in [lp for lp in self._async if lp.is_closed()]:
                del self._async[other]  # closed by its keeper when that loop shut down
            found = self._async.get(loop)
            if found is None:
                client = httpx.AsyncClient(
                    timeout=self._timeout(),
                    limits=self._limits(),
                    transport=self._async_transport,
                )
                entry = (client, asyncio.Semaphore(self.max_concurrency), _keeper(client))
                self._async[loop] = entry
            else:
                entry = found
        if found is None:
            await entry[2].__anext__()  # the keeper now holds the client until loop shutdown
        return entry[0], entry[1]

    # ------------------------------------------------------------------ shared

    def _http_provider(self) -> HTTPProvider:
        assert isinstance(self.provider, HTTPProvider)
        return self.provider

    def _timeout(self) -> httpx.Timeout:
        seconds = self.timeout
        if seconds is None and isinstance(self.provider, HTTPProvider):
            seconds = self.provider.timeout
        # No pool timeout: the engine bounds requests in flight to the pool's size itself.
        return httpx.Timeout(seconds if seconds is not None else 60.0, pool=None)

    def _limits(self) -> httpx.Limits:
        return httpx.Limits(
            max_connections=self.max_concurrency,
            max_keepalive_connections=self.max_concurrency,
        )

    def _retrying(self, cls: Any, sleep: Any, batch: Batch, state: _CallState) -> Any:
        options = self.retry.tenacity_options(
            sleep, retry_if=lambda _: state.abort is None, describe=f"batch {batch.number}"
        )
        return cls(**options)

    @staticmethod
    def _batch_tokens(batch: Batch) -> int:
        total = 0
        for item in batch.inputs:
            parts = item.parts if isinstance(item, Mixed) else (item,)
            total += sum(estimate_tokens(p) for p in parts if isinstance(p, str))
        return total

    def _handle(
        self, response: httpx.Response, plan: Plan, batch: Batch, *, check: bool = True
    ) -> BatchResult:
        """The batch's result (checked unless ``check=False``: one request of several), or
        the provider's error with its secrets redacted."""
        try:
            return self._parse(response, plan, batch, check=check)
        except EmbedplugError as exc:
            self.provider.redact_error(exc)  # before anything raises or logs it
            raise

    def _parse(
        self, response: httpx.Response, plan: Plan, batch: Batch, *, check: bool
    ) -> BatchResult:
        provider = self._http_provider()
        if not response.is_success:
            raise provider.parse_error(response)
        rid = request_id(response)
        try:
            result = provider.parse_response(response, batch)
            return self._check(plan, batch, result) if check else result
        except ResponseFormatError as exc:
            exc.request_id = exc.request_id or rid
            exc.provider = exc.provider or provider.name
            if exc.batch is None:
                exc.batch = batch.number
                exc.args = (f"batch {batch.number}: {exc.message}",)
                exc.message = exc.args[0]
            raise
        except (
            orjson.JSONDecodeError,
            KeyError,
            TypeError,
            ValueError,
            IndexError,
            OverflowError,
            AttributeError,
        ) as exc:
            envelope = _envelope_error(response, provider.name)  # a parser that missed it
            if envelope is not None:
                raise envelope from None
            raise ResponseFormatError(
                f"malformed response: {type(exc).__name__}: {exc}",
                batch=batch.number,
                provider=provider.name,
                status=response.status_code,
                request_id=rid,
            ) from exc

    def _start(
        self, plan: Plan, on_progress: ProgressCallback | None, progress: bool
    ) -> _CallState:
        state = _CallState(
            plan=plan,
            model=self.model.name,
            provider=self.provider.name,
            on_progress=on_progress,
        )
        if progress and plan.total:
            from tqdm.auto import tqdm

            state.bar = tqdm(total=plan.total, unit=" inputs", desc=f"{self.provider.name}")
        return state

    def _accept(self, state: _CallState, batch: Batch, result: BatchResult) -> None:
        with state.lock:  # held while reporting, so callbacks see ``done`` in order
            state.results[batch.number] = result
            state.done += len(batch)
            if state.bar is not None:
                state.bar.update(len(batch))
            if state.on_progress is not None:
                state.on_progress(state.done, state.plan.total)

    def _fail(self, state: _CallState, batch: Batch, exc: BaseException) -> None:
        logger.warning("batch %d (%d inputs) failed: %s", batch.number, len(batch), exc)
        with state.lock:
            state.errors[batch.number] = exc
            if isinstance(exc, _FATAL):
                state.stop(exc)

    def _check(self, plan: Plan, batch: Batch, result: BatchResult) -> BatchResult:
        """Check a batch's arrays against the plan; then truncate and quantise client-side."""
        provider = self.provider.name

        def bad(message: str) -> ResponseFormatError:
            return ResponseFormatError(message, batch=batch.number, provider=provider)

        vectors: dict[EmbeddingType, npt.NDArray[Any]] = {}
        for kind in plan.native_types:
            arr = result.vectors.get(kind)
            if arr is None:
                raise bad(f"the response has no {kind.value!r} embeddings")
            if arr.ndim != 2 or arr.shape[0] != len(batch):
                raise bad(f"expected {len(batch)} {kind.value} vectors, got shape {arr.shape}")
            width = arr.shape[1] * (8 if kind.packed else 1)
            if plan.expected_dimensions and width != plan.expected_dimensions:
                raise bad(f"expected {plan.expected_dimensions}-dimensional vectors, got {width}")
            if kind is EmbeddingType.FLOAT and not np.isfinite(arr).all():
                raise bad("the response holds NaN or infinite values")
            vectors[kind] = arr
        floats = vectors.get(EmbeddingType.FLOAT)
        if floats is not None and plan.truncate_to is not None:
            floats = _quantize.truncate_dimensions(floats, plan.truncate_to)
            vectors[EmbeddingType.FLOAT] = floats
        out: dict[EmbeddingType, npt.NDArray[Any]] = {}
        for kind in plan.requested_types:
            if kind in vectors:
                out[kind] = vectors[kind]
            else:
                assert floats is not None
                out[kind] = _quantize.quantize(floats, kind)
        return BatchResult(vectors=out, usage=result.usage, meta=result.meta)

    def _finish(self, state: _CallState) -> EmbeddingResult:
        plan = state.plan
        n = plan.total
        arrays: dict[EmbeddingType, npt.NDArray[Any]] = {}
        usage = Usage()
        per_item: dict[str, list[Any]] = {}
        batch_meta: list[dict[str, Any]] = []
        dims: dict[EmbeddingType, int] = {}
        for number in sorted(state.results):
            result = state.results[number]
            for kind, arr in result.vectors.items():
                if kind in dims and dims[kind] != arr.shape[1]:
                    raise ResponseFormatError(
                        f"vectors of {arr.shape[1]} columns, earlier batches had {dims[kind]}",
                        batch=number,
                        provider=state.provider,
                    )
                dims[kind] = arr.shape[1]
        for kind in plan.requested_types:
            width = dims.get(kind)
            if width is None:
                width = plan.truncate_to or plan.expected_dimensions or 0
                if kind.packed:
                    width //= 8
            # rows of failed batches stay zero; with no failure every row is written
            alloc = np.zeros if state.errors else np.empty
            arrays[kind] = alloc((n, width), dtype=np.dtype(kind.dtype))
        for number in sorted(state.results):
            result = state.results[number]
            positions = np.asarray(state.plan.batches[number].positions, dtype=np.intp)
            for kind, arr in result.vectors.items():
                arrays[kind][positions] = arr
            usage = usage + result.usage
            for key, values in result.meta.pop("per_item", {}).items():
                column = per_item.setdefault(key, [None] * n)
                for position, value in zip(positions.tolist(), values, strict=True):
                    column[position] = value
            if result.meta:
                batch_meta.append({"batch": number, **result.meta})
        meta: dict[str, Any] = dict(per_item)
        if batch_meta:
            meta["batches"] = batch_meta
        embedding = EmbeddingResult(
            vectors=arrays,
            model=state.model,
            provider=state.provider,
            usage=usage,
            meta=meta,
        )
        if plan.long_inputs is not None:  # back to the caller's inputs: chunks combined
            embedding = plan.long_inputs.finish(embedding)
        if state.errors:
            if len(plan.batches) == 1:
                raise next(iter(state.errors.values()))
            failed = sorted(p for number in state.errors for p in plan.batches[number].positions)
            if plan.long_inputs is not None:
                failed = plan.long_inputs.caller_positions(failed)
            raise BatchFailedError(state.errors, failed, embedding)
        return embedding

    # ------------------------------------------------------------------ lifecycle

    def __del__(self) -> None:
        # the sync client's sockets; async clients need their loop: use ``aclose``
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()

    def close(self) -> None:
        """Close the sync client (async clients close with ``aclose``)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        """Close every client this engine opened (those of other, still running loops too)."""
        self.close()
        loop = asyncio.get_running_loop()
        with self._lock:
            entries = list(self._async.items())
            self._async.clear()
        for owner, (_, _, keeper) in entries:
            if owner is loop:
                await keeper.aclose()  # its ``finally`` closes the client
            elif not owner.is_closed():
                asyncio.run_coroutine_threadsafe(keeper.aclose(), owner)


async def _keeper(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Holds ``client`` open for the life of its event loop.

    ``asyncio.run`` (and every well-behaved loop owner) finalises pending async
    generators before closing the loop, which runs the ``finally`` here: so a
    client made for a temporary loop (LlamaIndex's ``use_async`` from sync
    code, ``asyncio.run`` per call) is closed with it, not leaked.
    """
    try:
        yield
    finally:
        await client.aclose()


def _envelope_error(response: httpx.Response, provider: str) -> ProviderError | None:
    """The error envelope a 2xx body holds, if it is one, for a parser that failed on it."""
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    return envelope_error(payload, response, provider=provider, expected=None)


def _requests_of(batch: Batch) -> list[Batch]:
    """The batch, or one copy per embedding type when the model takes one type a request."""
    if not batch.model.one_embedding_type_per_call or len(batch.embedding_types) < 2:
        return [batch]
    return [dataclasses.replace(batch, embedding_types=[kind]) for kind in batch.embedding_types]


def _cancelled(exc: BaseException) -> EmbedplugError:
    return EmbedplugError(f"the call was abandoned ({type(exc).__name__}) before this batch ran")


_AsyncEntry = tuple[httpx.AsyncClient, asyncio.Semaphore, AsyncGenerator[None, None]]
