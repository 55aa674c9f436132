"""``evictl export``: manifests that describe the account as it is (onboarding from the portal).

The goal is a round trip: ``evictl plan`` on the exported directory against the same account
shows no changes. So every rule below follows what the loader and the planner will do with it.

- **Layout.** New resources go to ``prompts.yaml``, ``tools.yaml`` and ``configs.yaml`` in the
  output directory (one document each), sorted by name. A prompt whose text contains a line break
  or is longer than ``LONG_TEXT`` characters gets its own file, ``prompts/<slug>.md``, referenced
  by ``text_file`` (slugs are lowercase ASCII, ``-2``, ``-3``… when taken, case-insensitively).
  Text containing ``\\r`` stays inline: the loader reads text files with universal newlines.
- **Values.** Only the latest version of each resource. What equals the server's default (per
  ``canonical.content``, the planner's own equality) is left out. Tool parameters become YAML
  mappings. A voice is written by ``name`` unless the account only knows it by ``id`` (or the
  existing entry uses ``id``); its ``provider`` is left out when it is the default.
- **References.** A config's prompt or tool is written by name when it is pinned to the latest
  version of a resource that the resulting manifests define under that (unique) name, because
  apply pins a name reference to the latest version. Otherwise it is ``{id, version}`` (a pin to
  an older version, or a target the manifests do not define), or ``{id}`` for a reference that
  follows the latest version; such references get a comment naming the target.
- **Safety.** ``${`` in exported strings is written as ``$${`` (the loader interpolates every
  string value, not text files); strings that a YAML 1.1 or 1.2 reader would take for another
  type (``"3"``, ``"yes"``, ``"null"``, the merge key ``"<<"``) are quoted.
- **Duplicate names.** A manifest identifies a resource by its name, so two live resources of one
  kind with exactly the same name cannot be exported: export fails and names their ids (rename
  one in the portal, or leave them out with ``--kind``/``--name``). Names that differ only by
  case or spaces are distinct and exported as they are.
- **Re-export.** Every YAML file already in the directory is loaded in ruamel.yaml's round-trip
  mode, and each exported resource updates its existing entry (wherever it is) in place
  (``reexport.Merge``): keys, order, layout and every comment stay; a value that still loads to
  the live value (``${VAR}`` resolved with ``--var``/``--var-file`` and the environment) is kept
  as written, and so is an explicit default; keys export would not write are removed, except
  ``previous_names``. A prompt keeps its form (inline or its ``text_file``). Entries of the
  exported kinds (and names, with ``--name``) that are no longer in the account are removed,
  with their text file. ``absent: true`` entries are never touched, byte for byte, and their live
  resource is not exported: the manifests say to delete it. New resources are appended to
  ``<kind>.yaml``. Files with no change are not rewritten; ``--dry-run`` reports the same list
  and writes nothing.
- **Interpolations and secrets.** A ``${VAR}`` that resolves to something other than the live
  value is replaced by it; one that cannot be resolved is kept. A ``${secret:...}`` is never
  replaced. Each case is a notice naming file:line. A live value that holds the value of a
  ``${secret:NAME}`` the manifests use is written with the interpolation in its place; in a
  prompt's text file, which cannot interpolate, it stops the export. Any other live value is
  exported as it is: a token in a new webhook URL lands in the file until it is replaced by
  ``${secret:NAME}``.
"""

from __future__ import annotations

import asyncio
import json
import posixpath
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel
from ruamel.yaml import YAMLError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler import yamlwrite
from reconciler.client.snapshot import fetch_snapshot
from reconciler.errors import UserError
from reconciler.kinds import KINDS, NAMES, REGISTRY, Kind, LiveVersion
from reconciler.kinds import Ref as LiveRef
from reconciler.kinds.fields import is_true
from reconciler.manifest.files import refusal
from reconciler.manifest.yamlread import parse
from reconciler.planner import canonical
from reconciler.reexport import (
    Merge,
    Notice,
    append,
    hide_secrets,
    indentation,
    keep_verbatim,
    loaded,
    normalise,
    remove,
    secret_values,
)
from reconciler.snapshot import Snapshot
from reconciler.workflow import Connection
from reconciler.yamlwrite import node, round_trip_yaml

