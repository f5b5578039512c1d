"""Cohere's Datasets and Embed Jobs APIs, sans-IO: requests built, responses parsed.

Endpoints (as the cohere SDK calls them):

* ``POST /v1/datasets?name=&type=embed-input[&keep_fields=...]``, multipart with
  the file in a ``data`` part -> ``{"id": ...}``
* ``GET /v1/datasets/{id}`` -> ``{"dataset": {validation_status, dataset_parts: [{url}], ...}}``
* ``POST /v1/embed-jobs`` ``{model, dataset_id, input_type, name, embedding_types, truncate}``
  -> ``{"job_id": ..., "meta": ...}``
* ``GET /v1/embed-jobs/{id}``, ``GET /v1/embed-jobs`` (``{"embed_jobs": [...]}``),
  ``POST /v1/embed-jobs/{id}/cancel``

Nothing here sends anything; ``_jobs_client`` does, sync or async.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import numpy as np
import orjson

from embedplug._http import raise_for_envelope
from embedplug.errors import InvalidInputError, ResponseFormatError
from embedplug.protocols._decode import decode_rows
from embedplug.types import EmbeddingType, InputType, Usage, coerce_embedding_types
from embedplug_cohere._jobs_types import CreatedJob, Dataset, EmbedJob, EmbedJobResult

if TYPE_CHECKING:
    import numpy.typing as npt

    from embedplug_cohere._provider import CohereProvider

__all__ = ["INDEX_FIELD", "DatasetPayload", "JobsProtocol", "assemble_result", "build_payload"]

INDEX_FIELD = "embedplug_index"
"""The field embedplug adds to every uploaded row (and keeps) to restore input order."""

_JOB_TRUNCATE = ("START", "END")  # the embed-jobs API takes no "NONE"
_PROVIDER = "cohere"

TextSource = Sequence[str] | str | os.PathLike[str]


def _bad(message: str) -> ResponseFormatError:
    return ResponseFormatError(message, provider=_PROVIDER)


# ---------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class DatasetPayload:
    """An ``embed-input`` file ready to upload: JSON Lines with ``text`` and the index field."""

    content: bytes
    count: int
    keep_fields: tuple[str, ...]
    fingerprint: str
    filename: str = "embedplug-input.jsonl"


def _rows_from_file(path: Path) -> Iterable[Mapping[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        with path.open("rb") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise InvalidInputError(f"{path}: line {number} is not JSON: {exc}") from None
                if not isinstance(row, dict):
                    raise InvalidInputError(f"{path}: line {number} is not a JSON object")
                yield row
    elif suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as fh:
            yield from csv.DictReader(fh)
    else:
        raise InvalidInputError(f"{path}: expected a .jsonl or .csv file, not {suffix or 'none'}")


def build_payload(
    source: TextSource,
    *,
    text_field: str = "text",
    keep_fields: Sequence[str] = (),
) -> DatasetPayload:
    """Read texts (a list of strings, or a ``.jsonl``/``.csv`` file) into an upload.

    Every row becomes ``{"text": ..., "embedplug_index": i, <keep_fields>...}``;
    ``text_field`` names the column holding the text in a file. An empty or
    missing text is refused here, before any request, with its position.
    """
    keep = tuple(dict.fromkeys(k for k in keep_fields if k not in ("text", INDEX_FIELD)))
    rows: Iterable[Mapping[str, Any]]
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise InvalidInputError(
                f"no such file: {str(path)!r} (pass a list of strings to embed texts)"
            )
        rows = _rows_from_file(path)
        from_file = True
    else:
        rows = ({text_field: text} for text in source)
        from_file = False
    digest = hashlib.sha256()
    buffer = io.BytesIO()
    count = 0
    for position, row in enumerate(rows):
        text = row.get(text_field)
        if not isinstance(text, str) or not text.strip():
            what = f"field {text_field!r}" if from_file else "text"
            raise InvalidInputError(f"{what} is missing or empty", position=position)
        out: dict[str, Any] = {"text": text, INDEX_FIELD: position}
        for name in keep:
            if name not in row:
                raise InvalidInputError(f"kept field {name!r} is missing", position=position)
            out[name] = row[name]
        line = orjson.dumps(out)
        buffer.write(line + b"\n")
        digest.update(orjson.dumps(text) + b"\n")
        count += 1
    if count == 0:
        raise InvalidInputError("nothing to embed: the dataset has no rows")
    return DatasetPayload(
        content=buffer.getvalue(),
        count=count,
        keep_fields=(INDEX_FIELD, *keep),
        fingerprint=digest.hexdigest(),
    )


BASE64 = "base64"
"""The jobs API's extra embedding type: float vectors as base64 of little-endian float32,
read back as ``EmbeddingType.FLOAT``."""


def _is_base64(item: EmbeddingType | str) -> bool:
    return isinstance(item, str) and item.lower() == BASE64


def job_embedding_types(
    value: Sequence[EmbeddingType | str] | EmbeddingType | str,
) -> list[str]:
    """``embedding_types`` for the API, in order: the core's types, plus ``base64``."""
    items = [value] if isinstance(value, str) else list(value)
    if not items or not any(_is_base64(t) for t in items):
        return [t.value for t in coerce_embedding_types(items)]
    out: list[str] = []
    for item in items:
        name = BASE64 if _is_base64(item) else coerce_embedding_types(item)[0].value
        if name not in out:
            out.append(name)
    return out


