"""Safe YAML parsing that keeps the line and column of every key and list item.

ruamel.yaml's round-trip loader keeps positions but is pure Python and parses 5,000 resources in
several seconds. libyaml's C parser (through PyYAML) emits events with positions an order of
magnitude faster, so we build plain values from those events ourselves. That also gives us what
manifests need from a loader: no tags at all (not even ``!!str``), duplicate keys rejected, and the
YAML 1.2 core schema for plain scalars (``yes``/``no``/``on``/``off`` and dates stay strings).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.manifest.errors import Path

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Position = tuple[int, int]
"""0-based (line, column)."""

_NULLS = {"": None, "~": None, "null": None, "Null": None, "NULL": None}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+$")
_INT_BASE = re.compile(r"0o[0-7]+$|0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {
    ".inf": float("inf"),
    ".Inf": float("inf"),
    ".INF": float("inf"),
    "+.inf": float("inf"),
    "+.Inf": float("inf"),
    "+.INF": float("inf"),
    "-.inf": float("-inf"),
    "-.Inf": float("-inf"),
    "-.INF": float("-inf"),
    ".nan": float("nan"),
    ".NaN": float("nan"),
    ".NAN": float("nan"),
}
_STANDARD_TAGS = "tag:yaml.org,2002:"
_MAY_NOT_BE_STRING = frozenset("0123456789+-.~nNtTfF")
_MAX_NODES_PER_EVENT = 100
"""Alias expansion cap (nodes built per parser event): stops "billion laughs" documents."""


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar under the YAML 1.2 core schema."""
    if text and text[0] not in _MAY_NOT_BE_STRING:
        return text
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.match(text):
        return int(text)
    if _INT_BASE.match(text):
        return int(text, 0)
    if _FLOAT.match(text):
        return float(text)
    return _SPECIAL_FLOATS.get(text, text)


@dataclass
class Document:
    """One YAML document: its value, and the position of each key (for mapping entries) or item."""

    value: Any
    positions: dict[Path, Position]
    start: Position


@dataclass
class Problem:
    """A syntax-level problem, at a 0-based position."""

    position: Position
    message: str


@dataclass
class ParseResult:
    """Every document of one file, and every problem found while reading it."""

    documents: list[Document] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class _Composer:
    """Builds values from parser events, recording positions and rejecting unsafe constructs."""

    def __init__(self, events: Iterator[yaml.Event], result: ParseResult) -> None:
        self.events = events
        self.result = result
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.nodes = 0
        self.events_seen = 0

    def document(self) -> Document:
        self.anchors = {}
        positions: dict[Path, Position] = {}
        event = self._next()
        start = _position(event)
        value = self._node(event, (), positions)
        return Document(value, positions, start)

    def _next(self) -> yaml.Event:
        self.events_seen += 1
        return next(self.events)

    def _problem(self, event: yaml.Event, message: str) -> None:
        self.result.problems.append(Problem(_position(event), message))

    def _node(self, event: yaml.Event, path: Path, positions: dict[Path, Position]) -> Any:
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event)
        tag = event.tag
        if tag is not None:
            self._problem(event, _tag_problem(tag))
        before = self.nodes
        self.nodes += 1
        if isinstance(event, yaml.ScalarEvent):
            value = resolve_plain(event.value) if event.implicit[0] else event.value
        elif isinstance(event, yaml.SequenceStartEvent):
            value = self._sequence(path, positions)
        else:
            value = self._mapping(event, path, positions)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, self.nodes - before)
        return value

    def _alias(self, event: yaml.AliasEvent) -> Any:
        if event.anchor not in self.anchors:
            self._problem(event, f"undefined or recursive alias *{event.anchor}")
            return None
        value, size = self.anchors[event.anchor]
        self.nodes += size
        if self.nodes > _MAX_NODES_PER_EVENT * self.events_seen:
            raise _TooManyAliases(_position(event))
        return value

    def _sequence(self, path: Path, positions: dict[Path, Position]) -> list[Any]:
        items: list[Any] = []
        event = self._next()
        while not isinstance(event, yaml.SequenceEndEvent):
            item_path = (*path, len(items))
            positions[item_path] = _position(event)
            items.append(self._node(event, item_path, positions))
            event = self._next()
        return items

    def _mapping(
        self, start: yaml.Event, path: Path, positions: dict[Path, Position]
    ) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        merges: list[Any] = []
        event = self._next()
        while not isinstance(event, yaml.MappingEndEvent):
            key_event = event
            if not isinstance(key_event, yaml.ScalarEvent):
                self._problem(key_event, "mapping keys must be plain strings")
                self._node(key_event, path, {})
                self._node(self._next(), path, {})
                event = self._next()
                continue
            if key_event.tag is not None:
                self._problem(key_event, _tag_problem(key_event.tag))
            key = key_event.value
            key_path = (*path, key)
            value = self._node(self._next(), key_path, positions)
            if key == "<<" and key_event.implicit[0]:
                merges.extend(value if isinstance(value, list) else [value])
            elif key in mapping:
                self._problem(key_event, f"duplicate key {key!r}")
            else:
                positions[key_path] = _position(key_event)
                mapping[key] = value
            event = self._next()
        for merged in merges:
            if not isinstance(merged, dict):
                self._problem(start, "a merge key (<<) needs a mapping or a list of mappings")
                continue
            for key, value in merged.items():
                mapping.setdefault(key, value)
        return mapping


class _TooManyAliases(Exception):
    def __init__(self, position: Position) -> None:
        self.position = position


def _tag_problem(tag: str) -> str:
    shown = "!!" + tag.removeprefix(_STANDARD_TAGS) if tag.startswith(_STANDARD_TAGS) else tag
    return f"YAML tags are not allowed (found {shown}): manifests are plain data"


def _position(event: yaml.Event) -> Position:
    return event.start_mark.line, event.start_mark.column


def parse(text: str) -> ParseResult:
    """Every document in ``text``; syntax errors stop parsing and become one problem."""
    result = ParseResult()
    events = iter(yaml.parse(text, Loader=_Loader))
    composer = _Composer(events, result)
    try:
        event = next(events)  # StreamStart
        event = next(events)
        while not isinstance(event, yaml.StreamEndEvent):
            result.documents.append(composer.document())
            next(events)  # DocumentEnd
            event = next(events)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = (mark.line, mark.column) if mark else (0, 0)
        problem = exc.problem or exc.context or "cannot parse"
        result.problems.append(Problem(position, f"malformed YAML: {problem}"))
    except yaml.reader.ReaderError as exc:
        before = text[: exc.position]
        position = (before.count("\n"), exc.position - (before.rfind("\n") + 1))
        result.problems.append(Problem(position, f"malformed YAML: {exc.reason}"))
    except _TooManyAliases as exc:
        result.problems.append(Problem(exc.position, "malformed YAML: too many alias expansions"))
    return result