LONG_TEXT = 120
"""Prompt texts longer than this (or with a line break) go to their own file."""
KEPT_KEYS = ("previous_names",)
"""Keys that users add and export never writes: re-export leaves them alone."""
_OUT = "the output directory (--out)"
Paths = frozenset[tuple[str, ...]]


async def run(
    connection: Connection,
    out: Path,
    *,
    names: Sequence[str] = (),
    kinds: Sequence[str] = (),
    variables: Mapping[str, str],
    dry_run: bool = False,
) -> tuple[str, list[Notice]]:
    """Export the account into ``out`` (or only report, with ``dry_run``): a summary to print,
    and the interpolations that re-export could not simply keep.

    ``variables`` resolve the ``${...}`` in existing manifests, to tell whether they still equal
    the live values."""
    chosen = tuple(kind for kind in NAMES if not kinds or kind in kinds)
    async with connection.client() as client:
        live = await fetch_snapshot(client)
        selected = select(live, chosen, names)
        full = [
            (kind, item) for kind in chosen if KINDS[kind].list_omits for item in selected[kind]
        ]
        detailed = await asyncio.gather(
            *(client.get_version(kind, item.id, item.version) for kind, item in full)
        )
    by_id = {item.id: item for item in detailed}
    selected = {kind: [by_id.get(i.id, i) for i in items] for kind, items in selected.items()}
    export = Export(out, live, names, variables)
    for kind in REGISTRY:
        if kind.name in selected:
            export.update(kind, selected[kind.name])
    changes = export.changes()
    if not dry_run:
        write(out, changes)
    report = summary(out, selected, export.dropped, export.left_alone, changes, dry_run)
    return report, sorted(export.notices, key=lambda notice: (notice.file, notice.line))


def select(
    live: Snapshot, kinds: Sequence[str], names: Sequence[str]
) -> dict[str, list[LiveVersion]]:
    """The live resources to export, per kind; unknown ``names`` and duplicate names are errors."""
    wanted = set(names)
    selected = {
        kind: [item for item in live.of_kind(kind) if not wanted or item.name in wanted]
        for kind in kinds
    }
    found = {item.name for items in selected.values() for item in items}
    if missing := sorted(wanted - found):
        where = ", ".join(kinds)
        raise UserError(f"--name: nothing named {', '.join(map(repr, missing))} among the {where}")
    problems = []
    for kind, items in selected.items():
        counts = Counter(item.name for item in items)
        for name in sorted(name for name, n in counts.items() if n > 1):
            ids = ", ".join(item.id for item in items if item.name == name)
            problems.append(f"{counts[name]} {kind} are named {name!r} ({ids})")
    if problems:
        raise UserError(
            f"cannot export: {'; '.join(problems)}. Manifests identify resources by name: rename "
            "or delete the extras in Hume, or leave them out with --kind or --name"
        )
    return {kind: sorted(items, key=_sort_key) for kind, items in selected.items()}


def _sort_key(item: LiveVersion) -> tuple[str, str, str]:
    return item.name.casefold(), item.name, item.id


# What one resource looks like in a manifest (plain data, strings as they are live)


def without_defaults(kind: str, body: dict[str, Any], keep: Paths = frozenset()) -> dict[str, Any]:
    """``body``'s content with every field, at any depth, that equals the server default dropped.

    The canonicaliser decides: a key goes when leaving it out does not change the canonical
    content, which is exactly when the planner will see no difference. Keys that the manifest
    format requires (``timeouts.inactivity.enabled``) stay, and so do the ``keep`` paths (what a
    user already wrote, such as an explicit default).
    """
    wanted = canonical.content(kind, body)
    result = wanted
    for path in optional_paths(wanted, KINDS[kind].spec):
        if path not in keep:
            trial = _without(result, path)
            if canonical.content(kind, trial) == wanted:
                result = trial
    return result


