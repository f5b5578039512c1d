"""``embed_file``: a resumable bulk job over one file, in chunks, with a checkpoint after each.

The loop, per chunk of ``batch_rows`` rows:

1. read the rows (streaming) and validate each; bad rows become rejects;
2. embed the distinct inputs not already stored (the job's dedup store or the
   user's cache; both are content-addressed SQLite files), fan vectors out;
3. write the chunk's vectors (a Parquet part file, or rows appended to NPY
   files) and its rejects, each ``fsync``-ed;
4. replace the checkpoint (``checkpoint.json``, atomically) with the rows
   read, the reader's position and every writer's state.

A process killed anywhere resumes from the last checkpoint: writers cut their
files back to it, so each input row ends up in exactly one output row (or one
reject), in input order. Vectors embedded before the kill but not yet written
are found in the store, so they are not paid for twice.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from embedplug._planning import validate
from embedplug.bulk._defaults import DEFAULT_BATCH_ROWS, DEFAULT_CHUNK_BYTES
from embedplug.bulk._readers import InputFormat, detect_format, open_reader
from embedplug.bulk._rows import Accepted, Rejected, RowSpec, embed_chunk, expected_width
from embedplug.bulk._state import nothing_done, require_pyarrow, rows_done, settings_differ
from embedplug.bulk._writers import (
    NpyWriter,
    OutputFormat,
    ParquetWriter,
    RejectsWriter,
    arrow_schema,
    atomic_write,
)
from embedplug.cache import Cache, CachedEmbedder
from embedplug.errors import (
    BatchFailedError,
    ConfigurationError,
    EmbedplugError,
    ProviderError,
)
from embedplug.types import EmbeddingType, InputType, coerce_embedding_types, coerce_input_type

if TYPE_CHECKING:
    from embedplug._api import Embedder

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "JobReport",
    "JobStateError",
    "JobStoppedError",
    "embed_file",
    "paths_for",
]

CHECKPOINT_VERSION = 1


@dataclass
class JobReport:
    """What a job did (totals over every run of it, resumed or not)."""

    output: Path
    rejects: Path
    outputs: list[Path] = field(default_factory=list)
    """Every file written: the output, and for NPY the other types' files and the ids."""
    rows_read: int = 0
    rows_written: int = 0
    rejected: int = 0
    embedded: int = 0
    """Distinct inputs sent to the provider."""
    cache_hits: int = 0
    """Distinct inputs served by the cache or the job's dedup store."""
    deduplicated: int = 0
    """Rows that repeated another row of the same chunk."""
    requests: int = 0
    input_tokens: int = 0
    resumed_at: int = 0
    """Rows already done when this run started (0 for a fresh job)."""
    seconds: float = 0.0
    """This run's wall time."""
    total_rows: int | None = None
    """Rows in the input, or an estimate; ``None`` when unknown."""
    complete: bool = False
    already_complete: bool = False
    """``resume=True`` found no checkpoint but a finished output: nothing was done."""

    def summary(self) -> str:
        """One line for people."""
        if self.already_complete:
            return f"{self.output} is already complete (no checkpoint to resume)"
        state = "wrote" if self.complete else "so far"
        text = f"{state} {self.rows_written:,} vectors to {self.output}"
        if self.rejected:
            text += f"; {self.rejected:,} rows rejected (see {self.rejects})"
        text += (
            f"; {self.embedded:,} inputs embedded in {self.requests:,} requests, "
            f"{self.cache_hits:,} from the cache, {self.deduplicated:,} duplicates"
        )
        if self.resumed_at:
            text += f"; resumed at row {self.resumed_at:,}"
        return text + f" ({self.seconds:.1f} s)"


class JobStoppedError(EmbedplugError):
    """A provider error that retries could not fix stopped the job; the checkpoint is intact.

    ``cause`` is the provider's error, ``report`` the progress so far (what is
    written stays written); run the job again with ``resume=True``.
    """

    def __init__(self, message: str, *, cause: BaseException, report: JobReport) -> None:
        self.cause = cause
        self.report = report
        super().__init__(message)


class JobStateError(ConfigurationError):
    """The output or a checkpoint is in the way, or does not match the job asked for."""


def _output_format(output: Path, given: str | None) -> OutputFormat:
    if given is not None:
        if given not in ("parquet", "npy"):
            raise ConfigurationError(f"unknown output format {given!r}: parquet or npy")
        fmt: OutputFormat = given  # type: ignore[assignment]
        return fmt
    suffix = output.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".npy":
        return "npy"
    raise ConfigurationError(
        f"cannot tell the output format of {str(output)!r}: use .parquet or .npy, "
        "or pass the format"
    )


