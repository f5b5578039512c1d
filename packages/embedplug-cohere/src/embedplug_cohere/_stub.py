"""A stub of Cohere's Datasets and Embed Jobs APIs, on top of the ``cohere`` stub server.

``CohereJobsStub`` is a :class:`~embedplug.testing.StubServer` of variant
``cohere`` (so ``POST /v2/embed`` works too, and ``requests``, ``inject`` and
``expected_vectors`` are the same) that also serves:

==========================================  ==========================================
``POST /v1/datasets?name=&type=embed-input``  multipart upload (``data`` part, .jsonl or
                                              .csv); ``keep_fields``/``optional_fields``
                                              as query or form fields -> ``{"id"}``
``GET /v1/datasets/{id}``                     ``{"dataset": {...}}``; validation goes
                                              ``queued`` -> ``processing`` -> ``validated``
                                              (or ``failed`` with ``validation_error``)
``DELETE /v1/datasets/{id}``                  ``{}``
``POST /v1/embed-jobs``                       ``{"job_id", "meta"}``
``GET /v1/embed-jobs``                        ``{"embed_jobs": [...]}``
``GET /v1/embed-jobs/{id}``                   the job; ``processing`` for ``job_polls``
                                              polls, then ``complete`` (or a scripted end)
``POST /v1/embed-jobs/{id}/cancel``           ``cancelling``, then ``cancelled``
``GET /storage/{dataset}/{part}``             a part of a dataset, no key needed (as a
                                              signed storage URL), on ``parts_host``
==========================================  ==========================================

Output datasets are ``embed-output`` datasets whose parts are Avro object
container files (what the cohere SDK reads with ``fastavro``; written here with
``fastavro``, imported only when a part is written), ``deflate`` by default
(``codec="null"``, ``"bzip2"`` or ``"xz"`` otherwise), of records ``{text,
embeddings: {float, int8, uint8, binary, ubinary, base64}, <kept fields>}`` (the shape
of Cohere's embed-jobs guide); or JSON Lines with ``output_format="jsonl"``.
Vectors are those of ``StubServer("cohere")``: ``stub.expected_vectors(texts,
model=..., embedding_type=...)`` is what a job gives.

Scripting: ``script_job("failed")`` (the next job created fails; also
``"cancelled"``, or ``"processing"`` to never finish), ``script_dataset("failed",
error=...)``. Counters: ``datasets_created``, ``jobs_created``, ``cancels``,
``part_downloads``, ``texts_embedded``. Errors: ``inject(Fault.status(503,
path="/v1/embed-jobs"))`` as for any stub server (``path`` is exact; ``None``
applies to any path).
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import parse_qs, unquote, urlsplit

import orjson

from embedplug.testing import (
    CohereVariant,
    FaultKind,
    StubError,
    StubServer,
    count_tokens,
    rows_to_base64,
)
from embedplug_cohere._stub_files import (
    EMBEDDING_TYPES,
    AvroCodec,
    avro_file,
    avro_schema,
    list_param,
    multipart,
    rows_of_upload,
)

if TYPE_CHECKING:
    from embedplug.testing import RecordedRequest, RequestHandler

__all__ = ["AvroCodec", "CohereJobsStub", "CohereVariant", "avro_file"]

_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering", "image")
_JobEnd = Literal["complete", "failed", "cancelled", "processing"]
_ROUTE = re.compile(
    r"^/v1/(?P<kind>datasets|embed-jobs)(?:/(?P<id>[^/]+)(?:/(?P<action>[^/]+))?)?$"
)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "dataset"


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------- state


@dataclass
class _Dataset:
    id: str
    name: str
    dataset_type: str
    status: str
    polls_left: int
    end_status: str = "validated"
    error: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    parts: list[tuple[str, bytes, int]] = field(default_factory=list)  # name, data, rows
    created_at: str = field(default_factory=_now)

    def to_json(self, parts_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "dataset_type": self.dataset_type,
            "validation_status": self.status,
            "validation_error": self.error,
            "schema": orjson.dumps(avro_schema(self.kept)).decode(),
            "required_fields": ["text"],
            "preserve_fields": list(self.kept),
            "dataset_parts": [
                {
                    "id": f"{self.id}-part-{n}",
                    "name": name,
                    "url": f"{parts_url}/storage/{self.id}/{name}",
                    "index": n,
                    "size_bytes": len(data),
                    "num_rows": rows,
                }
                for n, (name, data, rows) in enumerate(self.parts)
            ]
            if self.status == "validated"
            else [],
            "validation_warnings": [],
        }


@dataclass
class _Job:
    id: str
    name: str | None
    model: str
    dataset_id: str
    input_type: str
    embedding_types: list[str]
    truncate: str
    polls_left: int | None
    end: str
    status: str = "processing"
    output_dataset_id: str | None = None
    billed: int = 0
    created_at: str = field(default_factory=_now)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "job_id": self.id,
            "status": self.status,
            "created_at": self.created_at,
            "input_dataset_id": self.dataset_id,
            "model": self.model,
            "truncate": self.truncate,
            "meta": {"api_version": {"version": "1"}},
        }
        if self.name:
            body["name"] = self.name
        if self.output_dataset_id:
            body["output_dataset_id"] = self.output_dataset_id
        if self.status == "complete":
            body["meta"]["billed_units"] = {"input_tokens": self.billed}
        return body


class CohereJobsStub(StubServer):
    """The ``cohere`` stub server plus Cohere's Datasets and Embed Jobs APIs.

    ``CohereJobsStub(api_key=None, dimensions=None, job_polls=2,
    validation_polls=1, rows_per_part=100, output_format="avro",
    codec="deflate", shuffle_output=False, parts_host="localhost")``.
    ``job_polls``/``validation_polls``: how many ``GET``\\ s still show a job
    ``processing`` / a dataset not yet validated. ``shuffle_output`` serves
    output rows out of input order (each still carries its kept fields), to
    prove a client restores the order itself. Part URLs use ``parts_host``
    (``localhost`` while the API is on ``127.0.0.1``): another origin, like
    Cohere's signed storage URLs, to which no key should be sent.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        dimensions: int | None = None,
        latency: float = 0.0,
        job_polls: int = 2,
        validation_polls: int = 1,
        rows_per_part: int = 100,
        output_format: Literal["avro", "jsonl"] = "avro",
        codec: AvroCodec = "deflate",
        shuffle_output: bool = False,
        parts_host: str = "localhost",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(
            "cohere", dimensions=dimensions, latency=latency, api_key=api_key, host=host, port=port
        )
        if job_polls < 0 or validation_polls < 0 or rows_per_part < 1:
            raise ValueError("job_polls and validation_polls must be >= 0, rows_per_part >= 1")
        self.job_polls = job_polls
        self.validation_polls = validation_polls
        self.rows_per_part = rows_per_part
        self.output_format = output_format
        self.codec: AvroCodec = codec
        self.shuffle_output = shuffle_output
        self.parts_host = parts_host
        self._state_lock = threading.Lock()
        self._datasets: dict[str, _Dataset] = {}
        self._jobs: dict[str, _Job] = {}
        self._job_script: collections.deque[tuple[_JobEnd, int | None]] = collections.deque()
        self._dataset_script: collections.deque[tuple[str, str | None]] = collections.deque()
        self._ids = 0
        self.datasets_created = 0
        """Datasets created by uploads (output datasets not counted)."""
        self.jobs_created = 0
        self.cancels = 0
        self.part_downloads = 0
        self.texts_embedded: collections.Counter[str] = collections.Counter()
        """How many times each text was embedded by a job."""
        self.create_warnings: list[str] = []
        """``meta.warnings`` of every create answer (e.g. a deprecation notice)."""

    stub_options: ClassVar[Mapping[str, tuple[type, Any, str]]] = {
        "job_polls": (int, 2, "polls a job shows 'processing'"),
        "validation_polls": (int, 1, "polls a dataset shows 'processing' before 'validated'"),
    }
    """Options of ``python -m embedplug.testing.stub --variant cohere-jobs``."""
    extra_paths: ClassVar[tuple[str, ...]] = ("/v1/embed-jobs",)
    """Served besides ``/v2/embed`` (named in the stub command's banner)."""

    def start(self) -> CohereJobsStub:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread; returns ``self``."""
        super().start()
        return self

    def __enter__(self) -> CohereJobsStub:
        return self.start()

    # -- scripting ------------------------------------------------------------------

    def script_job(self, end: _JobEnd = "failed", *, polls: int | None = None) -> None:
        """The next job created ends as ``end`` after ``polls`` polls (default
        ``job_polls``); ``"processing"`` never ends. Queued, one per job."""
        if end not in ("complete", "failed", "cancelled", "processing"):
            raise ValueError(f"a job ends complete, failed, cancelled or processing, not {end!r}")
        self._job_script.append((end, polls))

    def script_dataset(self, status: str = "failed", *, error: str | None = None) -> None:
        """The next upload's validation ends as ``status`` (e.g. ``failed``, ``skipped``)."""
        self._dataset_script.append((status, error or f"validation {status} (scripted)"))

    # -- inspection -------------------------------------------------------------------

    @property
    def parts_url(self) -> str:
        """Where dataset parts are served: ``http://<parts_host>:<port>``."""
        return f"http://{self.parts_host}:{self.port}"

    def job(self, job_id: str) -> dict[str, Any]:
        """A job as ``GET /v1/embed-jobs/{id}`` shows it (without advancing it)."""
        with self._state_lock:
            return self._jobs[job_id].to_json()

    def dataset(self, dataset_id: str) -> dict[str, Any]:
        """A dataset as ``GET /v1/datasets/{id}`` shows it (without advancing it)."""
        with self._state_lock:
            return self._datasets[dataset_id].to_json(self.parts_url)

    def dataset_rows(self, dataset_id: str) -> list[dict[str, Any]]:
        """The rows a dataset holds (text and kept fields), in upload order."""
        with self._state_lock:
            return [dict(r) for r in self._datasets[dataset_id].rows]

    def finish_job(self, job_id: str, end: _JobEnd = "complete") -> None:
        """End a job now (as the server would), whatever its polls left."""
        with self._state_lock:
            self._end_job(self._jobs[job_id], end)

    # -- routing ----------------------------------------------------------------------

    def _respond(
        self,
        handler: RequestHandler,
        record: RecordedRequest,
        number: int,
        parsed: Any,
        valid_json: bool,
    ) -> None:
        path = record.path
        if not path.startswith(("/v1/", "/storage/")):
            super()._respond(handler, record, number, parsed, valid_json)
            return
        rid = record.request_id
        fault = self._faults.take(path)
        record.fault = fault
        delay = self.latency + (fault.seconds if fault is not None else 0.0)
        if delay > 0 and self._stopping.wait(delay):
            handler.close_connection = True
            return
        if fault is not None and fault.kind is FaultKind.STATUS:
            self._send_status_fault(handler, record, fault, rid)
            return
        if fault is not None and fault.kind is FaultKind.DISCONNECT:
            handler.close_connection = True
            return
        content_type = "application/json"
        try:
            if path.startswith("/storage/"):  # a signed URL: no key needed
                status, out, content_type = 200, self._part(path), "application/octet-stream"
            else:
                self._check_key(handler)
                query = parse_qs(urlsplit(handler.path).query)
                status, payload = self._api(handler, record, query, parsed)
                out = orjson.dumps(payload)
        except StubError as err:
            record.status = err.status
            body = orjson.dumps(self.variant.error(err.status, err.message))
            self._send(handler, err.status, body, rid, err.headers.items())
            return
        if fault is not None and fault.kind is FaultKind.MALFORMED_JSON:
            out = out[: max(1, len(out) // 2)]
        if fault is not None and fault.kind is FaultKind.RESET:
            self._send(handler, status, out, rid, (), partial=int(len(out) * fault.fraction))
            return
        record.status = status
        self._send(handler, status, out, rid, (), content_type=content_type)

    def _check_key(self, handler: RequestHandler) -> None:
        if self.api_key is None:
            return
        scheme, _, token = handler.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.api_key:
            raise StubError(401, "invalid or missing API key")

    def _api(
        self,
        handler: RequestHandler,
        record: RecordedRequest,
        query: dict[str, list[str]],
        parsed: Any,
    ) -> tuple[int, Any]:
        match = _ROUTE.match(record.path)
        if match is None:
            raise StubError(404, f"no route for {record.method} {record.path}")
        kind, ident, action = match.group("kind"), match.group("id"), match.group("action")
        ident = unquote(ident) if ident else None
        method = record.method
        with self._state_lock:
            if kind == "datasets" and ident is None and method == "POST":
                return 200, self._upload(handler, record, query)
            if kind == "datasets" and ident and action is None and method == "GET":
                return 200, {"dataset": self._get_dataset(ident)}
            if kind == "datasets" and ident and action is None and method == "DELETE":
                self._datasets.pop(ident, None)
                return 200, {}
            if kind == "embed-jobs" and ident is None and method == "POST":
                return 200, self._create_job(parsed)
            if kind == "embed-jobs" and ident is None and method == "GET":
                return 200, {"embed_jobs": [j.to_json() for j in self._jobs.values()]}
            if kind == "embed-jobs" and ident and action is None and method == "GET":
                return 200, self._get_job(ident)
            if kind == "embed-jobs" and ident and action == "cancel" and method == "POST":
                return 200, self._cancel(ident)
        raise StubError(404, f"no route for {method} {record.path}")

    # -- datasets ---------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _upload(
        self, handler: RequestHandler, record: RecordedRequest, query: dict[str, list[str]]
    ) -> dict[str, Any]:
        name = (query.get("name") or [""])[0]
        dtype = (query.get("type") or [""])[0]
        if not name:
            raise StubError(400, "'name' is required")
        if dtype != "embed-input":
            raise StubError(400, f"this stub takes datasets of type embed-input, not {dtype!r}")
        fields = multipart(record.body, handler.headers.get("Content-Type", ""))
        if "data" not in fields:
            raise StubError(400, "the 'data' file part is required")
        filename, content = fields["data"]
        keep = list_param(query.get("keep_fields", []))
        optional = list_param(query.get("optional_fields", []))
        for form_name, target in (("keep_fields", keep), ("optional_fields", optional)):
            if form_name in fields:
                target.extend(list_param([fields[form_name][1].decode("utf-8")]))
        dataset = _Dataset(
            id=f"{_slug(name)}-{self._next_id():06x}",
            name=name,
            dataset_type="embed-input",
            status="queued",
            polls_left=self.validation_polls,
            kept=list(dict.fromkeys(keep + optional)),
        )
        try:
            rows = rows_of_upload(filename, content)
            for position, row in enumerate(rows):
                text = row.get("text")
                if not isinstance(text, str) or not text:
                    raise ValueError(f"row {position}: the required field 'text' is missing")
                missing = [k for k in keep if k not in row]
                if missing:
                    raise ValueError(f"row {position}: keep_fields {missing} are missing")
                kept = {k: row[k] for k in dataset.kept if k in row}
                dataset.rows.append({"text": text, **kept})
            if not rows:
                raise ValueError("the file holds no rows")
        except (ValueError, UnicodeDecodeError) as exc:
            dataset.end_status, dataset.error = "failed", str(exc)
            dataset.rows.clear()
        if self._dataset_script:
            dataset.end_status, dataset.error = self._dataset_script.popleft()
        dataset.parts = [(filename or "input.jsonl", content, len(dataset.rows))]
        self._datasets[dataset.id] = dataset
        self.datasets_created += 1
        return {"id": dataset.id}

    def _get_dataset(self, ident: str) -> dict[str, Any]:
        dataset = self._datasets.get(ident)
        if dataset is None:
            raise StubError(404, f"dataset {ident} not found")
        if dataset.status in ("queued", "processing"):
            if dataset.polls_left <= 0:
                dataset.status = dataset.end_status
            else:
                dataset.polls_left -= 1
                dataset.status = "processing"
        return dataset.to_json(self.parts_url)

    def _part(self, path: str) -> bytes:
        _, _, dataset_id, name = path.split("/", 3)
        with self._state_lock:
            dataset = self._datasets.get(unquote(dataset_id))
            for part_name, data, _ in dataset.parts if dataset else ():
                if part_name == unquote(name):
                    self.part_downloads += 1
                    return data
        raise StubError(404, f"no such object: {path}")

    # -- jobs ---------------------------------------------------------------------------

    def _create_job(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise StubError(400, "the request body must be a JSON object")
        for key in ("model", "dataset_id", "input_type"):
            if not body.get(key):
                raise StubError(400, f"'{key}' is required")
        model = body["model"]
        if model not in self.variant.model_dimensions:
            raise StubError(404, f"model {model!r} not found")
        dataset = self._datasets.get(body["dataset_id"])
        if dataset is None:
            raise StubError(404, f"dataset {body['dataset_id']} not found")
        if dataset.dataset_type != "embed-input":
            raise StubError(400, f"dataset {dataset.id} is not of type embed-input")
        if dataset.status != "validated":
            raise StubError(400, f"dataset {dataset.id} is {dataset.status}, not validated")
        if body["input_type"] not in _INPUT_TYPES:
            raise StubError(400, f"invalid input_type {body['input_type']!r}")
        kinds = body.get("embedding_types") or ["float"]
        if not isinstance(kinds, list) or any(k not in EMBEDDING_TYPES for k in kinds):
            raise StubError(400, f"invalid embedding_types {kinds!r}")
        truncate = body.get("truncate", "END")
        if truncate not in ("START", "END"):
            raise StubError(400, f"truncate must be START or END, not {truncate!r}")
        end, polls = self._job_script.popleft() if self._job_script else ("complete", None)
        if polls is None:
            polls = self.job_polls
        job = _Job(
            id=str(uuid.UUID(int=self._next_id())),
            name=body.get("name"),
            model=model,
            dataset_id=dataset.id,
            input_type=body["input_type"],
            embedding_types=list(dict.fromkeys(kinds)),
            truncate=truncate,
            polls_left=None if end == "processing" else polls,
            end=end,
        )
        self._jobs[job.id] = job
        self.jobs_created += 1
        meta: dict[str, Any] = {"api_version": {"version": "1"}}
        if self.create_warnings:
            meta["warnings"] = list(self.create_warnings)
        return {"job_id": job.id, "meta": meta}

    def _get_job(self, ident: str) -> dict[str, Any]:
        job = self._jobs.get(ident)
        if job is None:
            raise StubError(404, f"embed job {ident} not found")
        if job.status == "cancelling":
            job.status = "cancelled"
        elif job.status == "processing" and job.polls_left is not None:
            if job.polls_left <= 0:
                self._end_job(job, job.end)
            else:
                job.polls_left -= 1
        return job.to_json()

    def _cancel(self, ident: str) -> dict[str, Any]:
        job = self._jobs.get(ident)
        if job is None:
            raise StubError(404, f"embed job {ident} not found")
        if job.status in ("complete", "failed"):
            raise StubError(400, f"embed job {ident} is {job.status} and cannot be cancelled")
        if job.status == "processing":
            job.status = "cancelling"
        self.cancels += 1
        return {}

    def _end_job(self, job: _Job, end: str) -> None:
        job.status = end
        if end != "complete":
            return
        source = self._datasets[job.dataset_id]
        texts = [row["text"] for row in source.rows]
        vectors = {
            kind: self.expected_vectors(texts, model=job.model, embedding_type=kind).tolist()
            for kind in job.embedding_types
            if kind != "base64"
        }
        if "base64" in job.embedding_types:  # little-endian float32 bytes, as /v2/embed
            floats = self.expected_vectors(texts, model=job.model).astype("<f4")
            vectors["base64"] = rows_to_base64(floats)
        records = [
            {
                "text": row["text"],
                "embeddings": {
                    kind: (vectors[kind][i] if kind in vectors else None)
                    for kind in EMBEDDING_TYPES
                },
                **{k: row[k] for k in source.kept if k in row},
            }
            for i, row in enumerate(source.rows)
        ]
        if self.shuffle_output and len(records) > 1:
            records = records[::-1]
            shift = len(records) // 3
            records = records[shift:] + records[:shift]
        output = _Dataset(
            id=f"{_slug(job.name or 'embed-job')}-output-{self._next_id():06x}",
            name=f"{job.name or job.id} output",
            dataset_type="embed-output",
            status="validated",
            polls_left=0,
            kept=list(source.kept),
        )
        seed = hashlib.blake2b(output.id.encode(), digest_size=16).digest()
        for n, start in enumerate(range(0, len(records), self.rows_per_part)):
            chunk = records[start : start + self.rows_per_part]
            if self.output_format == "jsonl":
                data = b"".join(orjson.dumps(r) + b"\n" for r in chunk)
                part_name = f"part-{n:05d}.jsonl"
            else:
                data = avro_file(chunk, source.kept, codec=self.codec, sync=seed)
                part_name = f"part-{n:05d}.avro"
            output.parts.append((part_name, data, len(chunk)))
        self._datasets[output.id] = output
        job.output_dataset_id = output.id
        job.billed = sum(count_tokens(t) for t in texts)
        self.texts_embedded.update(texts)
