"""Response bodies, built from stored versions in the shapes the spec's return schemas describe.

A config version stores only references to prompt and tool versions; its responses embed those
versions in full, resolved at read time (so a reference with no version follows the latest).
"""

from __future__ import annotations

import json
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


def _no_references(body: dict[str, Any]) -> list[tuple[str, int | None]]:
    return []


ItemView = Callable[[Version, Refs, bool], dict[str, Any]]
References = Callable[[dict[str, Any]], list[tuple[str, int | None]]]
VIEWS: dict[str, tuple[ItemView, References]] = {
    "configs": (lambda v, refs, public: config_view(v, refs, public=public), _references),
    "prompts": (lambda v, refs, public: prompt_view(v, public=public), _no_references),
    "tools": (lambda v, refs, public: tool_view(v), _no_references),
}
"""How each kind renders one of its versions (``public``: the shape of a single-version reply;
tools have one shape), and the ``(id, version)`` references it embeds, resolved at read time.

The one place a kind's response shape is chosen; a kind missing here cannot be answered.
"""


def _view_of(kind: str) -> tuple[ItemView, References]:
    if kind not in VIEWS:
        raise KeyError(f"the emulator has no view for {kind}: add one to views.VIEWS")
    return VIEWS[kind]


def _resolved(store: Store, versions: list[Version]) -> Refs:
    """What a page of versions references, all at once, not one query per reference."""
    _, references = _view_of(versions[0].kind)
    return store.get_many({ref for v in versions for ref in references(v.body)})


def views(store: Store, versions: list[Version], *, public: bool = True) -> list[dict[str, Any]]:
    """Response bodies for versions of one kind."""
    if not versions:
        return []
    item_view, _ = _view_of(versions[0].kind)
    refs = _resolved(store, versions)
    return [item_view(v, refs, public) for v in versions]


def view(store: Store, version: Version) -> dict[str, Any]:
    """The response body (the public shape) for one version of any kind."""
    return views(store, [version])[0]


encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
"""JSON text as Starlette's ``JSONResponse`` renders it, so an encoded page reads the same."""


class Encoded:
    """List items as JSON text, each built, checked against the spec and encoded once per
    distinct stored state, then reused: serving a page of 100 configs was ten times the work of
    reading it from SQLite, and a plan of 10,000 resources waits on 100 pages served one by one.

    An item depends only on its version's row and, for a config, on the rows of the versions its
    references resolve to now: those rows (name, ``modified_on`` and stored body included) are
    the key. A rename, a description patch or a new latest version is therefore a new key, even
    when another process on the same file made it; nothing is invalidated. Bounded: past
    ``LIMIT`` entries it starts afresh.
    """

    LIMIT = 50_000

    def __init__(self) -> None:
        self._texts: dict[tuple[Any, ...], str] = {}

    def items(
        self,
        store: Store,
        versions: list[Version],
        *,
        public: bool,
        check: Callable[[Any], Any] | None,
    ) -> list[str]:
        """The JSON text of each version's response body; ``check`` (the item schema's) raises
        for one off the spec, which is then not kept."""
        if not versions:
            return []
        item_view, references = _view_of(versions[0].kind)
        refs = _resolved(store, versions)
        texts = []
        for version in versions:
            used = tuple(getattr(refs.get(ref), "row", None) for ref in references(version.body))
            key = (public, version.row, used)
            text = self._texts.get(key)
            if text is None:
                body = item_view(version, refs, public)
                if check is not None:
                    check(body)
                text = encode(body)
                if len(self._texts) >= self.LIMIT:
                    self._texts.clear()
                self._texts[key] = text
            texts.append(text)
        return texts
