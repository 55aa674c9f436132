"""What Hume's API does that the OpenAPI schemas do not say: server defaults, ranges, limits.

``SERVER_DEFAULTS`` is the one table of values the server fills in when a new version omits a
field. The emulator applies it when it stores a version; the planner applies the same table to the
desired state, so that "omitted" and "the server's default" compare equal. Sources are
``shared/spec/NOTES.md`` and the seeds it cites; "(inference)" marks our own choices.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

EVI_VERSIONS = ("3", "4-mini")
"""The only accepted ``evi_version`` values ("Only versions `3` and `4-mini` are supported")."""

VOICE_PROVIDER_DEFAULT = "CUSTOM_VOICE"
"""A voice posted without ``provider`` is one of the account's own voices (VoiceRef's prose)."""

PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 100

_DISABLED_MESSAGE = {"enabled": False, "text": None}

SERVER_DEFAULTS: dict[str, dict[str, Any]] = {
    "prompts": {
        "version_description": None,
        "prompt_expansion": {"enabled": True},  # "Defaults to `true`"
    },
    "tools": {
        "version_description": None,
        "description": None,
        "fallback_content": None,
    },
    "configs": {
        "version_description": None,
        "tools": [],  # (inference) an omitted list reads back empty
        "builtin_tools": [],
        "webhooks": [],
        "ellm_model": {"allow_short_responses": False},  # new EVI 3 configs: disabled
        "event_messages": {  # the reading of NOTES: disabled unless posted
            "on_new_chat": _DISABLED_MESSAGE,
            "on_inactivity_timeout": _DISABLED_MESSAGE,
            "on_max_duration_timeout": _DISABLED_MESSAGE,
        },
        "nudges": {"enabled": False, "interval_secs": None},  # (inference) returns need `enabled`
        "timeouts": {  # [003]: inactivity 600 s, max_duration 1,800 s; both enabled
            "inactivity": {"enabled": True, "duration_secs": 600},
            "max_duration": {"enabled": True, "duration_secs": 1800},
        },
    },
}
"""Server-filled values for a field that a new version omits (or sends as null)."""

INHERITED_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "configs": (("ellm_model", "allow_short_responses"),),
}
"""Fields that a new version inherits from the previous one when omitted, instead of the default."""


@dataclass(frozen=True)
class Range:
    """An inclusive numeric range that the spec states only in prose."""

    path: tuple[str, ...]
    low: float
    high: float
    unit: str = ""

    def describe(self) -> str:
        """``between 50 and 2000 ms``: the wording every error message uses."""
        unit = f" {self.unit}" if self.unit else ""
        return f"must be between {_num(self.low)} and {_num(self.high)}{unit}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


CONFIG_RANGES: tuple[Range, ...] = (
    Range(("timeouts", "inactivity", "duration_secs"), 1, 1800, "s"),
    Range(("timeouts", "max_duration", "duration_secs"), 1, 1800, "s"),
    Range(("language_model", "temperature"), 0, 1),
    Range(("interruption", "min_interruption_ms"), 50, 2000, "ms"),
    Range(("turn_detection", "end_of_turn_silence_ms"), 500, 3000, "ms"),
    Range(("turn_detection", "prefix_padding_ms"), 0, 1000, "ms"),
    Range(("turn_detection", "speech_detection_threshold"), 0.0, 1.0),
)
"""Ranges of config fields, by their path inside a config body."""


def range_violations(config: dict[str, Any]) -> Iterator[tuple[Range, Any]]:
    """Each prose range a config body breaks, with the offending value (nulls are fine)."""
    for rng in CONFIG_RANGES:
        value: Any = config
        for key in rng.path:
            value = value.get(key) if isinstance(value, dict) else None
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if is_number and not rng.low <= value <= rng.high:
            yield rng, value


def is_https_url(url: str) -> bool:
    """Webhook URLs "must be a valid https URL"."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.scheme == "https" and bool(parts.hostname)
    except ValueError:  # "https://[::1": not a URL at all
        return False


def merge(default: Any, given: Any, share: bool = False) -> Any:
    """``given`` over ``default``: nulls and omissions take the default (a copy, unless
    ``share``), mappings merge per key."""
    if given is None:
        return default if share else copy.deepcopy(default)
    if isinstance(default, dict) and isinstance(given, dict):
        merged = {key: merge(value, given.get(key), share) for key, value in default.items()}
        merged.update({key: value for key, value in given.items() if key not in default})
        return merged
    return given


def fill_defaults(
    kind: str,
    body: dict[str, Any],
    previous: dict[str, Any] | None = None,
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    share: bool = False,
) -> dict[str, Any]:
    """The version the server stores for ``body``: defaults filled, inherited fields carried over.

    ``previous`` is the body of the resource's latest version, when ``body`` is a new version of it.
    ``defaults`` replaces ``SERVER_DEFAULTS`` (a facts file learned by ``evictl probe``, or an
    emulator playing a Hume that differs). ``share`` leaves the defaults' own values in the result
    instead of copies, for a caller that only reads it (the canonicaliser, ten thousand times a
    plan); a mutated result would then change the defaults.
    """
    filled = dict(body)
    if previous is not None:
        for path in INHERITED_FIELDS.get(kind, ()):
            _inherit(filled, previous, path)
    for field, default in (defaults or SERVER_DEFAULTS)[kind].items():
        filled[field] = merge(default, filled.get(field), share)
    return filled


FACTS_FORMAT = 1
FACTS_FILE = "hume-facts.json"
"""Where plan, apply and drift look for a facts file (at the manifest root) without ``--facts``."""


def read_facts(text: str, source: str) -> dict[str, dict[str, Any]]:
    """The server-defaults table of a facts file written by ``evictl probe --save``.

    Kinds it leaves out keep the built-in table. Raises ``ValueError`` naming what is wrong.
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("format_version") != FACTS_FORMAT:
        raise ValueError(f"{source}: not a facts file of format {FACTS_FORMAT}")
    table = document.get("server_defaults")
    if not isinstance(table, dict) or not all(
        kind in SERVER_DEFAULTS and isinstance(fields, dict) for kind, fields in table.items()
    ):
        known = ", ".join(SERVER_DEFAULTS)
        raise ValueError(f"{source}: server_defaults must map kinds ({known}) to field defaults")
    return {kind: dict(table.get(kind, SERVER_DEFAULTS[kind])) for kind in SERVER_DEFAULTS}


def _inherit(body: dict[str, Any], previous: dict[str, Any], path: tuple[str, ...]) -> None:
    *parents, leaf = path
    source: Any = previous
    for key in path:
        source = source.get(key) if isinstance(source, dict) else None
    if source is None:
        return
    target = body
    for key in parents:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target[key] = dict(target[key])
        target = target[key]
    if target.get(leaf) is None:
        target[leaf] = source
