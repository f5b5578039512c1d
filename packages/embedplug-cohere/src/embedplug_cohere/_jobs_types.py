"""What the embed-jobs client returns and raises: jobs, datasets, results, errors."""

from __future__ import annotations

import builtins
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from embedplug.errors import EmbedplugError, ResponseFormatError
from embedplug.types import EmbeddingResult

__all__ = [
    "CreatedJob",
    "Dataset",
    "DatasetPart",
    "DatasetValidationError",
    "EmbedJob",
    "EmbedJobCancelledError",
    "EmbedJobError",
    "EmbedJobFailedError",
    "EmbedJobResult",
    "EmbedJobStatus",
    "WaitTimeoutError",
]


class EmbedJobStatus(str, enum.Enum):
    """The states of a Cohere embed job (``GET /v1/embed-jobs/{id}`` ``status``)."""

    PROCESSING = "processing"
    COMPLETE = "complete"
    CANCELLING = "cancelling"
    CANCELLED = "cancelled"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


TERMINAL_JOB_STATES = frozenset(
    {EmbedJobStatus.COMPLETE, EmbedJobStatus.CANCELLED, EmbedJobStatus.FAILED}
)

# From the cohere SDK's ``utils``: validation ends in one of these.
DATASET_SUCCESS_STATES = frozenset({"validated"})
DATASET_FAILURE_STATES = frozenset({"unknown", "failed", "skipped", "cancelled"})


def _status(value: Any) -> str:
    try:
        return EmbedJobStatus(value)
    except ValueError:
        return str(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class EmbedJob:
    """One embed job as the API describes it.

    ``status`` is an ``EmbedJobStatus`` (a ``str``) for the documented values
    and the raw string for any other. ``meta`` is the API's ``meta`` object
    (``api_version``, ``billed_units``, ``warnings``); ``raw`` the whole answer.
    """

    job_id: str
    status: str
    model: str | None = None
    name: str | None = None
    input_dataset_id: str | None = None
    output_dataset_id: str | None = None
    created_at: str | None = None
    truncate: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Any) -> EmbedJob:
        """Parse one job object; ``ResponseFormatError`` if it has no ``job_id`` or ``status``."""
        if not isinstance(body, Mapping) or not body.get("job_id") or not body.get("status"):
            raise ResponseFormatError("an embed job needs 'job_id' and 'status'", provider="cohere")
        meta = body.get("meta")
        return cls(
            job_id=str(body["job_id"]),
            status=_status(body["status"]),
            model=_opt_str(body.get("model")),
            name=_opt_str(body.get("name")),
            input_dataset_id=_opt_str(body.get("input_dataset_id")),
            output_dataset_id=_opt_str(body.get("output_dataset_id")),
            created_at=_opt_str(body.get("created_at")),
            truncate=_opt_str(body.get("truncate")),
            meta=dict(meta) if isinstance(meta, Mapping) else {},
            raw=dict(body),
        )

    @property
    def done(self) -> bool:
        """Whether the job has stopped (complete, cancelled or failed)."""
        return self.status in TERMINAL_JOB_STATES

    @property
    def succeeded(self) -> bool:
        """Whether the job is complete."""
        return self.status == EmbedJobStatus.COMPLETE

    @property
    def warnings(self) -> tuple[str, ...]:
        """``meta.warnings``: what the API said about the job (deprecations...)."""
        return _warnings(self.meta)

    @property
    def billed_input_tokens(self) -> int:
        """``meta.billed_units.input_tokens`` (0 when absent)."""
        billed = self.meta.get("billed_units") or {}
        try:
            return int(billed.get("input_tokens") or 0)
        except (TypeError, ValueError, AttributeError):
            return 0


def _warnings(meta: Mapping[str, Any]) -> tuple[str, ...]:
    found = meta.get("warnings")
    return tuple(str(w) for w in found) if isinstance(found, list) else ()


class CreatedJob(str):
    """The id of a job just created: a ``str`` (as ``create_job`` always returned),
    with the create answer's ``meta`` (``api_version``, ``billed_units``,
    ``warnings``...) and its ``warnings``."""

    meta: Mapping[str, Any]

    def __new__(cls, job_id: str, meta: Mapping[str, Any] | None = None) -> CreatedJob:
        made = super().__new__(cls, job_id)
        made.meta = dict(meta or {})
        return made

    @property
    def job_id(self) -> str:
        """The id, as a plain ``str``."""
        return str.__str__(self)

    @property
    def warnings(self) -> tuple[str, ...]:
        """``meta.warnings`` of the create answer (each also logged once, as a warning)."""
        return _warnings(self.meta)


