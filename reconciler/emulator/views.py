"""Response bodies, built from stored versions in the shapes the spec's return schemas describe.

A config version stores only references to prompt and tool versions; its responses embed those
versions in full, resolved at read time (so a reference with no version follows the latest).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from reconciler.emulator.store import Store, Version
from reconciler.hume import facts, spec

_VOICE_NAMESPACE = uuid.UUID("6f1f0c1e-7b7a-4c55-9a55-1f0e8f0c0a11")


def _common(version: Version, version_type: str) -> dict[str, Any]:
    return {
        "id": version.id,
        "version": version.version,
        "name": version.name,
        "version_type": version_type,
        "created_on": version.created_on,
        "modified_on": version.modified_on,
        "version_description": version.body.get("version_description"),
    }


def prompt_view(version: Version, *, public: bool = True, version_type: str = "FIXED") -> dict:
    """``return_prompt_public`` (``public``) or ``return_prompt``, which has no prompt_expansion."""
    view = {**_common(version, version_type), "text": version.body["text"]}
    if public:
        view["prompt_expansion"] = version.body["prompt_expansion"]
    return view


def tool_view(version: Version, *, version_type: str = "FIXED") -> dict[str, Any]:
    """``return_user_defined_tool``."""
    body = version.body
    return {
        **_common(version, version_type),
        "tool_type": "FUNCTION",
        "parameters": body["parameters"],
        "description": body.get("description"),
        "fallback_content": body.get("fallback_content"),
    }


def voice_view(voice: dict[str, Any]) -> dict[str, Any]:
    """``ReturnVoice``: the emulator has no voice library, so the missing half is derived.

    ``VoiceRef`` is one of ``VoiceId`` and ``VoiceName``, either of which lets other keys pass
    unchecked, so a string ``id`` decides which it is (even an empty one), not a truthy one.
    """
    provider = voice.get("provider") or facts.VOICE_PROVIDER_DEFAULT
    by_id = isinstance(voice.get("id"), str)
    key = voice["id"] if by_id else voice["name"]
    return {
        "id": key if by_id else str(uuid.uuid5(_VOICE_NAMESPACE, f"{provider}/{key}")),
        "name": key,
        "provider": provider,
        "compatible_octave_models": [],
    }


_RENDERED = {"prompt", "tools", "builtin_tools", "voice", "version_description"}
_CONFIG_FIELDS = tuple(name for name in spec.version_fields("configs") if name not in _RENDERED)
"""Config settings that read back as they were stored; the others are rendered below."""


Refs = dict[tuple[str, int | None], Version]


def _references(body: dict[str, Any]) -> list[tuple[str, int | None]]:
    refs = [body["prompt"]] if body.get("prompt") else []
    return [(ref["id"], ref.get("version")) for ref in [*refs, *body["tools"]]]


def _resolve(refs: Refs, ref: dict[str, Any]) -> tuple[Version | None, str]:
    """The version a reference points at, and whether it is pinned (FIXED) or follows (LATEST)."""
    version_type = "LATEST" if ref.get("version") is None else "FIXED"
    return refs.get((ref["id"], ref.get("version"))), version_type


def config_view(version: Version, refs: Refs, *, public: bool = True) -> dict[str, Any]:
    """``return_config_public`` (``public``) or the list item ``return_config``.

    A referenced version deleted after the config pinned it is left out of the response.
    """
    body = version.body
    view: dict[str, Any] = {
        "id": version.id,
        "version": version.version,
        "name": version.name,
        "created_on": version.created_on,
        "modified_on": version.modified_on,
        "version_description": body.get("version_description"),
    }
    view.update({field: body[field] for field in _CONFIG_FIELDS if body.get(field) is not None})
    if body.get("prompt"):
        prompt, version_type = _resolve(refs, body["prompt"])
        if prompt is not None:
            view["prompt"] = prompt_view(prompt, public=public, version_type=version_type)
            expansion = body["prompt"].get("prompt_expansion")
            if public and expansion is not None:
                view["prompt"]["prompt_expansion"] = expansion
    tools = []
    for ref in body["tools"]:
        tool, version_type = _resolve(refs, ref)
        if tool is not None:
            tools.append(tool_view(tool, version_type=version_type))
    view["tools"] = tools
    view["builtin_tools"] = [
        {"name": b["name"], "fallback_content": b.get("fallback_content"), "tool_type": "BUILTIN"}
        for b in body["builtin_tools"]
    ]
    if body.get("voice"):
        view["voice"] = voice_view(body["voice"])
    return view


def _prompt_views(store: Store, versions: list[Version], public: bool) -> list[dict[str, Any]]:
    """Prompts stand alone: nothing to resolve."""
    return [prompt_view(v, public=public) for v in versions]


def _tool_views(store: Store, versions: list[Version], public: bool) -> list[dict[str, Any]]:
    """Tools stand alone, and have one shape in lists and single replies."""
    return [tool_view(v) for v in versions]


def _config_views(store: Store, versions: list[Version], public: bool) -> list[dict[str, Any]]:
    """A page of configs resolves all its references at once, not one query per reference."""
    refs = store.get_many({ref for v in versions for ref in _references(v.body)})
    return [config_view(v, refs, public=public) for v in versions]


Views = Callable[[Store, list[Version], bool], list[dict[str, Any]]]
VIEWS: dict[str, Views] = {
    "configs": _config_views,
    "prompts": _prompt_views,
    "tools": _tool_views,
}
"""How each kind renders a list of its versions (``public``: the shape of a single-version reply).

The one place a kind's response shape is chosen; a kind missing here cannot be answered.
"""


def views(store: Store, versions: list[Version], *, public: bool = True) -> list[dict[str, Any]]:
    """Response bodies for versions of one kind."""
    if not versions:
        return []
    kind = versions[0].kind
    if kind not in VIEWS:
        raise KeyError(f"the emulator has no view for {kind}: add one to views.VIEWS")
    return VIEWS[kind](store, versions, public)


def view(store: Store, version: Version) -> dict[str, Any]:
    """The response body (the public shape) for one version of any kind."""
    return views(store, [version])[0]
