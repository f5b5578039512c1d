"""Find the fenced examples of the documentation and turn shell blocks into runnable scripts.

Sybil's Markdown lexers find the fences (also inside lists and quotes) and the
``<!-- docs: ... -->`` comments; this module groups them into chains (a block
and the blocks marked ``continue`` after it) and applies the rule for install
lines (see ``test_docs_examples``).
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import tomllib
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from sybil import Document
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer, RawFencedCodeBlockLexer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = "python"
SHELLS = frozenset({"bash", "sh", "shell", "console"})
RUNNABLE = frozenset({PYTHON, *SHELLS})

_FENCE = RawFencedCodeBlockLexer(
    info_pattern=re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE),
    mapping={"info": "info", "source": "source"},
)
_MARKER = DirectiveInHTMLCommentLexer(directive="docs", arguments=r".*?")
_MARKER_TEXT = re.compile(r"(?P<kind>no-run|continue)\b:?\s*(?P<reason>.*)", re.DOTALL)


def documentation_files() -> list[Path]:
    """README.md, docs/**/*.md except docs/examples/, packages/*/README.md."""
    docs = [p for p in (ROOT / "docs").rglob("*.md") if "examples" not in p.parts]
    return [ROOT / "README.md", *sorted(docs), *sorted(ROOT.glob("packages/*/README.md"))]


@dataclass
class Snippet:
    """One fenced block."""

    path: Path
    line: int
    """Line of the block's first source line (1-based)."""
    language: str
    source: str
    marker: str | None = None
    """``no-run`` or ``continue`` when a ``<!-- docs: ... -->`` comment precedes the fence."""
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:L{self.line}"


@dataclass
class Chain:
    """Blocks run one after the other in one temp dir (and one Python namespace)."""

    snippets: list[Snippet] = field(default_factory=list)

    @property
    def where(self) -> str:
        return self.snippets[0].where


def parse(path: Path) -> list[Snippet]:
    """Every fenced block of a Markdown file, with the marker comment right before it."""
    document = Document(path.read_text(encoding="utf-8"), str(path))
    markers = {}
    for region in _MARKER(document):
        text = " ".join(str(region.lexemes["arguments"]).split())
        markers[region.end] = text
    snippets = []
    for region in _FENCE(document):
        source = region.lexemes["source"]
        start = region.start + source.offset
        language = str(region.lexemes["info"]).strip().split(" ")[0].lower()
        snippet = Snippet(path, document.text.count("\n", 0, start) + 1, language, str(source))
        for end, text in markers.items():
            between = document.text[end : region.start] if end <= region.start else "x"
            if re.fullmatch(r"\s*(--+>)?\s*", between):  # the lexer's end stops before -->
                found = _MARKER_TEXT.fullmatch(text)
                if found is None:
                    raise ValueError(f"{snippet.where}: unknown marker <!-- docs: {text} -->")
                snippet.marker, snippet.reason = found["kind"], found["reason"].strip()
        snippets.append(snippet)
    return snippets


def all_snippets() -> list[Snippet]:
    """Every fenced block of every documentation file."""
    return [s for path in documentation_files() for s in parse(path)]


def chains(snippets: list[Snippet]) -> list[Chain]:
    """Runnable, unmarked blocks, each with the ``continue`` blocks that follow it."""
    out: list[Chain] = []
    last: dict[Path, Chain] = {}
    for snippet in snippets:
        if snippet.language not in RUNNABLE or snippet.marker == "no-run":
            continue
        if snippet.marker == "continue":
            if snippet.path not in last:
                raise ValueError(f"{snippet.where}: 'continue' with no block before it")
            last[snippet.path].snippets.append(snippet)
            continue
        chain = Chain([snippet])
        last[snippet.path] = chain
        out.append(chain)
    return out


# -- shell blocks ----------------------------------------------------------------------


def console_commands(source: str) -> str:
    """The commands of a console block: ``$ `` lines and their ``\\`` continuations."""
    lines, taking = [], False
    for line in source.splitlines():
        if line.startswith("$ "):
            lines.append(line[2:])
            taking = line.endswith("\\")
        elif taking:
            lines.append(line)
            taking = line.endswith("\\")
    return "\n".join(lines) + "\n"


def _logical_lines(source: str) -> list[str]:
    return source.replace("\\\n", " ").splitlines()


def _pyprojects() -> dict[str, tuple[Path, set[str]]]:
    """Each repository package's name -> (folder, declared extras)."""
    found = {}
    pyprojects = [
        *ROOT.glob("packages/*/pyproject.toml"),
        *ROOT.glob("docs/examples/*/pyproject.toml"),
    ]
    for pyproject in pyprojects:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        extras = set(project.get("optional-dependencies", {}))
        found[canonicalize_name(project["name"])] = (pyproject.parent, extras)
    return found


def _nox_sessions() -> set[str]:
    text = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    return set(re.findall(r"^@nox\.session[^\n]*\ndef (\w+)\(", text, flags=re.MULTILINE))


def _command(tokens: list[str]) -> list[str]:
    """The command without a leading ``.venv/bin/`` (the test venv's tools are on PATH)."""
    if tokens and re.match(r"^(\./)?\.?venv/bin/", tokens[0]):
        tokens = [tokens[0].rsplit("/", 1)[1], *tokens[1:]]
    return tokens


def _is_python(word: str) -> bool:
    return re.fullmatch(r"python(3(\.\d+)?)?", word) is not None


