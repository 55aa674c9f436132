"""The applier against the in-process emulator: order, parallelism, and convergence under faults.

Duplicate names are allowed here, so a create repeated after a lost response would leave a second
resource; ``inventory`` fails on that, and its exact version lists catch a repeated new version.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apply_support import (
    BASE,
    BASE_INVENTORY,
    CHANGED,
    CHANGED_ACTIONS,
    CHANGED_INVENTORY,
    CHANGED_PINS,
    SMALL_RETRY,
    InProcess,
    by_address,
    inventory,
    live,
    pins,
)
from tests.plan_support import write

VERSION_POST = r"^/v0/evi/\w+/[0-9a-f-]{36}$"
CREATE_POST = r"^/v0/evi/\w+$"
INJECTED = (503, 429, "dropped")


@pytest.fixture
def account() -> Iterator[InProcess]:
    running = InProcess()
    yield running
    running.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write(tmp_path / "m", BASE)


def all_done(outcomes: list[Any], expected: dict[str, tuple[str, ...]]) -> None:
    assert by_address(outcomes) == {address: ("done", acts) for address, acts in expected.items()}


BASE_ACTIONS = {
    f"{kind}/{name}": ("create",) for kind, names in BASE_INVENTORY.items() for name in names
}


def test_changes_run_in_dependency_order(account: InProcess, root: Path) -> None:
    """Every write comes after the writes of what it depends on (``depends_on``)."""
    account.apply(root)
    ids = {name: live(account, "prompts", name).id for name in ("greeter", "closer", "retired")}
    ids |= {name: live(account, "configs", name).id for name in ("desk", "night")}
    lookup = live(account, "tools", "lookup").id
    account.emulator.log.clear()
    write(root, CHANGED)
    planned, _ = account.apply(root)
    writes = [f"{e['method']} {e['path']}" for e in account.emulator.log if e["method"] != "GET"]

    def at(method: str, path: str) -> int:
        return writes.index(f"{method} /v0/evi/{path}")

    desk, night = at("POST", f"configs/{ids['desk']}"), at("POST", f"configs/{ids['night']}")
    assert desk > max(at("POST", f"prompts/{ids['greeter']}"), at("POST", "tools"))
    assert night > at("POST", f"prompts/{ids['closer']}") > at("PATCH", f"prompts/{ids['closer']}")
    assert f"PATCH /v0/evi/tools/{lookup}/version/0" in writes
    assert at("DELETE", f"prompts/{ids['retired']}") > max(desk, night)
    edges = {c.address: c.depends_on for c in planned.pending}
    assert edges["configs/desk"] == ("prompts/greeter", "tools/lookup", "tools/search")
    assert edges["prompts/retired"] == ("configs/desk", "configs/late")


DESKS = """\
prompts:
  - name: fast
    text: {text}
{slow}configs:
  - name: quick
    evi_version: "3"
    prompt: fast
  - name: late
    evi_version: "3"
    prompt: {late}
