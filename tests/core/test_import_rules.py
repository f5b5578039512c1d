"""The import rules of docs/architecture.md, checked on the source of every package.

Each module under ``packages/*/src`` is parsed (``ast``, nothing is imported) and
its imports are checked against these rules:

* ``protocols-no-engine``: a wire protocol (``embedplug.protocols.*``) is a
  sans-IO codec; it imports no engine (``embedplug.engine``, ``embedplug._engine*``)
  and nothing built on it (``_api``, ``cache``, ``bulk``, ``cli``, ``testing``).
* ``core-no-plugins``: the core (``embedplug.*``) imports no provider package
  (``embedplug_*``) and no adapter (``langchain_embedplug``, ``llama_index``).
* ``production-no-testing``: no module outside ``embedplug.testing`` imports it,
  except a provider package's *stub modules* (a module or subpackage named
  ``_stub*``, ``testing`` or ``_testing``), which ship its stub variant for the
  stub-variant hook. ``if TYPE_CHECKING:`` imports do not count (no run-time
  dependency).
* ``stub-modules-lazily``: another module of a provider package imports its stub
  modules only inside a function (the hook implementation), so importing the
  provider never imports ``embedplug.testing``.
* ``no-private-core``: a provider or adapter module imports no private core module
  or name (``embedplug._x``, ``embedplug.x._y``, ``from embedplug.x import _y``).
* ``no-engine-reach``: a provider or adapter module does not read an ``.engine``
  attribute (``embedder.engine...``): the engine is the core's business.
* ``core-layers``: at import time a core module imports only its own part of the
  core or an earlier one (``CORE_LAYERS``, the table of docs/architecture.md).
* ``file-size``: no ``.py`` file under ``packages/*/src`` is over 600 lines.

Today's known breaches are listed in ``KNOWN_VIOLATIONS`` and ``KNOWN_LONG_FILES``.
The lists only shrink: a breach not listed fails, and so does a listed one that
is gone (delete its entry when you fix it). A listed long file may not grow.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 600

CORE = "embedplug"
ADAPTER_ROOTS = ("langchain_embedplug", "llama_index")
# What a wire protocol must not import: the engine and every part built on it.
PROTOCOL_FORBIDDEN = (
    "embedplug.engine",  # and embedplug._engine* (see _forbidden_in_protocols)
    "embedplug._api",
    "embedplug.cache",
    "embedplug.bulk",
    "embedplug.cli",
    "embedplug.testing",
)
STUB_MODULE_NAMES = ("testing", "_testing")  # plus any name starting with "_stub"

# The core's parts, foundations first, as in the table of docs/architecture.md. At import
# time a module imports only its own part or earlier ones (lazy imports inside a function,
# and ``if TYPE_CHECKING:`` ones, may go anywhere). A module is in the part of its
# longest listed prefix; the facade ``embedplug`` and unlisted modules are not checked.
CORE_LAYERS: tuple[tuple[str, ...], ...] = (
    ("embedplug.errors", "embedplug.types", "embedplug._lazy"),  # vocabulary
    ("embedplug.provider", "embedplug.settings", "embedplug._http", "embedplug._redact"),
    ("embedplug.hookspecs", "embedplug.plugins"),  # hooks
    ("embedplug.protocols",),  # wire protocols
    ("embedplug._planning", "embedplug._long_inputs", "embedplug._quantize"),  # planning
    ("embedplug.engine", "embedplug._ratelimit"),  # engine
    ("embedplug._api", "embedplug._resolve", "embedplug.adapters"),  # API
    ("embedplug.cache",),
    ("embedplug.bulk",),
    ("embedplug.cli", "embedplug._cli_support", "embedplug.bulk._cli", "embedplug.__main__"),
    ("embedplug.testing",),
)

# (rule, importing module, imported name) -> why it is still there.
# Delete an entry when the import goes; the test fails while a stale entry remains.
KNOWN_VIOLATIONS: dict[tuple[str, str, str], str] = {
    # Issue 15 part 2: the jobs client builds its own HTTP stack from core privates;
    # it moves onto the public flow driver.
    ("no-private-core", "embedplug_cohere._jobs_client", "embedplug._http"): "issue 15 part 2",
    ("no-private-core", "embedplug_cohere._jobs_protocol", "embedplug._http"): "issue 15 part 2",
    (
        "no-private-core",
        "embedplug_cohere._jobs_protocol",
        "embedplug.protocols._decode",
    ): "issue 15 part 2",
}

# Path under packages/ -> its line count today: split it (issue 15 parts 1, 2, 3, 4, 6),
# then delete the entry. A listed file may shrink but not grow.
KNOWN_LONG_FILES: dict[str, int] = {
    "embedplug-cohere/src/embedplug_cohere/_jobs_client.py": 1006,
    "embedplug/src/embedplug/bulk/_job.py": 737,
    "embedplug/src/embedplug/engine.py": 730,
}


@dataclass(frozen=True)
class Module:
    """One source file: its dotted name, its path under packages/ and its text."""

    name: str
    path: str
    source: str

    @property
    def is_package(self) -> bool:
        return self.path.endswith("__init__.py")


@dataclass(frozen=True)
class Import:
    """One imported name: ``import a.b`` is ``("a.b",)``, ``from a import b`` is ``("a", "a.b")``.

    ``b`` may be a module or a name; a rule reports the first of the two it matches.
    """

    names: tuple[str, ...]
    line: int
    lazy: bool  # inside a function body
    type_checking: bool  # inside ``if TYPE_CHECKING:``


@dataclass(frozen=True)
class Violation:
    rule: str
    module: str
    target: str
    line: int

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rule, self.module, self.target)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: Module, level: int, name: str | None) -> str:
    """The absolute name of a relative ``from`` import."""
    parts = module.name.split(".")
    if not module.is_package:
        parts = parts[:-1]
    base = parts[: len(parts) - (level - 1)] if level > 1 else parts
    return ".".join([*base, name] if name else base)


def imports_of(module: Module) -> list[Import]:
    """Every import statement of ``module``, wherever it is in the file."""
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool, type_checking: bool) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append(Import((alias.name,), node.lineno, lazy, type_checking))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node.level, node.module) if node.level else node.module
            assert base is not None
            for alias in node.names:
                names = (base,) if alias.name == "*" else (base, f"{base}.{alias.name}")
                found.append(Import(names, node.lineno, lazy, type_checking))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            lazy = True
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, lazy, True)
            for child in node.orelse:
                visit(child, lazy, type_checking)
            return
        for sub in ast.iter_child_nodes(node):
            visit(sub, lazy, type_checking)

    visit(ast.parse(module.source, module.path), False, False)
    return found


def _under(name: str, prefix: str) -> bool:
    """``name`` is ``prefix`` or inside it."""
    return name == prefix or name.startswith(prefix + ".")


def _forbidden_in_protocols(name: str) -> bool:
    # startswith for the private engine: _engine, _engine_runners, ... all count
    return name.startswith("embedplug._engine") or any(
        _under(name, bad) for bad in PROTOCOL_FORBIDDEN
    )


def _root(name: str) -> str:
    return name.split(".", 1)[0]


def kind_of(name: str) -> str:
    """``core``, ``provider``, ``adapter`` or ``other`` (a third-party name)."""
    root = _root(name)
    if root == CORE:
        return "core"
    if root.startswith("embedplug_"):
        return "provider"
    if root in ADAPTER_ROOTS:
        return "adapter"
    return "other"


def is_stub_module(name: str) -> bool:
    """A provider package's module that may import ``embedplug.testing``."""
    return kind_of(name) == "provider" and any(
        part.startswith("_stub") or part in STUB_MODULE_NAMES for part in name.split(".")[1:]
    )


