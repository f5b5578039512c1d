"""``embedplug cohere jobs create|get|list|cancel|wait|download``, added through the
``register_commands`` hook.

The key comes from ``CO_API_KEY`` or ``COHERE_API_KEY`` (never from an option,
so it stays out of shell history and process lists); the base URL from
``--base-url`` or ``CO_API_URL``. Errors are one line and a non-zero exit.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from embedplug_cohere._jobs_client import EmbedJobsClient
    from embedplug_cohere._jobs_types import EmbedJob, EmbedJobResult

__all__ = ["cohere"]

_EMBEDDING_TYPES = ["float", "int8", "uint8", "binary", "ubinary"]
_JOB_EMBEDDING_TYPES = [*_EMBEDDING_TYPES, "base64"]  # base64: floats, read back as float
# no "image": the datasets uploaded here hold texts (image datasets cannot be uploaded)
_INPUT_TYPES = ["search_document", "search_query", "classification", "clustering"]


@click.group()
def cohere() -> None:
    """Cohere: embed jobs over datasets."""


@cohere.group()
@click.option(
    "--base-url",
    default=None,
    help="API base URL (default: CO_API_URL, else https://api.cohere.com).",
)
@click.pass_context
def jobs(ctx: click.Context, base_url: str | None) -> None:
    """Embed whole datasets asynchronously with Cohere's embed jobs (key: CO_API_KEY)."""
    ctx.obj = {"base_url": base_url}


def _client(ctx: click.Context) -> EmbedJobsClient:
    from embedplug_cohere._jobs_client import EmbedJobsClient

    options = ctx.find_object(dict) or {}
    return EmbedJobsClient(base_url=options.get("base_url"))


def _describe(job: EmbedJob) -> str:
    parts = [job.job_id, str(job.status), job.model or "-", job.name or "-", job.created_at or "-"]
    if job.output_dataset_id:
        parts.append(f"output={job.output_dataset_id}")
    return "  ".join(parts)


@jobs.command()
@click.argument("texts", nargs=-1)
@click.option(
    "-f",
    "--file",
    "path",
    type=click.Path(exists=True, dir_okay=False),
    help="A .jsonl or .csv file of texts (instead of TEXTS).",
)
@click.option("-m", "--model", required=True, help="e.g. embed-english-v3.0")
@click.option(
    "--input-type", type=click.Choice(_INPUT_TYPES), default="search_document", show_default=True
)
@click.option(
    "--type",
    "embedding_types",
    multiple=True,
    type=click.Choice(_JOB_EMBEDDING_TYPES),
    help="Embedding type (repeatable; default float; base64 is read back as float).",
)
@click.option("--truncate", type=click.Choice(["START", "END"], case_sensitive=False))
@click.option("--name", default=None, help="Name of the dataset and the job.")
@click.option("--text-field", default="text", show_default=True, help="The file's text column.")
@click.option("--keep-field", "keep_fields", multiple=True, help="A file column to keep.")
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the dataset and job ids here (for embed_dataset(resume=...)).",
)
@click.option("--poll-interval", type=float, default=2.0, show_default=True)
@click.pass_context
def create(
    ctx: click.Context,
    texts: Sequence[str],
    path: str | None,
    model: str,
    input_type: str,
    embedding_types: Sequence[str],
    truncate: str | None,
    name: str | None,
    text_field: str,
    keep_fields: Sequence[str],
    state_file: str | None,
    poll_interval: float,
) -> None:
    """Upload TEXTS (or --file, or lines on stdin) and start an embed job; prints its id."""
    from embedplug_cohere._jobs_client import JobState
    from embedplug_cohere._jobs_protocol import build_payload, job_body

    if path and texts:
        raise click.UsageError("give TEXTS or --file, not both")
    source: Any = path
    if source is None:
        items = list(texts)
        if not items and not sys.stdin.isatty():
            items = [line.rstrip("\n") for line in sys.stdin if line.strip()]
        if not items:
            raise click.UsageError("give TEXTS, --file, or lines on stdin")
        source = items
    kinds = list(embedding_types) or None
    job_body(model, "-", input_type, embedding_types=kinds, truncate=truncate)  # fail early
    payload = build_payload(source, text_field=text_field, keep_fields=keep_fields)
    with _client(ctx) as client:
        dataset_id = client._run(
            client._upload_flow(
                payload, name=name, wait=True, timeout=600.0, poll_interval=poll_interval
            )
        )
        click.echo(f"dataset {dataset_id} validated ({payload.count} rows)", err=True)
        state = JobState(
            dataset_id=dataset_id,
            model=model,
            input_type=input_type,
            embedding_types=kinds,
            truncate=truncate.upper() if truncate else None,
            name=name,
            count=payload.count,
            fingerprint=payload.fingerprint,
            base_url=client.base_url,
        )
        if state_file:
            state.save(state_file)
        job_id = client.create_job(
            model,
            dataset_id,
            input_type,
            name=name,
            embedding_types=kinds,
            truncate=truncate,
        )
        if state_file:
            state.job_id = job_id
            state.save(state_file)
    click.echo(job_id)


