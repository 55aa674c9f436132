"""A rate limit learnt by one command paces the next: the cache file (``ratememory``) and two
real ``evictl`` processes behind a real emulator process's limit."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.client import connect, ratememory
from reconciler.client.api import HumeClient, RetryPolicy
from reconciler.client.limiter import AdaptiveRate
from reconciler.client.ratememory import Learnt
from tests.conftest import KEY, RunningEmulator

WHERE = "https://api.hume.ai HUME_API_KEY"


def test_a_rate_is_recalled_while_fresh_and_forgotten_after(own_cache: Path) -> None:
    ratememory.remember(WHERE, Learnt(12.5, 13.0), at=1000.0)
    assert ratememory.recall(WHERE, now=1000.0 + ratememory.FRESH_S) == Learnt(12.5, 13.0)
    assert ratememory.recall(WHERE, now=1001.0 + ratememory.FRESH_S) is None
    assert ratememory.recall("https://api.hume.ai STAGING_KEY", now=1000.0) is None
    assert ratememory.recall(WHERE, now=999.0) is None, "a time from the future is not trusted"


def test_remembering_keeps_fresh_entries_of_other_accounts_and_drops_stale_ones(
    own_cache: Path,
) -> None:
    ratememory.remember("old", Learnt(1.0, None), at=0.0)
    ratememory.remember("other", Learnt(2.0, None), at=ratememory.FRESH_S)
    ratememory.remember(WHERE, Learnt(3.0, None), at=ratememory.FRESH_S + 1)
    kept = json.loads((own_cache / ratememory.FILE).read_text(encoding="utf-8"))
    assert sorted(kept) == [WHERE, "other"]
    assert [p.name for p in own_cache.iterdir()] == [ratememory.FILE], "no temporary file left"


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"x": {"rate": "fast", "at": 1}}'])
def test_an_unreadable_memory_is_ignored(own_cache: Path, content: str) -> None:
    (own_cache / ratememory.FILE).write_text(content, encoding="utf-8")
    assert ratememory.recall("x", now=1.0) is None
    ratememory.remember("x", Learnt(4.0, None), at=1.0)
    assert ratememory.recall("x", now=1.0) == Learnt(4.0, None)


def test_an_unwritable_cache_is_no_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("", encoding="utf-8")
    monkeypatch.setenv("EVICTL_CACHE_DIR", str(blocked / "evictl"))
    ratememory.remember(WHERE, Learnt(5.0, None), at=1.0)
    assert ratememory.recall(WHERE, now=1.0) is None


def test_the_cache_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EVICTL_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ratememory.cache_dir() == tmp_path / "evictl"


def test_a_rate_learnt_later_is_not_overwritten_by_an_older_one(own_cache: Path) -> None:
    """Two commands ending together: the one whose 429 came last keeps its rate."""
    ratememory.remember(WHERE, Learnt(8.0, 9.0), at=100.0)
    ratememory.remember(WHERE, Learnt(20.0, None), at=90.0)
    assert ratememory.recall(WHERE, now=100.0) == Learnt(8.0, 9.0)


@pytest.mark.parametrize(
    "entry",
    [
        '{"rate": NaN, "at": 1.0}',
        '{"rate": Infinity, "at": 1.0}',
        '{"rate": 5, "at": 1.0, "limit": Infinity}',
        '{"rate": 5, "at": 1.0, "limit": -2}',
        '{"rate": true, "at": 1.0}',
        '{"rate": 5, "at": 9e18}',
    ],
)
def test_odd_numbers_are_ignored_and_never_written_back(own_cache: Path, entry: str) -> None:
    """NaN, infinity, a negative limit, a boolean rate, or a time far in the future (which would
    otherwise win over every later rate) are treated as absent."""
    odd = f'{{"{WHERE}": {entry}, "other": {entry}}}'
    (own_cache / ratememory.FILE).write_text(odd, encoding="utf-8")
    assert ratememory.recall(WHERE, now=1.0) is None
    ratememory.remember(WHERE, Learnt(4.0, None), at=2.0)
    assert ratememory.recall(WHERE, now=2.0) == Learnt(4.0, None)
    written = json.loads((own_cache / ratememory.FILE).read_text(encoding="utf-8"))
    assert list(written) == [WHERE]


def test_an_entry_from_a_clock_ahead_does_not_block_the_memory(own_cache: Path) -> None:
    """After the wall clock steps back, an entry a few minutes in the future is dropped."""
    now = time.time()
    ratememory.remember(WHERE, Learnt(9.0, None), at=now + 300)
    ratememory.remember(WHERE, Learnt(4.0, None), at=now)
    assert ratememory.recall(WHERE, now=now) == Learnt(4.0, None)


def test_a_remembered_rate_is_never_below_the_slowest_pace() -> None:
    """A hand-edited 0.0001 requests/s would hold a command for hours without a word."""
    assert AdaptiveRate(rate=0.0001).rate == AdaptiveRate().min_rate


def test_the_first_estimate_alone_is_not_worth_keeping() -> None:
    """The first 429's estimate includes the burst; only a later decrease (or a start from a
    remembered rate) gives a rate the next command can start at."""
    fresh = AdaptiveRate()
    for n in range(10):
        fresh.sent(n / 100)
        fresh.served(n / 100)
    fresh.sent(0.1)
    fresh.limited(0.12, sent_at=0.1, retry_after=1)
    assert (fresh.rate is not None, fresh.worth_keeping) == (True, False)
    fresh.served(1.2)
    fresh.limited(2.5, sent_at=2.4, retry_after=1)
    assert fresh.worth_keeping
    resumed = AdaptiveRate(rate=10)
    resumed.sent(0.0)
    resumed.served(0.0)
    resumed.limited(1.0, sent_at=1.0, retry_after=None)
    assert resumed.worth_keeping


def run_client(own_cache: Path, statuses: list[int]) -> Learnt | None:
    """A networked client answered ``statuses`` in turn (429s with ``Retry-After: 0``), one GET
    each; what it left in the cache."""
    answers = iter(statuses)

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        body = {"prompts_page": [], "total_pages": 1}
        return httpx.Response(status, json=body, headers={"retry-after": "0"})

    async def go() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://x")
        policy = RetryPolicy(attempts=5, initial_wait=0, max_wait=0)
        async with HumeClient(http, retry=policy, remember_as=WHERE) as client:
            for _ in range(statuses.count(200)):
                await client.request("GET", "/v0/evi/prompts")
                await asyncio.sleep(0.01)

    asyncio.run(go())
    return ratememory.recall(WHERE)


def test_one_429_from_a_fresh_start_is_not_remembered_but_from_a_remembered_one_is(
    own_cache: Path,
) -> None:
    assert run_client(own_cache, [200] * 5 + [429] + [200] * 3) is None
    ratememory.remember(WHERE, Learnt(50.0, None), at=time.time() - 5)
    kept = run_client(own_cache, [200] * 5 + [429] + [200] * 3)
    assert kept is not None and kept.rate < 50.0


def test_no_home_folder_means_no_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Path.home() fails for a user with no HOME and no passwd entry: a cache, never an error."""
    monkeypatch.delenv("EVICTL_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def nowhere() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", nowhere)
    assert ratememory.cache_dir() is None
    ratememory.remember(WHERE, Learnt(5.0, None), at=1.0)
    assert ratememory.recall(WHERE, now=1.0) is None