def _is_private_core(target: str) -> bool:
    parts = target.split(".")
    return parts[0] == CORE and any(
        part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
        for part in parts[1:]
    )


def layer_of(name: str) -> int | None:
    """The index in ``CORE_LAYERS`` of the part ``name`` belongs to, if listed."""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for layer, prefixes in enumerate(CORE_LAYERS):
        for prefix in prefixes:
            if _under(name, prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), layer)
    return None if best is None else best[1]


def _layer_breach(module: Module, imp: Import) -> Violation | None:
    own = layer_of(module.name)
    target = imp.names[-1]  # the most specific: ``from embedplug import cache`` is cache
    theirs = layer_of(target) if layer_of(target) is not None else layer_of(imp.names[0])
    if own is None or theirs is None or theirs <= own:
        return None
    return Violation("core-layers", module.name, target, imp.line)


def _rules_for(module: Module, imp: Import) -> Iterator[tuple[str, Callable[[str], bool]]]:
    """The rules that apply to this import of ``module``: (name, is the imported name a breach)."""
    kind = kind_of(module.name)
    if _under(module.name, "embedplug.protocols"):
        yield "protocols-no-engine", _forbidden_in_protocols
    if kind == "core":
        yield "core-no-plugins", lambda n: kind_of(n) in ("provider", "adapter")
    may_use_testing = _under(module.name, "embedplug.testing") or is_stub_module(module.name)
    if not (may_use_testing or imp.type_checking):
        yield "production-no-testing", lambda n: _under(n, "embedplug.testing")
    if kind == "provider" and not (is_stub_module(module.name) or imp.lazy or imp.type_checking):
        yield "stub-modules-lazily", lambda n: is_stub_module(n) and _root(n) == _root(module.name)
    if kind in ("provider", "adapter"):
        yield "no-private-core", _is_private_core


