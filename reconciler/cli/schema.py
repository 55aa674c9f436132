"""``evictl schema``: the JSON Schema editors read, of manifests or of evictl.toml."""

from __future__ import annotations

import json

import click

from reconciler.cli.options import NO_COLOR
from reconciler.manifest.editorschema import manifest_schema
from reconciler.project import schema as project_schema


@click.command()
@NO_COLOR
@click.option("--project", is_flag=True, help="The project file's (evictl.toml) schema instead.")
def schema(project: bool) -> None:
    """Print the JSON Schema of the manifest format, or of evictl.toml (editor autocompletion)."""
    document = project_schema() if project else manifest_schema()
    click.echo(json.dumps(document, indent=2))
