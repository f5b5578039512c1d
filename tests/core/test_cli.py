"""The core CLI: providers, models, embed (args, stdin, npy, types), demo, one-line errors.

Uses the example ``hello`` plugin (installed in the test environment) so no model loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from embedplug.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_providers_lists_installed_providers(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["providers"])
    assert result.exit_code == 0
    names = {line.split()[0] for line in result.output.splitlines() if line.strip()}
    assert {"hello", "local"} <= names


def test_models_lists_capabilities(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["models", "-p", "hello"])
    assert result.exit_code == 0
    assert "hello:toy-64" in result.output
    assert "hello:toy-256" in result.output
    assert "local:" not in result.output


def test_unknown_provider_is_one_line_and_non_zero(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["models", "-p", "nope"])
    assert result.exit_code == 1
    assert "UnknownProviderError" in result.output
    assert "hello" in result.output  # lists what is installed
    assert "Traceback" not in result.output


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_embed_texts_as_json_lines(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", "first text", "second text"])
    assert result.exit_code == 0, result.output
    records = _lines(result.output)  # one compact JSON document a line, one line an input
    assert len(result.output.splitlines()) == 2
    assert {r["model"] for r in records} == {"hello:toy-64"}
    assert [r["index"] for r in records] == [0, 1]
    assert [r["input"] for r in records] == ["first text", "second text"]
    assert all(len(r["embeddings"]["float"]) == 64 for r in records)
    assert records[0]["embeddings"]["float"] != records[1]["embeddings"]["float"]


def test_embed_format_json_is_one_compact_document(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", "a", "b", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1
    payload = json.loads(result.output)
    assert payload["model"] == "hello:toy-64"
    assert [e["input"] for e in payload["embeddings"]] == ["a", "b"]
    assert all(len(e["embeddings"]["float"]) == 64 for e in payload["embeddings"])
    assert set(payload["usage"]) == {"input_tokens", "images", "requests"}


def test_embed_reads_stdin_lines(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64"], input="one\ntwo\nthree\n")
    assert result.exit_code == 0, result.output
    assert [r["input"] for r in _lines(result.output)] == ["one", "two", "three"]


def test_embed_refuses_a_blank_stdin_line_by_number(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64"], input="one\n\ntwo\n")
    assert result.exit_code == 1
    assert "stdin line 2 is blank" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_embed_npy_to_a_file_only(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "v.npy"
    result = runner.invoke(
        cli, ["embed", "-m", "hello:toy-64", "a", "b", "--format", "npy", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    from_file = np.load(out)
    assert from_file.shape == (2, 64)
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", "a", "b", "--format", "npy"])
    assert result.exit_code == 2
    assert result.stdout_bytes == b""  # no binary on the terminal
    assert "-o" in result.output


def test_embed_quantised_type(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", "a", "--type", "ubinary"])
    assert result.exit_code == 0, result.output
    vector = _lines(result.output)[0]["embeddings"]["ubinary"]
    assert len(vector) == 8
    assert all(isinstance(v, int) and 0 <= v <= 255 for v in vector)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--dimensions", "99", "x"], "InvalidInputError"),
        (["   "], "InvalidInputError"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(runner: CliRunner, args: list[str], error: str) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", *args])
    assert result.exit_code == 1
    assert error in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_image_on_a_text_model_is_refused(runner: CliRunner, tmp_path: Path) -> None:
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", "--image", str(png)])
    assert result.exit_code == 1
    assert "does not embed image inputs" in result.output


def test_nothing_to_embed_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64"], input="")
    assert result.exit_code == 2


def test_demo_prints_shape_and_similarities(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["demo", "-m", "hello:toy-256"])
    assert result.exit_code == 0, result.output
    assert "shape (5, 256)" in result.output
    assert "cosine similarity" in result.output
    assert result.output.count("[") >= 5