"""
BEFORE_SLOW = DESKS.format(text="one", slow="", late="fast")
AFTER_SLOW = DESKS.format(text="two", slow="  - name: slow\n    text: made slowly\n", late="slow")


def test_a_config_waits_only_for_what_it_pins(account: InProcess, tmp_path: Path) -> None:
    """A slow prompt holds back the config that pins it, not the others (no phase barrier)."""
    root = write(tmp_path / "m", BEFORE_SLOW)
    account.apply(root)
    ids = {name: live(account, "configs", name).id for name in ("quick", "late")}
    write(root, AFTER_SLOW)
    account.faults(latency_ms=400, methods=["POST"], path=CREATE_POST)
    account.emulator.log.clear()
    _, outcomes = account.apply(root)
    assert {o.status for o in outcomes} == {"done"}
    writes = [(e["method"], e["path"]) for e in account.emulator.log if e["method"] != "GET"]
    assert writes.index(("POST", f"/v0/evi/configs/{ids['quick']}")) < writes.index(
        ("POST", "/v0/evi/prompts")
    )
    assert writes[-1] == ("POST", f"/v0/evi/configs/{ids['late']}")
    assert pins(account, "late")["prompt"] == "slow v0"


def test_every_action_type_converges_and_pins_what_this_run_made(
    account: InProcess, root: Path
) -> None:
    all_done(account.apply(root)[1], BASE_ACTIONS)
    write(root, CHANGED)
    planned, outcomes = account.apply(root)
    assert {c.address: c.actions for c in planned.pending} == CHANGED_ACTIONS
    all_done(outcomes, CHANGED_ACTIONS)
    assert inventory(account) == CHANGED_INVENTORY
    assert {name: pins(account, name) for name in CHANGED_PINS} == CHANGED_PINS
    assert live(account, "tools", "lookup").version_description == "documented"
    assert account.plan(root).pending == ()


def test_a_config_pins_the_versions_it_finds(account: InProcess, tmp_path: Path) -> None:
    prompt = "prompts:\n  - name: greeter\n    text: {text}\n"
    root = write(tmp_path / "m", prompt.format(text="one"))
    account.apply(root)
    write(root, prompt.format(text="two"))
    account.apply(root)
    config = 'configs:\n  - name: desk\n    evi_version: "3"\n    prompt: greeter\n'
    write(root, config, "configs.yaml")
    _, outcomes = account.apply(root)
    assert by_address(outcomes) == {"configs/desk": ("done", ("create",))}
    assert pins(account, "desk") == {"prompt": "greeter v1", "tools": []}


@pytest.mark.parametrize("parallelism", [1, 3, 8])
def test_parallelism_bounds_the_writes_in_flight(
    account: InProcess, tmp_path: Path, parallelism: int
) -> None:
    """Twenty prompts and twenty tools: enough for the limiter's slow start to open to 8, and
    reaching 8 at once needs prompts and tools side by side. Only writes are slow, so the reads
    before them do not hold client slots by chance at the moment writes could fill all 8."""
    prompts = "".join(f"  - name: p{n}\n    text: t\n" for n in range(20))
    tools = "".join(f"  - name: t{n}\n    parameters: {{type: object}}\n" for n in range(20))
    root = write(tmp_path / "m", f"prompts:\n{prompts}tools:\n{tools}")
    account.faults(latency_ms=20, methods=["POST"])
    _, outcomes = account.apply(root, parallelism=parallelism)
    assert [o.status for o in outcomes] == ["done"] * 40
    assert account.peak == parallelism


def test_lost_creates_are_adopted_not_repeated(account: InProcess, root: Path) -> None:
    account.faults(drop_rate=1.0, methods=["POST"], path=CREATE_POST)
    _, outcomes = account.apply(root)
    all_done(outcomes, BASE_ACTIONS)
    assert account.statuses("POST") == [201, "dropped"] * 6
    assert inventory(account) == BASE_INVENTORY


def test_lost_new_versions_are_adopted_not_repeated(account: InProcess, root: Path) -> None:
    """Each new version's response is lost once; re-reading finds it (a prompt's expansion too)."""
    account.apply(root)
    write(root, CHANGED)
    account.faults(drop_rate=1.0, methods=["POST"], path=VERSION_POST)
    account.emulator.log.clear()
    _, outcomes = account.apply(root)
    all_done(outcomes, CHANGED_ACTIONS)
    assert [o.version for o in outcomes if "new_version" in o.actions] == [1] * 4
    assert account.statuses("POST", VERSION_POST).count("dropped") == 4
    assert inventory(account) == CHANGED_INVENTORY


def test_failed_new_versions_are_posted_again(account: InProcess, root: Path) -> None:
    """A 5xx stored nothing: after re-reading finds nothing, the POST is repeated, once."""
    account.apply(root)
    write(root, CHANGED)
    account.faults(error_rate=1.0, methods=["POST"], path=VERSION_POST, limit=4)
    account.emulator.log.clear()
    all_done(account.apply(root)[1], CHANGED_ACTIONS)
    assert sorted(account.statuses("POST", VERSION_POST), key=str) == [201] * 4 + [503] * 4
    assert inventory(account) == CHANGED_INVENTORY


FAULTS = {
    "5xx on writes": {"error_rate": 0.5, "methods": ["POST", "PATCH", "DELETE"], "seed": 1},
    "5xx on reads": {"error_rate": 0.3, "methods": ["GET"], "seed": 2},
    "429": {"rate_limit_rate": 0.4, "retry_after_s": 0, "seed": 3},
    "commit then drop": {"drop_rate": 0.5, "seed": 4},
    "mixed": {
        "error_rate": 0.2,
        "rate_limit_rate": 0.2,
        "drop_rate": 0.3,
        "retry_after_s": 0,
        "seed": 5,
    },
}


@pytest.mark.parametrize("faults", FAULTS.values(), ids=FAULTS.keys())
def test_apply_converges_under_faults_without_duplicates(
    account: InProcess, root: Path, faults: dict[str, Any]
) -> None:
    """At most 5 faults per apply, fewer than the client's 6 attempts: every change must land."""
    for manifests, actions, expected in (
        (BASE, BASE_ACTIONS, BASE_INVENTORY),
        (CHANGED, CHANGED_ACTIONS, CHANGED_INVENTORY),
    ):
        write(root, manifests)
        account.emulator.log.clear()
        account.faults(**faults, limit=5)
        all_done(account.apply(root)[1], actions)
        account.faults()
        assert [e for e in account.emulator.log if e["status"] in INJECTED] != []
        assert inventory(account) == expected
    assert {name: pins(account, name) for name in CHANGED_PINS} == CHANGED_PINS
    assert account.plan(root).pending == ()


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PATCH", r"^/v0/evi/prompts/[0-9a-f-]{36}$", [200, "dropped"] * 2 + [200]),
        ("PATCH", "/version/", [200, "dropped"] * 2 + [200]),
        ("DELETE", "", [200, "dropped", 404]),
    ],
    ids=["rename", "update_description", "delete"],
)
def test_lost_idempotent_writes_are_sent_again(
    account: InProcess, root: Path, method: str, path: str, expected: list[int | str]
) -> None:
    """A lost rename or description patch is repeated; a repeated delete's 404 means done."""
    account.apply(root)
    write(root, CHANGED)
    account.faults(drop_rate=1.0, methods=[method], path=path, limit=2)
    account.emulator.log.clear()
    all_done(account.apply(root)[1], CHANGED_ACTIONS)
    assert account.statuses(method, path) == expected
    assert inventory(account) == CHANGED_INVENTORY


def test_a_post_that_keeps_failing_is_tried_as_the_retry_policy_allows(
    account: InProcess, root: Path
) -> None:
    account.faults(error_rate=1.0, methods=["POST"], path="/prompts$")
    _, outcomes = account.apply(root)
    assert {o.status for o in outcomes if o.kind == "prompts"} == {"failed"}
    assert account.statuses("POST", "/prompts$") == [503] * 3 * SMALL_RETRY.attempts
    account.faults()
    assert inventory(account)["prompts"] == {}
