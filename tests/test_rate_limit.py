"""A rate limit: the emulator's token bucket (HTTP, control endpoint, CLI flags), the client's
adaptive pacing (``AdaptiveRate`` on a fake clock), and an apply that completes behind a limit."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.client.api import HumeClient, RetryPolicy
from reconciler.client.limiter import AdaptiveRate, Pacer
from reconciler.emulator.ratelimit import RateLimit
from reconciler.errors import UserError
from tests.apply_support import (
    BASE,
    BASE_INVENTORY,
    CHANGED,
    CHANGED_ACTIONS,
    CHANGED_INVENTORY,
    InProcess,
    by_address,
    evictl,
    inventory,
)
from tests.conftest import KEY, RunningEmulator, free_port
from tests.plan_support import write

# The emulator's bucket, over HTTP


def set_rate(emulator: RunningEmulator, **settings: object) -> httpx.Response:
    return httpx.post(f"{emulator.url}/_emulator/rate", json=settings)


def test_beyond_the_burst_a_request_is_answered_429_with_retry_after(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    """Rate 0.5/s: the 4th request finds the bucket nearly empty, a token 2 s away."""
    assert set_rate(emulator, rate=0.5, burst=3).json() == {"rate": 0.5, "burst": 3}
    assert [api.get("/v0/evi/prompts").status_code for _ in range(3)] == [200] * 3
    refused = api.post("/v0/evi/prompts", json={"name": "p", "text": "t"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "2"
    assert refused.json() == {"error": "Too Many Requests", "message": "rate limit exceeded"}
    assert set_rate(emulator).json() == {"rate": None, "burst": None}
    assert api.get("/v0/evi/prompts").json()["prompts_page"] == [], "the refused POST did nothing"


def test_below_the_rate_every_request_is_served(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    """A burst of 1 at 20/s: requests at least 0.1 s apart each find a token."""
    set_rate(emulator, rate=20, burst=1)
    statuses = []
    for _ in range(5):
        statuses.append(api.get("/v0/evi/tools").status_code)
        time.sleep(0.1)
    assert statuses == [200] * 5


def test_control_endpoints_are_not_limited_and_refusals_take_no_token(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    set_rate(emulator, rate=0.5, burst=1)
    assert api.get("/v0/evi/prompts").status_code == 200
    assert [api.get("/v0/evi/prompts").status_code for _ in range(3)] == [429] * 3
    for _ in range(5):
        assert httpx.get(f"{emulator.url}/_emulator/rate").status_code == 200
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert [entry["status"] for entry in log] == [200, 429, 429, 429]


def test_the_control_endpoint_sets_shows_and_clears_the_limit(emulator: RunningEmulator) -> None:
    url = f"{emulator.url}/_emulator/rate"
    assert httpx.get(url).json() == {"rate": None, "burst": None}
    assert set_rate(emulator, rate=2.5).json() == {"rate": 2.5, "burst": 2}, "one second's worth"
    assert set_rate(emulator, rate=0.2).json()["burst"] == 1
    bad = set_rate(emulator, rate=-1, burst=True, per="minute")
    assert bad.status_code == 422
    assert [d["loc"] for d in bad.json()["detail"]] == [["body", "per"]]
    bad = set_rate(emulator, rate=-1, burst=True)
    assert {tuple(d["loc"]): d["msg"] for d in bad.json()["detail"]} == {
        ("body", "rate"): "must be above 0 and at most 100000 requests per second",
        ("body", "burst"): "must be a whole number of requests from 1 to 1000000",
    }
    assert set_rate(emulator, burst=3).json()["detail"][0]["loc"] == ["body", "burst"]
    assert httpx.get(url).json() == {"rate": 0.2, "burst": 1}, "a refused setting changes nothing"
    httpx.post(f"{emulator.url}/_emulator/reset").raise_for_status()
    assert httpx.get(url).json() == {"rate": None, "burst": None}


def test_the_request_log_times_each_answer(emulator: RunningEmulator) -> None:
    """``at`` is the emulator's clock when it answered: two requests 50 ms of latency apart."""
    httpx.post(f"{emulator.url}/_emulator/faults", json={"latency_ms": 50}).raise_for_status()
    for _ in "ab":
        httpx.get(f"{emulator.url}/v0/evi/prompts", headers={"X-Hume-Api-Key": KEY})
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert [entry["status"] for entry in log[-2:]] == [200, 200]
    assert 0.05 <= log[-1]["at"] - log[-2]["at"] < 1