def output_kinds(value: Sequence[EmbeddingType | str] | None) -> list[EmbeddingType] | None:
    """The ``EmbeddingType``\\ s a job's output holds for its ``embedding_types``
    (``base64`` is float)."""
    if not value:
        return None
    return coerce_embedding_types([EmbeddingType.FLOAT if _is_base64(t) else t for t in value])


def job_body(
    model: str,
    dataset_id: str,
    input_type: InputType | str,
    *,
    name: str | None = None,
    embedding_types: Sequence[EmbeddingType | str] | EmbeddingType | str | None = None,
    truncate: str | None = None,
) -> dict[str, Any]:
    """The JSON body of ``POST /v1/embed-jobs``, checked before anything is sent."""
    if not model:
        raise InvalidInputError("model is required")
    try:
        kind = InputType(input_type)
    except ValueError:
        allowed = ", ".join(t.value for t in InputType)
        raise InvalidInputError(
            f"input_type must be one of {allowed}, not {input_type!r}"
        ) from None
    if kind is InputType.IMAGE:
        raise InvalidInputError(
            "input_type 'image' is not supported by embed jobs here: the datasets embedplug "
            "uploads hold texts (image datasets cannot be uploaded); embed images with "
            "embedder('cohere:...').embed([Image...], input_type='image')"
        )
    body: dict[str, Any] = {"model": model, "dataset_id": dataset_id, "input_type": kind.value}
    if name:
        body["name"] = name
    if embedding_types is not None:
        body["embedding_types"] = job_embedding_types(embedding_types)
    if truncate is not None:
        upper = truncate.upper()
        if upper not in _JOB_TRUNCATE:
            raise InvalidInputError(
                f"embed jobs take truncate START or END, not {truncate!r} "
                "(the jobs API has no NONE)"
            )
        body["truncate"] = upper
    return body


# ---------------------------------------------------------------------------- protocol


class JobsProtocol:
    """Builds the requests and parses the answers of the Datasets and Embed Jobs APIs."""

    def __init__(self, provider: CohereProvider) -> None:
        self.provider = provider
        self.base_url = provider.base_url
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.hostname, base.port)

    def _url(self, *parts: str) -> str:
        return self.base_url + "/v1/" + "/".join(quote(p, safe="") for p in parts)

    def _headers(self, *, json_body: bool) -> dict[str, str]:
        headers = {"accept": "application/json", **self.provider.auth_headers()}
        if not json_body:
            headers.pop("content-type", None)
        return headers

    def same_origin(self, url: str) -> bool:
        """Whether ``url`` is on the API's origin (the only place the key is sent)."""
        parts = urlsplit(url)
        return (parts.scheme, parts.hostname, parts.port) == self._origin

    # -- requests -------------------------------------------------------------------

    def upload(self, payload: DatasetPayload, *, name: str) -> httpx.Request:
        params = {"name": name, "type": "embed-input", "keep_fields": list(payload.keep_fields)}
        request = httpx.Request(
            "POST",
            self._url("datasets"),
            params=params,
            headers=self._headers(json_body=False),
            files={"data": (payload.filename, payload.content, "application/jsonl")},
        )
        request.read()  # into memory, so that a retry can send it again
        return request

    def get_dataset(self, dataset_id: str) -> httpx.Request:
        return httpx.Request(
            "GET", self._url("datasets", dataset_id), headers=self._headers(json_body=False)
        )

    def create_job(self, body: Mapping[str, Any]) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url("embed-jobs"),
            headers=self._headers(json_body=True),
            content=orjson.dumps(dict(body)),
        )

    def get_job(self, job_id: str) -> httpx.Request:
        return httpx.Request(
            "GET", self._url("embed-jobs", job_id), headers=self._headers(json_body=False)
        )

    def list_jobs(self) -> httpx.Request:
        return httpx.Request("GET", self._url("embed-jobs"), headers=self._headers(json_body=False))

    def cancel_job(self, job_id: str) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url("embed-jobs", job_id, "cancel"),
            headers=self._headers(json_body=False),
        )

    def download_part(self, url: str) -> httpx.Request:
        """A part's file. Parts live in storage behind signed URLs: no key is sent to
        another origin than the API's."""
        headers = self._headers(json_body=False) if self.same_origin(url) else {}
        headers["accept"] = "*/*"
        return httpx.Request("GET", url, headers=headers)

    # -- responses ------------------------------------------------------------------

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise _bad(f"the answer is not JSON: {exc}") from None

    def parse_upload(self, response: httpx.Response) -> str:
        body = self._json(response)
        raise_for_envelope(body, response, provider=_PROVIDER, expected="id")
        dataset_id = body.get("id") if isinstance(body, dict) else None
        if not dataset_id:
            raise _bad("the dataset upload answer has no 'id'")
        return str(dataset_id)

    def parse_dataset(self, response: httpx.Response) -> Dataset:
        return Dataset.from_json(self._json(response))

    def parse_create(self, response: httpx.Response) -> CreatedJob:
        body = self._json(response)
        raise_for_envelope(body, response, provider=_PROVIDER, expected="job_id")
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if not job_id:
            raise _bad("the embed job answer has no 'job_id'")
        meta = body.get("meta")
        return CreatedJob(str(job_id), meta if isinstance(meta, Mapping) else None)

    def parse_job(self, response: httpx.Response) -> EmbedJob:
        return EmbedJob.from_json(self._json(response))

    def parse_jobs(self, response: httpx.Response) -> list[EmbedJob]:
        body = self._json(response)
        jobs = body.get("embed_jobs") if isinstance(body, dict) else None
        if jobs is None:
            return []
        if not isinstance(jobs, list):
            raise _bad("'embed_jobs' is not a list")
        return [EmbedJob.from_json(job) for job in jobs]