def _import_violations(module: Module) -> Iterator[Violation]:
    for imp in imports_of(module):
        if kind_of(module.name) == "core" and not (imp.lazy or imp.type_checking):
            layered = _layer_breach(module, imp)
            if layered is not None:
                yield layered
        for rule, bad in _rules_for(module, imp):
            target = next((name for name in imp.names if bad(name)), None)
            if target is not None:
                yield Violation(rule, module.name, target, imp.line)


def _engine_reaches(module: Module) -> Iterator[Violation]:
    if kind_of(module.name) not in ("provider", "adapter"):
        return
    for node in ast.walk(ast.parse(module.source, module.path)):
        if isinstance(node, ast.Attribute) and node.attr == "engine":
            yield Violation("no-engine-reach", module.name, ".engine", node.lineno)


def check(modules: Iterable[Module]) -> list[Violation]:
    """Every breach of the import rules in ``modules``."""
    found: dict[tuple[str, str, str], Violation] = {}
    for module in modules:
        for violation in [*_import_violations(module), *_engine_reaches(module)]:
            found.setdefault(violation.key, violation)  # first line of each breach
    return list(found.values())


def long_files(modules: Iterable[Module]) -> dict[str, int]:
    """Path -> line count of each module over ``MAX_LINES`` lines."""
    counts = {module.path: len(module.source.splitlines()) for module in modules}
    return {path: n for path, n in counts.items() if n > MAX_LINES}


Key = tuple[str, ...]


def compare(found: Iterable[Key], known: Iterable[Key]) -> tuple[set[Key], set[Key]]:
    """(new breaches, stale allow-list entries)."""
    found_set, known_set = set(found), set(known)
    return found_set - known_set, known_set - found_set


def source_modules() -> list[Module]:
    modules = []
    for path in sorted((ROOT / "packages").glob("*/src/**/*.py")):
        relative = path.relative_to(ROOT / "packages")
        inside_src = relative.parts[2:]  # after "<package folder>/src"
        parts = [*inside_src[:-1], path.stem]
        if parts[-1] == "__init__":
            parts.pop()
        text = path.read_text(encoding="utf-8")
        modules.append(Module(".".join(parts), relative.as_posix(), text))
    return modules


# -- the rules on the real tree -------------------------------------------------


@pytest.fixture(scope="module")
def modules() -> list[Module]:
    found = source_modules()
    kinds = {kind_of(m.name) for m in found}
    assert {"core", "provider", "adapter"} <= kinds, kinds  # the scan sees every kind
    return found


def test_import_rules_hold(modules: list[Module]) -> None:
    violations = check(modules)
    new, stale = compare((v.key for v in violations), KNOWN_VIOLATIONS)
    lines = {v.key: v.line for v in violations}
    assert not new, "import rule broken (see docs/architecture.md): " + "; ".join(
        f"{rule}: {module} imports {target} (line {lines[(rule, module, target)]})"
        for rule, module, target in sorted(new)
    )
    assert not stale, f"fixed, now delete from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_no_source_file_over_600_lines(modules: list[Module]) -> None:
    over = long_files(modules)
    new, stale = compare(((p,) for p in over), ((p,) for p in KNOWN_LONG_FILES))
    assert not new, f"over {MAX_LINES} lines, split by job: {sorted(p for (p,) in new)}"
    assert not stale, f"now short enough, delete from KNOWN_LONG_FILES: {sorted(stale)}"
    grown = {p: n for p, n in over.items() if n > KNOWN_LONG_FILES[p]}
    assert not grown, f"a listed long file grew (shrink it, do not raise its figure): {grown}"


# -- the checker catches each breach (synthetic modules) -------------------------


def _mod(name: str, source: str) -> Module:
    return Module(name, name.replace(".", "/") + ".py", source)


