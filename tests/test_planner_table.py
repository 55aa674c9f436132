"""The pure planner, table-driven: (manifest YAML, live snapshot) → expected changes.

In the style of alembic's autogenerate compare tests: every case is one row of ``CASES``, run
through ``test_plan``; no HTTP, no emulator. Live versions are built by hand (``prompt``, ``tool``,
``config``, grouped by ``account``) and plans reduced to plain data by ``reduce``: only the
changes that do something, each as ``{actions, fields, description, reasons, depends_on}`` with
empty entries left out. A reference field's change is a ``Ref`` of its pins in words
(``greeter v0``, ``greeter (new version)``); reasons stay typed.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler import render
from reconciler.errors import UserError
from reconciler.kinds.base import LiveVersion
from reconciler.kinds.configs import LiveConfig
from reconciler.kinds.prompts import LivePrompt
from reconciler.kinds.tools import LiveTool
from reconciler.manifest import Manifests, load_manifests
from reconciler.planner.plan import (
    DependencyCreated,
    DependencyNewVersion,
    Plan,
    StalePin,
)
from reconciler.planner.planner import PlanError, fingerprint, plan
from reconciler.snapshot import Snapshot
from tests.plan_support import write

# Live versions, built by hand


def uid(address: str) -> str:
    """A stable, real UUID per ``kind/name``, so a config's embedded pins match the resources."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"evictl-test/{address}"))


PARAMS = {"type": "object", "properties": {"q": {"type": "string"}}}


def prompt(name: str = "greeter", v: int = 0, text: str = "Hi", **extra: Any) -> LivePrompt:
    fields = {"id": uid(f"prompts/{name}"), "version": v, "name": name, "text": text}
    return LivePrompt.model_validate({**fields, **extra})


def tool(name: str = "lookup", v: int = 0, params: Any = PARAMS, **extra: Any) -> LiveTool:
    parameters = params if isinstance(params, str) else json.dumps(params)
    fields = {"id": uid(f"tools/{name}"), "version": v, "name": name, "parameters": parameters}
    return LiveTool.model_validate({**fields, "tool_type": "FUNCTION", **extra})


def embed(live: LiveVersion, version_type: str = "FIXED") -> dict[str, Any]:
    """A prompt or tool version as a live config embeds it."""
    return {**live.model_dump(), "version_type": version_type}


def config(
    name: str = "desk",
    v: int = 0,
    prompt: LiveVersion | dict | None = prompt(),  # noqa: B008 (frozen value)
    tools: tuple[LiveVersion | dict, ...] = (tool(),),
    **extra: Any,
) -> LiveConfig:
    def pinned(item: LiveVersion | dict) -> dict[str, Any]:
        return embed(item) if isinstance(item, LiveVersion) else item

    fields = {"id": uid(f"configs/{name}"), "version": v, "name": name, "evi_version": "3"}
    return LiveConfig.model_validate(
        {
            **fields,
            "prompt": None if prompt is None else pinned(prompt),
            "tools": [pinned(item) for item in tools],
            **extra,
        }
    )


_KIND_OF = {LivePrompt: "prompts", LiveTool: "tools", LiveConfig: "configs"}


def account(*items: LiveVersion) -> Snapshot:
    """A snapshot of ``items``, each filed under its kind."""
    kinds: dict[str, list[LiveVersion]] = defaultdict(list)
    for item in items:
        kinds[_KIND_OF[type(item)]].append(item)
    return Snapshot.of(**kinds)


# Plans, reduced to plain data


@dataclass(frozen=True)
class Ref:
    """A reference field's change (``reference: True``), pins in words; never equal to a tuple."""

    before: Any
    after: Any


