"""Prompts: the system prompt text of an EVI config, versioned."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from reconciler.kinds.base import Kind, LiveVersion
from reconciler.kinds.fields import Resource, ResourceSpec, Strict, required_unless_absent


class PromptExpansion(Strict):
    enabled: bool | None = None


class PromptSpec(ResourceSpec):
    """A prompt: ``text`` inline, or ``text_file`` relative to this manifest file."""

    REQUIRED = (("text", "text_file"),)
    EXCLUSIVE = (("text", "text_file"),)
    model_config = ConfigDict(json_schema_extra=required_unless_absent(*REQUIRED))

    text: str | None = None
    text_file: str | None = Field(
        default=None,
        description="A file holding the text, relative to this manifest file; instead of text.",
    )
    version_description: str | None = None
    prompt_expansion: PromptExpansion | None = None


class Prompt(PromptSpec, Resource):
    """A prompt of the desired state; ``text`` is resolved (read from ``text_file`` if given)."""


class LivePrompt(LiveVersion):
    """A prompt version; ``prompt_expansion`` is absent from list items (``return_prompt``)."""

    text: str
    prompt_expansion: dict[str, Any] | None = None


KIND = Kind(
    name="prompts",
    singular="prompt",
    spec=PromptSpec,
    resource=Prompt,
    live=LivePrompt,
    posted_schema="posted_prompt_version",
    list_omits=("prompt_expansion",),
    text_file=("text_file", "text"),
    export_order=("name", "text", "text_file", "version_description", "prompt_expansion"),
)
