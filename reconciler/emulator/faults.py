"""Injected faults, so tests and benchmarks can meet the failures a real network serves.

"Commit then drop" is the one that matters most: the write is stored, then the connection closes
before the response arrives, which is how naive retries of a POST create duplicates.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})


class ConnectionDropped(Exception):
    """Raised after a write committed, to close the connection instead of answering."""


@dataclass
class Faults:
    """What to inject, and where; rates are probabilities per request in scope."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after_s: int = 1
    drop_rate: float = 0.0
    methods: list[str] = field(default_factory=list)
    path: str | None = None
    limit: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.latency_ms < 0 or self.retry_after_s < 0:
            raise ValueError("latency_ms and retry_after_s must not be negative")
        if not 500 <= self.error_status <= 599:
            raise ValueError("error_status must be a 5xx status")
        self.methods = [m.upper() for m in self.methods]
        self._path = re.compile(self.path) if self.path else None
        self._random = random.Random(self.seed)
        self._injected = 0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Faults from the control endpoint's body; unknown keys are an error, not a no-op."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
        return cls(**data)

    def as_json(self) -> dict[str, Any]:
        """The settings, as ``GET /_emulator/faults`` shows them."""
        return asdict(self)

    def in_scope(self, method: str, path: str) -> bool:
        """Whether a request is one the faults apply to."""
        if self.methods and method not in self.methods:
            return False
        return self._path is None or bool(self._path.search(path))

    def _roll(self, rate: float) -> bool:
        if rate <= 0 or (self.limit is not None and self._injected >= self.limit):
            return False
        hit = self._random.random() < rate
        self._injected += hit
        return hit

    def rate_limited(self) -> bool:
        """Answer 429 with ``Retry-After`` instead of serving the request."""
        return self._roll(self.rate_limit_rate)

    def failing(self) -> bool:
        """Answer ``error_status`` instead of serving the request."""
        return self._roll(self.error_rate)

    def dropping(self, method: str) -> bool:
        """Close the connection after this write has been committed."""
        return method in WRITE_METHODS and self._roll(self.drop_rate)