def reduce(result: Plan) -> dict[str, dict[str, Any]]:
    reduced = {}
    for change in result.pending:
        entry: dict[str, Any] = {"actions": change.actions}
        if change.fields:
            entry["fields"] = {
                f.path: Ref(render.pin(f.before), render.pin(f.after))
                if f.reference
                else (f.before, f.after)
                for f in change.fields
            }
        if change.description:
            entry["description"] = (change.description.before, change.description.after)
        if change.reasons:
            entry["reasons"] = change.reasons
        if change.depends_on:
            entry["depends_on"] = change.depends_on
        reduced[change.address] = entry
    return reduced


# Manifests: one flow-style line per kind, so each resource's source is ``evi.yaml:<line>``


def yaml(*lines: str) -> str:
    return "\n".join(lines) + "\n"


GREETER = "prompts: [{name: greeter, text: Hi}]"
LOOKUP = "tools: [{name: lookup, parameters: {type: object, properties: {q: {type: string}}}}]"
DESK = 'configs: [{name: desk, evi_version: "3", prompt: greeter, tools: [lookup]}]'
BASE = yaml(GREETER, LOOKUP, DESK)
LIVE = account(prompt(), tool(), config())

SHARED, MISSING = uid("prompts/shared"), uid("prompts/missing")
TOKEN = "tok-new-5f2a9c"
VARIABLES = {"TOKEN": TOKEN}
HOOK = "https://hooks.example.com/"

USES = ("prompts/greeter", "tools/lookup")
CREATED = (DependencyCreated(subject="prompts/greeter"), DependencyCreated(subject="tools/lookup"))
NEW = ("new_version",)
SERVER_DEFAULTS = {
    "nudges": {"enabled": False, "new_knob": 3},
    "timeouts": {
        "inactivity": {"enabled": True, "duration_secs": 600},
        "max_duration": {"enabled": True, "duration_secs": 1800},
    },
    "ellm_model": {"allow_short_responses": False},
    "event_messages": {"on_new_chat": {"enabled": False, "text": None}},
    "webhooks": [],
    "builtin_tools": [],
    "added_in_2030": {"a": 1},
}


def case(id: str, manifest: str, live: Snapshot, expected: dict | str, *targets: str) -> Any:
    """One row: ``expected`` is the reduced plan, or the message of the ``PlanError`` raised."""
    return pytest.param(manifest, live, expected, targets, id=id)


