"""Injected faults, so tests and benchmarks can meet the failures a real network serves.

"Commit then drop" is the one that matters most: the write is stored, then the connection closes
before the response arrives, which is how naive retries of a POST create duplicates.
"""

from __future__ import annotations

import random
import re
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any

WRITE_METHODS = frozenset({"POST", "PATCH", "DELETE"})
MAX_LATENCY_MS = 60_000.0
"""A minute: a longer delay outlasts any client's timeout, and would hold the request forever."""


class ConnectionDropped(Exception):
    """Raised after a write committed, to close the connection instead of answering."""


class BadFaults(ValueError):
    """Settings the faults cannot run with; ``errors`` says what is wrong with each setting.

    A ``ValueError``, so the CLI reports it as a usage error; the control endpoint answers 422.
    """

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name} {error}" for name, error in errors.items()))
        self.errors = errors


def _fits(value: Any, hint: Any) -> bool:
    """Whether a value has a setting's type (``float``, ``int``, ``list[str]``, ``X | None``).

    Booleans are not numbers here, although Python's ``bool`` is an ``int``.
    """
    args = typing.get_args(hint)
    if typing.get_origin(hint) is list:
        return isinstance(value, list) and all(_fits(item, args[0]) for item in value)
    if args:
        return any(_fits(value, arg) for arg in args)
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) if hint is float else isinstance(value, hint)


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
        errors = self._errors()
        if errors:
            raise BadFaults(errors)
        self.methods = [m.upper() for m in self.methods]
        self._path = re.compile(self.path) if self.path else None
        self._random = random.Random(self.seed)
        self._injected = 0

    def _errors(self) -> dict[str, str]:
        """Each bad setting and why: types first, since a value of the wrong type has no range."""
        hints = typing.get_type_hints(Faults)
        errors = {
            f.name: f"must be of type {f.type}"
            for f in fields(self)
            if not _fits(getattr(self, f.name), hints[f.name])
        }
        if errors:
            return errors
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                errors[name] = "must be between 0 and 1"
        if not 0.0 <= self.latency_ms <= MAX_LATENCY_MS:
            errors["latency_ms"] = f"must be between 0 and {MAX_LATENCY_MS:.0f}"
        if not 500 <= self.error_status <= 599:
            errors["error_status"] = "must be a 5xx status"
        for name in ("retry_after_s", "limit"):
            if (getattr(self, name) or 0) < 0:
                errors[name] = "must not be negative"
        if self.path:
            try:
                re.compile(self.path)
            except (re.error, OverflowError, RecursionError) as exc:
                errors["path"] = f"is not a valid regular expression: {exc}"
        return errors

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Faults:
        """Faults from the control endpoint's body; unknown keys are an error, not a no-op."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise BadFaults({name: "is not a fault setting" for name in unknown})
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
