"""Politeness to a rate limit nobody published: pace requests at a rate learnt from 429s.

Hume documents no rate limit for the config API, so the client learns one. Until the first 429
nothing is paced, but the requests in flight start at two and grow by half each round trip up to
the concurrency ceiling (slow start): an account whose limit is out of reach loses a round trip or
two, and a small bucket is met with two to four requests in flight, not the whole ceiling. A 429
then:
- pauses every new request until its ``Retry-After`` has passed, not only the one refused;
- sets a paced rate (multiplicative decrease). The first 429 has nothing to go on but what was
  served since the first request: every request sent before the refused one took a token, those
  still in flight too. That includes the bucket's initial burst, so it runs high, and the next
  429 corrects it. A later 429 sets ``decrease`` times the paced rate or the rate requests were
  served at since the request refused at the last decrease was sent, whichever is lower. A token
  bucket was empty when both refused requests reached it, so what it served in between is its
  rate times the time, less what it could not hold while the client was slower than it (paused
  for ``Retry-After``, say): a measurement of the limit, low by that much. The highest over
  ``trust_s`` or more is the ``ceiling``, near which the rate then grows ten times more slowly.
One decrease per congestion event: 429s for requests sent before the last decrease are its echoes,
not news, and so are 429s within ``event_s`` of it (a ``Retry-After: 0`` would otherwise let
scattered 429s cut the rate again and again). A 429 with nothing served since the last decrease
says nothing about the rate (another client drained the limit): it only pauses. Time the client
had nothing to send (``Pacer.IDLE_S`` or more with nothing in flight, say while a user reads the
plan before confirming) is left out of every rate measured: it says nothing of the limit either.

Each request served adds to the rate (additive increase): ``growth`` times the rate set at the last
decrease, per second of requests at that rate (``plateau`` times that within 2% of the ceiling).
Requests are spaced ``1 / rate`` apart; a late one does not push the schedule back, but no more
than one interval is made up, so at most two requests ever leave back to back.

``AdaptiveRate`` is the arithmetic alone, on timestamps it is given (tests drive it with a fake
clock); ``Pacer`` applies it to asyncio requests.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class AdaptiveRate:
    """AIMD on a request rate: decrease on 429, increase on success; times in seconds."""

    decrease: float = 0.95
    """How much a 429 cuts the paced rate, or the served rate if that is lower. Gentle, because
    the served rate brings it down to the limit: halving would idle a quarter of it on average."""
    growth: float = 0.01
    """Slow, because going over the limit only drains the bucket's burst: the slower the rate
    climbs past it, the rarer the 429s. At 1% a second, a client paced at 95% of the limit
    takes about 5 s to reach it, then drains a burst of one second's worth in about 14 s more."""
    plateau: float = 0.1
    """The share of ``growth`` left once the rate is within 2% of the measured limit
    (``ceiling``): climbing past a known limit only buys 429s. A limit raised meanwhile is still
    found, ten times more slowly."""
    ceiling: float | None = None
    """The limit as measured: the highest rate served between two refused requests at least
    ``trust_s`` apart (or learnt by an earlier command, ``ratememory``); None until then. The
    highest, because a measurement reads low whenever the client sent less than it could (it
    waited on its own work): a low one cuts the rate, but must not hold it down near itself."""
    trust_s: float = 5.0
    """How long a measurement must span to set ``ceiling``. Each refusal pauses the client for
    ``Retry-After``, and a bucket that fills up meanwhile wastes what it cannot hold, so the served
    rate reads low; over a span several times the pause, by little."""
    event_s: float = 1.0
    """429s this soon after a decrease belong to the same congestion event."""
    min_rate: float = 0.5
    """The slowest pace: a request every two seconds."""
    min_step: float = 0.05
    """The least additive increase, in requests per second per second, so that a rate set low
    (by a 429 after a quiet spell) recovers."""
    opening: float = 0.5
    """How much each request served widens the slow start's window."""
    window: float = 2.0
    """Requests allowed in flight until the first 429 (slow start): two, then ``opening`` more per
    request served, half again each round trip until the client's own ceiling takes over. A
    bucket that holds only a few requests is then met with two to four in flight instead of the
    whole ceiling, each of which would be refused; an account without a limit loses a round trip
    or two."""
    rate: float | None = None
    """Requests per second; None until the first 429: unpaced. Given (a rate an earlier command
    learnt, ``ratememory``), requests are paced from the start."""
    paused_until: float = -math.inf
    _next: float = field(default=-math.inf, init=False)
    _step: float = field(default=0.0, init=False)
    _since: float | None = field(default=None, init=False)
    """When the request refused at the last decrease was sent (before any, the first request):
    the bucket was empty then, so the served rate is measured from there."""
    _served: int = field(default=0, init=False)
    _sends: list[float] = field(default_factory=list, init=False)
    """When each request was sent, until the first 429 (they leave in order, so it is sorted)."""
    _decreased_at: float = field(default=-math.inf, init=False)
    _guess: bool = field(default=False, init=False)
    """Whether the rate is still the first 429's estimate, which runs high."""
    _idle_s: float = field(default=0.0, init=False)
    """Seconds since ``_since`` when the client had nothing to send: not time the limit held it."""

    def __post_init__(self) -> None:
        if self.rate is not None:
            self.rate = max(self.min_rate, self.rate)
            self.window = math.inf
            self._step = max(self.min_step, self.growth * self.rate)

    @property
    def learnt_at(self) -> float | None:
        """When this client last cut its rate for a 429 (None: it never did)."""
        return None if self._decreased_at == -math.inf else self._decreased_at

    @property
    def worth_keeping(self) -> bool:
        """Whether this client learnt a rate worth starting the next command at: cut for a 429,
        and not only by the first 429's estimate, which includes the bucket's burst and can be
        many times the limit (the next command would meet the limit at that pace)."""
        return self.learnt_at is not None and not self._guess

    def opens(self, in_flight: int) -> bool:
        """Whether one more request may be in flight (the slow start's window)."""
        return in_flight < self.window

    def delay(self, now: float) -> float:
        """Seconds until a request may be sent (0: now)."""
        return max(0.0, self.paused_until - now, self._next - now)

    def sent(self, now: float) -> None:
        """A request left at ``now``: the next one is due ``1 / rate`` after this one was due.

        A request sent late (the event loop was busy) does not push the whole schedule back, or a
        busy client would fall ever further below its rate; but lateness of more than one
        interval is not made up, so at most two requests ever leave back to back."""
        if self._since is None:
            self._since = now
        if self.rate is None:
            self._sends.append(now)
        else:
            interval = 1 / self.rate
            self._next = max(now - interval, self._next) + interval

    def served(self, sent_at: float) -> None:
        """The request sent at ``sent_at`` was answered (anything but 429): count it if it was
        sent since the last decrease, and grow the rate."""
        if self._since is not None and sent_at >= self._since:
            self._served += 1
        if self.rate is None:
            self.window += self.opening
            return
        step = self._step
        if self.ceiling is not None and self.rate >= 0.98 * self.ceiling:
            step *= self.plateau
        self.rate += step / self.rate

    def idle(self, seconds: float) -> None:
        """The client had nothing to send for ``seconds`` (it waited on its own work, or on a
        user confirming a plan): that time is left out of the rates measured, which would
        otherwise read as a slow limit."""
        if self._since is not None:
            self._idle_s += seconds

    def _busy(self, until: float) -> float:
        """Seconds from ``_since`` to ``until`` the client spent sending or waiting to send."""
        assert self._since is not None, "a 429 comes after a request was sent"
        return max(until - self._since - self._idle_s, 1e-3)

    def served_rate(self, until: float) -> float:
        """Requests served per second, of those sent since the last decrease, ``until`` the
        refused request's sending (the bucket was empty then)."""
        return self._served / self._busy(until) if self._served else 0.0

    def _first_measure(self, refused: float, now: float) -> float:
        """The rate the bucket served from the first request until the first 429 came back:
        every request sent before the refused one and not refused itself found a token (those
        still in flight too). It includes the bucket's initial burst, so it runs high; the next
        429 corrects it."""
        return bisect.bisect_left(self._sends, refused) / self._busy(now)

    def limited(self, now: float, sent_at: float, retry_after: float | None) -> None:
        """A request sent at ``sent_at`` was answered 429 at ``now``."""
        if retry_after is not None:
            self.paused_until = max(self.paused_until, now + retry_after)
        if self.rate is None:
            at = bisect.bisect_left(self._sends, sent_at)
            if at < len(self._sends) and self._sends[at] == sent_at:
                del self._sends[at]  # refused: it took no token
        if sent_at < self._decreased_at or now < self._decreased_at + self.event_s:
            return
        if self.rate is None:
            measured = self._first_measure(sent_at, now)
            target = self.decrease * measured
        else:
            measured = self.served_rate(sent_at)
            target = self.decrease * min(self.rate, measured)
        if not measured:
            return
        if self._trusted(sent_at):
            self.ceiling = max(self.ceiling or 0.0, measured)
        self._guess = self.rate is None
        self.rate = max(self.min_rate, target)
        self.window = math.inf
        self._sends.clear()
        self._step = max(self.min_step, self.growth * self.rate)
        self._decreased_at = now
        self._since = sent_at
        self._served = 0
        self._idle_s = 0.0

    def _trusted(self, refused: float) -> bool:
        """Whether the served rate up to ``refused`` measures the limit: it spans two refusals of
        this command (a remembered rate starts on a full bucket, not an empty one), over
        ``trust_s`` or more, with no idle time (after which the bucket serves a burst)."""
        return (
            self.learnt_at is not None
            and self._since is not None
            and refused - self._since >= self.trust_s
            and not self._idle_s
        )