def check_install(tokens: list[str], where: str) -> None:
    """A ``pip install`` that this repository can satisfy; raise AssertionError if not."""
    packages = _pyprojects()
    args = tokens[tokens.index("install") + 1 :]
    takes_value = {"-i", "--index-url", "--extra-index-url", "-c", "--constraint", "-f"}
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in ("-e", "--editable"):
            i += 1
            _check_local(args[i], packages, where)
        elif arg in ("-r", "--requirement"):
            raise AssertionError(f"{where}: pip install -r is not checked; list the packages")
        elif arg in takes_value:
            i += 1
        elif arg.startswith("-"):
            pass
        elif "/" in arg or arg.startswith("."):
            _check_local(arg, packages, where)
        else:
            try:
                requirement = Requirement(arg)
            except InvalidRequirement:
                raise AssertionError(f"{where}: not a requirement: {arg!r}") from None
            name = canonicalize_name(requirement.name)
            if name in packages:
                folder = packages[name][0].relative_to(ROOT).as_posix()
                raise AssertionError(
                    f"{where}: {arg!r} is not on any package index; install it from the "
                    f"repository: pip install -e {folder}"
                )
        i += 1


def _check_local(spec: str, packages: dict[str, tuple[Path, set[str]]], where: str) -> None:
    match = re.fullmatch(r"(?P<path>[^\[]+)(\[(?P<extras>[^\]]*)\])?", spec)
    assert match is not None, f"{where}: cannot read {spec!r}"
    folder = (ROOT / match["path"]).resolve()
    assert (folder / "pyproject.toml").is_file(), f"{where}: {match['path']} is not a package"
    declared = next((extras for path, extras in packages.values() if path == folder), set())
    for extra in filter(None, (e.strip() for e in (match["extras"] or "").split(","))):
        assert extra in declared, f"{where}: {match['path']} declares no extra {extra!r}"


def _installs(tokens: list[str], where: str) -> bool:
    """Whether a command installs or creates an environment (checked here, not run)."""
    if not tokens:
        return False
    word = tokens[0].rsplit("/", 1)[-1]
    rest = tokens[1:]
    if (_is_python(word) and rest[:2] == ["-m", "venv"]) or word in ("virtualenv",):
        return True
    if word in ("source", ".") and rest and rest[0].endswith("/bin/activate"):
        return True
    if _is_python(word) and rest[:2] == ["-m", "pip"]:
        word, rest = "pip", rest[2:]
    if word == "uv" and rest[:1] == ["pip"]:
        word, rest = "pip", rest[1:]
    if word in ("pip", "pip3"):
        if rest[:1] == ["install"]:
            check_install(["install", *rest[1:]], where)
        return True
    if word == "nox" or (_is_python(word) and rest[:2] == ["-m", "nox"]):
        names = [rest[i + 1] for i, a in enumerate(rest[:-1]) if a in ("-s", "--session")]
        unknown = set(names) - _nox_sessions()
        assert not unknown, f"{where}: no nox session {sorted(unknown)} in noxfile.py"
        return True
    return False


_SEPARATORS = {"&&", ";", "||"}


def shell_script(snippet: Snippet) -> str:
    """The block as a bash script: install lines checked and replaced by ``true``."""
    source = console_commands(snippet.source) if snippet.language == "console" else snippet.source
    out = []
    for line in _logical_lines(source):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unbalanced quote: a here-doc or similar, run as written
            out.append(line)
            continue
        segments: list[list[str]] = [[]]
        for token in tokens:
            if token in _SEPARATORS:
                segments.append([])
            else:
                segments[-1].append(token)
        if not any(_installs(_command(s), snippet.where) for s in segments):
            out.append(re.sub(r"(?<![\w/.])(\./)?\.venv/bin/", "", line))
            continue
        kept = [
            "true" if _installs(_command(s), snippet.where) else shlex.join(_command(s))
            for s in segments
            if s
        ]
        out.append(" && ".join(kept))
    return "\n".join(out) + "\n"


# -- printed values -----------------------------------------------------------------------

_PRINT = re.compile(r"^(?P<indent>\s*)print\((?P<args>.*)\)\s*#\s*(?P<expected>.+?)\s*$")
_VALUE_START = re.compile(r"""^([\[({'"\d-]|True\b|False\b|None\b|[A-Z]\w*\()""")
PRINT_CHECK = "__docs_print__"


def checked_prints(source: str) -> str:
    """``print(x)  # (2, 384)``: the comment, when it reads as a value, is what must print.

    The comment may go on after a colon (``# 0.73 -0.09: paraphrase vs unrelated``)
    and ``...`` in it stands for any text (``# Usage(input_tokens=..., images=0)``).

    Each such line becomes a call of ``__docs_print__(expected, x)``, which prints
    as ``print`` does and fails when the text differs. Comments that read as prose
    (``# the kitten``) are left alone.
    """
    lines = source.split("\n")
    for number, line in enumerate(lines):
        found = _PRINT.match(line)
        if found is None or not _VALUE_START.match(found["expected"]):
            continue
        try:
            ast.parse(f"print({found['args']})")
        except SyntaxError:
            continue
        lines[number] = f"{found['indent']}{PRINT_CHECK}({found['expected']!r}, {found['args']})"
    return "\n".join(lines)


def docs_print(expected: str, *args: object) -> None:
    """``print(*args)``, then check the printed text is ``expected``."""
    text = " ".join(str(a) for a in args)
    print(text)
    assert _matches(text, expected), f"printed {text!r}, the docs say {expected!r}"


def _matches(text: str, expected: str) -> bool:
    """``expected``, or its part before a ``": "`` (prose follows), with ``...`` as a wildcard."""
    cuts = [len(expected)] + [m.start() for m in re.finditer(": ", expected)]
    for cut in cuts:
        pattern = ".*?".join(re.escape(part) for part in expected[:cut].split("..."))
        if re.fullmatch(pattern, text, flags=re.DOTALL):
            return True
    return False
