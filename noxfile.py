"""Developer sessions: tests, lint, typecheck, docs, demo, bench.

The sessions use nox's pip-backed virtualenvs rather than uv: the CPU build of
PyTorch that the offline local model needs is installed with
``pip install torch==2.13.0`` (pip finds the CPU wheel this project's machines
provide; uv resolves a multi-GB CUDA build instead).
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
PACKAGES = sorted(
    p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("packages/*/pyproject.toml")
)
EXAMPLE_PLUGIN = "docs/examples/embedplug-hello"
TORCH = "torch==2.13.0"  # the CPU build; a bare "torch" pulls several GB of CUDA
LOCAL = "packages/embedplug-local"
LOCAL_TORCH = f"{LOCAL}[torch]"  # both local backends: onnx (the default) and torch
TEST_DEPS = [
    "pytest>=8",
    "pytest-asyncio>=0.23",
    "pytest-socket>=0.7",
    "langchain-tests>=0.3",
    "pillow>=10",
    "pyarrow>=15",
    "ray[data]>=2.9",  # the Ray Data integration test runs on a local 2-CPU Ray
    "langchain-classic>=1.0",  # CacheBackedEmbeddings, tested as the LangChain docs show it
    "sybil>=9",  # finds the docs' fenced examples for tests/docs
]
TYPE_DEPS = ["mypy>=1.10", "pytest>=8", "pillow>=10", "types-tqdm"]


def _editable(packages: list[str]) -> list[str]:
    args: list[str] = []
    for package in packages:
        args += ["-e", package]
    return args


@nox.session
def tests(session: nox.Session) -> None:
    """Install every package and run the whole test suite."""
    # silent=False: pip's progress shows, so a first install (minutes) is not taken for a hang
    session.install(
        TORCH,
        *_editable([LOCAL_TORCH if p == LOCAL else p for p in PACKAGES]),
        *_editable([EXAMPLE_PLUGIN]),
        *TEST_DEPS,
        silent=False,
    )
    session.run(
        "pytest",
        *(session.posargs or ["-q"]),
        env={"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
        success_codes=[0, 5],  # 5: no tests collected (e.g. a -k filter); .ci/run reports it
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package's src."""
    session.install(TORCH, *_editable(PACKAGES), *TYPE_DEPS)
    modules = []
    for package in PACKAGES:
        for src in (ROOT / package / "src").iterdir():
            if src.name == "llama_index":
                modules += ["-p", "llama_index.embeddings.embedplug"]
            elif src.is_dir() and not src.name.endswith(".egg-info"):
                modules += ["-p", src.name]
    session.run("mypy", "--strict", *modules)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the MkDocs site with --strict."""
    session.install("mkdocs>=1.6", "mkdocs-material>=9.5")
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        str(ROOT / "site"),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )


@nox.session
def demo(session: nox.Session) -> None:
    """Install the core and the local provider (no torch), then embed a few sentences offline."""
    session.install("-e", "packages/embedplug", "-e", LOCAL)
    session.run("embedplug", "demo", env={"HF_HUB_OFFLINE": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput, CPU and memory figures against the stub server (prints, asserts nothing)."""
    session.install(*_editable(["packages/embedplug", "packages/embedplug-openai"]))
    session.install("psutil>=5.9", "pyarrow>=15")
    session.run("python", "tests/bench/bench_engine.py", *session.posargs)
    session.run("python", "tests/bench/bench_bulk.py")
    session.run("python", "tests/bench/bench_cli_startup.py")
    session.install(TORCH, "-e", LOCAL_TORCH)  # the local model's two backends side by side
    session.run("python", "tests/bench/bench_local.py", env={"HF_HUB_OFFLINE": "1"})
