"""The embed-jobs clients, sync and async, over one shared set of flows.

Every operation is written once as a *flow*: a generator that yields what it
needs done (``_Send`` a request, ``_Sleep``) and gets the answer back. The sync
client runs flows with one ``httpx.Client`` and ``time.sleep``; the async
client with one ``httpx.AsyncClient`` and ``asyncio.sleep``. Retries (tenacity,
as the engine does them) and the mapping of statuses to the core's error tree
live in the two small drivers, so polling, deadlines, state files and the
reading of output datasets are the same code for both.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, Union

import httpx
import orjson
import tenacity

from embedplug._http import transport_error
from embedplug.engine import RetryPolicy
from embedplug.errors import (
    ConfigurationError,
    ConnectionFailedError,
    EmbedplugError,
    InvalidInputError,
    NotFoundError,
    ProviderError,
    RateLimitError,
)
from embedplug.types import EmbeddingType, InputType, Usage
from embedplug_cohere._datasets_avro import read_records
from embedplug_cohere._jobs_protocol import (
    DatasetPayload,
    JobsProtocol,
    TextSource,
    assemble_result,
    build_payload,
    job_body,
    output_kinds,
)
from embedplug_cohere._jobs_types import (
    CreatedJob,
    Dataset,
    DatasetValidationError,
    EmbedJob,
    EmbedJobCancelledError,
    EmbedJobError,
    EmbedJobFailedError,
    EmbedJobResult,
    EmbedJobStatus,
    WaitTimeoutError,
)
from embedplug_cohere._provider import CohereProvider

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["AsyncEmbedJobsClient", "EmbedJobsClient", "JobState"]

logger = logging.getLogger("embedplug_cohere.jobs")

T = TypeVar("T")

ProgressArg = Union[bool, Callable[[EmbedJob], None]]  # noqa: UP007 (a runtime alias on 3.10)
"""``True`` for a tqdm display, or a callable given each polled job."""

STATE_VERSION = 1


# ---------------------------------------------------------------------------- flow ops


@dataclass
class _Send:
    request: httpx.Request
    idempotent: bool = True


@dataclass
class _Sleep:
    seconds: float


_Op = Union[_Send, _Sleep]  # noqa: UP007
Flow = Generator[_Op, Any, T]


def _never_processed(exc: BaseException) -> bool:
    """Whether a failed non-idempotent request surely did nothing (safe to send again)."""
    if isinstance(exc, RateLimitError) or (isinstance(exc, ProviderError) and exc.status == 503):
        return True
    return isinstance(exc, ConnectionFailedError) and isinstance(exc.__cause__, httpx.ConnectError)


# ---------------------------------------------------------------------------- state file


@dataclass
class JobState:
    """What ``embed_dataset`` writes to its state file, so a later run can resume.

    Written after the upload (``dataset_id``) and again right after the job is
    created (``job_id``): a process that dies at any point after that resumes
    without uploading or embedding anything again.
    """

    version: int = STATE_VERSION
    job_id: str | None = None
    dataset_id: str | None = None
    model: str | None = None
    input_type: str | None = None
    embedding_types: list[str] | None = None
    truncate: str | None = None
    name: str | None = None
    count: int | None = None
    fingerprint: str | None = None
    base_url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> JobState:
        """Read a state file; ``ConfigurationError`` if it is not one."""
        try:
            body = orjson.loads(Path(path).read_bytes())
        except OSError as exc:
            raise ConfigurationError(f"cannot read state file {str(path)!r}: {exc}") from None
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"state file {str(path)!r} is not JSON: {exc}") from None
        if not isinstance(body, dict) or body.get("version") != STATE_VERSION:
            raise ConfigurationError(f"{str(path)!r} is not an embedplug embed-job state file")
        known = {k: v for k, v in body.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (a temporary file renamed over the old one)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)
        fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data + b"\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def _resume_state(resume: str | os.PathLike[str]) -> tuple[JobState, Path | None]:
    """A state from a state file, or from a bare job id."""
    if isinstance(resume, os.PathLike) or Path(resume).is_file():
        path = Path(resume)
        state = JobState.load(path)
        if not state.job_id and not state.dataset_id:
            raise ConfigurationError(f"state file {str(path)!r} holds no job or dataset id")
        return state, path
    if not resume or os.sep in resume or resume.endswith(".json"):
        raise ConfigurationError(f"no such state file: {resume!r}")
    return JobState(job_id=resume), None


def _default_name() -> str:
    return f"embedplug-{time.strftime('%Y%m%d-%H%M%S')}-{random.randrange(16**4):04x}"


# ---------------------------------------------------------------------------- the flows


class _JobsBase:
    """Configuration and the flows shared by the sync and async clients."""

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        self._provider = CohereProvider(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            headers=headers,
            allow_insecure_http=allow_insecure_http,
        )
        self._protocol = JobsProtocol(self._provider)
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.clock: Callable[[], float] = time.monotonic
        """The clock of deadlines; tests replace it along with ``sleep``."""

    @property
    def base_url(self) -> str:
        """The API's base URL (``https://api.cohere.com`` by default)."""
        return self._protocol.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    # -- retries --------------------------------------------------------------------

    def _retry_options(self, op: _Send, sleep: Any) -> dict[str, Any]:
        def may_resend(exc: BaseException) -> bool:
            # a create that may have taken effect is not sent again: it could make a second job
            return op.idempotent or _never_processed(exc)

        return self.retry.tenacity_options(
            sleep, retry_if=may_resend, describe=f"{op.request.method} {op.request.url.path}"
        )

    def _checked(self, response: httpx.Response) -> httpx.Response:
        if not response.is_success:
            raise self._provider.parse_error(response)
        return response

    def _transport_error(self, exc: httpx.TransportError) -> ProviderError:
        error = transport_error(exc, "cohere")
        self._provider.redact_error(error)
        return error

    def _get_dataset_flow(self, dataset_id: str) -> Flow[Dataset]:
        response = yield _Send(self._protocol.get_dataset(dataset_id))
        return self._protocol.parse_dataset(response)

    def _get_job_flow(self, job_id: str) -> Flow[EmbedJob]:
        response = yield _Send(self._protocol.get_job(job_id))
        return self._protocol.parse_job(response)

    def _list_jobs_flow(self) -> Flow[list[EmbedJob]]:
        response = yield _Send(self._protocol.list_jobs())
        return self._protocol.parse_jobs(response)

    def _cancel_flow(self, job_id: str) -> Flow[None]:
        yield _Send(self._protocol.cancel_job(job_id))
        logger.info("asked to cancel embed job %s", job_id)

    def _create_flow(self, body: dict[str, Any]) -> Flow[CreatedJob]:
        response = yield _Send(self._protocol.create_job(body), idempotent=False)
        job = self._protocol.parse_create(response)
        logger.info("created embed job %s on dataset %s", job.job_id, body["dataset_id"])
        for warning in job.warnings:  # once, here: the job object keeps them too
            logger.warning("embed job %s: %s", job.job_id, warning)
        return job

    # -- datasets -------------------------------------------------------------------

    def _upload_flow(
        self,
        payload: DatasetPayload,
        *,
        name: str | None,
        wait: bool,
        timeout: float | None,
        poll_interval: float,
    ) -> Flow[str]:
        request = self._protocol.upload(payload, name=name or _default_name())
        response = yield _Send(request, idempotent=False)
        dataset_id = self._protocol.parse_upload(response)
        logger.info("uploaded dataset %s (%d rows)", dataset_id, payload.count)
        if wait:
            yield from self._validation_flow(dataset_id, timeout, poll_interval)
        return dataset_id

    def _validation_flow(
        self, dataset_id: str, timeout: float | None, poll_interval: float
    ) -> Flow[Dataset]:
        start = self.clock()
        interval = poll_interval
        while True:
            dataset = yield from self._get_dataset_flow(dataset_id)
            if dataset.validated:
                return dataset
            if dataset.validation_failed:
                raise DatasetValidationError(dataset)
            waited = self.clock() - start
            if timeout is not None and waited >= timeout:
                raise WaitTimeoutError("dataset", dataset_id, dataset.validation_status, waited)
            pause = interval if timeout is None else min(interval, timeout - waited)
            yield _Sleep(max(0.0, pause))
            interval = min(interval * 1.5, 30.0)

    # -- waiting --------------------------------------------------------------------

    def _wait_flow(
        self,
        job_id: str,
        *,
        timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
        progress: ProgressArg,
    ) -> Flow[EmbedJob]:
        if poll_interval < 0 or max_poll_interval < 0:
            raise InvalidInputError("poll intervals must be >= 0")
        start = self.clock()
        interval = poll_interval
        callback = progress if callable(progress) else None
        bar = None
        if progress is True:
            from tqdm.auto import tqdm

            bar = tqdm(total=None, desc=f"embed job {job_id}", unit="poll")
        try:
            while True:
                job = yield from self._get_job_flow(job_id)
                logger.debug("embed job %s: %s", job_id, job.status)
                if bar is not None:
                    bar.set_postfix_str(str(job.status), refresh=False)
                    bar.update(1)
                if callback is not None:
                    callback(job)
                if job.done:
                    _raise_if_unsuccessful(job)
                    return job
                waited = self.clock() - start
                if timeout is not None and waited >= timeout:
                    raise WaitTimeoutError("embed job", job_id, str(job.status), waited)
                pause = interval if timeout is None else min(interval, timeout - waited)
                yield _Sleep(max(0.0, pause))
                interval = min(max(interval, 0.1) * 1.5, max_poll_interval) if interval else 0.0
        finally:
            if bar is not None:
                bar.close()

    # -- reading results ------------------------------------------------------------

    def _download_flow(
        self,
        ident: str | None,
        *,
        dataset_id: str | None,
        embedding_types: Sequence[EmbeddingType | str] | None,
        expected_count: int | None = None,
        job: EmbedJob | None = None,
    ) -> Flow[EmbedJobResult]:
        kinds = output_kinds(embedding_types)
        if job is None and dataset_id is None:
            if not ident:
                raise InvalidInputError("give a job id or an output dataset id")
            try:
                job = yield from self._get_job_flow(ident)
            except NotFoundError:
                dataset_id = ident  # not a job: perhaps the output dataset itself
        if job is not None:
            if not job.succeeded:
                _raise_if_unsuccessful(job)
                raise EmbedJobError(
                    f"embed job {job.job_id} is still {job.status!s}; wait for it first",
                    job=job,
                )
            if not job.output_dataset_id:
                raise EmbedJobError(f"embed job {job.job_id} has no output dataset", job=job)
            dataset_id = job.output_dataset_id
        assert dataset_id is not None
        dataset = yield from self._get_dataset_flow(dataset_id)
        if dataset.dataset_type and dataset.dataset_type != "embed-output":
            raise ConfigurationError(
                f"dataset {dataset.id} is of type {dataset.dataset_type!r}, not an embed job's "
                "output (embed-output)"
            )
        parts = sorted(
            dataset.parts,
            key=lambda p: (p.index is None, p.index if p.index is not None else 0),
        )
        records: list[dict[str, Any]] = []
        for number, part in enumerate(parts):
            if not part.urls:
                raise EmbedJobError(
                    f"part {part.name or number} of dataset {dataset.id} has no url"
                )
            response = yield _Send(self._protocol.download_part(part.urls[0]))
            records.extend(read_records(response.content, expected_rows=part.num_rows))
        logger.info("read %d rows from dataset %s (%d parts)", len(records), dataset.id, len(parts))
        usage = Usage(input_tokens=job.billed_input_tokens, requests=0) if job else None
        return assemble_result(
            records,
            model=job.model if job else None,
            job_id=job.job_id if job else None,
            dataset_id=dataset.id,
            usage=usage,
            embedding_types=kinds,
            expected_count=expected_count,
        )

    # -- the whole thing ------------------------------------------------------------

    def _embed_dataset_flow(
        self,
        source: TextSource | None,
        *,
        model: str | None,
        input_type: InputType | str,
        embedding_types: Sequence[EmbeddingType | str] | None,
        truncate: str | None,
        name: str | None,
        text_field: str,
        keep_fields: Sequence[str],
        state_file: str | os.PathLike[str] | None,
        resume: str | os.PathLike[str] | None,
        timeout: float | None,
        poll_interval: float,
        max_poll_interval: float,
        validation_timeout: float | None,
        progress: ProgressArg,
    ) -> Flow[EmbedJobResult]:
        state: JobState | None = None
        payload: DatasetPayload | None = None
        warnings: list[str] = []  # the API's, from the create answer and the finished job
        target = Path(state_file) if state_file is not None else None
        if resume is not None:
            state, resumed_from = _resume_state(resume)
            target = target or resumed_from
            logger.info("resuming embed job %s (dataset %s)", state.job_id, state.dataset_id)
        elif target is not None and target.is_file():
            state = JobState.load(target)
            logger.info("resuming from %s: job %s", target, state.job_id)
        if state is not None and source is not None:
            payload = build_payload(source, text_field=text_field, keep_fields=keep_fields)
            if state.fingerprint and state.fingerprint != payload.fingerprint:
                raise ConfigurationError(
                    f"the state file {str(target)!r} belongs to other inputs; delete it to start "
                    "over, or resume without passing texts"
                )

        if state is None:
            if source is None:
                raise InvalidInputError("nothing to embed: give texts or a file, or resume=...")
            if not model:
                raise InvalidInputError("model is required")
            body = job_body(
                model,
                "-",
                input_type,
                name=name,
                embedding_types=embedding_types,
                truncate=truncate,
            )  # checked before anything is uploaded
            payload = payload or build_payload(
                source, text_field=text_field, keep_fields=keep_fields
            )
            state = JobState(
                model=model,
                input_type=body["input_type"],
                embedding_types=body.get("embedding_types"),
                truncate=body.get("truncate"),
                name=name,
                count=payload.count,
                fingerprint=payload.fingerprint,
                base_url=self.base_url,
            )
        if state.job_id is None:
            if state.dataset_id is None:
                assert payload is not None
                state.dataset_id = yield from self._upload_flow(
                    payload,
                    name=name,
                    wait=False,
                    timeout=validation_timeout,
                    poll_interval=poll_interval,
                )
                if target is not None:
                    state.save(target)
            yield from self._validation_flow(state.dataset_id, validation_timeout, poll_interval)
            if not state.model:
                raise ConfigurationError("the state file names no model; cannot create the job")
            body = job_body(
                state.model,
                state.dataset_id,
                state.input_type or InputType.SEARCH_DOCUMENT,
                name=state.name,
                embedding_types=state.embedding_types,
                truncate=state.truncate,
            )
            created = yield from self._create_flow(body)
            state.job_id = created.job_id
            warnings.extend(created.warnings)
            if target is not None:
                state.save(target)  # right away: from here on a crash re-embeds nothing
        job = yield from self._wait_flow(
            state.job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            progress=progress,
        )
        kinds = embedding_types if embedding_types is not None else state.embedding_types
        result = yield from self._download_flow(
            None,
            dataset_id=None,
            embedding_types=kinds,
            expected_count=state.count,
            job=job,
        )
        warnings.extend(job.warnings)
        if warnings:
            result.meta["warnings"] = list(dict.fromkeys(warnings))
        return result


