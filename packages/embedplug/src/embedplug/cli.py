"""The ``embedplug`` command line: ``providers``, ``models``, ``embed``, plus plugin commands.

Errors are one line on stderr and a non-zero exit, never a traceback
(``EMBEDPLUG_DEBUG=1`` shows the traceback). Plugins add commands through the
``register_commands(cli)`` hook.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from embedplug.errors import EmbedplugError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """A click group that turns embedplug errors into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EmbedplugError as exc:
            if os.environ.get("EMBEDPLUG_DEBUG"):
                raise
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from None


@click.group(cls=_Group)
@click.version_option(package_name="embedplug")
def cli() -> None:
    """embedplug: embeddings from any provider, offline by default."""


@cli.command()
def providers() -> None:
    """List installed providers (and plugins that failed to load)."""
    from embedplug import plugins

    classes = plugins.provider_classes()
    for name in sorted(classes):
        cls = classes[name]
        click.echo(f"{name:<12} {cls.description or cls.__doc__ or ''}".rstrip())
    for error in plugins.plugin_errors():
        click.echo(f"broken plugin: {error}", err=True)


@cli.command()
@click.option("--provider", "-p", help="Only this provider's models.")
def models(provider: str | None) -> None:
    """List known models with their capabilities."""
    from embedplug._api import models as list_models

    for entry in list_models(provider):
        info = entry.info
        modalities = "+".join(sorted(m.value for m in info.modalities))
        dims = info.dimension_choices() if info.dimensions else "server-defined"
        types = ",".join(sorted(t.value for t in info.embedding_types))
        click.echo(
            f"{entry.id:<42} {modalities:<16} dims: {dims:<28} types: {types:<34} "
            f"max {info.max_items_per_call}/call"
        )


def _read_stdin_lines() -> list[str]:
    return [line.rstrip("\n") for line in sys.stdin if line.strip()]


@cli.command()
@click.argument("texts", nargs=-1)
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="An image file to embed (repeatable).",
)
@click.option(
    "-m",
    "--model",
    default=None,
    help="provider:model (default: EMBEDPLUG_DEFAULT_MODEL or the local model).",
)
@click.option(
    "--input-type",
    type=click.Choice(["search_document", "search_query", "classification", "clustering", "image"]),
    default=None,
    help="What the inputs are for.",
)
@click.option(
    "--dimensions", type=int, default=None, help="Vector length (where the model allows)."
)
@click.option(
    "--type",
    "embedding_type",
    type=click.Choice(["float", "int8", "uint8", "binary", "ubinary"]),
    default="float",
    show_default=True,
    help="Embedding type.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["json", "npy"]),
    default="json",
    show_default=True,
    help="Output format (npy writes binary to stdout or --output).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write to this file instead of stdout.",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar (default: on for more than 1,000 inputs on a terminal).",
)
def embed(
    texts: Sequence[str],
    images: Sequence[str],
    model: str | None,
    input_type: str | None,
    dimensions: int | None,
    embedding_type: str,
    fmt: str,
    output: str | None,
    progress: bool | None,
) -> None:
    """Embed TEXTS (and --image files); reads one text per line from stdin when none is given.

    Prints JSON: one object per input with its vector, plus usage.
    """
    import numpy as np
    import orjson

    from embedplug._api import embedder as make_embedder
    from embedplug.types import Image, Input

    items: list[Input] = list(texts)
    if not items and not images:
        if sys.stdin.isatty():
            raise click.UsageError("give TEXTS, --image files, or lines on stdin")
        items = list(_read_stdin_lines())
    items.extend(Image.from_path(p) for p in images)
    if not items:
        raise click.UsageError("nothing to embed")
    show_progress = (
        progress if progress is not None else (len(items) > 1000 and sys.stderr.isatty())
    )
    with make_embedder(model) as embedder:
        result = embedder.embed(
            items,
            input_type=input_type,
            dimensions=dimensions,
            embedding_types=[embedding_type],
            progress=show_progress,
        )
    array = result.embeddings
    if fmt == "npy":
        buffer = io.BytesIO()
        np.save(buffer, array)
        data = buffer.getvalue()
        if output:
            with open(output, "wb") as fh:
                fh.write(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return
    payload = {
        "model": f"{result.provider}:{result.model}",
        "embedding_type": embedding_type,
        "dimensions": result.dimensions,
        "embeddings": [
            {"index": i, "input": _describe(item), "vector": row}
            for i, (item, row) in enumerate(zip(items, array.tolist(), strict=True))
        ],
        "usage": {
            "input_tokens": result.usage.input_tokens,
            "images": result.usage.images,
            "requests": result.usage.requests,
        },
    }
    text = orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode()
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        click.echo(text)


_DEMO_SENTENCES = (
    "A cat sits on the warm windowsill.",
    "A kitten is resting in the sun by the window.",
    "The stock market fell sharply on Monday.",
    "Shares dropped steeply at the start of the week.",
    "How do I bake sourdough bread at home?",
)


@cli.command()
@click.option("-m", "--model", default=None, help="provider:model (default: the local model).")
def demo(model: str | None) -> None:
    """Embed a few sentences and print the vectors' shape and a cosine-similarity table."""
    import numpy as np

    from embedplug._api import embedder as make_embedder

    with make_embedder(model) as embedder:
        click.echo(f"model: {embedder.id}")
        result = embedder.embed(list(_DEMO_SENTENCES), input_type="search_document")
    vectors = result.embeddings.astype(np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    click.echo(f"vectors: shape {result.embeddings.shape}, dtype {result.embeddings.dtype}")
    head = [round(float(x), 4) for x in result.embeddings[0, :8]]
    click.echo(f"first vector, first 8 values: {head}")
    click.echo("cosine similarity:")
    similarity = vectors @ vectors.T
    click.echo("      " + "".join(f"{j:>7}" for j in range(len(_DEMO_SENTENCES))))
    for i, sentence in enumerate(_DEMO_SENTENCES):
        row = "".join(f"{similarity[i, j]:7.2f}" for j in range(len(_DEMO_SENTENCES)))
        click.echo(f"  [{i}] {row}   {sentence}")
    click.echo("(paraphrase pairs 0-1 and 2-3 should score well above unrelated pairs)")


from embedplug.bulk._cli import embed_file  # noqa: E402 - the bulk command, kept in bulk/

cli.add_command(embed_file)


def _describe(item: Any) -> str:
    if isinstance(item, str):
        return item if len(item) <= 80 else item[:77] + "..."
    return repr(item)


def _load_plugin_commands() -> None:
    from embedplug import plugins

    pm = plugins.get_plugin_manager()
    for impl in reversed(pm.hook.register_commands.get_hookimpls()):
        try:
            impl.function(cli=cli)
        except Exception as exc:  # a broken plugin must not break the CLI
            click.echo(f"plugin {impl.plugin_name!r} failed to add commands: {exc}", err=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``embedplug`` script."""
    _load_plugin_commands()
    cli.main(args=list(argv) if argv is not None else None, prog_name="embedplug")
