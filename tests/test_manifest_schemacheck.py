"""The fast meta-schema path agrees with jsonschema's ``check_schema`` on what is valid."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from reconciler.manifest.schemacheck import fast_valid, meta_schemas, schema_error

SCHEMAS = [
    {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
    {"type": "objec"},
    {"type": ["string", "null"], "enum": ["x", None]},
    {"type": "string", "pattern": "[unclosed"},
    {"type": "string", "pattern": "^[0-9]+$", "format": "date"},
    {"properties": {"a": {"type": 5}}},
    {"properties": {"a": {"properties": {"b": {"items": {"type": "nope"}}}}}},
    {"$defs": {"x": {"minimum": "one"}}, "$ref": "#/$defs/x"},
    {"$ref": 5},
    {"$id": 7},
    {"required": "a"},
    {"required": ["a", "a"]},
    {"minItems": -1},
    {"prefixItems": [{"type": "string"}], "items": False},
    {"dependentSchemas": {"a": {"type": "bogus"}}},
    {"dependencies": {"a": {"type": "bogus"}}},
    {"if": {"type": "object"}, "then": {"required": ["x"]}, "else": {"maxLength": "x"}},
    {"unevaluatedProperties": {"type": 1}},
    {"contentSchema": {"type": "wat"}},
    {"anyOf": []},
    {"allOf": [{"not": {"type": "object"}}]},
    {"additionalProperties": {"additionalProperties": {"type": "x"}}},
    {"examples": "not a list"},
    {"deprecated": "yes"},
    True,
    {"x-custom": {"type": "anything"}},
    {"$id": "https://example.com/a#b"},  # a $ref with a sibling keyword in the meta-schema
    {"$anchor": "1bad"},
    {"minLength": True},
    {"minLength": 1.0},
    {"properties": {"$ref": {"type": "bogus"}}},
    {"properties": {"$ref": {"type": "string"}}, "$ref": "#/$defs/x", "$defs": {"x": {}}},
    {"$id": "not a uri but jsonschema does not check"},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fast_path_agrees_with_check_schema(schema):
    try:
        Draft202012Validator.check_schema(schema)
        expected = True
    except SchemaError:
        expected = False
    assert fast_valid()(schema) is expected
    assert (schema_error(schema) is None) is expected


def test_checking_leaves_the_schema_as_written():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert fast_valid()(schema)
    assert schema == {"type": "object", "properties": {"a": {"type": "string"}}}


def test_other_dialects_use_their_own_meta_schema():
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "objec"}
    assert schema_error(draft7) is not None
    assert schema_error({**draft7, "type": "object"}) is None


def test_the_fast_path_reads_the_meta_schema_jsonschema_uses():
    from jsonschema_specifications import REGISTRY

    *vocabularies, meta = meta_schemas()
    assert meta == Draft202012Validator.META_SCHEMA
    assert vocabularies == [
        REGISTRY.contents(f"https://json-schema.org/draft/2020-12/{part['$ref']}")
        for part in meta["allOf"]
    ]
