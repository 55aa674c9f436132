"""Typed views of the API's answers, tolerant of fields the API adds over time.

Nested settings stay plain mappings: the canonicaliser, not these models, decides which of their
keys matter, so an unknown nested field can never break a read.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

Mapping = dict[str, Any]


class LiveVersion(BaseModel):
    """What every versioned resource answers with."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    version: int
    name: str
    version_description: str | None = None
    version_type: str | None = None
    created_on: int | None = None
    modified_on: int | None = None


class LivePrompt(LiveVersion):
    """A prompt version; ``prompt_expansion`` is absent from list items (``return_prompt``)."""

    text: str
    prompt_expansion: Mapping | None = None


class LiveTool(LiveVersion):
    """A user-defined tool version; ``parameters`` is a JSON string on the wire."""

    parameters: str
    tool_type: str | None = None
    description: str | None = None
    fallback_content: str | None = None


class LiveConfig(LiveVersion):
    """A config version, with the prompt and tool versions it references embedded."""

    evi_version: str
    prompt: LivePrompt | None = None
    tools: list[LiveTool] | None = None
    builtin_tools: list[Mapping] | None = None
    voice: Mapping | None = None
    language_model: Mapping | None = None
    ellm_model: Mapping | None = None
    event_messages: Mapping | None = None
    timeouts: Mapping | None = None
    nudges: Mapping | None = None
    interruption: Mapping | None = None
    turn_detection: Mapping | None = None
    webhooks: list[Mapping] | None = None


MODELS: dict[str, type[LiveVersion]] = {
    "prompts": LivePrompt,
    "tools": LiveTool,
    "configs": LiveConfig,
}
"""The model of each kind's versions."""