def optional_paths(
    value: dict[str, Any], model: type[BaseModel] | None, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    """The key paths that the manifest ``model`` lets users leave out, children first.

    Only the format's own mappings are entered: a tool's ``parameters`` is one value.
    """
    paths: list[tuple[str, ...]] = []
    for key, item in value.items():
        field = model.model_fields.get(key) if model else None
        inner = _model_of(field.annotation) if field else None
        if isinstance(item, dict) and inner is not None:
            paths += optional_paths(item, inner, (*prefix, key))
        if field is None or not field.is_required():
            paths.append((*prefix, key))
    return paths


def _without(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    head, *rest = path
    if head not in value:
        return value
    if not rest:
        return {key: item for key, item in value.items() if key != head}
    inner = value[head]
    return {**value, head: _without(inner, tuple(rest)) if isinstance(inner, dict) else inner}


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(filter(None, (_model_of(arg) for arg in get_args(annotation))), None)


@dataclass
class Ref:
    """A config's reference as written: a name, or ``{id, version}`` with a comment naming it."""

    value: Any
    comment: str | None = None


class References:
    """How a resource refers to others, given which names the manifests define."""

    def __init__(self, live: Snapshot, defined: dict[str, set[str]]) -> None:
        self.by_id = {kind: {i.id: i for i in live.of_kind(kind)} for kind in defined}
        self.unique = {
            kind: {n for n, c in Counter(i.name for i in live.of_kind(kind)).items() if c == 1}
            for kind in defined
        }
        self.defined = defined

    def ref(self, ref: LiveRef) -> Ref:
        """A name for a pin to the latest version of a defined resource, else its id."""
        target = self.by_id[ref.kind].get(str(ref.id))
        if target is None:
            return Ref({"id": ref.id, "version": ref.version})
        label = json.dumps(target.name, ensure_ascii=False)
        named = target.name in self.unique[ref.kind] and target.name in self.defined[ref.kind]
        if ref.version == target.version and named:
            return Ref(target.name)
        singular = KINDS[ref.kind].singular
        if ref.version is None:
            return Ref({"id": ref.id}, f"{singular} {label}, following its latest version")
        note = f"{singular} {label} v{ref.version}"
        if ref.version != target.version:
            note += f" (the latest is v{target.version})"
        return Ref({"id": ref.id, "version": ref.version}, note)

    def entry(
        self, kind: Kind, live: LiveVersion, written: Paths = frozenset()
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """A resource's entry (references in place) and its references by key, for comments."""
        body = kind.live_body(live)
        for name in kind.ref_fields:
            del body[name]
        settings = without_defaults(kind.name, kind.exported(body, written), written)
        found = list(kind.live_references(live))
        refs: dict[str, Any] = {}
        for ref_field in kind.refs:
            mine = [self.ref(r) for r in found if r.field == ref_field.field]
            if mine:
                refs[ref_field.field] = mine if ref_field.many else mine[0]
        entry = {"name": live.name, **settings}
        for key, ref in refs.items():
            entry[key] = [r.value for r in ref] if isinstance(ref, list) else ref.value
        if live.version_description:
            entry["version_description"] = live.version_description
        return entry, refs


# The output directory


@dataclass
class YamlFile:
    """One manifest file of the output directory, loaded for round-trip editing."""

    rel: str
    original: str | None
    docs: list[Any]
    dirty: bool = False
    touched: bool = False
    absent: list[CommentedMap] = field(default_factory=list)
    """Its ``absent: true`` entries of exported kinds: written back byte for byte."""
    indent: tuple[int, int, int] = (2, 4, 2)
    """Its block indentation (mapping, sequence, offset), kept when it is rewritten."""


@dataclass(frozen=True)
class FileChange:
    """What export does to one file: ``write`` (with its content), ``unchanged`` or ``remove``."""

    path: str
    action: str
    content: str | None = None


def yaml_files(root: Path) -> list[str]:
    """The manifest files below ``root``, as the loader finds them (hidden ones skipped); one that
    is a special file or a symlink out of ``root`` stops the export (see ``files.refusal``)."""
    if not root.is_dir():
        return []
    found = []
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        hidden = any(part.startswith(".") for part in relative.parts)
        if file.suffix in (".yaml", ".yml") and not hidden and not file.is_dir():
            problem = refusal(file, root, _OUT)
            if problem is not None:
                raise UserError(f"cannot update {file}: it {problem}")
            if file.is_file():
                found.append(relative.as_posix())
    return found


def read_manifest(root: Path, rel: str) -> YamlFile:
    """An existing manifest, for round-trip editing; first read by evictl's own bounded parser,
    so a hostile file (nested thousands deep) is a message, not a RecursionError."""
    try:
        text = (root / rel).read_text(encoding="utf-8")
        problems = parse(text).problems
        if problems:
            line = problems[0].position[0] + 1
            raise UserError(f"cannot update {root / rel}: line {line}: {problems[0].message}")
        docs = list(round_trip_yaml().load_all(text))
    except UnicodeDecodeError as exc:
        raise UserError(f"cannot update {root / rel}: not UTF-8 ({exc})") from exc
    except YAMLError as exc:
        raise UserError(f"cannot update {root / rel}: not valid YAML ({exc})") from exc
    if not all(isinstance(doc, dict) for doc in docs):
        raise UserError(f"cannot update {root / rel}: every document must be a mapping")
    for doc in docs:
        normalise(doc)
    return YamlFile(rel, text, docs, indent=indentation(docs))


def merge_entry(
    kind: Kind,
    name: str,
    file: str,
    old: CommentedMap,
    new: CommentedMap,
    variables: Mapping[str, str],
    notices: list[Notice],
) -> bool:
    """Make the existing entry ``old`` (in ``file``) load as ``new``, the resource ``name``, in
    place (``reexport.Merge``, with the kind's set-like lists and references); True if it
    changed."""
    merge = Merge(
        variables,
        file,
        kind.address(name),
        unordered=frozenset(path.rsplit(".", 1)[-1] for path in kind.unordered),
        atomic=frozenset(kind.ref_fields),
        notices=notices,
    )
    return merge.mapping(old, new, KEPT_KEYS)


def kept_paths(kind: Kind, old: CommentedMap | None, variables: Mapping[str, str]) -> Paths:
    """The optional keys an existing entry writes: export keeps them, defaults included."""
    if old is None:
        return frozenset()
    return frozenset(optional_paths(loaded(old, variables), kind.spec))


class Export:
    """The output directory's manifests, updated kind by kind from the live resources."""

    def __init__(
        self, root: Path, live: Snapshot, names: Sequence[str], variables: Mapping[str, str]
    ) -> None:
        self.root, self.live, self.names = root, live, set(names)
        self.variables = variables
        self.yaml = round_trip_yaml()
        self.files = {rel: read_manifest(root, rel) for rel in yaml_files(root)}
        self.secrets = secret_values((d for f in self.files.values() for d in f.docs), variables)
        self.texts: dict[str, str] = {}
        self.dropped: dict[str, list[str]] = defaultdict(list)
        self.left_alone: dict[str, list[str]] = defaultdict(list)
        self.notices: list[Notice] = []
        self.orphans: set[str] = set()
        self.taken = {p.lower() for p in self.text_files()}
        for kind in REGISTRY:
            if kind.text_file and (root / kind.name).is_dir():
                self.taken |= {
                    p.relative_to(root).as_posix().lower() for p in (root / kind.name).rglob("*")
                }

    def entries(self, kind: str) -> list[tuple[YamlFile, CommentedSeq, CommentedMap]]:
        """Every entry of ``kind`` in every file, in file order."""
        return [
            (file, doc[kind], entry)
            for file in self.files.values()
            for doc in file.docs
            if isinstance(doc.get(kind), list)
            for entry in doc[kind]
            if isinstance(entry, dict)
        ]

    def text_files(self) -> dict[str, CommentedMap]:
        """The text files that entries name (relative to the root), with their entries."""
        named = {}
        for kind in REGISTRY:
            if kind.text_file is None:
                continue
            for file, _, entry in self.entries(kind.name):
                path = text_path(file.rel, self.loaded(entry.get(kind.text_file[0])))
                if path is not None:
                    named.setdefault(path, entry)
        return named

    def defined(self, kind: str) -> set[str]:
        """The names that the manifests define (not absent) for ``kind``."""
        return {
            self.loaded(entry.get("name"))
            for _, _, entry in self.entries(kind)
            if not is_true(self.loaded(entry.get("absent")))
        }

    def loaded(self, value: Any) -> Any:
        """What the loader makes of ``value`` with the command's variables."""
        return loaded(value, self.variables)

    def update(self, kind: Kind, items: Sequence[LiveVersion]) -> None:
        """Update, append and remove the entries of ``kind`` to match ``items``.

        An ``absent: true`` entry is never touched, and its live resource is not exported: the
        manifests say to delete it, and an export must not turn that into "keep it"."""
        live_names = {item.name for item in items}
        existing: dict[str, tuple[YamlFile, CommentedMap]] = {}
        absent: set[str] = set()
        for file, seq, entry in self.entries(kind.name):
            name = self.loaded(entry.get("name"))
            if is_true(self.loaded(entry.get("absent"))):
                file.absent.append(entry)
                absent.add(name)
            elif name in live_names:
                existing.setdefault(name, (file, entry))
            elif not self.names or name in self.names:
                remove(seq, next(i for i, e in enumerate(seq) if e is entry))
                file.dirty = file.touched = True
                self.dropped[kind.name].append(str(name))
                if kind.text_file:
                    orphan = text_path(file.rel, self.loaded(entry.get(kind.text_file[0])))
                    if orphan is not None:
                        self.orphans.add(orphan)
        self.left_alone[kind.name] += [item.name for item in items if item.name in absent]
        items = [item for item in items if item.name not in absent]
        targets = {ref.target for ref in kind.refs}
        refs = References(self.live, {target: self.defined(target) for target in targets})
        for item in items:
            found = existing.get(item.name)
            written = kept_paths(kind, found[1] if found else None, self.variables)
            entry, comments = refs.entry(kind, item, written)
            if kind.text_file:
                entry = self.place_text(kind, entry, found)
            new = hide_secrets(entry_node(kind.name, entry, comments), self.secrets)
            if found:
                file, old = found
                file.touched = True
                file.dirty |= merge_entry(
                    kind, item.name, file.rel, old, new, self.variables, self.notices
                )
            else:
                self.append(kind.name, new)

    def place_text(
        self, kind: Kind, entry: dict[str, Any], found: tuple[YamlFile, CommentedMap] | None
    ) -> dict[str, Any]:
        """Inline text, or ``text_file``: an existing entry keeps its form and its file."""
        assert kind.text_file is not None
        file_field, text_field = kind.text_file
        text = entry[text_field]
        if found is not None and file_field not in found[1]:
            return entry
        if found is not None:
            file, old = found
            path = text_path(file.rel, self.loaded(old[file_field]))
            if path is not None and path not in self.texts and "\r" not in text:
                del entry[text_field]
                self.texts[path] = text
                return {**entry, file_field: self.loaded(old[file_field])}
            if path is not None:
                self.orphans.add(path)
        if "\r" in text or ("\n" not in text and len(text) <= LONG_TEXT):
            return entry
        path = self.allocate(kind, entry["name"])
        self.texts[path] = text
        del entry[text_field]
        return {**entry, file_field: path}

    def allocate(self, kind: Kind, name: str) -> str:
        """A free ``prompts/<slug>.md`` for a new text file (taken is case-insensitive)."""
        ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:60] or kind.singular
        number = 1
        while True:
            path = f"{kind.name}/{slug}{'' if number == 1 else f'-{number}'}.md"
            if path.lower() not in self.taken:
                self.taken.add(path.lower())
                return path
            number += 1

    def append(self, kind: str, new: CommentedMap) -> None:
        """A new entry at the end of ``<kind>.yaml`` (created if need be)."""
        rel = KINDS[kind].file
        if rel not in self.files:
            doc = CommentedMap()
            doc.yaml_set_start_comment(
                f"{kind.capitalize()} exported by `evictl export`. Edit freely: a re-export "
                "keeps comments and order."
            )
            self.files[rel] = YamlFile(rel, None, [doc])
        file = self.files[rel]
        docs = [doc for doc in file.docs if isinstance(doc.get(kind), list)] or file.docs
        doc = docs[-1]
        if not isinstance(doc.get(kind), list):
            doc[kind] = CommentedSeq()
        append(doc[kind], new)
        file.dirty = file.touched = True

    def changes(self) -> list[FileChange]:
        """Every file export touches, with what happens to it."""
        result = []
        for file in self.files.values():
            if not file.touched:
                continue
            content = self.dump(file) if file.dirty else file.original
            same = content == file.original
            result.append(FileChange(file.rel, "unchanged" if same else "write", content))
        for path, text in sorted(self.texts.items()):
            if leaked := [name for value, name in self.secrets.items() if value in text]:
                raise UserError(
                    f"{path}: the live text holds the value of ${{secret:{leaked[0]}}}, and a "
                    "text file cannot interpolate it; nothing was written (move the text inline "
                    f"in the manifest, as `text:`, and export again)"
                )
            target = self.root / path
            same = target.is_file() and target.read_bytes() == text.encode()
            result.append(FileChange(path, "unchanged" if same else "write", text))
        named = set(self.text_files())
        for path in sorted(self.orphans - named - set(self.texts)):
            if (self.root / path).is_file():
                result.append(FileChange(path, "remove"))
        return result

    def dump(self, file: YamlFile) -> str:
        """The file's new text, read back by evictl's own loader before anything is written."""
        text = self.absent_verbatim(file, yamlwrite.dump(*file.docs, indent=file.indent))
        problems = parse(text).problems
        if problems:
            line = problems[0].position[0] + 1
            raise UserError(
                f"{file.rel}: export would write YAML that does not read back "
                f"(line {line}: {problems[0].message}); nothing was written"
            )
        return text

    def absent_verbatim(self, file: YamlFile, text: str) -> str:
        """``text`` (``file`` as dumped) with its ``absent: true`` entries' original lines."""
        if not file.absent or file.original is None:
            return text
        places = {
            id(entry): (number, kind, index)
            for number, doc in enumerate(file.docs)
            for kind, seq in doc.items()
            if isinstance(seq, list)
            for index, entry in enumerate(seq)
        }
        dumped = list(self.yaml.load_all(text))
        lines = []
        for entry in file.absent:
            number, kind, index = places[id(entry)]
            lines.append((entry.lc.line, dumped[number][kind][index].lc.line))
        return keep_verbatim(file.original, text, lines)


def text_path(manifest: str, text_file: Any) -> str | None:
    """A ``text_file`` as a path relative to the root, or None if it is not one inside it."""
    if not isinstance(text_file, str) or not text_file or posixpath.isabs(text_file):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(manifest), text_file))
    return None if path == ".." or path.startswith("../") else path


