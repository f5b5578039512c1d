"""The ``embedplug`` command line: ``providers``, ``models``, ``embed``, plus plugin commands.

Errors are one line on stderr and a non-zero exit, never a traceback
(``EMBEDPLUG_DEBUG=1`` shows the traceback). Plugins add commands through the
``register_commands(cli)`` hook.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from embedplug._cli_support import provider_options
from embedplug.errors import EmbedplugError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """A click group whose every failure is one line on stderr and a documented exit code.

    0 success, 1 failure (configuration, input, provider, file), 2 usage error,
    130 interrupted (SIGINT). ``EMBEDPLUG_DEBUG=1`` shows the traceback instead.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from embedplug._cli_support import EXIT_FAILED, EXIT_INTERRUPTED, redact

        debug = bool(os.environ.get("EMBEDPLUG_DEBUG"))
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            if debug:
                raise
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except EmbedplugError as exc:
            if debug:
                raise
            message = redact(f"{type(exc).__name__}: {exc}".replace("\n", " "))
            raise _OneLine(message, EXIT_FAILED) from None
        except OSError as exc:  # a file that cannot be read or written
            if debug:
                raise
            raise _OneLine(redact(f"{type(exc).__name__}: {exc}"), EXIT_FAILED) from None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run; usage errors too are one line (``Error: ... (see --help)``)."""
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            hint = ""
            if isinstance(exc, click.UsageError) and exc.ctx is not None:
                hint = f" (see {exc.ctx.command_path} --help)"
            click.echo(f"Error: {exc.format_message()}{hint}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("interrupted", err=True)
            code = 130
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


class _OneLine(click.ClickException):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # per instance: 1 or 2


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
        click.echo(
            f"{entry.id:<42} {modalities:<16} dims: {dims:<28} types: {_types(info):<48} "
            f"max {info.max_items_per_call}/call"
        )


def _types(info: Any) -> str:
    """Native types, then those quantised client-side: ``float (+int8,binary client-side)``."""
    from embedplug.types import EmbeddingType

    order = list(EmbeddingType)
    native = [t.value for t in order if t in info.embedding_types]
    other = [t.value for t in order if t not in info.embedding_types]
    return ",".join(native) + (f" (+{','.join(other)} client-side)" if other else "")


def _read_stdin_lines() -> list[str]:
    """One text per line; a blank line is refused with its number (positions never shift)."""
    from embedplug.errors import InvalidInputError

    lines = []
    for number, line in enumerate(sys.stdin, start=1):
        text = line.rstrip("\r\n")
        if not text.strip():
            raise InvalidInputError(
                f"stdin line {number} is blank; every line is one input, so a blank line "
                "cannot be skipped without shifting the positions: remove it (grep .) "
                "or put a text on it"
            )
        lines.append(text)
    return lines


_EMBEDDING_TYPES = ["float", "int8", "uint8", "binary", "ubinary"]
_INPUT_TYPES = ["search_document", "search_query", "classification", "clustering", "image"]


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
    help="provider:model, a provider, or a model name "
    "[default: EMBEDPLUG_DEFAULT_MODEL or local:all-minilm-l6-v2].",
)
@click.option(
    "--input-type", type=click.Choice(_INPUT_TYPES), default=None, help="What the inputs are for."
)
@click.option(
    "--dimensions",
    type=click.IntRange(min=1),
    default=None,
    help="Vector length (where the model allows).",
)
@click.option(
    "--type",
    "embedding_types",
    type=click.Choice(_EMBEDDING_TYPES),
    multiple=True,
    help="Embedding type; repeat for several, each is in the output [default: float].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "json", "npy"]),
    default="jsonl",
    show_default=True,
    help="jsonl: one line per input; json: one compact document; npy: arrays (needs -o).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to this file instead of stdout (npy: other types go to OUTPUT-stem.TYPE.npy).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a progress bar and the model's loading line [default: on a terminal, "
    "the bar for more than 1,000 inputs].",
)
@provider_options
def embed(
    texts: Sequence[str],
    images: Sequence[str],
    model: str | None,
    input_type: str | None,
    dimensions: int | None,
    embedding_types: tuple[str, ...],
    fmt: str,
    output: str | None,
    progress: bool | None,
    api_key: str | None,
    base_url: str | None,
    provider_option: tuple[str, ...],
) -> None:
    """Embed TEXTS (and --image files); reads one text per line from stdin when none is given.

    Prints one JSON line per input (index, input, model and one vector per
    --type), or with --format json one document with usage too.
    """
    from embedplug._cli_support import (
        check_output_path,
        make_embedder,
        parse_provider_options,
        show_loading,
    )
    from embedplug.types import Image, Input

    # Every check that needs no provider comes first, before any request.
    if fmt == "npy" and output is None:
        raise _OneLine("--format npy writes binary: give -o FILE.npy", 2)
    check_output_path(output)
    for path in images:
        if not os.path.isfile(path):
            raise _OneLine(f"--image {path!r}: no such file", 2)
    options = parse_provider_options(api_key, base_url, provider_option)
    types = list(dict.fromkeys(embedding_types)) or ["float"]
    items: list[Input] = list(texts)
    if not items and not images:
        if sys.stdin.isatty():
            raise click.UsageError("give TEXTS, --image files, or lines on stdin")
        items = list[Input](_read_stdin_lines())
    items.extend(Image.from_path(p) for p in images)
    if not items:
        raise click.UsageError("nothing to embed")
    on_tty = sys.stderr.isatty()
    show_progress = progress if progress is not None else (len(items) > 1000 and on_tty)
    with make_embedder(
        model,
        {
            **options,
            "input_type": input_type,
            "dimensions": dimensions,
            "embedding_types": types,
        },
    ) as embedder:
        show_loading(embedder, progress if progress is not None else on_tty)
        result = embedder.embed(items, progress=show_progress)
    _write(result, items, types, fmt, output)


def _write(result: Any, items: list[Any], types: list[str], fmt: str, output: str | None) -> None:
    import orjson

    if fmt == "npy":
        import numpy as np

        assert output is not None
        stem = output[: -len(".npy")] if output.endswith(".npy") else output
        for i, kind in enumerate(types):
            np.save(output if i == 0 else f"{stem}.{kind}.npy", result[kind], allow_pickle=False)
        return
    model = f"{result.provider}:{result.model}"
    lists = {kind: result[kind].tolist() for kind in types}
    rows = [{kind: lists[kind][i] for kind in types} for i in range(len(items))]
    records = [
        {"index": i, "input": _describe(item), "model": model, "embeddings": row}
        for i, (item, row) in enumerate(zip(items, rows, strict=True))
    ]
    if fmt == "jsonl":
        text = b"".join(orjson.dumps(r) + b"\n" for r in records)
    else:
        usage = result.usage
        document = {
            "model": model,
            "dimensions": result.dimensions,
            "embedding_types": types,
            "embeddings": [{k: v for k, v in r.items() if k != "model"} for r in records],
            "usage": {
                "input_tokens": usage.input_tokens,
                "images": usage.images,
                "requests": usage.requests,
            },
        }
        text = orjson.dumps(document) + b"\n"
    if output:
        with open(output, "wb") as fh:
            fh.write(text)
    else:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()


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