# ---------------------------------------------------------------------------- output


def _embeddings_of(record: Mapping[str, Any]) -> Mapping[str, Any]:
    found = record.get("embeddings")
    if isinstance(found, Mapping):
        return found
    single = record.get("embedding")  # the older "embedding: list of floats" schema
    if single is not None:
        return {"float": single}
    raise _bad("a record of the output dataset has no 'embeddings'")


def assemble_result(
    records: Sequence[Mapping[str, Any]],
    *,
    model: str | None,
    job_id: str | None,
    dataset_id: str | None,
    usage: Usage | None = None,
    embedding_types: Sequence[EmbeddingType] | None = None,
    expected_count: int | None = None,
    index_field: str = INDEX_FIELD,
) -> EmbedJobResult:
    """An ``EmbedJobResult`` from the records of an ``embed-output`` dataset.

    Rows are put in input order by ``index_field`` (a missing, duplicate or
    out-of-range index is a ``ResponseFormatError``). Datasets uploaded
    without it keep the order they were served in (``meta["order"] ==
    "dataset"``).
    """
    n = len(records)
    if expected_count is not None and n != expected_count:
        raise _bad(f"the output dataset has {n} rows, {expected_count} were uploaded")
    indexed = n > 0 and all(index_field in r for r in records)
    if indexed:
        try:
            positions = np.array([int(r[index_field]) for r in records], dtype=np.int64)
        except (TypeError, ValueError):
            raise _bad(f"a row's {index_field!r} is not an integer") from None
        if positions.min() < 0 or positions.max() >= n:
            raise _bad(f"a row's {index_field!r} is out of range for {n} rows")
        if len(np.unique(positions)) != n:
            raise _bad(f"two rows share an {index_field!r}")
        order = np.argsort(positions, kind="stable")
    else:
        order = np.arange(n)
    ordered = [records[i] for i in order.tolist()]

    present: list[EmbeddingType] = []
    float_field = EmbeddingType.FLOAT.value
    if ordered:
        first = _embeddings_of(ordered[0])
        present = [t for t in EmbeddingType if first.get(t.value) is not None]
        if EmbeddingType.FLOAT not in present and first.get(BASE64) is not None:
            present.insert(0, EmbeddingType.FLOAT)  # asked as base64: the same floats
            float_field = BASE64
    if embedding_types:
        missing = [t.value for t in embedding_types if t not in present]
        if missing and ordered:
            raise _bad(f"the output dataset has no {', '.join(missing)} embeddings")
        kinds = list(embedding_types)
    else:
        kinds = present
    if ordered and not kinds:
        raise _bad("the output dataset's records hold no embeddings")

    vectors: dict[EmbeddingType, npt.NDArray[Any]] = {}
    for kind in kinds:
        rows = []
        field_name = float_field if kind is EmbeddingType.FLOAT else kind.value
        for position, record in enumerate(ordered):
            value = _embeddings_of(record).get(field_name)
            if value is None:
                raise _bad(f"row {position} has no {kind.value} embedding")
            rows.append(value)
        arr = decode_rows(rows, kind) if rows else np.zeros((0, 0), dtype=kind.dtype)
        if kind is EmbeddingType.FLOAT and not np.isfinite(arr).all():
            raise _bad("the output dataset holds NaN or infinite values")
        vectors[kind] = arr
    if not vectors:
        vectors[EmbeddingType.FLOAT] = np.zeros((0, 0), dtype=np.float32)

    texts: list[str] = []
    fields: dict[str, list[Any]] = {}
    skip = {"text", "embeddings", "embedding", index_field}
    for record in ordered:
        text = record.get("text")
        texts.append(text if isinstance(text, str) else "")
        for key in record:
            if key not in skip:
                fields.setdefault(key, [None] * n)
    for position, record in enumerate(ordered):
        for key, column in fields.items():
            column[position] = record.get(key)
    meta: dict[str, Any] = {"order": "index" if indexed or n == 0 else "dataset"}
    return EmbedJobResult(
        vectors=vectors,
        model=model or "unknown",
        provider=_PROVIDER,
        usage=usage or Usage(),
        meta=meta,
        texts=texts,
        job_id=job_id,
        dataset_id=dataset_id,
        fields=fields,
    )
