"""Safe YAML parsing that keeps the line and column of every key and list item.

ruamel.yaml's round-trip loader keeps positions but is pure Python and parses 5,000 resources in
several seconds. libyaml's C parser (through PyYAML) emits events with positions an order of
magnitude faster, so we build plain values from those events ourselves. That also gives us what
manifests need from a loader: no tags at all (not even ``!!str``), duplicate keys rejected, and the
YAML 1.2 core schema for plain scalars (``yes``/``no``/``on``/``off`` and dates stay strings).
It is also where input is bounded (``reconciler.manifest.limits``): nesting depth and alias growth
stop the file, while an over-long string or a number out of range is a problem at its path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from reconciler.kinds.fields import INT64_MAX, INT64_MIN, shorten, show
from reconciler.manifest.errors import Path
from reconciler.manifest.limits import (
    MAX_ALIAS_GROWTH,
    MAX_ALIASED_CHARS,
    MAX_DEPTH,
    MAX_STRING,
    too_long,
)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Position = tuple[int, int]
"""0-based (line, column)."""

_NULLS = {"": None, "~": None, "null": None, "Null": None, "NULL": None}
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+$")
_INT_BASE = re.compile(r"0o[0-7]+$|0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NON_FINITE = re.compile(r"[-+]?\.(inf|Inf|INF)$|\.(nan|NaN|NAN)$")
_INT64_DIGITS = len(str(INT64_MAX))
_STANDARD_TAGS = "tag:yaml.org,2002:"
_MAY_NOT_BE_STRING = frozenset("0123456789+-.~nNtTfF")


@dataclass(frozen=True)
class OutOfRange:
    """A plain scalar that reads as a number no manifest may hold: one that is not finite (JSON
    has no NaN or Infinity), or an integer beyond 64 bits."""

    text: str
    integer: bool

    @property
    def message(self) -> str:
        if self.integer:
            return f"must be between {INT64_MIN} and {INT64_MAX} (got {shorten(self.text)})"
        return f"must be a finite number (got {shorten(self.text)})"


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar under the YAML 1.2 core schema, or
    ``OutOfRange`` for a number beyond what manifests allow."""
    if text and text[0] not in _MAY_NOT_BE_STRING:
        return text
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.match(text) or _INT_BASE.match(text):
        return _integer(text)
    if _FLOAT.match(text):
        number = float(text)
        return number if math.isfinite(number) else OutOfRange(text, integer=False)
    return OutOfRange(text, integer=False) if _NON_FINITE.match(text) else text


def _integer(text: str) -> int | OutOfRange:
    """``int()`` refuses decimals of over 4,300 digits; no 64-bit integer has over 19."""
    decimal = text.lstrip("+-").lstrip("0")
    if decimal.isdigit() and len(decimal) > _INT64_DIGITS:
        return OutOfRange(text, integer=True)
    number = int(text, 0) if _INT_BASE.match(text) else int(text)
    return number if INT64_MIN <= number <= INT64_MAX else OutOfRange(text, integer=True)


@dataclass
class Document:
    """One YAML document: its value, and the position of each key (for mapping entries) or item.

    ``rejected`` holds the paths of values already reported as problems (a number out of range,
    an over-long string): they stay in ``value`` as written, and later checks skip them.
    """

    value: Any
    positions: dict[Path, Position]
    start: Position
    rejected: set[Path] = field(default_factory=set)


@dataclass
class Problem:
    """A problem found while reading, at a 0-based position (and at ``path``, if it has one)."""

    position: Position
    message: str
    path: Path = ()