def entry_node(kind: str, entry: dict[str, Any], comments: dict[str, Any]) -> CommentedMap:
    """An entry as a ruamel mapping in the documented key order, references commented."""
    ordered = {key: entry[key] for key in KINDS[kind].export_order if key in entry}
    mapping = node({**ordered, **entry})
    mapping.fa.set_block_style()
    for key, ref in comments.items():
        if isinstance(ref, Ref) and ref.comment:
            mapping.yaml_add_eol_comment(ref.comment, key)
        elif isinstance(ref, list):
            for index, item in enumerate(ref):
                if item.comment:
                    mapping[key].yaml_add_eol_comment(item.comment, index)
    return mapping


def write(root: Path, changes: Iterable[FileChange]) -> None:
    """Carry out the changes (byte for byte: no newline translation), after checking that none
    writes or removes through a symlink out of ``root`` or over a special file."""
    changes = list(changes)
    for change in changes:
        problem = refusal(root / change.path, root, _OUT)
        if problem is not None:
            target = root / change.path
            raise UserError(f"refusing to write {target}: it {problem}; nothing was written")
    for change in changes:
        target = root / change.path
        if change.action == "write":
            assert change.content is not None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(change.content, encoding="utf-8", newline="")
        elif change.action == "remove":
            target.unlink()


