"""Two emulated Hume accounts, staging and production, as the environments of one evictl.toml.

Each is a real emulator server on its own loopback port that accepts only its own key, so a
request sent with the wrong environment's key or URL fails instead of passing unnoticed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from reconciler import workflow
from reconciler.emulator import EmulatorSettings
from reconciler.workflow import Connection
from tests.apply_support import SMALL_RETRY
from tests.conftest import RunningEmulator
from tests.plan_support import write

KEYS = {
    "staging": "staging-key-DO-NOT-PRINT-41c9",
    "production": "production-key-DO-NOT-PRINT-93ad",
}
KEY_VARIABLES = {"staging": "HUME_API_KEY_STAGING", "production": "HUME_API_KEY_PRODUCTION"}
MANIFESTS = """\
prompts:
  - name: greeter
    text: "${GREETING} from ${TIER}"
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
"""
PROJECT = """\
[environments.staging]
base_url = "{staging}"
api_key_env = "HUME_API_KEY_STAGING"
var_files = ["env/staging.env"]
vars = {{ TIER = "staging" }}

[environments.production]
base_url = "{production}"
api_key_env = "HUME_API_KEY_PRODUCTION"
var_files = ["env/production.env"]
"""


@contextmanager
def two_accounts() -> Iterator[dict[str, RunningEmulator]]:
    """A staging and a production server, each accepting only its own key."""
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(RunningEmulator(EmulatorSettings(api_key=key)))
            for name, key in KEYS.items()
        }


@dataclass(frozen=True)
class Project:
    """A manifest root with an evictl.toml naming both accounts."""

    root: Path
    servers: dict[str, RunningEmulator]

    def names(self, environment: str, kind: str = "prompts") -> list[str]:
        """The names of ``kind`` in that account, read with its key."""
        with self.servers[environment].client(KEYS[environment]) as client:
            page = client.get(f"/v0/evi/{kind}", params={"page_size": 100}).json()
        return sorted(item["name"] for item in page[f"{kind}_page"] if item)

    def text(self, environment: str, name: str = "greeter") -> str:
        """A prompt's latest text in that account."""
        with self.servers[environment].client(KEYS[environment]) as client:
            page = client.get("/v0/evi/prompts", params={"name": name}).json()
        return page["prompts_page"][0]["text"]


def make_project(
    tmp_path: Path, servers: dict[str, RunningEmulator], monkeypatch: pytest.MonkeyPatch
) -> Project:
    """Empty both accounts, export both keys, and write manifests, var files and evictl.toml."""
    for server in servers.values():
        httpx.post(f"{server.url}/_emulator/reset").raise_for_status()
    for environment, variable in KEY_VARIABLES.items():
        monkeypatch.setenv(variable, KEYS[environment])
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    monkeypatch.delenv("HUME_BASE_URL", raising=False)
    monkeypatch.delenv("EVICTL_ENV", raising=False)
    monkeypatch.setattr(workflow, "Connection", functools.partial(Connection, retry=SMALL_RETRY))
    root = write(tmp_path / "m", MANIFESTS)
    write(root / "env", "GREETING=Hello\n", "staging.env")
    write(root / "env", "GREETING=Hello\nTIER=production\n", "production.env")
    urls = {name: server.url for name, server in servers.items()}
    write(root, PROJECT.format(**urls), "evictl.toml")
    return Project(root, servers)
