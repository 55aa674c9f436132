"""Values written as the manifests write them: the one YAML style of export and of plan diffs.

Export writes tool parameters (a JSON string in Hume) as YAML mappings; plans show them the same
way, so a reviewer compares what a manifest says with what it will say. Pure: no I/O.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from typing import Any

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.manifest.yamlread import resolve_plain

_FLOW_WIDTH = 80
_YAML11 = pyyaml.resolver.Resolver()


def ambiguous(text: str) -> bool:
    """Whether ``text``, unquoted, would read as something other than this string."""
    yaml11 = _YAML11.resolve(pyyaml.ScalarNode, text, (True, False))
    return yaml11 != "tag:yaml.org,2002:str" or resolve_plain(text) is not text


def scalar(text: str, *, key: bool = False) -> str:
    """A string as written: ``${`` escaped in values (not keys), quoted when ambiguous."""
    written = text if key else text.replace("${", "$${")
    return DoubleQuotedScalarString(written) if ambiguous(written) else written


def node(value: Any) -> Any:
    """Plain data as ruamel nodes; short mappings and lists of scalars in flow style."""
    if isinstance(value, dict):
        mapping = CommentedMap()
        for key, item in value.items():
            mapping[scalar(str(key), key=True)] = node(item)
        if _flat(value.values(), value):
            mapping.fa.set_flow_style()
        return mapping
    if isinstance(value, list):
        sequence = CommentedSeq(node(item) for item in value)
        if _flat(value, value):
            sequence.fa.set_flow_style()
        return sequence
    return scalar(value) if isinstance(value, str) else value


def _flat(items: Iterable[Any], value: Any) -> bool:
    simple = all(not isinstance(i, dict | list) and "\n" not in str(i) for i in items)
    return simple and len(json.dumps(value, ensure_ascii=False)) <= _FLOW_WIDTH


def round_trip_yaml() -> YAML:
    """ruamel.yaml in round-trip mode, formatted like the examples; lines never folded."""
    rt = YAML()
    rt.width = 4096
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.preserve_quotes = True
    return rt


Indent = tuple[int, int, int]
"""Block indentation as ``YAML.indent`` takes it: (mapping, sequence, offset)."""


def dump(*documents: Any, indent: Indent | None = None) -> str:
    """``documents`` (ruamel nodes) as one YAML text, written by ``round_trip_yaml``; ``indent``:
    a file's own indentation, kept when it is rewritten (else the examples')."""
    yaml = round_trip_yaml()
    if indent is not None:
        mapping, sequence, offset = indent
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    stream = io.StringIO()
    yaml.dump_all(documents, stream)
    return stream.getvalue()


def as_yaml(value: Any) -> str:
    """``value`` (a mapping or a list) as a manifest writes it, in block style at the top."""
    top = node(value)
    if isinstance(top, CommentedMap | CommentedSeq):
        top.fa.set_block_style()
    return dump(top)