class Pacer:
    """``AdaptiveRate`` for concurrent asyncio requests: one request at a time is scheduled
    (in arrival order), so pauses, spacing and the slow start's window hold across all of them.
    Every ``wait`` must be followed by one ``answered``, with no status if no answer came."""

    IDLE_S = 0.1
    """Nothing in flight and nobody waiting for longer than this is the client's own idle time
    (``AdaptiveRate.idle``); shorter gaps are its work between one answer and the next request."""

    def __init__(
        self, limiter: AdaptiveRate | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limiter = limiter or AdaptiveRate()
        self.clock = clock
        self._turn = asyncio.Lock()
        self._freed = asyncio.Event()
        self.in_flight = 0
        self._waiting = 0
        self._idle_from: float | None = None

    async def wait(self) -> float:
        """Wait for this request's turn; the time it is sent, for ``answered``."""
        if self._idle_from is not None:
            # Waiting out a Retry-After (refused requests sleep in the retry loop, not here) is
            # the limit's doing, not idle time.
            start = max(self._idle_from, self.limiter.paused_until)
            if (gap := self.clock() - start) > self.IDLE_S:
                self.limiter.idle(gap)
            self._idle_from = None
        self._waiting += 1
        try:
            async with self._turn:
                while True:
                    if not self.limiter.opens(self.in_flight):
                        self._freed.clear()
                        await self._freed.wait()
                    elif (delay := self.limiter.delay(self.clock())) > 0:
                        await asyncio.sleep(delay)
                    else:
                        break
                now = self.clock()
                self.limiter.sent(now)
                self.in_flight += 1
                return now
        finally:
            self._waiting -= 1

    def answered(self, sent_at: float, status: int | None, retry_after: float | None) -> None:
        """What the server said to the request sent at ``sent_at`` (None: no answer came)."""
        self.in_flight -= 1
        self._freed.set()
        if not self.in_flight and not self._waiting and status != 429:
            self._idle_from = self.clock()  # a refused request comes back: the limit's doing
        if status == 429:
            self.limiter.limited(self.clock(), sent_at, retry_after)
        elif status is not None:
            self.limiter.served(sent_at)
