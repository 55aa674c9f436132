"""Politeness to a rate limit nobody published: pace requests at a rate learnt from 429s.

Hume documents no rate limit for the config API, so the client learns one. Until the first 429
nothing is paced (the concurrency ceiling alone bounds requests), so an account whose limit is out
of reach is as fast as ever. A 429 then:
- pauses every new request until its ``Retry-After`` has passed, not only the one refused;
- sets a paced rate (multiplicative decrease): ``decrease`` times the paced rate, but no more
  than the rate requests were served at since the request refused at the last decrease was sent.
  A token bucket was empty when both refused requests reached it, so what it served in between is
  its rate times the time, whatever was sent, paused or burst. The first 429 has no paced rate
  and no earlier refusal: ``decrease`` times the served rate since the first request, which
  includes the bucket's initial burst, so it runs high and the next 429 corrects it.
One decrease per congestion event: 429s for requests sent before the last decrease are its echoes,
not news, and so are 429s within ``event_s`` of it (a ``Retry-After: 0`` would otherwise let
scattered 429s cut the rate again and again). A 429 with nothing served since the last decrease
says nothing about the rate (another client drained the limit): it only pauses.

Each request served adds to the rate (additive increase): ``growth`` times the rate set at the last
decrease, per second of requests at that rate. Requests are spaced ``1 / rate`` apart, with no
saved-up credit, so the client never bursts.

``AdaptiveRate`` is the arithmetic alone, on timestamps it is given (tests drive it with a fake
clock); ``Pacer`` applies it to asyncio requests.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class AdaptiveRate:
    """AIMD on a request rate: decrease on 429, increase on success; times in seconds."""

    decrease: float = 0.9
    """How much a 429 cuts the paced rate. Gentle, because the served rate, which caps the cut,
    already brings it down to the limit: halving would idle a quarter of the limit on average."""
    growth: float = 0.02
    """Slow, because going over the limit only drains the bucket's burst: the slower the rate
    climbs past it, the rarer the 429s."""
    event_s: float = 1.0
    """429s this soon after a decrease belong to the same congestion event."""
    min_rate: float = 0.5
    """The slowest pace: a request every two seconds."""
    min_step: float = 0.1
    """The least additive increase, in requests per second per second, so that a rate set low
    (by a 429 after a quiet spell) recovers."""
    rate: float | None = None
    """Requests per second; None until the first 429: unpaced."""
    paused_until: float = -math.inf
    _next: float = field(default=-math.inf, init=False)
    _step: float = field(default=0.0, init=False)
    _since: float | None = field(default=None, init=False)
    """When the request refused at the last decrease was sent (before any, the first request):
    the bucket was empty then, so the served rate is measured from there."""
    _served: int = field(default=0, init=False)
    _decreased_at: float = field(default=-math.inf, init=False)

    def delay(self, now: float) -> float:
        """Seconds until a request may be sent (0: now)."""
        return max(0.0, self.paused_until - now, self._next - now)

    def sent(self, now: float) -> None:
        """A request left at ``now``: the next one waits ``1 / rate`` after it."""
        if self._since is None:
            self._since = now
        if self.rate is not None:
            self._next = max(now, self._next) + 1 / self.rate

    def served(self, sent_at: float) -> None:
        """The request sent at ``sent_at`` was answered (anything but 429): count it if it was
        sent since the last decrease, and grow the rate."""
        if self._since is not None and sent_at >= self._since:
            self._served += 1
        if self.rate is not None:
            self.rate += self._step / self.rate

    def served_rate(self, until: float) -> float:
        """Requests served per second, of those sent since the last decrease (or ever), ``until``
        a time: the refused request's sending (the bucket was empty then), or the first time,
        the 429's arrival (a first refusal may come a moment after the first request)."""
        if not self._served or self._since is None:
            return 0.0
        return self._served / max(until - self._since, 1e-3)

    def limited(self, now: float, sent_at: float, retry_after: float | None) -> None:
        """A request sent at ``sent_at`` was answered 429 at ``now``."""
        if retry_after is not None:
            self.paused_until = max(self.paused_until, now + retry_after)
        if sent_at < self._decreased_at or now < self._decreased_at + self.event_s:
            return
        if self.rate is None:
            measured = self.served_rate(now)
            target = self.decrease * measured
        else:
            measured = self.served_rate(sent_at)
            target = min(self.decrease * self.rate, measured)
        if not measured:
            return
        self.rate = max(self.min_rate, target)
        self._step = max(self.min_step, self.growth * self.rate)
        self._decreased_at = now
        self._since = sent_at
        self._served = 0


class Pacer:
    """``AdaptiveRate`` for concurrent asyncio requests: one request at a time is scheduled
    (in arrival order), so pauses and spacing hold across all of them."""

    def __init__(
        self, rate: AdaptiveRate | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate or AdaptiveRate()
        self.clock = clock
        self._turn = asyncio.Lock()

    async def wait(self) -> float:
        """Wait for this request's turn; the time it is sent, for ``answered``."""
        async with self._turn:
            while (delay := self.rate.delay(self.clock())) > 0:
                await asyncio.sleep(delay)
            now = self.clock()
            self.rate.sent(now)
            return now

    def answered(self, sent_at: float, status: int, retry_after: float | None) -> None:
        """What the server said to the request sent at ``sent_at``."""
        if status == 429:
            self.rate.limited(self.clock(), sent_at, retry_after)
        else:
            self.rate.served(sent_at)
