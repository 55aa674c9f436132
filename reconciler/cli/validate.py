"""``evictl validate``: check manifests offline; pre-commit hooks and editors run it on every save,
so it loads the manifest models and nothing of the client, the planner or the emulator."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler.cli.options import NO_COLOR, manifest_options
from reconciler.manifest import ManifestErrors, load_manifests
from reconciler.terminal import safe


@click.command()
@NO_COLOR
@click.argument("path", type=click.Path(path_type=Path))
@manifest_options
def validate(path: Path, variables: dict[str, str]) -> None:
    """Check the manifests under PATH (a directory or one file), and its evictl.toml, offline."""
    from reconciler.project import load_project

    load_project(path)  # the project file at the manifest root is checked too
    try:
        manifests = load_manifests(path, variables)
    except ManifestErrors as exc:
        click.echo(safe(str(exc)), err=True)
        sys.exit(1)
    for warning in manifests.warnings:
        click.echo(f"warning: {safe(warning)}", err=True)
    click.echo(f"{manifests.summary()}: valid")
