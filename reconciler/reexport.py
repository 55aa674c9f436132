"""Re-export: an existing manifest entry edited in place until it loads as the live resource.

A team's manifests hold more than values: comments, ``${VAR}`` and ``${secret:NAME}``
interpolations, ``absent: true`` entries. Re-export changes only what no longer means the live
value, so the diff a reviewer reads is the portal edit and nothing else.

- **Values.** A value that loads (with the command's variables) to the live value is kept as
  written. Lists are merged item by item, so a comment on an item stays with it; lists the planner
  reads as sets (``Kind.unordered``) pair equal items first, whatever their order.
- **Interpolations.** ``${VAR}`` that resolves to the live value stays. One that resolves to
  something else is replaced by the live value, with a notice naming file:line. One that cannot
  be resolved (a variable not given) is kept, with a notice: export cannot tell. A
  ``${secret:...}`` is never replaced (the live value would put the secret in the file); a
  difference is a notice. A live value that holds the value of a secret the manifests use is
  written with that ``${secret:NAME}`` in its place.
- **Comments.** ruamel.yaml keeps the comment lines below a value in the token after the value's
  last scalar, so they travel with it. When a value is replaced or removed, or an item appended
  after it, those lines are carried to where they still sit below the same text.
- **``absent: true``.** Such an entry says "delete it": it is never edited, and a rewritten file
  gets its original lines back byte for byte (``keep_verbatim``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.scalarstring import DoubleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from reconciler.manifest.interpolate import MIN_SECRET, expand
from reconciler.yamlwrite import ambiguous

UNLOADABLE = object()
"""What a value loads to when one of its variables is missing: equal to nothing."""
_SECRET = re.compile(r"\$\{secret:([A-Za-z_][A-Za-z0-9_]*)")
Outcome = Literal["replaced", "removed", "secret_kept", "unresolved_kept"]
Key = str | int
Container = CommentedMap | CommentedSeq


def _unescaped(text: str) -> str:
    """``text`` without its ``$${`` escapes: every ``${`` left starts an interpolation."""
    return text.replace("$${", "")


def interpolates(value: Any) -> bool:
    """Whether ``value`` (anything, at any depth) holds a ``${...}`` interpolation."""
    if isinstance(value, dict):
        return any(interpolates(item) for item in value.values())
    if isinstance(value, list):
        return any(interpolates(item) for item in value)
    return isinstance(value, str) and "${" in _unescaped(value)


def loaded(value: Any, variables: Mapping[str, str]) -> Any:
    """What the loader makes of a YAML value: plain data, strings interpolated from
    ``variables`` (``UNLOADABLE`` where one is missing or malformed)."""
    if isinstance(value, dict):
        return {str(key): loaded(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [loaded(item, variables) for item in value]
    if isinstance(value, str):
        if "${" not in value:
            return str(value)
        expansion = expand(value, variables)
        return UNLOADABLE if expansion.problems else expansion.text
    return value


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value


def secret_values(docs: Iterable[Any], variables: Mapping[str, str]) -> dict[str, str]:
    """Each value of a ``${secret:NAME}`` that ``docs`` use, with its name: the values export
    must never write."""
    found = {}
    for text in _strings(list(docs)):
        for name in _SECRET.findall(_unescaped(text)):
            value = variables.get(name)
            if value is not None and len(value) >= MIN_SECRET:
                found[value] = name
    return found


def hide_secrets(value: Any, secrets: Mapping[str, str]) -> Any:
    """A written node (``yamlwrite.node``) with each known secret value, in place, as its
    ``${secret:NAME}``: the file then loads to the same value without holding it."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = hide_secrets(item, secrets)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = hide_secrets(item, secrets)
        return value
    if not isinstance(value, str) or not secrets:
        return value
    text = str(value)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret.replace("${", "$${"), f"${{secret:{secrets[secret]}}}")
    if text == value:
        return value
    quoted = isinstance(value, DoubleQuotedScalarString) or ambiguous(text)
    return DoubleQuotedScalarString(text) if quoted else text


@dataclass(frozen=True)
class Notice:
    """An interpolation re-export could not simply keep, and what it did instead."""

    file: str
    line: int
    address: str
    field: str
    outcome: Outcome


def describe(notice: Notice) -> str:
    """A notice in words (never a value: the live one may hold a secret)."""
    what = {
        "replaced": "the live value differs from what its ${...} resolves to: the live value "
        "replaces it (the interpolation is gone)",
        "removed": "the live resource no longer has this field: it goes, with its ${...}",
        "secret_kept": "the live value differs, and the entry holds a ${secret:...}, so it was "
        "kept (export never writes a secret into a file); update the entry, or apply",
        "unresolved_kept": "cannot tell whether the live value equals its ${...} (a variable "
        "is not set: pass it with --var or --var-file): the entry stays",
    }[notice.outcome]
    return f"{notice.file}:{notice.line}: {notice.address}: {notice.field}: {what}"


def _field(path: Sequence[Key]) -> str:
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) else f".{key}" if text else str(key)
    return text


