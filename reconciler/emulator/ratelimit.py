"""A request rate the emulator enforces: a token bucket, as API gateways put in front of services.

Hume publishes no rate limit for the config API; this lets tests and benchmarks meet one anyway.
A served request takes a token; one that finds the bucket empty is answered 429 with a
``Retry-After`` of whole seconds until the next token, and takes none (so a client that keeps
retrying cannot starve itself further).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.emulator.faults import BadFaults, _fits

MAX_RATE = 100_000.0
"""Far above what the emulator serves; a higher rate is a typo, not a limit."""
MAX_BURST = 1_000_000


@dataclass
class RateLimit:
    """``rate`` requests per second sustained, ``burst`` at once (default: one second's worth).

    A ``BadFaults`` names each setting it cannot run with, as the fault settings do.
    """

    rate: float
    burst: int | None = None
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)

    def __post_init__(self) -> None:
        errors = self._errors()
        if errors:
            raise BadFaults(errors)
        if self.burst is None:
            self.burst = max(1, int(self.rate))
        self._capacity = float(self.burst)
        self._tokens = self._capacity
        self._last = self.clock()
        self._lock = threading.Lock()

    def _errors(self) -> dict[str, str]:
        if not _fits(self.rate, float):
            return {"rate": "must be a number of requests per second"}
        errors = {}
        if not 0 < self.rate <= MAX_RATE:
            errors["rate"] = f"must be above 0 and at most {MAX_RATE:.0f} requests per second"
        if self.burst is not None and not (_fits(self.burst, int) and 1 <= self.burst <= MAX_BURST):
            errors["burst"] = f"must be a whole number of requests from 1 to {MAX_BURST}"
        return errors

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateLimit | None:
        """The control endpoint's body: ``{"rate": R, "burst": B}``; no rate (or null) is none."""
        unknown = sorted(set(data) - {"rate", "burst"})
        if unknown:
            raise BadFaults({name: "is not a rate limit setting" for name in unknown})
        if data.get("rate") is None:
            if data.get("burst") is not None:
                raise BadFaults({"burst": "needs a rate"})
            return None
        return cls(data["rate"], data.get("burst"))

    def as_json(self) -> dict[str, Any]:
        """The settings, as ``GET /_emulator/rate`` shows them."""
        return {"rate": self.rate, "burst": self.burst}

    def take(self) -> int | None:
        """Take a token for a request: None if it may be served, else ``Retry-After`` seconds.

        Locked, so that server threads (or an embedded app and a test) never share a token.
        """
        with self._lock:
            now = self.clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return max(1, math.ceil((1 - self._tokens) / self.rate))


OFF: dict[str, Any] = {"rate": None, "burst": None}
"""``GET /_emulator/rate`` when no rate is enforced."""