def _raise_if_unsuccessful(job: EmbedJob) -> None:
    if job.status == EmbedJobStatus.CANCELLED:
        raise EmbedJobCancelledError(f"embed job {job.job_id} was cancelled", job=job)
    if job.status == EmbedJobStatus.FAILED:
        raise EmbedJobFailedError(f"embed job {job.job_id} failed", job=job)


# ---------------------------------------------------------------------------- sync


class EmbedJobsClient(_JobsBase):
    """Cohere embed jobs, blocking: upload, create, get, list, cancel, wait, download.

    ``api_key`` (else ``CO_API_KEY`` or ``COHERE_API_KEY``) and ``base_url``
    (else ``CO_API_URL``, else ``https://api.cohere.com``) resolve as for the
    ``cohere`` provider. One ``httpx.Client`` serves every call; close it with
    ``close()`` or a ``with`` block. ``sleep`` and ``clock`` are the backoff
    and deadline clocks (tests replace them). Transient errors (429, 5xx but
    501, timeouts, connection failures) are retried per ``retry``; creating a
    dataset or a job is retried only when the request surely did nothing
    (429, 503, connection refused), so that no job is made twice.
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        allow_insecure_http: bool = False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            retry=retry,
            headers=headers,
            allow_insecure_http=allow_insecure_http,
        )
        self.sleep: Callable[[float], None] = time.sleep
        self._transport = transport
        self._client: httpx.Client | None = None

    # -- the driver -----------------------------------------------------------------

    def _http(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout), transport=self._transport
            )
        return self._client

    def _send(self, op: _Send) -> httpx.Response:
        for attempt in tenacity.Retrying(**self._retry_options(op, self.sleep)):
            with attempt:
                try:
                    response = self._http().send(op.request)
                except httpx.TransportError as exc:
                    raise self._transport_error(exc) from exc
                return self._checked(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, flow: Flow[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    op = flow.throw(error) if error is not None else flow.send(reply)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                except EmbedplugError as exc:  # a flow's own error may quote an answer
                    self._provider.redact_error(exc)
                    raise
                reply, error = None, None
                try:
                    if isinstance(op, _Sleep):
                        if op.seconds > 0:
                            self.sleep(op.seconds)
                    else:
                        reply = self._send(op)
                except EmbedplugError as exc:
                    error = exc
        finally:
            flow.close()

    # -- the API --------------------------------------------------------------------

    def upload_dataset(
        self,
        source: TextSource,
        *,
        name: str | None = None,
        text_field: str = "text",
        keep_fields: Sequence[str] = (),
        wait: bool = True,
        timeout: float | None = 600.0,
        poll_interval: float = 2.0,
    ) -> str:
        """Upload texts (a list of strings, or a ``.jsonl``/``.csv`` file) as an
        ``embed-input`` dataset and return its id, after validation unless ``wait=False``.

        Each row gets an ``embedplug_index`` field (kept by Cohere) so the
        output can be put back in input order. ``text_field``: the column of a
        file that holds the text; ``keep_fields``: other columns to keep in the
        output. Validation failing raises ``DatasetValidationError``; not ending
        within ``timeout`` seconds, ``WaitTimeoutError``.
        """
        payload = build_payload(source, text_field=text_field, keep_fields=keep_fields)
        return self._run(
            self._upload_flow(
                payload, name=name, wait=wait, timeout=timeout, poll_interval=poll_interval
            )
        )

    def get_dataset(self, dataset_id: str) -> Dataset:
        """A dataset's description (validation status, parts)."""
        return self._run(self._get_dataset_flow(dataset_id))

    def create_job(
        self,
        model: str,
        dataset_id: str,
        input_type: InputType | str = InputType.SEARCH_DOCUMENT,
        *,
        name: str | None = None,
        embedding_types: Sequence[EmbeddingType | str] | EmbeddingType | str | None = None,
        truncate: str | None = None,
    ) -> CreatedJob:
        """Start an embed job over a validated ``embed-input`` dataset; returns its id.

        The id is a ``CreatedJob``: a ``str`` that also carries the answer's ``meta``
        and ``warnings`` (each warning is logged once, at WARNING level).
        ``embedding_types`` may include ``"base64"`` (floats, read back as
        ``float``). ``input_type="image"`` is refused: the datasets uploaded here
        hold texts.
        """
        body = job_body(
            model,
            dataset_id,
            input_type,
            name=name,
            embedding_types=embedding_types,
            truncate=truncate,
        )
        return self._run(self._create_flow(body))

    def get_job(self, job_id: str) -> EmbedJob:
        """A job's current state."""
        return self._run(self._get_job_flow(job_id))

    def list_jobs(self) -> list[EmbedJob]:
        """Every embed job of the account, as the API lists them."""
        return self._run(self._list_jobs_flow())

    def cancel_job(self, job_id: str) -> None:
        """Ask the API to cancel a job (it goes through ``cancelling`` to ``cancelled``)."""
        self._run(self._cancel_flow(job_id))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        progress: ProgressArg = False,
    ) -> EmbedJob:
        """Poll until the job ends; returns it when complete.

        Polls every ``poll_interval`` seconds, growing by half each time up to
        ``max_poll_interval``. ``failed`` raises ``EmbedJobFailedError``,
        ``cancelled`` ``EmbedJobCancelledError`` (both carry ``status`` and
        ``job``); no end within ``timeout`` seconds raises ``WaitTimeoutError``
        (the job goes on). ``progress=True`` shows a tqdm display; a callable
        is given every polled ``EmbedJob``.
        """
        return self._run(
            self._wait_flow(
                job_id,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                progress=progress,
            )
        )

    def download(
        self,
        job_id: str | None = None,
        *,
        dataset_id: str | None = None,
        embedding_types: Sequence[EmbeddingType | str] | None = None,
    ) -> EmbedJobResult:
        """Read a complete job's output dataset into an ``EmbedJobResult``.

        ``job_id`` may also be the output dataset's id (tried when no job has
        that id), or pass ``dataset_id=`` directly. Vectors come back as NumPy
        arrays per embedding type in input order, with the original texts.
        """
        return self._run(
            self._download_flow(job_id, dataset_id=dataset_id, embedding_types=embedding_types)
        )

    def embed_dataset(
        self,
        source: TextSource | None = None,
        *,
        model: str | None = None,
        input_type: InputType | str = InputType.SEARCH_DOCUMENT,
        embedding_types: Sequence[EmbeddingType | str] | None = None,
        truncate: str | None = None,
        name: str | None = None,
        text_field: str = "text",
        keep_fields: Sequence[str] = (),
        state_file: str | os.PathLike[str] | None = None,
        resume: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        validation_timeout: float | None = 600.0,
        progress: ProgressArg = False,
    ) -> EmbedJobResult:
        """Upload, create the job, wait and download, in one call that can be resumed.

        With ``state_file``, the dataset id is written there after the upload
        and the job id right after the job is created; calling again with the
        same ``state_file`` (and the same texts) or with ``resume=<state file
        or job id>`` picks the job up: no new dataset, no new job.
        """
        return self._run(
            self._embed_dataset_flow(
                source,
                model=model,
                input_type=input_type,
                embedding_types=embedding_types,
                truncate=truncate,
                name=name,
                text_field=text_field,
                keep_fields=keep_fields,
                state_file=state_file,
                resume=resume,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                validation_timeout=validation_timeout,
                progress=progress,
            )
        )

    # -- life cycle -----------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> EmbedJobsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# ---------------------------------------------------------------------------- async