@pytest.mark.parametrize(
    ("rule", "module"),
    [
        ("protocols-no-engine", _mod("embedplug.protocols.x", "from embedplug.engine import E\n")),
        ("protocols-no-engine", _mod("embedplug.protocols.x", "from embedplug import engine\n")),
        ("protocols-no-engine", _mod("embedplug.protocols.x", "import embedplug._engine_run\n")),
        ("protocols-no-engine", _mod("embedplug.protocols.x", "from ..engine import E\n")),
        ("core-no-plugins", _mod("embedplug.cli", "import embedplug_openai\n")),
        ("core-no-plugins", _mod("embedplug.x", "def f():\n    import langchain_embedplug\n")),
        ("core-no-plugins", _mod("embedplug.x", "from llama_index.embeddings import embedplug\n")),
        ("production-no-testing", _mod("embedplug.cli", "from embedplug.testing import Fault\n")),
        ("production-no-testing", _mod("embedplug_x", "def f():\n    import embedplug.testing\n")),
        ("production-no-testing", _mod("embedplug_x._provider", "from embedplug import testing\n")),
        ("production-no-testing", _mod("langchain_embedplug._e", "import embedplug.testing\n")),
        ("stub-modules-lazily", _mod("embedplug_x", "from embedplug_x._stub import Variant\n")),
        ("stub-modules-lazily", _mod("embedplug_x", "from embedplug_x import _stub\n")),
        ("no-private-core", _mod("embedplug_x._p", "from embedplug._http import request_id\n")),
        ("no-private-core", _mod("embedplug_x._p", "from embedplug import _quantize\n")),
        ("no-private-core", _mod("embedplug_x._p", "import embedplug.protocols._decode\n")),
        ("no-private-core", _mod("langchain_embedplug._e", "from embedplug.engine import _x\n")),
        ("no-private-core", _mod("embedplug_x._stub", "from embedplug.testing._faults import F\n")),
        ("no-engine-reach", _mod("langchain_embedplug._e", "def f(e):\n    e.engine.plan([])\n")),
        ("core-layers", _mod("embedplug.engine", "from embedplug._api import Embedder\n")),
        ("core-layers", _mod("embedplug.types", "from embedplug import provider\n")),
        ("core-layers", _mod("embedplug.bulk._job", "from embedplug._cli_support import x\n")),
    ],
)
def test_checker_reports_a_breach(rule: str, module: Module) -> None:
    assert rule in {v.rule for v in check([module])}


@pytest.mark.parametrize(
    "module",
    [
        _mod("embedplug.protocols.openai", "from embedplug.provider import HTTPProvider\n"),
        _mod("embedplug.protocols.openai", "from embedplug._http import envelope_error\n"),
        _mod("embedplug.engine", "from embedplug.protocols import openai\n"),
        _mod("embedplug.testing._server", "from embedplug.testing._faults import Fault\n"),
        _mod(
            "embedplug.x",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from embedplug.testing import StubServer\n",
        ),
        _mod("embedplug_x._stub", "from embedplug.testing import Variant\n"),
        _mod("embedplug_x.testing.variant", "import embedplug.testing\n"),
        _mod(
            "embedplug_x",
            "def register_stub_variants(register):\n"
            "    from embedplug_x._stub import XVariant\n    register(XVariant)\n",
        ),
        _mod("embedplug_x._provider", "from embedplug import __version__, errors\n"),
        _mod("embedplug_x._provider", "from embedplug.protocols.openai import Base\n"),
        _mod("embedplug.cache", "def f(e):\n    return e.engine\n"),
        _mod("embedplug._api", "def f():\n    from embedplug.cache import Cache\n"),
        _mod("embedplug.bulk._cli", "from embedplug._cli_support import x\n"),
        _mod("embedplug.cache", "from embedplug._api import Embedder\n"),
    ],
)
def test_checker_accepts_the_allowed(module: Module) -> None:
    assert check([module]) == []


def test_file_size_rule_reports_a_long_file() -> None:
    long = _mod("embedplug_x._big", "x = 1\n" * (MAX_LINES + 1))
    short = _mod("embedplug_x._ok", "x = 1\n" * MAX_LINES)
    assert long_files([long, short]) == {long.path: MAX_LINES + 1}


def test_allow_lists_fail_on_new_and_on_stale_entries() -> None:
    new, stale = compare([("a",), ("b",)], [("b",), ("c",)])
    assert (new, stale) == ({("a",)}, {("c",)})
