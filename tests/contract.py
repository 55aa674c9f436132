"""Response checks against the contract of record, ``shared/spec/evi-openapi.yaml``.

Read independently of the package's bundled copy (which ``test_spec_copy`` keeps identical), so
an emulator bug cannot be hidden by the emulator's own reading of the document.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parent.parent
SHARED_SPEC = ROOT.parent / "shared" / "spec" / "evi-openapi.yaml"
BUNDLED_SPEC = ROOT / "reconciler" / "hume" / "openapi.yaml"
URI = "urn:test:contract"


@cache
def contract() -> dict[str, Any]:
    path = SHARED_SPEC if SHARED_SPEC.exists() else BUNDLED_SPEC
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


@cache
def _operations() -> list[tuple[str, re.Pattern[str], dict[str, Any]]]:
    ops = []
    for template, item in contract()["paths"].items():
        regex = re.compile("^" + re.sub(r"\{\w+\}", "[^/]+", template) + "$")
        ops += [
            (method.upper(), regex, op) for method, op in item.items() if method != "parameters"
        ]
    return ops


@cache
def _validator(pointer: str) -> Draft202012Validator:
    registry = Registry().with_resource(URI, Resource(contract(), DRAFT202012))
    return Draft202012Validator({"$ref": URI + pointer}, registry=registry)


def check_response(response: httpx.Response) -> None:
    """Fail unless a success response's body matches its operation's declared schema."""
    request = response.request
    matches = [
        op
        for method, regex, op in _operations()
        if method == request.method and regex.match(request.url.path)
    ]
    if not matches:
        return
    op = matches[0]
    declared = op["responses"].get(str(response.status_code))
    if declared is None:
        assert response.status_code >= 400, f"undeclared success {response.status_code}"
        return
    pointer = declared["content"]["application/json"]["schema"]["$ref"]
    errors = [e.message for e in _validator(pointer).iter_errors(response.json())]
    assert not errors, f"{request.method} {request.url.path} breaks {pointer}: {errors[:3]}"