def test_the_bucket_refills_at_its_rate() -> None:
    """On a fake monotonic clock: a token every 1/rate seconds, never above the burst."""
    now = [0.0]
    bucket = RateLimit(4, 2, clock=lambda: now[0])
    assert [bucket.take(), bucket.take(), bucket.take()] == [None, None, 1]
    now[0] += 0.25
    assert [bucket.take(), bucket.take()] == [None, 1]
    now[0] += 60
    assert [bucket.take(), bucket.take(), bucket.take()] == [None, None, 1]
    slow = RateLimit(0.25, 1, clock=lambda: now[0])
    assert [slow.take(), slow.take()] == [None, 4], "Retry-After: whole seconds to the next token"


@pytest.fixture
def served() -> Iterator[str]:
    """``evictl emulator --rate-limit 1 --rate-burst 2`` as a real server process."""
    port = free_port()
    command = [sys.executable, "-m", "reconciler", "emulator", "--port", str(port)]
    child = subprocess.Popen([*command, "--rate-limit", "1", "--rate-burst", "2"])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/_emulator/rate", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and child.poll() is None, "no emulator"
                time.sleep(0.05)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=10)


def test_the_cli_flags_set_the_limit(served: str) -> None:
    assert httpx.get(f"{served}/_emulator/rate").json() == {"rate": 1.0, "burst": 2}
    headers = {"X-Hume-Api-Key": KEY}
    statuses = [httpx.get(f"{served}/v0/evi/configs", headers=headers).status_code for _ in "abc"]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--rate-limit", "0"], "--rate-limit must be above 0"),
        (["--rate-limit", "5", "--rate-burst", "0"], "--rate-burst must be a whole number"),
        (["--rate-burst", "4"], "--rate-burst needs a rate"),
    ],
)
def test_bad_rate_flags_are_a_clear_error(flags: list[str], message: str) -> None:
    """A ``UserError``: ``error: <message>`` and exit code 1, no traceback."""
    result = evictl("emulator", *flags)
    assert isinstance(result.exception, UserError)
    assert message in str(result.exception)


# The client's limiter, on a fake clock


def test_unpaced_until_a_429() -> None:
    limiter = AdaptiveRate()
    for now in (0.0, 0.0, 0.0, 0.001):
        assert limiter.delay(now) == 0
        limiter.sent(now)
        limiter.served(now + 0.01)
    assert limiter.rate is None


def ten_per_second(limiter: AdaptiveRate) -> None:
    """Ten requests sent a tenth of a second apart from 0, each served."""
    for tenth in range(10):
        limiter.sent(tenth / 10)
        limiter.served(tenth / 10)


def test_a_429_pauses_every_request_and_sets_the_rate_from_the_served_rate() -> None:
    """Ten served in the first second: the rate is 0.9 x 10/s, requests then 1/9 s apart."""
    limiter = AdaptiveRate(decrease=0.9)
    ten_per_second(limiter)
    limiter.sent(0.97)
    limiter.limited(1.0, sent_at=0.97, retry_after=2)
    assert limiter.rate == pytest.approx(9)
    assert limiter.delay(1.0) == pytest.approx(2), "every request waits out Retry-After"
    assert limiter.delay(3.0) == 0
    limiter.sent(3.0)
    limiter.sent(3.0)
    assert limiter.delay(3.0) == pytest.approx(1 / 9)
    assert limiter.delay(10) == 0
    limiter.sent(10)
    limiter.sent(10)
    assert limiter.delay(10) == pytest.approx(1 / 9), "idle time saves one interval, not a burst"


def test_the_first_rate_counts_requests_still_in_flight_before_the_refused_one() -> None:
    """Requests sent before the refused one took their tokens even if their answers have not come:
    four answered and four in flight, sent over 0.4 s, then a 429 with no Retry-After."""
    limiter = AdaptiveRate(decrease=1.0)
    for n in range(8):
        limiter.sent(n / 20)
    for n in range(4):
        limiter.served(n / 20)
    limiter.sent(0.4)
    limiter.limited(0.5, sent_at=0.4, retry_after=None)
    assert limiter.rate == pytest.approx(8 / 0.5)


