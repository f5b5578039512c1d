"""``embedplug embed-file``: the bulk job on the command line.

Exit status, as every ``embedplug`` command: 0 when the job is complete, 1 for
any failure (configuration, input, or a provider error that stopped the job:
the checkpoint of the rows done is intact, run again with ``--resume``), 2 for a
usage error, 130 when interrupted (SIGINT).
Imports only click until the command runs, so ``embedplug --help`` stays fast.
"""

from __future__ import annotations

import sys

import click

from embedplug._cli_support import provider_options
from embedplug.bulk._defaults import DEFAULT_BATCH_ROWS

__all__ = ["embed_file"]

_INPUT_TYPES = ["search_document", "search_query", "classification", "clustering", "image"]
_EMBEDDING_TYPES = ["float", "int8", "uint8", "binary", "ubinary"]


@click.command("embed-file")
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="OUTPUT.parquet (id + vector columns) or OUTPUT.npy (+ ids and other types' files).",
)
@click.option(
    "-m",
    "--model",
    default=None,
    help="provider:model (default: EMBEDPLUG_DEFAULT_MODEL or the local model).",
)
@click.option(
    "--column", default=None, help="The text column [default: text, unless --image-column]."
)
@click.option(
    "--image-column",
    default=None,
    help="A column of image paths (relative to INPUT's folder), data URLs or bytes.",
)
@click.option("--id-column", default=None, help="The id column [default: the row number].")
@click.option("--input-type", type=click.Choice(_INPUT_TYPES), default=None)
@click.option("--dimensions", type=click.IntRange(min=1), default=None)
@click.option(
    "--type",
    "embedding_types",
    type=click.Choice(_EMBEDDING_TYPES),
    multiple=True,
    help="Embedding type; repeat for several (the first is the 'vector' column) [default: float].",
)
@click.option("--resume", is_flag=True, help="Continue an interrupted job from its checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace the output and any checkpoint.")
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_ROWS,
    show_default=True,
    help="Rows per chunk (each chunk is written and checkpointed before the next).",
)
@click.option(
    "--cache",
    type=click.Path(dir_okay=False),
    default=None,
    help="A SQLite cache file shared across jobs: cached inputs are not sent again.",
)
@click.option(
    "--dedup/--no-dedup",
    default=True,
    show_default=True,
    help="Embed identical inputs once across the whole file (a temporary store on disk).",
)
@click.option(
    "--rejects",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where rows that fail validation go [default: OUTPUT-stem.rejects.jsonl].",
)
@click.option(
    "--input-format",
    type=click.Choice(["jsonl", "csv", "tsv", "parquet"]),
    default=None,
    help="[default: from INPUT's suffix]",
)
@click.option(
    "--max-concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Requests in flight [default: the provider's].",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (inputs/s, ETA) and the model's loading line "
    "[default: on a terminal].",
)
@provider_options
def embed_file(
    input_path: str,
    output: str,
    model: str | None,
    column: str | None,
    image_column: str | None,
    id_column: str | None,
    input_type: str | None,
    dimensions: int | None,
    embedding_types: tuple[str, ...],
    resume: bool,
    overwrite: bool,
    batch_rows: int,
    cache: str | None,
    dedup: bool,
    rejects: str | None,
    input_format: str | None,
    max_concurrency: int | None,
    progress: bool | None,
    api_key: str | None,
    base_url: str | None,
    provider_option: tuple[str, ...],
) -> None:
    """Embed a column of INPUT (JSONL, CSV/TSV or Parquet, optionally .gz) into OUTPUT.

    Streams the file in chunks; each chunk's vectors are written durably and
    checkpointed, so a killed job continues with --resume, re-embedding
    nothing written. Rows that fail validation go to the rejects file with
    the reason. Identical inputs are embedded once.
    """
    from embedplug._cli_support import (
        EXIT_INTERRUPTED,
        check_output_path,
        make_embedder,
        parse_provider_options,
        show_loading,
    )
    from embedplug.bulk._job import embed_file as run

    check_output_path(output)
    options = parse_provider_options(api_key, base_url, provider_option)
    if max_concurrency is not None:
        options["max_concurrency"] = max_concurrency
    show = progress if progress is not None else sys.stderr.isatty()
    embedder = make_embedder(model, options)  # model, key and options checked first
    try:
        show_loading(embedder, show)
        report = run(
            input_path,
            output,
            embedder=embedder,
            column=column,
            image_column=image_column,
            id_column=id_column,
            input_type=input_type,
            dimensions=dimensions,
            embedding_types=list(embedding_types) or None,
            input_format=input_format,
            resume=resume,
            overwrite=overwrite,
            batch_rows=batch_rows,
            cache=cache,
            dedup=dedup,
            rejects=rejects,
            progress=show,
        )
    except KeyboardInterrupt:
        click.echo(
            "interrupted: everything checkpointed is kept; run the same command with --resume",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    finally:
        embedder.close()
    click.echo(report.summary())
