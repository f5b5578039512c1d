"""The CLI a new user meets (issue 13 part 3, issue 14 item 16): keys by flag, checks before
any request, several types, did-you-mean, exit codes, one stderr line, SIGINT.

Provider calls go to the stub servers of ``embedplug.testing``; nothing reaches a real API.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from embedplug.cli import cli
from embedplug.testing import StubServer

OPENAI = "openai:text-embedding-3-small"
KEY = "sk-FLAG-key-0123456789"


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CO_API_KEY", "COHERE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()  # click 8.2+: result.stdout and result.stderr apart


@pytest.fixture
def keyed_stub(stub_server: Any) -> StubServer:
    server: StubServer = stub_server("openai", api_key=KEY)
    return server


def _stderr_lines(result: Any) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_api_key_and_base_url_by_flag_reach_a_stub_that_requires_the_key(
    runner: CliRunner, keyed_stub: StubServer
) -> None:
    args = ["embed", "-m", OPENAI, "--base-url", keyed_stub.url + "/v1", "hello"]
    result = runner.invoke(cli, [*args, "--api-key", KEY])
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert len(record["embeddings"]["float"]) == 1536
    assert keyed_stub.requests[-1].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in result.stdout + result.stderr

    wrong = "sk-WRONG-key-9876543210"
    result = runner.invoke(cli, [*args, "--option", f"api_key={wrong}", "--option", "retry=null"])
    assert result.exit_code == 1
    assert len(_stderr_lines(result)) == 1
    assert "AuthenticationError" in result.stderr
    assert wrong not in result.stdout + result.stderr


def test_option_values_are_json_when_they_parse(runner: CliRunner, keyed_stub: StubServer) -> None:
    result = runner.invoke(
        cli,
        [
            "embed", "-m", OPENAI, "--base-url", keyed_stub.url + "/v1", "--api-key", KEY,
            "--option", "encoding_format=float", "--option", "max_concurrency=1", "a",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert keyed_stub.requests[-1].json["encoding_format"] == "float"  # a string, not JSON


def test_missing_output_folder_fails_first_with_one_line_and_no_request(
    runner: CliRunner, keyed_stub: StubServer, tmp_path: Path
) -> None:
    out = tmp_path / "missing" / "out.jsonl"
    result = runner.invoke(
        cli,
        ["embed", "-m", OPENAI, "--base-url", keyed_stub.url + "/v1", "--api-key", KEY,
         "x", "-o", str(out)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert len(_stderr_lines(result)) == 1
    assert "does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert keyed_stub.request_count == 0


def test_two_types_in_one_embed(runner: CliRunner) -> None:
    result = runner.invoke(
        cli, ["embed", "-m", "hello:toy-64", "a", "--type", "int8", "--type", "binary"]
    )
    assert result.exit_code == 0, result.stderr
    embeddings = json.loads(result.stdout)["embeddings"]
    assert set(embeddings) == {"int8", "binary"}
    assert len(embeddings["int8"]) == 64
    assert len(embeddings["binary"]) == 8


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("cohre:embed-v4.0", "did you mean 'cohere'?"),
        ("local:all-minilm-l6", "did you mean 'all-minilm-l6-v2'?"),
        ("cohere:embed-v9", "unknown model 'embed-v9' for provider 'cohere'"),  # not the key
        ("embed-v4.0", "cohere: no API key"),  # a bare model name found across providers
    ],
)
def test_names_are_resolved_with_suggestions_before_the_key(
    runner: CliRunner, model: str, expected: str
) -> None:
    result = runner.invoke(cli, ["embed", "-m", model, "x"])
    assert result.exit_code == 1
    assert expected in result.stderr
    assert len(_stderr_lines(result)) == 1


def test_an_unknown_bare_name_is_not_blamed_on_the_local_provider(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "nosuch", "x"])
    assert result.exit_code == 1
    assert "for provider 'local'" not in result.stderr
    assert "'nosuch' is neither an installed provider nor a model" in result.stderr


def test_missing_openai_key_is_reported_with_no_connection_attempted(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    result = runner.invoke(cli, ["embed", "-m", OPENAI, "x"])
    assert result.exit_code == 1
    assert "OPENAI_API_KEY" in result.stderr
    assert "--api-key" in result.stderr
    assert len(_stderr_lines(result)) == 1
    assert attempts == []


def test_npy_needs_an_output_file(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["embed", "-m", "hello:toy-64", "a", "--format", "npy"])
    assert result.exit_code == 2
    assert result.stdout_bytes == b""
    assert len(_stderr_lines(result)) == 1


def test_models_shows_client_side_types_apart(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["models", "-p", "local"])
    assert result.exit_code == 0, result.stderr
    assert "types: float (+int8,uint8,binary,ubinary client-side)" in result.stdout


def test_a_failing_batch_is_one_stderr_line_with_no_log_record_before_it(
    keyed_stub: StubServer, tmp_path: Path
) -> None:
    from embedplug.testing import Fault

    keyed_stub.inject(Fault.status(400, message="no good", times=None))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EMBEDPLUG_DEBUG"))}
    env.update(OPENAI_BASE_URL=keyed_stub.url + "/v1", OPENAI_API_KEY=KEY)
    done = subprocess.run(
        [sys.executable, "-m", "embedplug", "embed", "-m", OPENAI, "a", "b"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr  # no WARNING record from logging's last resort
    assert lines[0].startswith("Error: ")
    assert KEY not in done.stderr


def test_the_embedplug_logger_has_a_null_handler() -> None:
    import embedplug  # noqa: F401

    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("embedplug").handlers)


def test_broken_plugin_is_one_stderr_line(tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "brokenplug-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenplug\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[embedplug]\nbrokenplug = brokenplug_mod\n")
    (site / "brokenplug_mod.py").write_text("raise RuntimeError('this plugin is broken')\n")
    env = dict(os.environ, PYTHONPATH=str(site))
    env.pop("EMBEDPLUG_LOAD_PLUGINS", None)
    done = subprocess.run(
        [sys.executable, "-m", "embedplug", "providers"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "brokenplug" in lines[0]
    assert "this plugin is broken" in lines[0]


def _interrupt(args: list[str], server: StubServer, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(OPENAI_BASE_URL=server.url + "/v1", OPENAI_API_KEY=KEY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedplug", *args],
        env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while server.in_flight == 0 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)  # wait for the request to be in flight (not a timing assert)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("command", ["embed", "embed-file"])
def test_sigint_exits_130_in_both_commands(stub_server: Any, tmp_path: Path, command: str) -> None:
    server = stub_server("openai", api_key=KEY, dimensions=64, latency=5.0)
    if command == "embed":
        args = ["embed", "-m", OPENAI, "slow"]
    else:
        (tmp_path / "in.jsonl").write_text('{"text": "slow"}\n')
        args = ["embed-file", "in.jsonl", "-o", "out.npy", "-m", OPENAI, "--no-progress"]
    done = _interrupt(args, server, tmp_path)
    assert done.returncode == 130, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "interrupted" in lines[0]
    assert "Traceback" not in done.stderr