def _line(container: Container, key: Key) -> int:
    """The 1-based line of ``container[key]`` in the file as it was read."""
    try:
        if isinstance(container, CommentedMap):
            return int(container.lc.value(key)[0]) + 1
        return int(container.lc.item(key)[0]) + 1
    except (KeyError, TypeError, AttributeError):
        return int(container.lc.line or 0) + 1


@dataclass
class Merge:
    """Makes one existing entry load as the live one, in place (see the module docstring)."""

    variables: Mapping[str, str]
    file: str
    address: str
    unordered: frozenset[str] = frozenset()
    """Keys whose lists the planner compares as sets."""
    atomic: frozenset[str] = frozenset()
    """Reference keys: a reference is replaced whole, with the comment that names its target."""
    notices: list[Notice] = field(default_factory=list)

    def mapping(
        self,
        old: CommentedMap,
        new: CommentedMap,
        keep: Sequence[str] = (),
        path: tuple[Key, ...] = (),
    ) -> bool:
        """Make ``old`` load as ``new``; True if anything changed. ``keep``: keys left alone."""
        changed = False
        for key in [key for key in old if key not in new and key not in keep]:
            self.drop(old, key, (*path, key))
            changed = True
        for position, key in enumerate(new):
            if key in old:
                changed |= self.value(old, key, new, key, (*path, key), key in self.atomic)
                continue
            before = [k for k in list(new)[:position] if k in old]
            index = list(old).index(before[-1]) + 1 if before else 0
            old.insert(index, key, new[key])
            if key in new.ca.items:
                old.ca.items[key] = new.ca.items[key]
            if before and index == len(old) - 1:
                _move_outer(old, before[-1], key)
            changed = True
        return changed

    def sequence(
        self,
        old: CommentedSeq,
        new: CommentedSeq,
        key: Key,
        path: tuple[Key, ...],
        atomic: bool,
    ) -> bool:
        """Make the list ``old`` load as ``new``, item by item; True if anything changed."""
        if key in self.unordered:
            if self._sorted(old, key) == self._sorted(new, key):
                return False
            pairs, gone, added = self._pairs(old, new)
        else:
            common = min(len(old), len(new))
            pairs = [(i, i) for i in range(common)]
            gone, added = list(range(common, len(old))), list(range(common, len(new)))
        changed = bool(gone or added)
        for mine, theirs in pairs:
            changed |= self.value(old, mine, new, theirs, (*path, mine), atomic)
        for index in sorted(gone, reverse=True):
            self.drop(old, index, (*path, index))
        for index in added:
            append(old, new[index])
            if index in new.ca.items:
                old.ca.items[len(old) - 1] = new.ca.items[index]
        return changed

    def _pairs(
        self, old: CommentedSeq, new: CommentedSeq
    ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
        """Old and new items of a set-like list paired: equal ones first, then the rest in
        order, so a changed item keeps its place and comments."""
        theirs = [self._sorted(item, None) for item in new]
        free = list(range(len(new)))
        pairs, unmatched = [], []
        for index, item in enumerate(old):
            mine = self._sorted(item, None)
            match = next((i for i in free if theirs[i] == mine), None)
            if match is None:
                unmatched.append(index)
            else:
                free.remove(match)
                pairs.append((index, match))
        common = min(len(unmatched), len(free))
        pairs += list(zip(unmatched[:common], free[:common], strict=True))
        return pairs, unmatched[common:], free[common:]

    def value(
        self,
        old: Container,
        key: Key,
        new: Container,
        new_key: Key,
        path: tuple[Key, ...],
        atomic: bool,
    ) -> bool:
        """Make ``old[key]`` load as ``new[new_key]``; True if it changed."""
        mine, theirs = old[key], new[new_key]
        if isinstance(mine, dict) and isinstance(theirs, dict):
            if not atomic or interpolates(mine):
                return self.mapping(mine, theirs, path=path)
        elif isinstance(mine, list) and isinstance(theirs, list):
            return self.sequence(mine, theirs, key, path, atomic)
        if isinstance(mine, str) and interpolates(mine):
            if self._keeps(old, key, theirs, path):
                return False
        elif self._sorted(mine, key) == self._sorted(theirs, key):
            return False
        token = _token(new, new_key)
        eol = _split(token)[0] if token is not None else "" if atomic else None
        _replace(old, key, theirs, eol)
        return True

    def drop(self, old: Container, key: Key, path: tuple[Key, ...]) -> None:
        """Remove ``old[key]``, with a notice if it held an interpolation."""
        if interpolates(old[key]):
            self._note(old, key, path, "removed")
        remove(old, key)

    def _keeps(self, old: Container, key: Key, live: Any, path: tuple[Key, ...]) -> bool:
        """Whether the interpolated ``old[key]`` stays: it resolves to ``live``, or it is a
        secret, or it cannot be resolved (with a notice for the last two, and for a
        replacement)."""
        expansion = expand(old[key], self.variables)
        wanted = loaded(live, self.variables)
        text = expansion.text
        if not expansion.problems and (text == wanted or text == _json(wanted)):
            return True
        if expansion.problems:
            self._note(old, key, path, "unresolved_kept")
            return True
        if "${secret:" in _unescaped(old[key]):
            self._note(old, key, path, "secret_kept")
            return True
        self._note(old, key, path, "replaced")
        return False

    def _note(self, old: Container, key: Key, path: tuple[Key, ...], outcome: Outcome) -> None:
        notice = Notice(self.file, _line(old, key), self.address, _field(path), outcome)
        self.notices.append(notice)

    def _sorted(self, value: Any, key: Key | None) -> Any:
        """``value`` as loaded, with the lists under ``unordered`` keys sorted."""
        return _sort_unordered(loaded(value, self.variables), key, self.unordered)


def _json(value: Any) -> str | None:
    """A non-string scalar as the string a ``${VAR}`` would have to resolve to."""
    return None if isinstance(value, str | dict | list) else json.dumps(value)


def _sort_unordered(value: Any, key: Key | None, unordered: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _sort_unordered(v, k, unordered) for k, v in value.items()}
    if isinstance(value, list):
        items = [_sort_unordered(item, key, unordered) for item in value]
        return sorted(items, key=_order) if key in unordered else items
    return value


def _order(value: Any) -> str:
    return json.dumps(value, default=repr, sort_keys=True)


# Comments: ruamel.yaml keeps "the rest of the line, and the comment lines below" in one token
# after a value's last scalar: slot 2 of a mapping key's entry, slot 0 of a list item's.


def normalise(value: Any) -> None:
    """Move the comments that ruamel.yaml parks at a block collection's end (it does so when the
    collection ends in a flow value) to where all others live, after its last scalar: the same
    text when dumped, and one place to carry them from."""
    if not isinstance(value, CommentedMap | CommentedSeq):
        return
    for item in value.values() if isinstance(value, CommentedMap) else value:
        normalise(item)
    if _block(value) and value.ca.end:
        lines = "".join(" " * token.column + token.value for token in value.ca.end)
        value.ca.end = None
        last = list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1
        _put_below(value, last, lines)


def _token(container: Container, key: Key) -> CommentToken | None:
    entry = container.ca.items.get(key)
    return entry[2 if isinstance(container, CommentedMap) else 0] if entry else None


def _split(token: CommentToken | None) -> tuple[str, str]:
    """A token's end-of-line comment (``""`` if none) and the lines below it."""
    if token is None:
        return "", ""
    eol, _, below = token.value.partition("\n")
    return eol, below if not below or below.endswith("\n") else below + "\n"


def _set(container: Container, key: Key, eol: str, below: str) -> None:
    """Set the comment after ``container[key]``: ``eol`` on its line, ``below`` under it."""
    slot = 2 if isinstance(container, CommentedMap) else 0
    entry = container.ca.items.get(key)
    token = entry[slot] if entry else None
    if not eol and not below:
        if entry:
            entry[slot] = None
    elif token is not None:
        token.value = f"{eol}\n{below}"
    else:
        if entry is None:
            entry = container.ca.items[key] = [None, None, None, None]
        entry[slot] = CommentToken(f"{eol}\n{below}", CommentMark(0), None)


def _block(value: Any) -> bool:
    return isinstance(value, CommentedMap | CommentedSeq) and bool(value) and not _flow(value)


def _flow(value: Container) -> bool:
    return bool(value.fa.flow_style())


def _tail(container: Container, key: Key) -> tuple[Container, Key]:
    """Where the comment lines below ``container[key]`` live: after its last scalar."""
    value = container[key]
    if _block(value):
        return _tail(value, list(value)[-1] if isinstance(value, CommentedMap) else len(value) - 1)
    return container, key


def _take_below(container: Container, key: Key) -> str:
    where, last = _tail(container, key)
    eol, below = _split(_token(where, last))
    _set(where, last, eol, "")
    return below


def _put_below(container: Container, key: Key, lines: str) -> None:
    if lines:
        where, last = _tail(container, key)
        eol, below = _split(_token(where, last))
        _set(where, last, eol, below + lines)


def _replace(container: Container, key: Key, value: Any, eol: str | None) -> None:
    """``container[key] = value``, the comment lines below the old value now below the new
    one; ``eol``: the new end-of-line comment (None: keep the old one)."""
    below = _take_below(container, key)
    own_eol, own_below = _split(_token(container, key))
    container[key] = value
    eol = own_eol if eol is None else eol
    if eol and _flow(container):
        container.fa.set_block_style()  # a comment cannot stand inside [ ] or { }
    if _block(value):
        _set(container, key, eol, own_below)
        _put_below(container, key, below)
    else:
        _set(container, key, eol, own_below + below)


def remove(container: Container, key: Key) -> None:
    """``del container[key]``; the comment lines below it stay where they were."""
    below = _take_below(container, key)
    keys = list(container) if isinstance(container, CommentedMap) else list(range(len(container)))
    position = keys.index(key)
    del container[key]
    if isinstance(container, CommentedMap):
        container.ca.items.pop(key, None)
    if position:
        _put_below(container, keys[position - 1], below)
    elif below:
        tokens = [
            CommentToken(line.lstrip() + "\n", CommentMark(_indent(line)), None)
            for line in below.splitlines()
        ]
        if container.ca.comment is None:
            container.ca.comment = [None, tokens]
        elif container.ca.comment[1] is None:
            container.ca.comment[1] = tokens
        else:
            container.ca.comment[1].extend(tokens)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _move_outer(container: Container, previous: Key, key: Key) -> None:
    """After ``key`` was added after ``previous``, the last item: the comment lines below
    ``previous`` that are less indented than the items (a comment on what follows, or at the
    end of the file) move below ``key``; those indented as the items stay."""
    where, last = _tail(container, previous)
    eol, below = _split(_token(where, last))
    lines = below.splitlines(keepends=True)
    column = container.lc.col
    threshold = 0 if column is None else column + (0 if isinstance(container, dict) else 1)
    inner = 0
    while inner < len(lines) and lines[inner].strip() and _indent(lines[inner]) >= threshold:
        inner += 1
    if inner < len(lines):
        _set(where, last, eol, "".join(lines[:inner]))
        _put_below(container, key, "".join(lines[inner:]))


def append(sequence: CommentedSeq, item: Any) -> None:
    """Add ``item`` at the end of ``sequence``: a comment at the end stays at the end."""
    sequence.append(item)
    if len(sequence) > 1:
        _move_outer(sequence, len(sequence) - 2, len(sequence) - 1)


# absent: true entries, put back verbatim


def keep_verbatim(original: str, written: str, lines: Sequence[tuple[int, int]]) -> str:
    """``written`` with some list items' lines exactly as in ``original``.

    ``lines`` pairs each item's first line (0-based) in ``original`` with the same item's in
    ``written``. An item's lines run from its ``-`` to its last line indented deeper than the
    ``-``; comment lines at its end belong to what follows, and ruamel.yaml keeps them anyway.
    If the list moved sideways, the item is shifted with it.
    """
    old = original.splitlines(keepends=True)
    new = written.splitlines(keepends=True)
    for was, now in sorted(lines, key=lambda pair: pair[1], reverse=True):
        old_start, old_end, old_dash = _item_span(old, was)
        new_start, new_end, new_dash = _item_span(new, now)
        shift = new_dash - old_dash
        kept = [_shifted(line, shift) for line in old[old_start:old_end]]
        new[new_start:new_end] = [line if line.endswith("\n") else line + "\n" for line in kept]
    return "".join(new)


def _item_span(lines: Sequence[str], line: int) -> tuple[int, int, int]:
    start = line
    while start > 0 and not lines[start].lstrip().startswith("-"):
        start -= 1
    dash = _indent(lines[start])
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > dash):
        end += 1
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].lstrip()[0] == "#"):
        end -= 1
    return start, end, dash


def _shifted(line: str, shift: int) -> str:
    if shift > 0 and line.strip():
        return " " * shift + line
    if shift < 0 and not line[:-shift].strip():
        return line[-shift:]
    return line


def indentation(docs: Sequence[Any]) -> tuple[int, int, int]:
    """A file's block indentation as ``YAML.indent`` takes it (mapping, sequence, offset), read
    from its first top-level list and the first mapping nested in one of its items; the examples'
    (2, 4, 2) where it shows none. Dumping with it keeps the file's layout, not just its data."""
    mapping, sequence, offset = 2, 4, 2
    lists = [v for doc in docs for v in doc.values() if isinstance(v, CommentedSeq) and _block(v)]
    if lists and isinstance(lists[0][0], CommentedMap):
        dash, item = lists[0].lc.col, lists[0].lc.item(0)[1]
        if dash is not None and item - dash >= 2:
            sequence, offset = item, dash
        entry = lists[0][0]
        nested = [v for v in entry.values() if isinstance(v, CommentedMap) and _block(v)]
        if nested and nested[0].lc.col is not None and nested[0].lc.col > entry.lc.col:
            mapping = nested[0].lc.col - entry.lc.col
    return mapping, sequence, offset
