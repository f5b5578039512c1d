"""Cohere embed jobs: embed a whole dataset asynchronously, server-side.

The life of a job, sync (``EmbedJobsClient``) or async (``AsyncEmbedJobsClient``)::

    from embedplug_cohere.jobs import EmbedJobsClient

    with EmbedJobsClient() as jobs:                       # CO_API_KEY / COHERE_API_KEY
        dataset_id = jobs.upload_dataset(texts, name="my-corpus")   # waits for validation
        job_id = jobs.create_job("embed-english-v3.0", dataset_id, "search_document",
                                 embedding_types=["float", "int8"])
        jobs.wait(job_id, timeout=3600, progress=True)
        result = jobs.download(job_id)                    # an EmbedJobResult, in input order
        result["float"].shape, result.texts[0]

    # or in one call that survives a crash: the job id goes to the state file
    result = jobs.embed_dataset(texts, model="embed-english-v3.0", state_file="job.json")
    result = jobs.embed_dataset(resume="job.json")        # later, in another process

Errors: every HTTP status maps to the core's tree (``embedplug.errors``); a
failed or cancelled job raises ``EmbedJobFailedError`` / ``EmbedJobCancelledError``
(with the job's ``status``), a refused dataset ``DatasetValidationError``, a
passed deadline ``WaitTimeoutError``.
"""

from __future__ import annotations

from embedplug_cohere._jobs_client import AsyncEmbedJobsClient, EmbedJobsClient, JobState
from embedplug_cohere._jobs_protocol import INDEX_FIELD
from embedplug_cohere._jobs_types import (
    CreatedJob,
    Dataset,
    DatasetPart,
    DatasetValidationError,
    EmbedJob,
    EmbedJobCancelledError,
    EmbedJobError,
    EmbedJobFailedError,
    EmbedJobResult,
    EmbedJobStatus,
    WaitTimeoutError,
)

__all__ = [
    "INDEX_FIELD",
    "AsyncEmbedJobsClient",
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
    "EmbedJobsClient",
    "JobState",
    "WaitTimeoutError",
]