def paths_for(
    output: str | os.PathLike[str], rejects: str | os.PathLike[str] | None = None
) -> tuple[Path, Path, Path]:
    """``(output, work directory, rejects file)`` of a job writing ``output``."""
    out = Path(output)
    work = out.with_name(out.name + ".partial")
    if rejects is not None:
        return out, work, Path(rejects)
    stem = out.name.rsplit(".", 1)[0] if "." in out.name else out.name
    return out, work, out.with_name(stem + ".rejects.jsonl")


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        state: dict[str, Any] = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise JobStateError(
            f"cannot read the checkpoint {str(path)!r}: {exc}; start again with --overwrite"
        ) from exc
    if state.get("version") != CHECKPOINT_VERSION:
        raise JobStateError(
            f"the checkpoint {str(path)!r} is of version {state.get('version')!r}, "
            f"this embedplug writes {CHECKPOINT_VERSION}; start again with --overwrite"
        )
    return state


class _Job:
    def __init__(
        self,
        input_path: Path,
        output: Path,
        *,
        model: str | None,
        embedder: Embedder | None,
        column: str | None,
        image_column: str | None,
        id_column: str | None,
        input_type: InputType | str | None,
        dimensions: int | None,
        embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None,
        input_format: str | None,
        output_format: str | None,
        resume: bool,
        overwrite: bool,
        batch_rows: int,
        chunk_bytes: int,
        cache: Cache | str | os.PathLike[str] | None,
        dedup: bool,
        rejects: str | os.PathLike[str] | None,
        progress: bool,
        on_progress: Callable[[JobReport], None] | None,
        options: dict[str, Any],
    ) -> None:
        if batch_rows < 1:
            raise ConfigurationError(f"batch_rows must be at least 1, not {batch_rows}")
        self.input = input_path
        self.output, self.work, self.rejects_path = paths_for(output, rejects)
        self.checkpoint_path = self.work / "checkpoint.json"
        self.model = model
        self.given_embedder = embedder
        self.column = column if column is not None else (None if image_column else "text")
        self.image_column = image_column
        self.id_column = id_column
        self.input_type = input_type
        self.dimensions = dimensions
        self.embedding_types = embedding_types
        self.input_format: InputFormat = detect_format(input_path, input_format)
        self.output_format = _output_format(self.output, output_format)
        if "parquet" in (self.input_format, self.output_format):
            require_pyarrow()  # before anything is created
        self.resume = resume
        self.overwrite = overwrite
        self.batch_rows = batch_rows
        self.chunk_bytes = chunk_bytes
        self.cache = cache
        self.dedup = dedup
        self.progress = progress
        self.on_progress = on_progress
        self.options = options
        self.report = JobReport(output=self.output, rejects=self.rejects_path)

    # -- state on disk --------------------------------------------------------------

    def _existing_state(self) -> dict[str, Any] | None:
        """The checkpoint to resume from, ``None`` for a fresh job; clears what is in the way."""
        if self.overwrite:
            if self.work.exists():
                shutil.rmtree(self.work)
            return None
        if self.work.exists() and not self.checkpoint_path.exists():
            shutil.rmtree(
                self.work
            )  # a job killed before its first checkpoint, or while cleaning up
        if self.checkpoint_path.exists() and not self.resume and nothing_done(self.checkpoint_path):
            shutil.rmtree(self.work)  # a checkpoint of no row: starting again loses nothing
        if self.checkpoint_path.exists():
            if not self.resume:
                done = rows_done(self.checkpoint_path)
                raise JobStateError(
                    f"an interrupted job's checkpoint ({done} rows done) is at "
                    f"{str(self.work)!r}: pass --resume (resume=True) to continue it with the "
                    "settings it was made with, or --overwrite (overwrite=True) to delete it "
                    "and start again"
                )
            return _load_checkpoint(self.checkpoint_path)
        if self.output.exists() and not self.resume:
            raise JobStateError(
                f"{str(self.output)!r} exists: pass --overwrite (overwrite=True) to replace it"
            )
        return None

    def _fingerprint(
        self,
        embedder: Embedder,
        kind: InputType | None,
        dims: int | None,
        types: list[EmbeddingType],
    ) -> dict[str, Any]:
        stat = self.input.stat()
        return {
            "input": str(self.input.resolve()),
            "input_size": stat.st_size,
            "input_mtime_ns": stat.st_mtime_ns,
            "input_format": self.input_format,
            "model": embedder.id,
            # settings that change vectors (e.g. the local backend): a resume never mixes them
            "provider_settings": embedder.provider.cache_fingerprint() or None,
            "column": self.column,
            "image_column": self.image_column,
            "id_column": self.id_column,
            "input_type": kind.value if kind is not None else None,
            "dimensions": dims,
            "embedding_types": [t.value for t in types],
            "output_format": self.output_format,
        }

    # -- the run ----------------------------------------------------------------------

    def run(self) -> JobReport:
        started = time.monotonic()
        state = self._existing_state()
        fresh = state is None
        try:
            return self._run_with(state, started)
        except BaseException:
            # A job that fails before its first row is embedded leaves nothing behind, so
            # the corrected command just runs; one with rows done keeps its checkpoint.
            if fresh and self.work.exists() and nothing_done(self.checkpoint_path):
                shutil.rmtree(self.work, ignore_errors=True)
            raise

    def _run_with(self, state: dict[str, Any] | None, started: float) -> JobReport:
        if state is None and self.resume and self.output.exists():
            self.report.already_complete = self.report.complete = True
            return self.report

        embedder = self.given_embedder
        owned = embedder is None
        if embedder is None:
            from embedplug._api import embedder as make_embedder

            embedder = make_embedder(self.model, **self.options)
        try:
            return self._run(embedder, state, started)
        finally:
            if owned:
                embedder.close()

    def _run(self, embedder: Embedder, state: dict[str, Any] | None, started: float) -> JobReport:
        model = embedder.model_info
        kind = coerce_input_type(self.input_type) or embedder.input_type
        dims = self.dimensions if self.dimensions is not None else embedder.dimensions
        types = (
            coerce_embedding_types(self.embedding_types)
            if self.embedding_types is not None
            else list(embedder.embedding_types)
        )
        validate([], model, input_type=kind, dimensions=dims)  # call-level options, up front
        spec = RowSpec(
            model,
            column=self.column,
            image_column=self.image_column,
            id_column=self.id_column,
            base_dir=self.input.parent,
        )
        fingerprint = self._fingerprint(embedder, kind, dims, types)
        if state is not None:
            changed = [k for k, v in fingerprint.items() if state["job"].get(k) != v]
            if changed and int(state["rows_read"]) == 0 and not state["finalising"]:
                shutil.rmtree(self.work)  # nothing done under the old settings: start afresh
                state = None
            elif changed:
                raise JobStateError(settings_differ(self.work, state, fingerprint, changed))
        if state is None:
            self.work.mkdir(parents=True, exist_ok=True)
            state = {
                "version": CHECKPOINT_VERSION,
                "job": fingerprint,
                "rows_read": 0,
                "reader": None,
                "writer": None,
                "rejects": None,
                "widths": {},
                "id_kind": None,
                "stats": {},
                "finalising": False,
            }
            self._save(state)

        widths = {EmbeddingType(k): int(v) for k, v in state["widths"].items()}
        spec.id_kind = state["id_kind"] or ("int" if self.id_column is None else None)
        stats = state["stats"]
        for name in (
            "rows_written",
            "rejected",
            "embedded",
            "cache_hits",
            "deduplicated",
            "requests",
            "input_tokens",
        ):
            setattr(self.report, name, int(stats.get(name, 0)))
        self.report.rows_read = self.report.resumed_at = int(state["rows_read"])

        writer: ParquetWriter | NpyWriter
        if self.output_format == "parquet":
            writer = ParquetWriter(self.work, self.output, types)
        else:
            writer = NpyWriter(self.work, self.output, types)
        rejects = RejectsWriter(self.work, self.rejects_path)

        if not state["finalising"]:
            if isinstance(writer, NpyWriter):
                writer.open(state["writer"], widths)
            else:
                writer.open(state["writer"])
            rejects.open(state["rejects"])
            self._process(embedder, spec, state, writer, rejects, kind, dims, types, widths)
            state["finalising"] = True
            self._save(state)

        # Finalise: idempotent, so a kill here is resumed by doing it again.
        for k in types:
            widths.setdefault(k, expected_width(model, dims, k))
        metadata = {
            "model": embedder.id,
            "provider_settings": embedder.provider.cache_fingerprint() or None,
            "input_type": kind.value if kind is not None else None,
            "dimensions": dims,
            "embedding_types": [t.value for t in types],
        }
        if isinstance(writer, ParquetWriter):
            writer.open(state["writer"])
            schema = arrow_schema(types, widths, spec.id_kind, metadata=metadata)
            outputs = writer.finalise(schema)
        else:
            writer.rows = int(state["writer"]["rows"]) if state["writer"] else 0
            outputs = writer.finalise(widths)
        if rejects.path.exists():
            rejects.finalise()
        elif not self.rejects_path.exists():
            self.rejects_path.touch()
        self.checkpoint_path.unlink()
        shutil.rmtree(self.work, ignore_errors=True)
        self.report.outputs = outputs
        self.report.complete = True
        self.report.seconds = time.monotonic() - started
        return self.report

    def _save(self, state: dict[str, Any]) -> None:
        atomic_write(self.checkpoint_path, orjson.dumps(state, option=orjson.OPT_INDENT_2))

    def _process(
        self,
        embedder: Embedder,
        spec: RowSpec,
        state: dict[str, Any],
        writer: ParquetWriter | NpyWriter,
        rejects: RejectsWriter,
        kind: InputType | None,
        dims: int | None,
        types: list[EmbeddingType],
        widths: dict[EmbeddingType, int],
    ) -> None:
        reader = open_reader(
            self.input,
            self.input_format,
            start_row=int(state["rows_read"]),
            position=state["reader"],
            columns=spec.columns,
        )
        store: Cache | None = None
        bar: Any = None
        try:
            available = reader.columns()
            if available is not None:
                spec.check_columns(available, f"{str(self.input)!r}")
            if self.cache is not None:
                store = self.cache if isinstance(self.cache, Cache) else Cache(self.cache)
            elif self.dedup:
                store = Cache(self.work / "dedup.sqlite")
            use: Embedder = CachedEmbedder(embedder, store) if store is not None else embedder
            if self.progress:
                bar = self._bar(reader.total_rows(), embedder.id)
            rows = reader.rows()
            first = int(state["rows_read"]) == 0
            while True:
                accepted: list[Accepted] = []
                rejected: list[Rejected] = []
                size = count = 0
                for raw in rows:
                    prepared = spec.prepare(raw, count)
                    count += 1
                    if isinstance(prepared, Accepted):
                        accepted.append(prepared)
                        size += prepared.size
                    else:
                        rejected.append(prepared)
                    if count >= self.batch_rows or size >= self.chunk_bytes:
                        break
                if count == 0:
                    break
                if first and available is None:  # JSONL: no header, so check the first chunk
                    seen = {k for r in rejected if isinstance(r.record, dict) for k in r.record}
                    needed = [c for c in spec.columns if c != spec.id_column]
                    if not accepted and seen and not any(c in seen for c in needed):
                        spec.check_columns(sorted(seen), f"{str(self.input)!r} (its first rows)")
                first = False
                self._chunk(
                    use,
                    spec,
                    state,
                    writer,
                    rejects,
                    reader.position(),
                    accepted,
                    rejected,
                    count,
                    kind,
                    dims,
                    types,
                    widths,
                    bar,
                )
        finally:
            reader.close()
            if bar is not None:
                bar.close()
            if store is not None and store is not self.cache:
                store.close()

    def _bar(self, total: int | None, name: str) -> Any:
        from tqdm.auto import tqdm

        return tqdm(
            total=total,
            initial=self.report.rows_read,
            unit=" inputs",
            unit_scale=total is None or total >= 100_000,  # 1.2M, not 1200000; 30, not 30.0
            desc=name,
            dynamic_ncols=True,
            smoothing=0.05,
        )

    def _chunk(
        self,
        embedder: Embedder,
        spec: RowSpec,
        state: dict[str, Any],
        writer: ParquetWriter | NpyWriter,
        rejects: RejectsWriter,
        position: dict[str, Any],
        accepted: list[Accepted],
        rejected: list[Rejected],
        count: int,
        kind: InputType | None,
        dims: int | None,
        types: list[EmbeddingType],
        widths: dict[EmbeddingType, int],
        bar: Any,
    ) -> None:
        shown = 0
        lock = threading.Lock()

        def on_batch(done: int, total: int) -> None:
            nonlocal shown
            if bar is None or not total:
                return
            with lock:
                target = min(count - 1, count * done // total)
                if target > shown:
                    bar.update(target - shown)
                    shown = target

        report = self.report
        try:
            result = embed_chunk(
                embedder,
                accepted,
                input_type=kind,
                dimensions=dims,
                embedding_types=types,
                on_progress=on_batch,
            )
        except (ProviderError, BatchFailedError) as exc:
            if int(state["rows_read"]) == 0:
                raise JobStoppedError(
                    f"stopped by a provider error before any row was embedded: {exc}. "
                    "Nothing was kept: run the command again once the cause is fixed",
                    cause=exc,
                    report=report,
                ) from exc
            raise JobStoppedError(
                f"stopped by a provider error after {report.rows_read:,} rows "
                f"({report.rows_written:,} written): {exc}. Everything written is kept and the "
                "checkpoint is intact: run the same command with --resume to continue",
                cause=exc,
                report=report,
            ) from exc
        for t in types:
            got = int(result.vectors[t].shape[1]) if result.kept else None
            if got is None:
                continue
            if t not in widths:
                widths[t] = got
            elif widths[t] != got:
                error = ProviderError(
                    f"{t.value} vectors of {got} values, earlier chunks had {widths[t]}",
                    provider=embedder.provider.name,
                )
                raise JobStoppedError(f"stopped: {error}", cause=error, report=report)

        ids = [r.id for r in result.kept]
        if isinstance(writer, ParquetWriter):
            if ids:
                schema = arrow_schema(types, widths, spec.id_kind)
                writer.write(ids, result.vectors, schema)
        else:
            writer.write(ids, result.vectors, widths)
        bad = sorted([*rejected, *result.refused], key=lambda r: r.index)
        rejects.write(
            [{"row": r.number, "id": r.id, "reason": r.reason, "record": r.record} for r in bad]
        )

        report.rows_read += count
        report.rows_written += len(ids)
        report.rejected += len(bad)
        report.embedded += result.sent
        report.cache_hits += result.cache_hits
        report.deduplicated += len(accepted) - result.distinct
        report.requests += result.usage.requests
        report.input_tokens += result.usage.input_tokens
        state.update(
            rows_read=report.rows_read,
            reader=position,
            writer=writer.state(),
            rejects=rejects.state(),
            widths={t.value: w for t, w in widths.items()},
            id_kind=spec.id_kind,
            stats={
                k: getattr(report, k)
                for k in (
                    "rows_written",
                    "rejected",
                    "embedded",
                    "cache_hits",
                    "deduplicated",
                    "requests",
                    "input_tokens",
                )
            },
        )
        self._save(state)
        if bar is not None:
            bar.update(count - shown)
            bar.set_postfix(rejected=report.rejected, cached=report.cache_hits, refresh=False)
        if self.on_progress is not None:
            self.on_progress(report)


def embed_file(
    input: str | os.PathLike[str],  # noqa: A002 - the CLI's name for it
    output: str | os.PathLike[str],
    model: str | None = None,
    *,
    embedder: Embedder | None = None,
    column: str | None = None,
    image_column: str | None = None,
    id_column: str | None = None,
    input_type: InputType | str | None = None,
    dimensions: int | None = None,
    embedding_types: EmbeddingType | str | Sequence[EmbeddingType | str] | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    cache: Cache | str | os.PathLike[str] | None = None,
    dedup: bool = True,
    rejects: str | os.PathLike[str] | None = None,
    progress: bool = False,
    on_progress: Callable[[JobReport], None] | None = None,
    **options: Any,
) -> JobReport:
    """Embed a column of a JSONL, CSV/TSV or Parquet file into Parquet or NPY, resumably.

    ``model`` is ``"provider:model"`` (``options`` go to ``embedplug.embedder``:
    keys, base URLs, ``max_concurrency``...), or pass a ready ``embedder``.
    ``column`` holds the text (default ``"text"``), ``image_column`` an image
    path (relative to the input's folder), data URL or bytes; ``id_column``
    the id (default: the 0-based row number). The output's format follows its
    suffix (``.parquet`` or ``.npy``). Rows that fail validation go to
    ``rejects`` (default ``<output stem>.rejects.jsonl``) with the reason.

    Work happens in chunks of ``batch_rows`` rows, each written durably and
    recorded in a checkpoint under ``<output>.partial/``; after a crash or a
    kill, ``resume=True`` continues where the last checkpoint left off. With
    ``dedup`` (default), identical inputs anywhere in the file are embedded
    once, through a content-addressed store in the work directory; ``cache``
    (a ``Cache`` or a path) does the same across jobs and replaces it.

    Returns a ``JobReport``. Raises ``JobStoppedError`` when a provider error
    persists (the checkpoint is intact), ``JobStateError`` when an output or a
    checkpoint is in the way.
    """
    job = _Job(
        Path(input),
        Path(output),
        model=model,
        embedder=embedder,
        column=column,
        image_column=image_column,
        id_column=id_column,
        input_type=input_type,
        dimensions=dimensions,
        embedding_types=embedding_types,
        input_format=input_format,
        output_format=output_format,
        resume=resume,
        overwrite=overwrite,
        batch_rows=batch_rows,
        chunk_bytes=chunk_bytes,
        cache=cache,
        dedup=dedup,
        rejects=rejects,
        progress=progress,
        on_progress=on_progress,
        options=options,
    )
    return job.run()
