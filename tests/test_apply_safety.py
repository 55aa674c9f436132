"""Apply must never leave the account worse: guards found by review, each with its repro."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from tests.conftest import KEY, RunningEmulator

V1 = """\
prompts:
  - name: old
    text: Old words
configs:
  - name: c
    evi_version: "3"
    prompt: old
"""
V2 = """\
prompts:
  - name: old
    absent: true
  - name: new
    text: New words
configs:
  - name: c
    evi_version: "3"
    prompt: new
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)


def evictl(emulator: RunningEmulator, root: Path, text: str, *args: str) -> Result:
    (root / "evi.yaml").write_text(text, encoding="utf-8")
    command = [*args, str(root), "--base-url", emulator.url]
    return CliRunner().invoke(cli, command, catch_exceptions=False)


def test_a_failed_config_keeps_the_prompt_it_still_uses(
    emulator: RunningEmulator, tmp_path: Path, env: None
) -> None:
    assert evictl(emulator, tmp_path, V1, "apply", "--auto-approve").exit_code == 0
    faults = {"error_rate": 1.0, "methods": ["POST"], "path": "/configs"}
    httpx.post(f"{emulator.url}/_emulator/faults", json=faults).raise_for_status()
    result = evictl(emulator, tmp_path, V2, "apply", "--auto-approve")
    assert result.exit_code == 1
    assert "skipped prompt old: delete: config c did not apply" in result.output
    with emulator.client() as api:
        names = [p["name"] for p in api.get("/v0/evi/prompts").json()["prompts_page"]]
        (config,) = api.get("/v0/evi/configs").json()["configs_page"]
    assert sorted(names) == ["new", "old"]
    assert config["prompt"]["name"] == "old"
    httpx.post(f"{emulator.url}/_emulator/faults", json={}).raise_for_status()
    assert evictl(emulator, tmp_path, V2, "apply", "--auto-approve").exit_code == 0
    assert evictl(emulator, tmp_path, V2, "plan", "--detailed-exitcode").exit_code == 0


def test_a_secret_description_is_patched_with_its_value(
    emulator: RunningEmulator, tmp_path: Path, env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOK", "abc123")
    text = "prompts:\n  - name: p\n    text: t\n    version_description: note\n"
    assert evictl(emulator, tmp_path, text, "apply", "--auto-approve").exit_code == 0
    secret = text.replace("note", '"note ${secret:TOK}"')
    assert evictl(emulator, tmp_path, secret, "apply", "--auto-approve").exit_code == 0
    with emulator.client() as api:
        (prompt,) = api.get("/v0/evi/prompts").json()["prompts_page"]
    assert prompt["version_description"] == "note abc123"
    assert evictl(emulator, tmp_path, secret, "plan", "--detailed-exitcode").exit_code == 0


def test_removing_a_config_prompt_is_planned_not_a_crash(
    emulator: RunningEmulator, tmp_path: Path, env: None
) -> None:
    assert evictl(emulator, tmp_path, V1, "apply", "--auto-approve").exit_code == 0
    result = evictl(emulator, tmp_path, V1.replace("    prompt: old\n", ""), "plan")
    assert result.exit_code == 0
    assert '~ prompt: "old v0" → (none)' in result.output


class _Html(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(b"<html>portal</html>")

    def log_message(self, *args: object) -> None:
        return


def test_a_non_json_answer_is_an_error_not_an_empty_account(tmp_path: Path, env: None) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        (tmp_path / "evi.yaml").write_text(V1, encoding="utf-8")
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = CliRunner().invoke(cli, ["plan", str(tmp_path), "--base-url", url])
    finally:
        server.shutdown()
    assert result.exit_code == 1
    assert "answered non-JSON (text/html)" in str(result.exception)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["plan", "examples/manifests", "--out", "/nonexistent/d/p.json"], "error: [Errno 2]"),
        (["apply", "{list}"], "error: {list}: not a plan file"),
        (["plan", "examples/manifests", "--emulator", "{notdb}"], "error: file is not a database"),
    ],
)
def test_bad_files_are_messages_not_tracebacks(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "list.json").write_text("[]", encoding="utf-8")
    (tmp_path / "notdb.sqlite").write_text("not a database", encoding="utf-8")
    paths = {"list": str(tmp_path / "list.json"), "notdb": str(tmp_path / "notdb.sqlite")}
    argv = [arg.format(**paths) for arg in args]
    if "--emulator" not in argv:
        argv += ["--emulator", str(tmp_path / "e.sqlite")]
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.startswith(message.format(**paths))
    assert "Traceback" not in done.stderr


def test_a_key_with_a_newline_is_refused_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", "sekrit\nX")
    (tmp_path / "evi.yaml").write_text(V1, encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", str(tmp_path), "--base-url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "control or non-ASCII" in str(result.exception)
    assert "sekrit" not in str(result.exception) + result.output


def test_a_secret_that_json_would_escape_stays_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOK", 'hunter"2\\x')
    text = 'prompts:\n  - name: p\n    text: t\n    version_description: "${secret:TOK}"\n'
    (tmp_path / "evi.yaml").write_text(text, encoding="utf-8")
    for fmt in ("text", "markdown", "json"):
        args = ["plan", str(tmp_path), "--emulator", str(tmp_path / "e.sqlite"), "--format", fmt]
        output = CliRunner().invoke(cli, args).output
        assert "hunter" not in output
        assert "(secret)" in output


def test_re_export_never_writes_a_secret_in_clear(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifests = tmp_path / "m"
    shutil.copytree("examples/manifests", manifests)
    db = str(tmp_path / "e.sqlite")
    token = "SUPERSECRET-77"
    apply = ["apply", str(manifests), "--emulator", db, "--auto-approve"]
    assert (
        CliRunner().invoke(cli, [*apply, "--var", f"SUPPORT_WEBHOOK_TOKEN={token}"]).exit_code == 0
    )
    monkeypatch.delenv("SUPPORT_WEBHOOK_TOKEN", raising=False)
    result = CliRunner().invoke(cli, ["export", "--out", str(manifests), "--emulator", db])
    assert result.exit_code == 0, result.output
    written = "".join(p.read_text(encoding="utf-8") for p in manifests.rglob("*.yaml"))
    assert token not in written
    assert "${secret:SUPPORT_WEBHOOK_TOKEN:-dev-token}" in written


def test_export_refuses_to_write_yaml_that_does_not_read_back(tmp_path: Path) -> None:
    manifest = tmp_path / "p.yaml"
    original = "prompts:\n  # gone soon\n  - name: gone\n    text: x\n"
    manifest.write_text(original, encoding="utf-8")
    args = ["export", "--out", str(tmp_path), "--kind", "prompts"]
    result = CliRunner().invoke(cli, [*args, "--emulator", str(tmp_path / "e.sqlite")])
    assert result.exit_code == 1
    assert "does not read back" in str(result.exception)
    assert manifest.read_text(encoding="utf-8") == original