CASES = [
    case(
        "empty-account-creates-in-registry-order",
        yaml(DESK, LOOKUP, GREETER),
        account(),
        {
            "prompts/greeter": {"actions": ("create",)},
            "tools/lookup": {"actions": ("create",)},
            "configs/desk": {"actions": ("create",), "reasons": CREATED, "depends_on": USES},
        },
    ),
    case("live-matches", BASE, LIVE, {}),
    case(
        "server-defaults-and-unknown-live-fields",
        BASE,
        account(
            prompt(prompt_expansion={"enabled": True}, version_description="", added=True),
            tool(fallback_content=None, description=None, brand_new="x"),
            config(**SERVER_DEFAULTS),
        ),
        {},
    ),
    case(
        "prompt-text",
        yaml(GREETER),
        account(prompt(text="Hello")),
        {"prompts/greeter": {"actions": NEW, "fields": {"text": ("Hello", "Hi")}}},
    ),
    case(
        "description-only-no-new-version",
        yaml("prompts: [{name: greeter, text: Hi, version_description: Friendlier}]", LOOKUP, DESK),
        account(prompt(version_description="First draft"), tool(), config()),
        {
            "prompts/greeter": {
                "actions": ("update_description",),
                "description": ("First draft", "Friendlier"),
            }
        },
    ),
    case(
        "rename-keeps-pins",
        yaml("prompts: [{name: greeter, previous_names: [hello], text: Hi}]", LOOKUP, DESK),
        account(prompt("hello"), tool(), config(prompt=prompt("hello"))),
        {"prompts/greeter": {"actions": ("rename",)}},
    ),
    case(
        "rename-and-new-version",
        yaml("prompts: [{name: greeter, previous_names: [hello], text: Hi}]"),
        account(prompt("hello", v=4, text="Hey")),
        {
            "prompts/greeter": {
                "actions": ("rename", "new_version"),
                "fields": {"text": ("Hey", "Hi")},
            }
        },
    ),
    case(
        "absent-deletes-after-configs-change",
        yaml(
            "prompts: [{name: greeter, absent: true}]",
            LOOKUP,
            'configs: [{name: desk, evi_version: "3", tools: [lookup]}, {name: idle, evi_version: "3"}]',
        ),
        account(prompt(), tool(), config(), config("idle", prompt=None, tools=())),
        {
            "prompts/greeter": {"actions": ("delete",), "depends_on": ("configs/desk",)},
            "configs/desk": {
                "actions": NEW,
                "fields": {"prompt": Ref("greeter v0", None)},
                "depends_on": ("tools/lookup",),
            },
        },
    ),
    case(
        "absent-and-not-live",
        yaml("prompts: [{name: greeter, absent: true}]", "tools: [{name: lookup, absent: true}]"),
        account(prompt("other")),
        {},
    ),
    case(
        "cascade-prompt-new-version",
        BASE,
        account(prompt(text="Hello"), tool(), config(prompt=prompt(text="Hello"))),
        {
            "prompts/greeter": {"actions": NEW, "fields": {"text": ("Hello", "Hi")}},
            "configs/desk": {
                "actions": NEW,
                "fields": {"prompt": Ref("greeter v0", "greeter (new version)")},
                "reasons": (DependencyNewVersion(subject="prompts/greeter"),),
                "depends_on": USES,
            },
        },
    ),
    case(
        "stale-pin",
        BASE,
        account(prompt(v=2), tool(), config(prompt=prompt(v=0, text="Old"))),
        {
            "configs/desk": {
                "actions": NEW,
                "fields": {"prompt": Ref("greeter v0", "greeter v2")},
                "reasons": (StalePin(subject="prompts/greeter", pinned=0, resolves_to=2),),
                "depends_on": USES,
            }
        },
    ),
    case(
        "following-latest-is-repinned",
        BASE,
        account(prompt(v=2), tool(), config(prompt=embed(prompt(v=2), "LATEST"))),
        {
            "configs/desk": {
                "actions": NEW,
                "fields": {"prompt": Ref("greeter latest", "greeter v2")},
                "reasons": (StalePin(subject="prompts/greeter", pinned=None, resolves_to=2),),
                "depends_on": USES,
            }
        },
    ),
    case(
        "external-id-and-version-exists",
        yaml(f'configs: [{{name: desk, evi_version: "3", prompt: {{id: {SHARED}, version: 1}}}}]'),
        account(prompt("shared", v=3), config(prompt=prompt("shared", v=1), tools=())),
        {},
    ),
    case(
        "external-id-latest-while-live-pins-a-version",
        yaml(f'configs: [{{name: desk, evi_version: "3", prompt: {{id: {SHARED}}}}}]'),
        account(prompt("shared", v=3), config(prompt=prompt("shared", v=1), tools=())),
        {
            "configs/desk": {
                "actions": NEW,
                "fields": {"prompt": Ref("shared v1", "shared latest")},
                "reasons": (StalePin(subject="prompts/shared", pinned=1, resolves_to=None),),
            }
        },
    ),
    case(
        "external-id-missing",
        yaml(GREETER, f'configs: [{{name: desk, evi_version: "3", prompt: {{id: {MISSING}}}}}]'),
        account(prompt()),
        f"evi.yaml:2: prompt {MISSING} does not exist in Hume",
    ),
    case(
        "external-version-missing",
        yaml(f'configs: [{{name: desk, evi_version: "3", prompt: {{id: {SHARED}, version: 7}}}}]'),
        account(prompt("shared", v=3)),
        f"evi.yaml:1: prompt {SHARED} version 7 does not exist in Hume",
    ),
    case(
        "tools-unordered",
        yaml(
            GREETER,
            "tools: [{name: lookup, parameters: {type: object}}, {name: weather, parameters: {type: object}}]",
            'configs: [{name: desk, evi_version: "3", prompt: greeter, tools: [weather, lookup]}]',
        ),
        account(
            prompt(),
            tool(params={"type": "object"}),
            tool("weather", params={"type": "object"}),
            config(
                tools=(tool(params={"type": "object"}), tool("weather", params={"type": "object"}))
            ),
        ),
        {},
    ),
    case(
        "voice-by-name-matches-id-and-name",
        yaml('configs: [{name: desk, evi_version: "3", voice: {name: ITO, provider: HUME_AI}}]'),
        account(
            config(
                prompt=None,
                tools=(),
                voice={"id": uid("voices/ITO"), "name": "ITO", "provider": "HUME_AI"},
            )
        ),
        {},
    ),
    case(
        "voice-provider-differs",
        yaml('configs: [{name: desk, evi_version: "3", voice: {name: ITO}}]'),
        account(
            config(
                prompt=None,
                tools=(),
                voice={"id": uid("voices/ITO"), "name": "ITO", "provider": "HUME_AI"},
            )
        ),
        {
            "configs/desk": {
                "actions": NEW,
                "fields": {"voice.provider": ("HUME_AI", "CUSTOM_VOICE")},
            }
        },
    ),
    case(
        "tool-parameters-as-parsed-json",
        yaml(LOOKUP),
        account(tool(params=json.dumps(dict(reversed(PARAMS.items())), indent=3))),
        {},
    ),
    case(
        "tool-parameters-whole-value",
        yaml(
            "tools: [{name: lookup, parameters: {type: object, properties: {n: {type: integer}}}}]"
        ),
        account(tool()),
        {
            "tools/lookup": {
                "actions": NEW,
                "fields": {
                    "parameters": (
                        PARAMS,
                        {"type": "object", "properties": {"n": {"type": "integer"}}},
                    )
                },
            }
        },
    ),
    case(
        "omitted-setting-reverts-portal-edit",
        yaml('configs: [{name: desk, evi_version: "3"}]'),
        account(
            config(
                prompt=None,
                tools=(),
                timeouts={"inactivity": {"enabled": True, "duration_secs": 60}},
            )
        ),
        {
            "configs/desk": {
                "actions": NEW,
                "fields": {"timeouts.inactivity.duration_secs": (60, 600)},
            }
        },
    ),
    case(
        "two-live-with-one-name",
        BASE,
        account(prompt(), prompt(id=uid("prompts/twin")), tool(), config()),
        f"evi.yaml:1: 2 live prompts are named 'greeter' ({uid('prompts/greeter')}, "
        f"{uid('prompts/twin')}); evictl identifies resources by name: rename or delete the "
        "extras in Hume",
    ),
    case(
        "target-and-what-it-references",
        yaml(
            "prompts: [{name: greeter, text: Hi}, {name: other, text: Yo}]",
            "tools: [{name: unused, parameters: {type: object}}, {name: lookup, parameters: {}}]",
            'configs: [{name: idle, evi_version: "3", prompt: other}, '
            '{name: desk, evi_version: "3", prompt: greeter, tools: [lookup]}]',
        ),
        account(),
        {
            "prompts/greeter": {"actions": ("create",)},
            "tools/lookup": {"actions": ("create",)},
            "configs/desk": {"actions": ("create",), "reasons": CREATED, "depends_on": USES},
        },
        "config/desk",
    ),
    case(
        "target-unknown",
        BASE,
        account(),
        "--target configs/nope: no config named 'nope' in the manifests",
        "configs/nope",
    ),
    case(
        "secret-in-webhook-url-masked-both-sides",
        yaml(
            'configs: [{name: desk, evi_version: "3", '
            'webhooks: [{url: "https://hooks.example.com/${secret:TOKEN}", events: [chat_ended]}]}]'
        ),
        account(
            config(
                prompt=None,
                tools=(),
                webhooks=[{"url": f"{HOOK}tok-old-77e1b0", "events": ["chat_ended"]}],
            )
        ),
        {
            "configs/desk": {
                "actions": NEW,
                "fields": {
                    "webhooks[0].url": (f"{HOOK}(secret; differs)", f"{HOOK}(secret)"),
                },
            }
        },
    ),
]
ERRORS = {p.id for p in CASES if isinstance(p.values[2], str)}
PLANNED = [p for p in CASES if p.id not in ERRORS]


