"""Benchmark: wall time of ``embedplug --help`` with a plugin written as the guide shows.

Prints a table; asserts nothing. Run with ``python tests/bench/bench_cli_startup.py``
(``--runs 20``). Target: the guide's plugin keeps ``embedplug --help`` under
0.25 s (the median below).

Installs nothing: the guide's package ``embedplug-acme`` (the files shown in
``docs/writing-a-plugin.md``) is written to a temporary folder with a
``.dist-info`` holding its entry point, and that folder is put on
``PYTHONPATH``, where ``importlib.metadata`` finds it exactly as an installed
plugin. Three cases, run in turn so that a busy machine slows each alike:

* ``installed plugins``: ``embedplug --help`` with whatever is installed;
* ``+ guide's plugin``: the same, plus the guide's package as written;
* ``+ eager plugin``: the guide's package with its provider imported at the
  top of ``__init__.py``, the mistake the guide's "Imports" rule prevents.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "core"))
from _guide import write_guide_plugin  # tests/core's helper, found by path

TARGET_SECONDS = 0.25
_LAZY_IMPORT = "    from embedplug_acme._provider import AcmeProvider\n\n"
_EAGER_IMPORT = "from embedplug_acme._provider import AcmeProvider\n"


def _eager(site: Path) -> None:
    """Move the guide's in-hook import to the top of the module."""
    init = site / "embedplug_acme" / "__init__.py"
    source = init.read_text(encoding="utf-8")
    if _LAZY_IMPORT not in source:
        raise SystemExit("the guide's __init__.py changed: update bench_cli_startup.py")
    source = source.replace(_LAZY_IMPORT, "").replace(
        "import embedplug\n", "import embedplug\n" + _EAGER_IMPORT, 1
    )
    init.write_text(source, encoding="utf-8")


def _time_once(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each case")
    args = parser.parse_args()

    script = Path(sys.executable).parent / "embedplug"
    command = [str(script) if script.exists() else "embedplug", "--help"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("EMBEDPLUG_")}
    with tempfile.TemporaryDirectory() as tmp:
        guide_site = write_guide_plugin(Path(tmp) / "guide")
        eager_site = write_guide_plugin(Path(tmp) / "eager")
        _eager(eager_site)
        cases = {
            "installed plugins": base,
            "+ guide's plugin": {**base, "PYTHONPATH": str(guide_site)},
            "+ eager plugin": {**base, "PYTHONPATH": str(eager_site)},
        }
        for env in cases.values():  # warm the file cache; check each case runs
            _time_once(command, env)
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, env in cases.items():
                times[name].append(_time_once(command, env))

    print(f"embedplug --help, {args.runs} runs each (seconds)")
    print(f"{'case':<20} {'median':>7} {'min':>7} {'max':>7}")
    for name, runs in times.items():
        print(f"{name:<20} {statistics.median(runs):7.3f} {min(runs):7.3f} {max(runs):7.3f}")
    guide = statistics.median(times["+ guide's plugin"])
    verdict = "under" if guide < TARGET_SECONDS else "OVER"
    print(f"guide's plugin: median {guide:.3f} s, {verdict} the {TARGET_SECONDS} s target")


if __name__ == "__main__":
    main()
