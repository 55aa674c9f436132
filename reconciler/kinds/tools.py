"""User-defined tools: a function the model may call, its parameters a JSON Schema."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict

from reconciler.kinds.base import Kind, LiveVersion
from reconciler.kinds.fields import Resource, ResourceSpec, required_unless_absent


class ToolSpec(ResourceSpec):
    """A user-defined tool; ``parameters`` is a JSON Schema written as a YAML mapping."""

    REQUIRED = (("parameters",),)
    model_config = ConfigDict(json_schema_extra=required_unless_absent(*REQUIRED))

    description: str | None = None
    parameters: dict[str, Any] | None = None
    fallback_content: str | None = None
    version_description: str | None = None


class Tool(ToolSpec, Resource):
    """A tool of the desired state; ``parameters`` parsed, ``parameters_json`` the wire form."""

    @property
    def parameters_json(self) -> str | None:
        """The stringified JSON Schema the API expects in ``parameters``."""
        return None if self.parameters is None else json.dumps(self.parameters)


class LiveTool(LiveVersion):
    """A user-defined tool version; ``parameters`` is a JSON string on the wire."""

    parameters: str
    tool_type: str | None = None
    description: str | None = None
    fallback_content: str | None = None


KIND = Kind(
    name="tools",
    singular="tool",
    spec=ToolSpec,
    resource=Tool,
    live=LiveTool,
    posted_schema="posted_user_defined_tool_version",
    json_strings=("parameters",),
    json_schemas=("parameters",),
    whole_values=("parameters",),
    export_order=("name", "description", "version_description", "parameters", "fallback_content"),
)
