"""Run ``embedplug embed-file`` in this process with the test providers, optionally dying.

Used by the kill-and-resume tests as a subprocess::

    python cli_driver.py [--kill-after-rows N | --kill-after-writes K] -- ARGS...

``ARGS`` are ``embed-file``'s. The stub's URL comes from ``BULKSTUB_OPENAI_URL``.

* ``--kill-after-rows N``: SIGKILL itself just after the first checkpoint that
  records at least N rows read (a kill between chunks: nothing in flight).
* ``--kill-after-writes K``: SIGKILL itself just after the K-th chunk's vectors
  are written durably but before its checkpoint (the worst moment: output on
  disk that no checkpoint mentions).

SIGKILL cannot be caught, so what survives is exactly what a ``kill -9`` from
outside would leave.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
from pathlib import Path
from typing import Any


def _die() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kill-after-rows", type=int, default=None)
    parser.add_argument("--kill-after-writes", type=int, default=None)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args()
    args = ns.args[1:] if ns.args and ns.args[0] == "--" else ns.args

    spec = importlib.util.spec_from_file_location(
        "bulk_stub_providers", Path(__file__).with_name("stub_providers.py")
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    from embedplug import plugins
    from embedplug.bulk import _job, _writers

    plugins.register_plugin(module, name="bulk-test-providers")

    if ns.kill_after_rows is not None:
        limit = ns.kill_after_rows
        save = _job._Job._save

        def save_then_die(self: Any, state: dict[str, Any]) -> None:
            save(self, state)
            if state["rows_read"] >= limit and not state["finalising"]:
                _die()

        _job._Job._save = save_then_die  # type: ignore[method-assign]

    if ns.kill_after_writes is not None:
        writes = {"n": 0}
        for cls in (_writers.ParquetWriter, _writers.NpyWriter):
            original = cls.write

            def write_then_die(self: Any, *a: Any, _original: Any = original) -> None:
                _original(self, *a)
                writes["n"] += 1
                if writes["n"] >= ns.kill_after_writes:
                    _die()

            cls.write = write_then_die  # type: ignore[method-assign]

    from embedplug.cli import main as cli_main

    cli_main(["embed-file", *args])


if __name__ == "__main__":
    main()
