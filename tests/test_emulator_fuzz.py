"""Schemathesis over every prompt, tool, config and chat operation the emulator serves.

Cases come from the spec document itself (``reconciler/hume/openapi.yaml``), valid and invalid
alike, and are sent to the app in process. Two checks, both required to hold on every case: no
response is a 5xx, and every success response matches the operation's response schema. Seeded
and derandomized, so a run is reproducible; ``MAX_EXAMPLES`` keeps it to about 30 s on two cores.

Generated cases rarely get past the lookups and the prose rules: ids are random UUIDs (404), an
``evi_version`` is a random string (422). So each case is sent a second time aimed at live data
(an existing resource, and a body that the prose rules and references accept, its other fields as
generated), to reach the store and the views behind those checks as well.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance

from reconciler.emulator import EmulatorSettings, chats, checks, create_app
from reconciler.hume import spec

SPEC = Path(spec.__file__).with_name("openapi.yaml")
HEADERS = {"X-Hume-Api-Key": "fuzz"}
MAX_EXAMPLES = 100
CHECKS = [not_a_server_error, response_schema_conformance]
VALID = {"name": "fuzzed", "evi_version": "3", "parameters": "{}"}
"""Values for the required fields that a prose rule rejected; other rejected fields are dropped."""

APP = create_app(EmulatorSettings())

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20240601,
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "phases": {
            "examples": {"enabled": True},
            "coverage": {"enabled": True},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
    }
)
SERVED = [rf"^/v0/evi/({'|'.join(spec.KINDS)})(/|$)"]
SERVED += [f"^{re.escape(path)}$" for path in spec.CHAT_PATHS]
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG).include(path_regex="|".join(SERVED))


def call(method: str, path: str, **parts: Any) -> Any:
    """One request through Schemathesis's own transport; the JSON of its success response."""
    response = schema[path][method].Case(**parts).call(app=APP, headers=HEADERS)
    assert response.status_code < 300, response.text
    return response.json()


def existing(kind: str) -> str:
    """The id of a live resource of a kind with two versions, made through the API if missing.

    Made again whenever a case has deleted it; a config's references are themselves existing.
    """
    name = f"fuzz {kind}"
    listed = call("GET", f"/v0/evi/{kind}", query={"name": name})[f"{kind}_page"]
    if listed:
        return listed[0]["id"]
    body: dict[str, Any] = {"name": name, "text": "t", "parameters": "{}", "evi_version": "3"}
    if kind == "configs":
        body["prompt"] = {"id": existing("prompts"), "version": 0}
        body["tools"] = [{"id": existing("tools")}]
    created = call("POST", f"/v0/evi/{kind}", body=body)
    call("POST", f"/v0/evi/{kind}/{{id}}", path_parameters={"id": created["id"]}, body=body)
    return created["id"]


def pinned(ref: Any, kind: str) -> Any:
    """A generated reference pointed at an existing resource, at version 0, 1 or its latest."""
    if not isinstance(ref, dict) or not ref.get("id"):
        return ref
    version = ref.get("version")
    return {
        **ref,
        "id": existing(kind),
        "version": version % 2 if isinstance(version, int) else None,
    }


def aim_at_live_data(case: schemathesis.Case) -> bool:
    """Point a case at an existing resource and make its body pass the prose rules and references.

    Returns whether anything changed (if not, a second call would only repeat the first).
    """
    kind = case.operation.path.split("/")[3]
    if kind == "chats":
        return aim_at_a_chat(case)
    params = case.path_parameters or {}
    if "id" in params:
        params["id"] = existing(kind)
    if isinstance(params.get("version"), int):
        params["version"] %= 3
    if isinstance(case.body, dict):
        body = dict(case.body)
        for problem in checks.prose_problems(kind, body):
            field = str(problem.loc[1])
            if field in VALID:
                body[field] = VALID[field]
            else:
                body.pop(field, None)
        if "prompt" in body:
            body["prompt"] = pinned(body["prompt"], "prompts")
        if isinstance(body.get("tools"), list):
            body["tools"] = [pinned(tool, "tools") for tool in body["tools"]]
        case.body = body
    return "id" in params or isinstance(case.body, dict)


def aim_at_a_chat(case: schemathesis.Case) -> bool:
    """Point a chat read at a chat (seeded: chats have no create operation) and its config."""
    chat = chats.seed(APP.emulator.store, {"config_id": existing("configs")})
    if case.path_parameters and "id" in case.path_parameters:
        case.path_parameters["id"] = chat.id
    if isinstance(case.query, dict) and "config_id" in case.query:
        case.query["config_id"] = chat.config_id
    return True


@pytest.fixture(autouse=True)
def _empty_emulator() -> None:
    """Each operation's cases start from an empty emulator: a run does not depend on test order."""
    APP.emulator.store.reset()


@schema.parametrize()
def test_no_server_errors_and_responses_match_the_spec(case: schemathesis.Case) -> None:
    case.call_and_validate(app=APP, headers=HEADERS, checks=CHECKS)
    if aim_at_live_data(case):
        case.call_and_validate(app=APP, headers=HEADERS, checks=CHECKS)