def load(tmp_path: Path, manifest: str) -> Manifests:
    return load_manifests(write(tmp_path, manifest), VARIABLES)


@pytest.mark.parametrize(("manifest", "live", "expected", "targets"), CASES)
def test_plan(
    tmp_path: Path, manifest: str, live: Snapshot, expected: dict | str, targets: tuple[str, ...]
) -> None:
    desired = load(tmp_path, manifest)
    if isinstance(expected, str):
        with pytest.raises(UserError) as caught:
            plan(desired, live, targets=targets)
        assert isinstance(caught.value, PlanError) or expected.startswith("--target")
        assert str(caught.value) == expected
        return
    got = reduce(plan(desired, live, targets=targets))
    assert got == expected
    assert list(got) == list(expected)  # dependency (registry) order


@pytest.mark.parametrize(("manifest", "live", "expected", "targets"), PLANNED)
def test_plan_is_pure(
    tmp_path: Path, manifest: str, live: Snapshot, expected: dict, targets: tuple[str, ...]
) -> None:
    desired = load(tmp_path, manifest)
    inputs = (desired.model_dump(), live.model_dump())
    first = plan(desired, live, targets=targets)
    second = plan(desired, live, targets=targets)
    assert first == second
    assert (desired.model_dump(), live.model_dump()) == inputs  # nothing mutated
    assert first.fingerprint == fingerprint(first.reads)
    assert first.fingerprint.startswith("sha256:")
    stranger = prompt("nobody-manages-this", text="unrelated words")
    resources = {**live.resources, "prompts": (*live.of_kind("prompts"), stranger)}
    unrelated = Snapshot(resources=resources)
    assert plan(desired, unrelated, targets=targets).fingerprint == first.fingerprint