@jobs.command()
@click.argument("job_id")
@click.pass_context
def get(ctx: click.Context, job_id: str) -> None:
    """Print a job as JSON."""
    import orjson

    with _client(ctx) as client:
        job = client.get_job(job_id)
    click.echo(orjson.dumps(dict(job.raw), option=orjson.OPT_INDENT_2).decode())


@jobs.command(name="list")
@click.pass_context
def list_(ctx: click.Context) -> None:
    """List embed jobs: id, status, model, name, created, output dataset."""
    with _client(ctx) as client:
        found = client.list_jobs()
    for job in found:
        click.echo(_describe(job))
    if not found:
        click.echo("no embed jobs", err=True)


@jobs.command()
@click.argument("job_id")
@click.pass_context
def cancel(ctx: click.Context, job_id: str) -> None:
    """Cancel a job (it goes through cancelling to cancelled)."""
    with _client(ctx) as client:
        client.cancel_job(job_id)
    click.echo(f"cancelling {job_id}")


@jobs.command()
@click.argument("job_id")
@click.option("--timeout", type=float, default=None, help="Seconds to wait at most.")
@click.option("--poll-interval", type=float, default=5.0, show_default=True)
@click.option("--max-poll-interval", type=float, default=60.0, show_default=True)
@click.option("--progress/--no-progress", default=None, help="Default: on a terminal.")
@click.pass_context
def wait(
    ctx: click.Context,
    job_id: str,
    timeout: float | None,
    poll_interval: float,
    max_poll_interval: float,
    progress: bool | None,
) -> None:
    """Wait until a job ends; exits non-zero if it failed, was cancelled or timed out."""
    show = progress if progress is not None else sys.stderr.isatty()
    with _client(ctx) as client:
        job = client.wait(
            job_id,
            timeout=timeout,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            progress=show,
        )
    click.echo(_describe(job))


def _write_npy(result: EmbedJobResult, output: Path) -> list[Path]:
    import numpy as np

    written = []
    for number, (kind, array) in enumerate(result.vectors.items()):
        target = output if number == 0 else output.with_suffix(f".{kind.value}.npy")
        np.save(target, array)
        written.append(target)
    return written


def _write_jsonl(result: EmbedJobResult, output: Path) -> list[Path]:
    import orjson

    option = orjson.OPT_SERIALIZE_NUMPY
    with output.open("wb") as fh:
        for i, text in enumerate(result.texts):
            row: dict[str, Any] = {"index": i, "text": text}
            for kind, array in result.vectors.items():
                row[kind.value] = array[i]
            for name, column in result.fields.items():
                row.setdefault(name, column[i])
            fh.write(orjson.dumps(row, option=option) + b"\n")
    return [output]


def _write_parquet(result: EmbedJobResult, output: Path) -> list[Path]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise click.ClickException("writing Parquet needs pyarrow: pip install pyarrow") from None
    columns: dict[str, Any] = {
        "index": pa.array(range(len(result.texts)), type=pa.int64()),
        "text": pa.array(result.texts, type=pa.string()),
    }
    for kind, array in result.vectors.items():
        width = int(array.shape[1]) if array.ndim == 2 else 0
        columns[kind.value] = pa.FixedSizeListArray.from_arrays(pa.array(array.ravel()), width)
    pq.write_table(pa.table(columns), output)
    return [output]


_WRITERS = {"npy": _write_npy, "jsonl": _write_jsonl, "parquet": _write_parquet}


@jobs.command()
@click.argument("job_id")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="The file to write (.npy, .jsonl or .parquet).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(_WRITERS)),
    default=None,
    help="Default: from the output's extension. npy writes one array per type "
    "(OUTPUT, then OUTPUT.<type>.npy); jsonl and parquet one row per input with its text.",
)
@click.option(
    "--type",
    "embedding_types",
    multiple=True,
    type=click.Choice(_EMBEDDING_TYPES),
    help="Only these embedding types (default: all in the output).",
)
@click.option("--dataset", "is_dataset", is_flag=True, help="JOB_ID is the output dataset's id.")
@click.pass_context
def download(
    ctx: click.Context,
    job_id: str,
    output: str,
    fmt: str | None,
    embedding_types: Sequence[str],
    is_dataset: bool,
) -> None:
    """Read a complete job's output into OUTPUT, rows in input order."""
    target = Path(output)
    fmt = fmt or target.suffix.lstrip(".").lower()
    if fmt not in _WRITERS:
        raise click.UsageError(f"cannot tell the format of {output!r}; pass --format")
    with _client(ctx) as client:
        result = client.download(
            None if is_dataset else job_id,
            dataset_id=job_id if is_dataset else None,
            embedding_types=list(embedding_types) or None,
        )
    written = _WRITERS[fmt](result, target)
    shapes = ", ".join(f"{k.value} {tuple(v.shape)}" for k, v in result.vectors.items())
    click.echo(f"wrote {len(result.texts)} rows ({shapes}) to {', '.join(map(str, written))}")