class AsyncEmbedJobsClient(_JobsBase):
    """The async twin of ``EmbedJobsClient``: the same methods, as coroutines.

    One ``httpx.AsyncClient`` (made on first use, in the running loop) serves
    every call; close it with ``await aclose()`` or ``async with``.
    """

    def __init__(
        self,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        *,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        headers: dict[str, str] | None = None,
        allow_insecure_http: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            api_key,
            base_url,
            timeout=timeout,
            retry=retry,
            headers=headers,
            allow_insecure_http=allow_insecure_http,
        )
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout), transport=self._transport
            )
        return self._client

    async def _send(self, op: _Send) -> httpx.Response:
        async for attempt in tenacity.AsyncRetrying(**self._retry_options(op, self.sleep)):
            with attempt:
                try:
                    response = await self._http().send(op.request)
                except httpx.TransportError as exc:
                    raise self._transport_error(exc) from exc
                return self._checked(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _run(self, flow: Flow[T]) -> T:
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                try:
                    op = flow.throw(error) if error is not None else flow.send(reply)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                except EmbedplugError as exc:  # a flow's own error may quote an answer
                    self._provider.redact_error(exc)
                    raise
                reply, error = None, None
                try:
                    if isinstance(op, _Sleep):
                        if op.seconds > 0:
                            await self.sleep(op.seconds)
                    else:
                        reply = await self._send(op)
                except EmbedplugError as exc:
                    error = exc
        finally:
            flow.close()

    async def upload_dataset(
        self,
        source: TextSource,
        *,
        name: str | None = None,
        text_field: str = "text",
        keep_fields: Sequence[str] = (),
        wait: bool = True,
        timeout: float | None = 600.0,
        poll_interval: float = 2.0,
    ) -> str:
        """See ``EmbedJobsClient.upload_dataset``."""
        payload = build_payload(source, text_field=text_field, keep_fields=keep_fields)
        return await self._run(
            self._upload_flow(
                payload, name=name, wait=wait, timeout=timeout, poll_interval=poll_interval
            )
        )

    async def get_dataset(self, dataset_id: str) -> Dataset:
        """See ``EmbedJobsClient.get_dataset``."""
        return await self._run(self._get_dataset_flow(dataset_id))

    async def create_job(
        self,
        model: str,
        dataset_id: str,
        input_type: InputType | str = InputType.SEARCH_DOCUMENT,
        *,
        name: str | None = None,
        embedding_types: Sequence[EmbeddingType | str] | EmbeddingType | str | None = None,
        truncate: str | None = None,
    ) -> CreatedJob:
        """See ``EmbedJobsClient.create_job``."""
        body = job_body(
            model,
            dataset_id,
            input_type,
            name=name,
            embedding_types=embedding_types,
            truncate=truncate,
        )
        return await self._run(self._create_flow(body))

    async def get_job(self, job_id: str) -> EmbedJob:
        """See ``EmbedJobsClient.get_job``."""
        return await self._run(self._get_job_flow(job_id))

    async def list_jobs(self) -> list[EmbedJob]:
        """See ``EmbedJobsClient.list_jobs``."""
        return await self._run(self._list_jobs_flow())

    async def cancel_job(self, job_id: str) -> None:
        """See ``EmbedJobsClient.cancel_job``."""
        await self._run(self._cancel_flow(job_id))

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        progress: ProgressArg = False,
    ) -> EmbedJob:
        """See ``EmbedJobsClient.wait``."""
        return await self._run(
            self._wait_flow(
                job_id,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                progress=progress,
            )
        )

    async def download(
        self,
        job_id: str | None = None,
        *,
        dataset_id: str | None = None,
        embedding_types: Sequence[EmbeddingType | str] | None = None,
    ) -> EmbedJobResult:
        """See ``EmbedJobsClient.download``."""
        return await self._run(
            self._download_flow(job_id, dataset_id=dataset_id, embedding_types=embedding_types)
        )

    async def embed_dataset(
        self,
        source: TextSource | None = None,
        *,
        model: str | None = None,
        input_type: InputType | str = InputType.SEARCH_DOCUMENT,
        embedding_types: Sequence[EmbeddingType | str] | None = None,
        truncate: str | None = None,
        name: str | None = None,
        text_field: str = "text",
        keep_fields: Sequence[str] = (),
        state_file: str | os.PathLike[str] | None = None,
        resume: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        poll_interval: float = 5.0,
        max_poll_interval: float = 60.0,
        validation_timeout: float | None = 600.0,
        progress: ProgressArg = False,
    ) -> EmbedJobResult:
        """See ``EmbedJobsClient.embed_dataset``."""
        return await self._run(
            self._embed_dataset_flow(
                source,
                model=model,
                input_type=input_type,
                embedding_types=embedding_types,
                truncate=truncate,
                name=name,
                text_field=text_field,
                keep_fields=keep_fields,
                state_file=state_file,
                resume=resume,
                timeout=timeout,
                poll_interval=poll_interval,
                max_poll_interval=max_poll_interval,
                validation_timeout=validation_timeout,
                progress=progress,
            )
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> AsyncEmbedJobsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