@dataclass(frozen=True)
class _Anchor:
    """An anchored value, and what repeating it through an alias adds."""

    value: Any
    nodes: int
    chars: int
    height: int


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
        self.rejected: set[Path] = set()
        self.anchors: dict[str, _Anchor] = {}
        self.nodes = 0
        self.chars = 0
        self.aliased_chars = 0
        self.deepest = 0
        self.events_seen = 0

    def document(self) -> Document:
        self.anchors = {}
        self.rejected = set()
        positions: dict[Path, Position] = {}
        event = self._next()
        start = _position(event)
        value = self._node(event, (), positions, 1)
        return Document(value, positions, start, self.rejected)

    def _next(self) -> yaml.Event:
        self.events_seen += 1
        return next(self.events)

    def _problem(self, event: yaml.Event, message: str, path: Path = ()) -> None:
        self.result.problems.append(Problem(_position(event), message, path))

    def _node(
        self, event: yaml.Event, path: Path, positions: dict[Path, Position], depth: int
    ) -> Any:
        if isinstance(event, yaml.AliasEvent):
            return self._alias(event, depth)
        if depth > MAX_DEPTH:
            raise _Refused(_position(event), _TOO_DEEP)
        tag = event.tag
        if tag is not None:
            self._problem(event, _tag_problem(tag))
        nodes, chars, outer_deepest = self.nodes, self.chars, self.deepest
        self.nodes += 1
        self.deepest = depth
        if isinstance(event, yaml.ScalarEvent):
            value = self._scalar(event, path)
        elif isinstance(event, yaml.SequenceStartEvent):
            value = self._sequence(path, positions, depth)
        else:
            value = self._mapping(event, path, positions, depth)
        if event.anchor is not None:
            grown = (self.nodes - nodes, self.chars - chars, self.deepest - depth)
            self.anchors[event.anchor] = _Anchor(value, *grown)
        self.deepest = max(outer_deepest, self.deepest)
        return value

    def _scalar(self, event: yaml.ScalarEvent, path: Path) -> Any:
        """The scalar's value; a number out of range or an over-long string is a problem at
        ``path`` and stays as written."""
        value = resolve_plain(event.value) if event.implicit[0] else event.value
        if isinstance(value, OutOfRange):
            self._reject(event, path, value.message)
            return value.text
        if isinstance(value, str):
            self.chars += len(value)
            if len(value) > MAX_STRING:
                self._reject(event, path, too_long(value))
        return value

    def _reject(self, event: yaml.Event, path: Path, message: str) -> None:
        self.rejected.add(path)
        self._problem(event, message, path)

    def _alias(self, event: yaml.AliasEvent, depth: int) -> Any:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            self._problem(event, f"undefined or recursive alias *{event.anchor}")
            return None
        if depth + anchor.height > MAX_DEPTH:
            raise _Refused(_position(event), _TOO_DEEP)
        self.nodes += anchor.nodes
        self.chars += anchor.chars
        self.aliased_chars += anchor.chars
        self.deepest = max(self.deepest, depth + anchor.height)
        too_many = self.nodes > MAX_ALIAS_GROWTH * self.events_seen
        if too_many or self.aliased_chars > MAX_ALIASED_CHARS:
            raise _Refused(_position(event), "malformed YAML: too many alias expansions")
        return anchor.value

    def _sequence(self, path: Path, positions: dict[Path, Position], depth: int) -> list[Any]:
        items: list[Any] = []
        event = self._next()
        while not isinstance(event, yaml.SequenceEndEvent):
            item_path = (*path, len(items))
            positions[item_path] = _position(event)
            items.append(self._node(event, item_path, positions, depth + 1))
            event = self._next()
        return items

    def _mapping(
        self, start: yaml.Event, path: Path, positions: dict[Path, Position], depth: int
    ) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        merges: list[Any] = []
        event = self._next()
        while not isinstance(event, yaml.MappingEndEvent):
            key_event = event
            if not isinstance(key_event, yaml.ScalarEvent):
                self._problem(key_event, "mapping keys must be plain strings")
                self._node(key_event, path, {}, depth + 1)
                self._node(self._next(), path, {}, depth + 1)
                event = self._next()
                continue
            if key_event.tag is not None:
                self._problem(key_event, _tag_problem(key_event.tag))
            key = key_event.value
            key_path = (*path, key)
            value = self._node(self._next(), key_path, positions, depth + 1)
            if key == "<<" and key_event.implicit[0]:
                merges.extend(value if isinstance(value, list) else [value])
            elif key in mapping:
                self._problem(key_event, f"duplicate key {show(key)}")
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


_TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep: the rest of the file is not read"


class _Refused(Exception):
    """Input that stops the parse: too deep, or too many alias expansions."""

    def __init__(self, position: Position, message: str) -> None:
        self.position = position
        self.message = message


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
    except _Refused as exc:
        result.problems.append(Problem(exc.position, exc.message))
    return result
