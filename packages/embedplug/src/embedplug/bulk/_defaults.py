"""Defaults shared by the API and the command line (kept light: the CLI imports this)."""

from __future__ import annotations

__all__ = ["DEFAULT_BATCH_ROWS", "DEFAULT_CHUNK_BYTES"]

DEFAULT_BATCH_ROWS = 4096
"""Rows per chunk: the unit of checkpointing (a kill loses at most one chunk's work)."""
DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024
"""A chunk also ends once its inputs hold this many bytes (images are large)."""