def test_a_late_request_does_not_push_the_schedule_back_nor_make_up_more_than_one_interval() -> (
    None
):
    limiter = AdaptiveRate(rate=10)
    limiter.sent(0.0)
    limiter.sent(0.0)
    assert limiter.delay(0.0) == pytest.approx(0.1)
    limiter.sent(0.15)
    assert limiter.delay(0.15) == pytest.approx(0.05), "due at 0.2, as if the last had left at 0.1"
    limiter.sent(1.0)
    assert limiter.delay(1.0) == 0, "a second request may follow at once"
    limiter.sent(1.0)
    assert limiter.delay(1.0) == pytest.approx(0.1), "but not a third"


def test_slow_start_opens_the_window_with_each_request_served_until_the_first_429() -> None:
    """Two in flight at first, half a request more per request served; once a 429 has set a rate,
    pacing alone governs (the client's concurrency ceiling still applies)."""
    limiter = AdaptiveRate(window=2, opening=0.5)
    assert (limiter.opens(1), limiter.opens(2)) == (True, False)
    for n in range(4):
        limiter.sent(n / 10)
        limiter.served(n / 10)
    assert (limiter.opens(3), limiter.opens(4)) == (True, False)
    limiter.sent(0.5)
    limiter.limited(0.6, sent_at=0.5, retry_after=None)
    assert limiter.rate is not None
    assert limiter.opens(1000)
    assert AdaptiveRate(rate=5).opens(1000), "a remembered rate needs no slow start"


def test_the_pacer_holds_a_request_beyond_the_window_until_one_is_answered() -> None:
    async def go() -> tuple[bool, bool]:
        pacer = Pacer(AdaptiveRate(window=2))
        first, _ = await pacer.wait(), await pacer.wait()
        third = asyncio.ensure_future(pacer.wait())
        await asyncio.sleep(0.05)
        held = not third.done()
        pacer.answered(first, None, None)
        await asyncio.wait_for(third, 1)
        return held, pacer.in_flight == 2

    assert asyncio.run(go()) == (True, True)


def test_later_decreases_cut_the_rate_to_what_was_served_between_refusals() -> None:
    """Requests sent between two refused ones, over the time between their sending: what a token
    bucket, empty both times, let through (the measured limit, ``ceiling``); the rate is then
    ``decrease`` x that or x the paced rate, whichever is lower."""
    limiter = AdaptiveRate(decrease=0.5, min_step=0, growth=0, min_rate=0.1, trust_s=2.0)
    ten_per_second(limiter)
    limiter.limited(1.0, sent_at=0.95, retry_after=1)
    assert (limiter.rate, limiter.ceiling) == (pytest.approx(5), None)
    limiter.served(0.9)
    for sent_at in (2.0, 2.2):
        limiter.served(sent_at)
    limiter.limited(3.0, sent_at=2.95, retry_after=1)
    assert limiter.ceiling == pytest.approx(2 / 2.0), "2 served from 0.95 to 2.95; 0.9 before"
    assert limiter.rate == pytest.approx(0.5)
    for n in range(40):
        limiter.served(4.0 + n / 100)
    limiter.limited(5.0, sent_at=4.95, retry_after=1)
    assert limiter.ceiling == pytest.approx(20)
    assert limiter.rate == pytest.approx(0.25), "20 served a second, but halved from 0.5"
    limiter.served(5.5)
    limiter.limited(7.0, sent_at=6.0, retry_after=1)
    assert limiter.ceiling == pytest.approx(20), "1 a second, but over less than trust_s"
    for n in range(10):
        limiter.served(6.0 + n / 5)
    limiter.limited(9.0, sent_at=8.0, retry_after=1)
    assert limiter.ceiling == pytest.approx(20), "5 a second over 2 s: the highest stays"


def test_near_the_measured_limit_the_rate_grows_ten_times_more_slowly() -> None:
    """A step of 0.9 requests/s per second (10% of 9) below 98% of the limit, 0.09 above it."""
    limiter = AdaptiveRate(rate=9.0, ceiling=10.0, growth=0.1, min_step=0, plateau=0.1)
    limiter.served(1.0)
    assert limiter.rate == pytest.approx(9.0 + 0.9 / 9.0)
    limiter.rate = 9.9
    limiter.served(1.1)
    assert limiter.rate == pytest.approx(9.9 + 0.09 / 9.9)


