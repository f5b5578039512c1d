"""What ``embed`` and ``embed-file`` share: provider options, checks made before any
request, the loading status line, and one-line errors with secrets removed."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from embedplug._api import Embedder

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "check_output_path",
    "make_embedder",
    "provider_options",
    "parse_provider_options",
    "redact",
    "show_loading",
]

EXIT_FAILED = 1
"""Any failure that is not a usage error: configuration, input, provider, file."""
EXIT_USAGE = 2
"""Click's usage errors, and options that cannot go together."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (SIGINT), as shells report it."""

F = TypeVar("F", bound=Callable[..., Any])

# Names of options whose values are secrets (matched as substrings, lower case).
_SECRET_WORDS = ("key", "token", "secret", "password", "auth")
_secrets: list[str] = []
"""Every secret the current command was given: ``redact`` removes them from messages."""


def provider_options(func: F) -> F:
    """Add ``--api-key``, ``--base-url`` and ``--option NAME=VALUE`` to a command."""
    func = click.option(
        "--option",
        "provider_option",
        multiple=True,
        metavar="NAME=VALUE",
        help="Any other provider or engine option (repeatable); VALUE is read as JSON "
        'when it parses (8, true, ["a"]), else as a string.',
    )(func)
    func = click.option(
        "--base-url",
        default=None,
        help="The provider's base URL (a self-hosted or compatible server, a stub).",
    )(func)
    func = click.option(
        "--api-key",
        default=None,
        help="The provider's API key [default: its usual environment variable]. "
        "Never printed; prefer the variable, as a flag shows in the shell's history.",
    )(func)
    return func


def parse_provider_options(
    api_key: str | None, base_url: str | None, pairs: Sequence[str]
) -> dict[str, Any]:
    """The keyword options for ``embedplug.embedder`` that the flags give."""
    import orjson

    options: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not name:
            raise click.UsageError(f"--option takes NAME=VALUE, not {pair!r}")
        try:
            value: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            value = raw
        if name in options:
            raise click.UsageError(f"--option {name} given twice")
        options[name] = value
        if any(word in name.lower() for word in _SECRET_WORDS) and raw:
            _secrets.append(raw)
    for name, value in (("api_key", api_key), ("base_url", base_url)):
        if value is None:
            continue
        if name in options:
            raise click.UsageError(f"--{name.replace('_', '-')} and --option {name}= both given")
        options[name] = value
    if api_key:
        _secrets.append(api_key)
    return options


def redact(text: str) -> str:
    """``text`` without any secret given on the command line."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[REDACTED]")
    return text


def check_output_path(output: str | None) -> None:
    """Refuse, before any work, an output whose folder is missing or not writable."""
    if output is None:
        return
    path = Path(output)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise click.UsageError(f"output {output!r} is a folder; give a file name")
    if not folder.is_dir():
        raise click.UsageError(f"the output's folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise click.UsageError(f"the output's folder {str(folder)!r} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise click.UsageError(f"the output {output!r} is not writable")


def make_embedder(model: str | None, options: dict[str, Any]) -> Embedder:
    """``embedplug.embedder(model, **options)``, plus the key check of a public endpoint.

    A provider whose key is optional (OpenAI-compatible servers need none) still
    needs one at its public default endpoint: without a key and without a base
    URL of the caller's, that is reported now rather than after the retries.
    """
    from embedplug._api import embedder
    from embedplug.errors import ConfigurationError
    from embedplug.provider import HTTPProvider

    made = embedder(model, **options)
    provider = made.provider
    if isinstance(provider, HTTPProvider) and provider.api_key is None:
        default = type(provider).default_base_url
        env = type(provider).api_key_env
        if env and default and provider.base_url == default.rstrip("/"):
            made.close()
            names = " or ".join(env)
            raise ConfigurationError(
                f"{provider.name}: no API key for {default}; set {names}, pass --api-key, "
                "or --base-url for a server that needs none"
            )
    return made


def show_loading(embedder: Embedder, enabled: bool) -> None:
    """Load an in-process model now, with a status line on stderr while it loads."""
    warm_up = getattr(embedder.provider, "warm_up", None)
    if not callable(warm_up):
        return
    name = embedder.model_info.name
    tty = sys.stderr.isatty()
    if enabled:
        click.echo(f"loading {name}...", err=True, nl=not tty)
    warm_up(name)
    if enabled and tty:
        click.echo("\r\033[K", err=True, nl=False)  # the bar takes the line