def summary(
    root: Path,
    selected: dict[str, list[LiveVersion]],
    dropped: dict[str, list[str]],
    left_alone: dict[str, list[str]],
    changes: Sequence[FileChange],
    dry_run: bool,
) -> str:
    """What was (or would be) exported, file by file, with counts."""
    numbers = {kind: len(items) - len(left_alone.get(kind, ())) for kind, items in selected.items()}
    counts = ", ".join(
        f"{n} {kind if n != 1 else KINDS[kind].singular}" for kind, n in numbers.items()
    )
    verbs = {"write": "would write" if dry_run else "wrote", "unchanged": "unchanged"}
    verbs["remove"] = "would remove" if dry_run else "removed"
    lines = [f"{'Dry run: would export' if dry_run else 'Exported'} {counts} to {root}"]
    lines += [f"  {verbs[c.action]:<12} {c.path}" for c in changes]
    for kind, names in dropped.items():
        listed = ", ".join(json.dumps(name, ensure_ascii=False) for name in names)
        lines.append(f"No longer in the account, dropped from the manifests: {kind} {listed}")
    for kind, names in left_alone.items():
        if names:
            listed = ", ".join(json.dumps(name, ensure_ascii=False) for name in names)
            lines.append(f"absent: true in the manifests, left alone: {kind} {listed}")
    tally = Counter(change.action for change in changes)
    lines.append(
        f"{tally['write']} files {'would change' if dry_run else 'written'}, "
        f"{tally['unchanged']} unchanged, {tally['remove']} {'to remove' if dry_run else 'removed'}"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    return "\n".join(lines)
