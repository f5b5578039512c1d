"""The plugin guide's example package, written to disk as a user would lay it out.

``docs/writing-a-plugin.md`` shows the files of a package ``embedplug-acme``
as Python blocks whose first line names the file (``# src/embedplug_acme/...``,
``# tests/...``). ``write_guide_plugin`` writes them under a folder together
with a ``.dist-info`` holding the guide's entry point, so that a Python run
with that folder on ``PYTHONPATH`` finds the plugin exactly as if it were
installed, while nothing is installed. Used by ``tests/core/test_docs.py`` and
``tests/bench/bench_cli_startup.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUIDE_PATH = ROOT / "docs" / "writing-a-plugin.md"
_FILE_BLOCK = re.compile(r"^```python\n# ((?:src|tests)/\S+\.py)\n(.*?)^```", re.DOTALL | re.M)
_ENTRY_POINT = re.compile(r"^\[project\.entry-points\.embedplug\]\n(\w+) = \"(\w+)\"$", re.M)


def guide_files(guide: str | None = None) -> dict[str, str]:
    """``{"src/embedplug_acme/__init__.py": source, ...}``: the files the guide shows."""
    text = GUIDE_PATH.read_text(encoding="utf-8") if guide is None else guide
    files: dict[str, str] = {}
    for path, body in _FILE_BLOCK.findall(text):
        if path in files:
            raise ValueError(f"the guide shows {path} twice")
        files[path] = f"# {path}\n{body}"
    return files


def write_guide_plugin(folder: Path, guide: str | None = None) -> Path:
    """Write the guide's package under ``folder``; return the folder to put on ``PYTHONPATH``.

    ``folder/site`` gets the ``src/`` modules and an ``embedplug_acme-0.1.0.dist-info``
    whose entry point is the guide's (the first ``acme = "embedplug_acme"`` line);
    ``folder/tests`` gets the guide's test files.
    """
    text = GUIDE_PATH.read_text(encoding="utf-8") if guide is None else guide
    found = _ENTRY_POINT.search(text)
    if found is None:
        raise ValueError("the guide shows no [project.entry-points.embedplug] table")
    name, module = found.groups()
    site = folder / "site"
    for path, source in guide_files(text).items():
        target = site / path.removeprefix("src/") if path.startswith("src/") else folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")
    dist_info = site / f"{module}-0.1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    distribution = module.replace("_", "-")
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: 0.1.0\n", encoding="utf-8"
    )
    (dist_info / "entry_points.txt").write_text(
        f"[embedplug]\n{name} = {module}\n", encoding="utf-8"
    )
    return site
