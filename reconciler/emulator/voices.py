"""The TTS voices operations that configs depend on, as the official SDK defines them.

The bundled spec covers only EVI, so these follow the SDK's ``tts.voices`` client (``list``,
``create``, ``delete``) and its ``ReturnVoice`` / ``ReturnPagedVoices`` types: enough for plans to
check that a config's custom voice exists, and for tests and users to make voices. A voice is
created from any generation id (there is no TTS here); its name is stored upper-cased, as Hume
stores custom voice names. The Voice Library (``HUME_AI``) lists nothing: there is none.
"""

from __future__ import annotations

import math
from typing import Any

from reconciler.emulator.store import Store
from reconciler.hume import facts

PROVIDERS = ("CUSTOM_VOICE", "HUME_AI")


class VoiceError(Exception):
    """A request the voices API refuses: ``status`` and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _view(voice_id: str, name: str) -> dict[str, Any]:
    return {
        "id": voice_id,
        "name": name,
        "provider": "CUSTOM_VOICE",
        "compatible_octave_models": [],
    }


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        raise VoiceError(422, f"{name} must be an integer") from None
    if not low <= value <= high:
        raise VoiceError(422, f"{name} must be between {low} and {high}")
    return value


def serve(store: Store, method: str, query: dict[str, str], body: Any) -> tuple[int, Any]:
    """One voices request: ``GET`` lists, ``POST`` creates (``body``: the parsed JSON, checked
    for size, depth and unicode like every body), ``DELETE ?name=`` deletes."""
    if method == "GET":
        provider = query.get("provider")
        if provider not in PROVIDERS:
            raise VoiceError(422, f"provider must be one of {', '.join(PROVIDERS)}")
        size = _int(query, "page_size", facts.PAGE_SIZE_DEFAULT, 1, facts.PAGE_SIZE_MAX)
        number = _int(query, "page_number", 0, 0, 2**31)
        voices = [_view(*voice) for voice in store.voices()] if provider == "CUSTOM_VOICE" else []
        if query.get("ascending_order") == "false":
            voices.reverse()
        page = voices[number * size : (number + 1) * size]
        total = math.ceil(len(voices) / size)
        return 200, {
            "page_number": number,
            "page_size": size,
            "total_pages": total,
            "voices_page": page,
        }
    if method == "POST":
        name, generation = (
            (body.get("name"), body.get("generation_id"))
            if isinstance(body, dict)
            else (None, None)
        )
        if not isinstance(name, str) or not name.strip() or not isinstance(generation, str):
            raise VoiceError(422, "name (a non-blank string) and generation_id are required")
        return 200, _view(*store.add_voice(name))
    if method == "DELETE":
        name = query.get("name")
        if not name:
            raise VoiceError(422, "name is required")
        store.delete_voice(name)
        return 204, None
    raise VoiceError(405, f"{method} is not allowed here (GET, POST, DELETE)")
