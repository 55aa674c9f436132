"""The click options of every command that talks to an account."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.workflow import Connection

F = TypeVar("F", bound=Callable[..., Any])


def connection_options(command: F) -> F:
    """Add ``--emulator PATH`` and ``--base-url URL``; the command receives ``connection``."""

    @click.option(
        "--emulator",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Use the embedded emulator, state in this SQLite file (no key, no server).",
    )
    @click.option(
        "--base-url",
        envvar="HUME_BASE_URL",
        help="API base URL (default https://api.hume.ai; env HUME_BASE_URL). Key: HUME_API_KEY.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, emulator: Path | None, base_url: str | None, **kwargs: Any) -> Any:
        return command(*args, connection=Connection(emulator, base_url), **kwargs)

    return wrapper  # type: ignore[return-value]