def answers(emulator: RunningEmulator, since: int) -> list[dict[str, Any]]:
    return list(httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"][since:])


def test_the_second_command_starts_at_the_rate_the_first_learnt(
    emulator: RunningEmulator, tmp_path: Path, own_cache: Path
) -> None:
    """``evictl apply`` meets a 20/s limit (burst 20) with requests in flight and learns it;
    ``evictl plan`` right after, another process, is paced from its first request: no 429, and
    its requests about 1/20 s apart (unpaced, the bucket's burst would serve them at once)."""
    root = tmp_path / "m"
    root.mkdir()
    prompts = "".join(
        f"  - name: p{n}\n    text: t{n}\n    prompt_expansion: {{enabled: true}}\n"
        for n in range(24)
    )
    (root / "evi.yaml").write_text(f"prompts:\n{prompts}", encoding="utf-8")
    env = {**os.environ, "HUME_API_KEY": KEY}
    httpx.post(f"{emulator.url}/_emulator/rate", json={"rate": 20})
    seen = 0
    runs = []
    warnings = []
    for command in (["apply", "--auto-approve"], ["plan"]):
        argv = [sys.executable, "-m", "reconciler", *command, str(root)]
        done = subprocess.run(
            [*argv, "--base-url", emulator.url], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        runs.append(answers(emulator, seen))
        warnings.append(done.stderr)
        seen += len(runs[-1])
    assert "No changes" in done.stdout
    assert (
        "warning: the API at 127.0.0.1 answered 429 Too Many Requests: evictl paces"
        in (warnings[0])
    )
    assert "warning: pacing requests at " in warnings[1]
    assert str(own_cache / ratememory.FILE) in warnings[1]
    refused = [[a["status"] for a in run].count(429) for run in runs]
    assert refused[0] >= 2 and refused[1] == 0, refused
    plan = runs[1]
    assert len(plan) > 20
    assert plan[20]["at"] - plan[0]["at"] > 20 / 20 * 0.7, "paced, not a burst"
    memory = (own_cache / ratememory.FILE).read_text(encoding="utf-8")
    assert list(json.loads(memory)) == [f"{emulator.url} HUME_API_KEY"]
    assert KEY not in memory


def test_the_memory_names_the_api_without_credentials_or_query() -> None:
    """A user, password or token in a base URL would otherwise be written to the cache file."""
    client = connect(base_url="https://me:s3cret@api.example.com/v?token=t0k#x", api_key="k")
    asyncio.run(client.__aexit__())
    assert client.remember_as == "https://api.example.com/v HUME_API_KEY"
