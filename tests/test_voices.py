"""Custom voices: a config's own voice must exist in the account, names compared the way Hume
stores them; the emulator serves the SDK's voices operations."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hume import HumeClient

from reconciler.cli import cli
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write

DESK = 'configs:\n  - {{name: desk, evi_version: "3", voice: {voice}}}\n'


@pytest.fixture
def server(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    return emulator


def evictl(server: RunningEmulator, *args: str | Path) -> Result:
    return CliRunner().invoke(cli, [*(str(arg) for arg in args), "--base-url", server.url])


def sdk(server: RunningEmulator) -> HumeClient:
    return HumeClient(api_key=KEY, base_url=server.url)


def test_the_sdk_lists_creates_and_deletes_voices(server: RunningEmulator) -> None:
    client = sdk(server)
    made = client.tts.voices.create(generation_id="gen-1", name="Narrator")
    assert (made.name, made.provider) == ("NARRATOR", "CUSTOM_VOICE")
    listed = list(client.tts.voices.list(provider="CUSTOM_VOICE"))
    assert [(v.id, v.name) for v in listed] == [(made.id, "NARRATOR")]
    assert list(client.tts.voices.list(provider="HUME_AI")) == []
    client.tts.voices.delete(name="narrator")
    assert list(client.tts.voices.list(provider="CUSTOM_VOICE")) == []


@pytest.mark.parametrize("voice", ["{name: narrator}", "{name: Narrator, provider: CUSTOM_VOICE}"])
def test_a_custom_voice_the_account_lacks_stops_the_plan(
    server: RunningEmulator, tmp_path: Path, voice: str
) -> None:
    sdk(server).tts.voices.create(generation_id="gen-1", name="Storyteller")
    root = write(tmp_path / "m", DESK.format(voice=voice))
    result = evictl(server, "plan", root)
    assert result.exit_code == 1
    name = "narrator" if "narrator" in voice else "Narrator"
    assert str(result.exception) == (
        f"evi.yaml:2: config 'desk': custom voice {name!r} does not exist in this Hume account "
        "(its custom voices: STORYTELLER)"
    )


def test_a_custom_voice_is_matched_as_hume_stores_it(
    server: RunningEmulator, tmp_path: Path
) -> None:
    sdk(server).tts.voices.create(generation_id="gen-1", name="narrator")
    root = write(tmp_path / "m", DESK.format(voice="{name: narrator}"))
    assert evictl(server, "apply", root, "--auto-approve").exit_code == 0
    assert evictl(server, "plan", root, "--detailed-exitcode").exit_code == 0
    write(root, DESK.format(voice="{name: NARRATOR}"))
    assert evictl(server, "plan", root, "--detailed-exitcode").exit_code == 0


def test_voice_library_voices_are_not_checked(server: RunningEmulator, tmp_path: Path) -> None:
    root = write(tmp_path / "m", DESK.format(voice="{name: ITO, provider: HUME_AI}"))
    assert evictl(server, "plan", root, "--detailed-exitcode").exit_code == 2
    reads = [
        entry["path"]
        for entry in server.client().get("/_emulator/requests").json()["requests"]
        if entry["method"] == "GET"
    ]
    assert "/v0/tts/voices" not in reads


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"name": "\\ud800", "generation_id": "g"}', 422),
        (b"[" * 100 + b"]" * 100, 422),
        (b'{"name": "  ", "generation_id": "g"}', 422),
        (b"x" * (2 * 1024 * 1024), 413),
    ],
    ids=["lone-surrogate", "deep", "blank-name", "too-large"],
)
def test_a_bad_voice_body_is_a_4xx(server: RunningEmulator, body: bytes, status: int) -> None:
    with server.client(check=False) as api:
        response = api.post("/v0/tts/voices", content=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