@pytest.mark.parametrize(("manifest", "live", "expected", "targets"), PLANNED)
def test_dump_round_trips(
    tmp_path: Path, manifest: str, live: Snapshot, expected: dict, targets: tuple[str, ...]
) -> None:
    desired = load(tmp_path, manifest)
    result = plan(desired, live, targets=targets)
    dumped = json.loads(json.dumps(result.dump(desired.redact)))
    assert dumped["format_version"] == 2
    assert [c["address"] for c in dumped["changes"]] == [c.address for c in result.changes]
    assert TOKEN not in json.dumps(dumped)
    back = Plan.model_validate(dumped)
    assert back == render.redacted(result, desired.redact)
    assert reduce(back) == expected
    assert [type(r) for c in back.changes for r in c.reasons] == [
        type(r) for c in result.changes for r in c.reasons
    ]


def test_a_secret_reaches_the_body_but_not_the_dump(tmp_path: Path) -> None:
    """The plan holds the real URL (apply posts it); its dump, and so its round trip, do not."""
    (secret_case,) = [p for p in CASES if p.id == "secret-in-webhook-url-masked-both-sides"]
    manifest, live, *_ = secret_case.values
    desired = load(tmp_path, manifest)
    result = plan(desired, live)
    (change,) = result.pending
    assert change.body["webhooks"][0]["url"] == f"{HOOK}{TOKEN}"
    back = Plan.model_validate(result.dump(desired.redact))
    assert back.pending[0].body["webhooks"][0]["url"] == f"{HOOK}(secret)"