@dataclass(frozen=True)
class DatasetPart:
    """One file of a dataset: its download URL(s), and what the API says about it."""

    name: str | None
    urls: tuple[str, ...]
    index: int | None = None
    num_rows: int | None = None
    size_bytes: int | None = None

    @classmethod
    def from_json(cls, body: Any) -> DatasetPart:
        if not isinstance(body, Mapping):
            raise ResponseFormatError("a dataset part is not an object", provider="cohere")
        urls: list[str] = []
        if body.get("url"):
            urls.append(str(body["url"]))
        extra = body.get("urls")
        if isinstance(extra, list):
            urls.extend(str(u) for u in extra if u and str(u) not in urls)

        def number(key: str) -> int | None:
            value = body.get(key)
            return int(value) if isinstance(value, (int, float)) else None

        return cls(
            name=_opt_str(body.get("name")),
            urls=tuple(urls),
            index=number("index"),
            num_rows=number("num_rows"),
            size_bytes=number("size_bytes"),
        )


@dataclass(frozen=True)
class Dataset:
    """A Cohere dataset (``GET /v1/datasets/{id}`` ``dataset``)."""

    id: str
    name: str | None
    dataset_type: str | None
    validation_status: str
    validation_error: str | None = None
    parts: tuple[DatasetPart, ...] = ()
    schema: str | None = field(default=None, repr=False)
    warnings: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Any) -> Dataset:
        """Parse ``{"dataset": {...}}`` or the bare dataset object."""
        if isinstance(body, Mapping) and isinstance(body.get("dataset"), Mapping):
            body = body["dataset"]
        if not isinstance(body, Mapping) or not body.get("id"):
            raise ResponseFormatError("a dataset needs an 'id'", provider="cohere")
        parts = body.get("dataset_parts") or []
        if not isinstance(parts, list):
            raise ResponseFormatError("'dataset_parts' is not a list", provider="cohere")
        warnings = body.get("validation_warnings") or []
        return cls(
            id=str(body["id"]),
            name=_opt_str(body.get("name")),
            dataset_type=_opt_str(body.get("dataset_type")),
            validation_status=str(body.get("validation_status") or "unknown"),
            validation_error=_opt_str(body.get("validation_error")) or None,
            parts=tuple(DatasetPart.from_json(p) for p in parts),
            schema=_opt_str(body.get("schema")),
            warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
            raw=dict(body),
        )

    @property
    def validated(self) -> bool:
        """Whether validation succeeded."""
        return self.validation_status in DATASET_SUCCESS_STATES

    @property
    def validation_failed(self) -> bool:
        """Whether validation ended without success."""
        return self.validation_status in DATASET_FAILURE_STATES


@dataclass(repr=False)
class EmbedJobResult(EmbeddingResult):
    """An embed job's output: an ``EmbeddingResult`` plus the original texts.

    Row ``i`` of every array and ``texts[i]`` belong to the ``i``-th input of
    the dataset as uploaded (restored from the index field embedplug adds,
    never assumed from the order the parts come in). ``fields`` holds other
    kept fields (``keep_fields``) by name, in the same order.
    """

    texts: list[str] = field(default_factory=list)
    job_id: str | None = None
    dataset_id: str | None = None
    fields: dict[str, list[Any]] = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = ", ".join(
            f"{k.value}: {tuple(v.shape)} {v.dtype}" for k, v in self.vectors.items()
        )
        return (
            f"EmbedJobResult(job_id={self.job_id!r}, dataset_id={self.dataset_id!r}, "
            f"model={self.model!r}, texts={len(self.texts)}, vectors={{{shapes}}})"
        )


class EmbedJobError(EmbedplugError):
    """An embed job did not give a result. ``job`` is its last known state."""

    def __init__(self, message: str, *, job: EmbedJob | None = None, job_id: str | None = None):
        self.job = job
        self.job_id = job.job_id if job is not None else job_id
        self.status: str | None = job.status if job is not None else None
        super().__init__(message)


class EmbedJobFailedError(EmbedJobError):
    """The job ended as ``failed`` (or ``cancelled``: see ``EmbedJobCancelledError``)."""


class EmbedJobCancelledError(EmbedJobFailedError):
    """The job was cancelled."""


class DatasetValidationError(EmbedplugError):
    """Cohere refused an uploaded dataset (validation ``failed``, ``skipped``...)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.dataset_id = dataset.id
        self.status = dataset.validation_status
        self.validation_error = dataset.validation_error
        reason = f": {dataset.validation_error}" if dataset.validation_error else ""
        super().__init__(f"dataset {dataset.id} validation ended as {self.status!r}{reason}")


class WaitTimeoutError(EmbedplugError, builtins.TimeoutError):
    """A wait's deadline passed before the job (or dataset validation) finished.

    Nothing was cancelled: the job goes on, and waiting again (or
    ``embed_dataset(resume=...)``) picks it up. ``status`` is the last status seen.
    """

    def __init__(self, what: str, ident: str, status: str, waited: float) -> None:
        self.what = what
        self.id = ident
        self.status = status
        self.waited = waited
        super().__init__(
            f"{what} {ident} is still {status!r} after {waited:.1f}s; it goes on server-side: "
            "wait again or resume later"
        )