def test_one_decrease_per_congestion_event() -> None:
    """Echoes (429s for requests sent before the decrease, or within ``event_s`` of it) and 429s
    with nothing served since the last decrease leave the rate alone; they still pause."""
    limiter = AdaptiveRate(decrease=0.5, event_s=1.0, min_step=0, growth=0)
    ten_per_second(limiter)
    limiter.limited(1.0, sent_at=0.95, retry_after=0)
    assert limiter.rate == pytest.approx(5)
    limiter.limited(1.01, sent_at=0.96, retry_after=0.5)
    assert limiter.delay(1.01) == pytest.approx(0.5)
    limiter.served(1.2)
    limiter.limited(1.5, sent_at=1.2, retry_after=0)
    assert limiter.rate == pytest.approx(5), "within event_s of the decrease"
    fresh = AdaptiveRate()
    fresh.sent(0)
    fresh.limited(0.05, sent_at=0, retry_after=1)
    assert (fresh.rate, fresh.delay(0.05)) == (None, pytest.approx(1)), "no news: only a pause"
    limiter.limited(4.0, sent_at=3.95, retry_after=0)
    assert limiter.rate == 0.5, "a new event: 1 served in 3 s, floored at min_rate"


def test_the_rate_grows_additively_with_each_request_served() -> None:
    """At full use, ``growth`` times the rate set at the decrease, per second."""
    limiter = AdaptiveRate(decrease=1.0, growth=0.05, min_step=0)
    for i in range(20):
        limiter.sent(i / 20)
        limiter.served(i / 20)
    limiter.limited(1.0, sent_at=0.99, retry_after=None)
    assert limiter.rate == pytest.approx(20)
    for _ in range(20):
        limiter.served(1.5)
    assert limiter.rate == pytest.approx(21, rel=0.01)


def test_idle_time_is_left_out_of_the_first_rate() -> None:
    """Ten sent in a second, twenty seconds waiting on a user's confirmation, then a 429: the
    bucket served ten in one busy second, not ten in twenty-one."""
    limiter = AdaptiveRate(decrease=1.0)
    ten_per_second(limiter)
    limiter.idle(20.0)
    limiter.sent(21.0)
    limiter.limited(21.0, sent_at=21.0, retry_after=None)
    assert limiter.rate == pytest.approx(10)


def test_refused_requests_took_no_token() -> None:
    """Two requests, both refused, nothing served: neither counts for the other, so both 429s
    are no news (a pause only), and the slow start's window stays as it was."""
    limiter = AdaptiveRate()
    limiter.sent(0.0)
    limiter.sent(0.01)
    limiter.limited(0.05, sent_at=0.0, retry_after=1)
    limiter.limited(0.06, sent_at=0.01, retry_after=1)
    assert (limiter.rate, limiter.window, limiter.delay(0.06)) == (None, 2.0, pytest.approx(1))


def test_only_a_span_between_two_refusals_of_this_command_without_idle_sets_the_ceiling() -> None:
    """A remembered rate starts on a full bucket, so its first refusal measures the burst too;
    a span with idle time in it ends in a burst as well. Neither sets the ceiling."""
    resumed = AdaptiveRate(rate=10.0, trust_s=1.0)
    for n in range(40):
        resumed.sent(n / 10)
        resumed.served(n / 10)
    resumed.limited(4.0, sent_at=4.0, retry_after=None)
    assert resumed.rate is not None and resumed.ceiling is None
    for n in range(20):
        resumed.served(4.0 + n / 10)
    resumed.idle(2.0)
    resumed.limited(9.0, sent_at=9.0, retry_after=None)
    assert resumed.ceiling is None, "idle time in the span"
    for n in range(20):
        resumed.served(9.0 + n / 10)
    resumed.limited(12.0, sent_at=12.0, retry_after=None)
    assert resumed.ceiling == pytest.approx(20 / 3)


def idle_after(answer: tuple[int, float | None], gap: float) -> float:
    """The idle time a pacer counts when a request answered ``answer`` (status, Retry-After) is
    followed, ``gap`` seconds later, by the next one."""

    async def go() -> float:
        pacer = Pacer(AdaptiveRate())
        sent = await pacer.wait()
        pacer.answered(sent, *answer)
        await asyncio.sleep(gap)
        sent = await pacer.wait()
        pacer.answered(sent, 200, None)
        return pacer.limiter._idle_s

    return asyncio.run(go())


