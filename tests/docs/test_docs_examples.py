"""Documentation that is executed: every fenced example in the docs runs here.

Conventions (also in the project's coordination notes; keep both in step)
========================================================================

Files: ``README.md``, ``docs/**/*.md`` (not ``docs/examples/``), ``packages/*/README.md``.

Fences run: ``python``, ``bash``, ``sh``, ``shell`` and ``console`` (of a console
block only the ``$ `` lines and their ``\\`` continuations run; the rest is
output, not compared). Any other fence (``text``, ``json``, ``toml``, none) is
not run: use ``text`` for output and pseudo-code.

Each block is a complete script, as a newcomer would paste it:

* Python runs in this process (the local model loads once), in a fresh
  namespace with ``__name__ == "__main__"``: define every input, use
  ``asyncio.run`` (no top-level ``await``), make any image yourself (Pillow or
  bytes).
* Shell blocks run as ``bash -euo pipefail`` with the test venv's ``bin`` first
  on ``PATH``, in their own process group: a block must stop what it starts in
  the background (``kill %1; wait``); what it leaves running is stopped and the
  block fails. Each has ``SHELL_TIMEOUT`` seconds.
* The working directory is a fresh empty temporary directory per block: files
  a block writes (cat.png, corpus.jsonl, vectors.parquet) land there, and
  nothing of the repository is there.
* The environment points every provider at a stub server of
  ``embedplug.testing`` through its usual variables, so examples read as
  against the real service: ``OPENAI_BASE_URL``/``OPENAI_API_KEY``,
  ``CO_API_URL``/``CO_API_KEY`` (the Cohere stub with the embed-jobs API),
  ``EMBEDDING_URL``/``EMBEDDING_KEY`` (Heroku), ``NUGEN_BASE_URL``/
  ``NUGEN_API_KEY``, ``IG1AI_BASE_URL``/``IG1AI_API_KEY`` (both IG1 paths on one
  server), and ``HF_HUB_OFFLINE=1``. Each stub requires its key. The stubs
  answer with each model's real full dimension (checked below).

Printed values are checked: in ``print(x)  # (2, 384) float32`` the comment,
when it starts like a value (a bracket, digit, quote, ``-``, True/False/None
or ``Name(``), is what must print; ``...`` in it matches anything and prose may
follow after ``": "``. A comment that starts with a word is not checked.
Warnings behave as in a script, except that one raised by embedplug's own
modules fails the block.

Markers, an HTML comment right before the fence (invisible once rendered):

* ``<!-- docs: no-run: REASON -->``: not run. At most ``MAX_NO_RUN`` in all files.
* ``<!-- docs: continue -->``: runs after the previous runnable block of the
  page, in its temp dir and (Python) its namespace. Prefer self-contained blocks.

Install lines in shell blocks are checked, then replaced by ``true``:
``python3 -m venv`` and ``source .../activate`` are skipped; ``pip install``
must name repository folders (``-e packages/X[extra]``: the folder has a
pyproject.toml declaring each extra) and never one of this repository's
packages by name (they are on no index); ``nox -s NAME`` must name a session
of noxfile.py. A ``.venv/bin/`` prefix is dropped elsewhere, so
``.venv/bin/embedplug demo`` runs the installed ``embedplug``.

Run one page: ``pytest tests/docs -k quickstart`` (test ids are ``docs/quickstart.md:L42``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _snippets import (
    PRINT_CHECK,
    ROOT,
    Chain,
    Snippet,
    all_snippets,
    chains,
    checked_prints,
    docs_print,
    shell_script,
)
from _stubs import provider_stubs

from embedplug import InvalidInputError

MAX_NO_RUN = 5
SNIPPETS = all_snippets()
CHAINS = chains(SNIPPETS)
BIN = str(Path(sys.executable).parent)
OUR_MODULES = r"(embedplug|langchain_embedplug|llama_index\.embeddings\.embedplug)(\.|$)"


@pytest.fixture(scope="session")
def stub_environment() -> Iterator[dict[str, str]]:
    with provider_stubs() as env:
        yield env


@pytest.fixture
def doc_env(
    stub_environment: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The process environment of one block: stubs' variables set, cwd an empty temp dir."""
    for name in [n for n in os.environ if n.startswith(("CO_", "COHERE_", "EMBEDPLUG_"))]:
        monkeypatch.delenv(name)
    for name, value in {**stub_environment, "HF_HUB_OFFLINE": "1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", BIN + os.pathsep + os.environ.get("PATH", ""))
    monkeypatch.chdir(tmp_path)
    return dict(os.environ)


