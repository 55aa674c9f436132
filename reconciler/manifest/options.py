"""The click options every manifest-reading command shares (validate now; plan and apply later)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.manifest.interpolate import parse_var_pairs, read_var_file

F = TypeVar("F", bound=Callable[..., Any])


def manifest_options(command: F) -> F:
    """Add ``--var KEY=VALUE`` and ``--var-file FILE``; the command receives ``variables``.

    ``variables`` merges, lowest precedence first: the environment, each ``--var-file`` in order,
    each ``--var`` in order.
    """

    @click.option(
        "--var",
        "var_pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="Set a ${KEY} interpolation variable (repeatable; overrides --var-file).",
    )
    @click.option(
        "--var-file",
        "var_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read KEY=VALUE lines (a .env file) as variables (repeatable).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any, var_pairs: tuple[str, ...], var_files: tuple[Path, ...], **kwargs: Any
    ) -> Any:
        variables = dict(os.environ)
        for var_file in var_files:
            variables.update(read_var_file(var_file))
        variables.update(parse_var_pairs(var_pairs))
        return command(*args, variables=variables, **kwargs)

    return wrapper  # type: ignore[return-value]