def test_the_pacer_counts_a_gap_with_nothing_to_send_as_idle() -> None:
    assert idle_after((200, None), Pacer.IDLE_S + 0.1) >= Pacer.IDLE_S + 0.1


@pytest.mark.parametrize("retry_after", [Pacer.IDLE_S + 0.2, None])
def test_waiting_out_a_429_is_not_idle(retry_after: float | None) -> None:
    """The refused request sleeps in the retry loop (for Retry-After, or the backoff without
    one): nothing in flight, nobody waiting in the pacer, but the limit is what holds it."""
    assert idle_after((429, retry_after), Pacer.IDLE_S + 0.2) == 0


def test_a_request_waiting_for_its_turn_is_not_idle_time() -> None:
    """Paced at 4/s, a third request waits its turn while the first two are answered: nothing is
    in flight, but the client has something to send."""

    async def go() -> tuple[float, int]:
        pacer = Pacer(AdaptiveRate(rate=4.0))
        first, second = await pacer.wait(), await pacer.wait()
        third = asyncio.ensure_future(pacer.wait())
        await asyncio.sleep(0.01)
        pacer.answered(first, 200, None)
        pacer.answered(second, 200, None)
        pacer.answered(await third, 200, None)
        waiter = asyncio.ensure_future(pacer.wait())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiter
        return pacer.limiter._idle_s, pacer._waiting

    assert asyncio.run(go()) == (0.0, 0)


@pytest.mark.parametrize("ending", ["answered", "failed", "cancelled"])
def test_every_request_frees_its_place_in_the_window(ending: str) -> None:
    """Two transport errors then an answer, or errors to the last attempt, or a cancelled
    request: nothing stays in flight, or the slow start's window would close for good."""
    calls = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if ending == "cancelled":
            await asyncio.sleep(10)
        if ending == "failed" or calls < 3:
            raise httpx.ReadError("reset", request=request)
        return httpx.Response(200, json={"prompts_page": [], "total_pages": 1})

    async def go() -> int:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler), base_url="https://x")
        policy = RetryPolicy(attempts=3, initial_wait=0, max_wait=0)
        async with HumeClient(http, retry=policy) as client:
            with contextlib.suppress(httpx.ReadError, TimeoutError):
                await asyncio.wait_for(client.list("prompts"), 0.5)
            assert client.pacer is not None
            return client.pacer.in_flight

    assert asyncio.run(go()) == 0
    assert calls == (1 if ending == "cancelled" else 3)


def test_the_pacer_holds_every_new_request_for_retry_after() -> None:
    """Not only the refused request waits: a request queued behind it does too."""

    async def go() -> list[float]:
        pacer = Pacer()
        sent = await pacer.wait()
        pacer.answered(sent, 200, None)
        refused = await pacer.wait()
        pacer.answered(refused, 429, 0.3)
        start = time.monotonic()
        times = await asyncio.gather(pacer.wait(), pacer.wait())
        return [t - start for t in times]

    waits = asyncio.run(go())
    assert min(waits) >= 0.3


# The client behind a limit


@pytest.fixture
def account() -> Iterator[InProcess]:
    """An in-process account (duplicate names allowed: a repeated create would show) behind 20
    requests/s with a burst of 10."""
    account = InProcess()
    account.emulator.rate_limit = RateLimit(20, 10)
    yield account
    account.close()


def test_an_apply_behind_a_limit_does_every_change_once(account: InProcess, tmp_path: Path) -> None:
    root = tmp_path / "m"
    creates = {
        f"{kind}/{name}": ("create",) for kind in BASE_INVENTORY for name in BASE_INVENTORY[kind]
    }
    for manifests, actions, expected in (
        (BASE, creates, BASE_INVENTORY),
        (CHANGED, CHANGED_ACTIONS, CHANGED_INVENTORY),
    ):
        write(root, manifests)
        _, outcomes = account.apply(root)
        assert {address: ("done", done) for address, done in actions.items()} == by_address(
            outcomes
        )
        account.emulator.rate_limit = None
        assert inventory(account) == expected
        account.emulator.rate_limit = RateLimit(20, 10)
    assert 429 in account.statuses("GET") + account.statuses("POST"), "the limit was met"
    assert account.plan(root).pending == ()