def run_python(snippet: Snippet, namespace: dict[str, Any]) -> None:
    """Exec a block; line numbers in a traceback are those of the Markdown file."""
    source = "\n" * (snippet.line - 1) + checked_prints(snippet.source)
    code = compile(source, str(snippet.path), "exec")
    with warnings.catch_warnings():
        # Python's filters for a script (what it prints there, it prints here); a warning
        # raised by embedplug itself still fails the test
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=category)
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        warnings.filterwarnings("error", module=OUR_MODULES)
        exec(code, namespace)


SHELL_TIMEOUT = 120.0


def _stop_group(pgid: int) -> bool:
    """Stop what a shell block left running in its process group; whether anything was."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return True


def run_shell(snippet: Snippet, env: dict[str, str], cwd: Path) -> None:
    """Run a block in its own process group, output to files (a server left in the
    background cannot hold a pipe open); what it leaves running is stopped, and fails it."""
    script = shell_script(snippet)
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            code: int | str = proc.wait(timeout=SHELL_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = f"nothing: still running after {SHELL_TIMEOUT:.0f} s"
        finally:
            left_running = _stop_group(proc.pid)
            proc.wait()
        outputs = []
        for stream in (stdout, stderr):
            stream.seek(0)
            outputs.append(stream.read().decode(errors="replace")[-3000:])
    report = f"\n--- script\n{script}--- stdout\n{outputs[0]}--- stderr\n{outputs[1]}"
    assert code == 0, f"{snippet.where} exited {code}{report}"
    assert not left_running, f"{snippet.where} left processes running (stopped now){report}"


def run_chain(chain: Chain, env: dict[str, str], cwd: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "__main__", PRINT_CHECK: docs_print}
    try:
        for snippet in chain.snippets:
            if snippet.language == "python":
                run_python(snippet, namespace)
            else:
                run_shell(snippet, env, cwd)
    finally:
        ray = sys.modules.get("ray")
        if ray is not None and ray.is_initialized():  # a script's Ray ends with the script
            ray.shutdown()


@pytest.mark.parametrize("chain", CHAINS, ids=[c.where for c in CHAINS])
def test_example_runs(chain: Chain, doc_env: dict[str, str], tmp_path: Path) -> None:
    run_chain(chain, doc_env, tmp_path)


def test_examples_are_found() -> None:
    files = {s.path.relative_to(ROOT).as_posix() for s in SNIPPETS if s.language == "python"}
    assert {"README.md", "docs/quickstart.md", "docs/langchain.md"} <= files
    assert len(CHAINS) >= 50


def test_few_examples_are_not_run() -> None:
    marked = [f"{s.where}: {s.reason}" for s in SNIPPETS if s.marker == "no-run"]
    assert all(s.split(": ", 1)[1] for s in marked), "every no-run marker gives its reason"
    assert len(marked) <= MAX_NO_RUN, "\n".join(marked)


STUB_VARIANT = {"openai": "openai", "cohere": "cohere", "heroku": "heroku", "nugen": "nugen"}


def test_stubs_answer_with_each_models_real_dimension() -> None:
    """A docs comment such as ``(2, 1536)`` holds against the stub as against the service."""
    from embedplug import plugins
    from embedplug.testing import Context, get_variant

    checked = 0
    for name, provider in plugins.provider_classes().items():
        for model in provider.known_models():
            variant = STUB_VARIANT.get(name)
            if name == "ig1":
                variant = "ig1-openai" if model.name == "bge-m3" else "ig1"
            if variant is None:
                continue
            full = get_variant(variant).full_dimensions(model.name, Context(request_number=0))
            assert full == model.dimensions, f"{name}:{model.name}"
            checked += 1
    assert checked >= 10


# -- the test can fail: break a snippet the way a careless edit would ----------------------

REMOVALS = [
    # (page, the start of the line removed, what the run then raises)
    ("README.md", 'texts = ["A cat on a windowsill."', NameError),
    ("README.md", "import asyncio", NameError),
    ("README.md", 'Image.new("RGB", (64, 64), "orange").save("cat.png")', InvalidInputError),
    ("docs/quickstart.md", 'documents = ["Paris is', NameError),
    ("docs/langchain.md", "from langchain_embedplug import EmbedplugEmbeddings", NameError),
    ("docs/bulk.md", 'printf \'{"id": "doc-1"', AssertionError),  # exits 2: no corpus.jsonl
    ("docs/providers/cohere.md", 'texts = ["The kitten purred."', NameError),
]


def _without_line(chain: Chain, start: str) -> Chain | None:
    """The chain without the first line that starts with ``start``, or None."""
    for number, snippet in enumerate(chain.snippets):
        lines = snippet.source.split("\n")
        hit = next((i for i, line in enumerate(lines) if line.startswith(start)), None)
        if hit is not None:
            changed = dataclasses.replace(snippet, source="\n".join(lines[:hit] + lines[hit + 1 :]))
            return Chain([*chain.snippets[:number], changed, *chain.snippets[number + 1 :]])
    return None


@pytest.mark.parametrize(("page", "start", "error"), REMOVALS, ids=[r[0] for r in REMOVALS])
def test_removing_a_line_that_defines_an_input_fails(
    page: str, start: str, error: type[Exception], doc_env: dict[str, str], tmp_path: Path
) -> None:
    on_page = [c for c in CHAINS if c.snippets[0].path == ROOT / page]
    broken = next(b for b in map(lambda c: _without_line(c, start), on_page) if b is not None)
    with pytest.raises(error):
        run_chain(broken, doc_env, tmp_path)


def test_a_wrong_printed_value_fails(doc_env: dict[str, str], tmp_path: Path) -> None:
    chain = next(c for c in CHAINS if "# (2, 384) float32" in c.snippets[0].source)
    wrong = dataclasses.replace(
        chain.snippets[0], source=chain.snippets[0].source.replace("(2, 384)", "(2, 385)")
    )
    with pytest.raises(AssertionError, match=r"printed '\(2, 384\) float32'"):
        run_chain(Chain([wrong]), doc_env, tmp_path)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("pip install embedplug-openai", "not on any package index"),
        (".venv/bin/pip install -e packages/embedplug-nosuch", "is not a package"),
        ("pip install -e 'packages/embedplug[nosuch]'", "declares no extra 'nosuch'"),
        ("python3 -m venv .venv && .venv/bin/nox -s nosuch", "no nox session"),
    ],
)
def test_install_lines_are_checked(command: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        shell_script(Snippet(ROOT / "README.md", 1, "bash", command + "\n"))


def test_install_lines_are_replaced_and_venv_tools_run_from_path() -> None:
    script = shell_script(
        Snippet(
            ROOT / "README.md",
            1,
            "bash",
            "python3 -m venv .venv && .venv/bin/pip install -e 'packages/embedplug[parquet]'"
            " torch==2.13.0 && .venv/bin/embedplug demo\n.venv/bin/nox -s tests\n",
        )
    )
    assert script == "true && true && embedplug demo\ntrue\n"


def test_a_shell_block_that_leaves_a_server_running_fails(
    doc_env: dict[str, str], tmp_path: Path
) -> None:
    block = Snippet(ROOT / "docs" / "testing.md", 1, "bash", "sleep 60 &\necho started\n")
    with pytest.raises(AssertionError, match="left processes running"):
        run_shell(block, doc_env, tmp_path)
