"""What a checkpoint on disk says, for ``embed_file``: rows done, settings that differ,
and the checks a job makes before it creates anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from embedplug.errors import ConfigurationError

__all__ = ["nothing_done", "require_pyarrow", "rows_done", "settings_differ"]


def require_pyarrow() -> None:
    import importlib.util

    if importlib.util.find_spec("pyarrow") is None:
        raise ConfigurationError(
            "Parquet input or output needs pyarrow: pip install 'embedplug[parquet]' "
            "(from this repository: pip install -e 'packages/embedplug[parquet]'), "
            "or write NPY (an output ending in .npy)"
        )


def rows_done(checkpoint: Path) -> str:
    try:
        return f"{int(orjson.loads(checkpoint.read_bytes())['rows_read']):,}"
    except (OSError, ValueError, KeyError, TypeError):
        return "unknown"


def nothing_done(checkpoint: Path) -> bool:
    """True when ``checkpoint`` is absent or records no row read (unreadable: False)."""
    if not checkpoint.exists():
        return True
    try:
        state = orjson.loads(checkpoint.read_bytes())
        return int(state["rows_read"]) == 0 and not state["finalising"]
    except (OSError, ValueError, KeyError, TypeError):
        return False


def settings_differ(
    work: Path, state: dict[str, Any], now: dict[str, Any], changed: list[str]
) -> str:
    """What differs from the checkpoint's settings, and what each way out does."""
    then = state["job"]
    details = "; ".join(f"{k} was {then.get(k)!r}, now {now[k]!r}" for k in changed)
    rows = int(state["rows_read"])
    return (
        f"the checkpoint at {str(work)!r} ({rows:,} rows done) was made with other settings: "
        f"{details}. Either run the command with the old settings and --resume to continue "
        f"it (the {rows:,} rows are kept), or pass --overwrite to delete it and start again "
        "with the new settings"
    )
