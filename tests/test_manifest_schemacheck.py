"""The fast meta-schema path agrees with jsonschema's ``check_schema`` on what is valid."""

from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from reconciler.manifest.schemacheck import _flat_meta_validator, schema_error

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
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_fast_path_agrees_with_check_schema(schema):
    try:
        Draft202012Validator.check_schema(schema)
        expected = True
    except SchemaError:
        expected = False
    assert _flat_meta_validator().is_valid(schema) is expected
    assert (schema_error(schema) is None) is expected


def test_other_dialects_use_their_own_meta_schema():
    draft7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "objec"}
    assert schema_error(draft7) is not None
    assert schema_error({**draft7, "type": "object"}) is None
