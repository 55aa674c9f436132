"""The Plan: what apply would do, as a value that render and apply consume and never change.

Format (``format_version`` 1), also what ``evictl plan --format json`` prints:

- ``fingerprint``: sha256 of the live state the plan was computed from (see ``Snapshot``).
- ``path`` and ``targets``: the manifests and ``--target`` list it was made from, so that
  ``evictl apply plan.json`` can recompute it and refuse if anything moved.
- ``changes``: one entry per managed resource, in apply order (prompts, tools, configs). Each has
  ``kind``, ``name``, ``actions`` (a subset of create / rename / new_version / update_description
  / delete, in the order apply runs them; empty for no change), the live ``id``, ``live_name``,
  ``live_version`` and ``live_modified_on`` it starts from, ``fields`` (content differences, each
  ``{path, before, after}``), ``description`` (the version description difference, if any),
  ``reasons`` (why a config gets a new version though its own fields did not change), ``body``
  (what create / new_version will post; managed prompt and tool references as ``{"name": ...}``,
  resolved by apply to the version it created or found), and ``source`` (``file:line``).
- ``summary``: counts per action.

Secret values never reach a serialised plan: ``dump`` takes the redactor of the manifests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["prompts", "tools", "configs"]
ActionKind = Literal["create", "rename", "new_version", "update_description", "delete"]
FORMAT_VERSION = 1


class FieldChange(BaseModel):
    """One changed field: ``path`` as the manifest writes it, live value → desired value."""

    model_config = ConfigDict(frozen=True)

    path: str
    before: Any = None
    after: Any = None


class Change(BaseModel):
    """What happens to one resource."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    name: str
    actions: tuple[ActionKind, ...] = ()
    id: str | None = None
    live_name: str | None = None
    live_version: int | None = None
    live_modified_on: int | None = None
    fields: tuple[FieldChange, ...] = ()
    description: FieldChange | None = None
    reasons: tuple[str, ...] = ()
    body: dict[str, Any] | None = None
    source: str | None = None

    @property
    def singular(self) -> str:
        """``prompt``, ``tool`` or ``config``."""
        return self.kind[:-1]

    @property
    def address(self) -> str:
        """``prompts/name``, the form ``--target`` takes."""
        return f"{self.kind}/{self.name}"


class Plan(BaseModel):
    """Every change, and the live state they were computed against."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = FORMAT_VERSION
    fingerprint: str
    path: str | None = None
    targets: tuple[str, ...] = ()
    changes: tuple[Change, ...] = Field(default=())

    @property
    def pending(self) -> tuple[Change, ...]:
        """The changes that do something."""
        return tuple(change for change in self.changes if change.actions)

    @property
    def has_changes(self) -> bool:
        """Whether apply would send any write."""
        return bool(self.pending)

    def counts(self) -> Counter[str]:
        """How many of each action."""
        return Counter(action for change in self.changes for action in change.actions)

    def summary(self) -> str:
        """``Plan: 1 to create, 2 new versions, 1 rename, 0 description updates, 0 to delete.``"""
        counts = self.counts()
        if not self.has_changes:
            return "No changes. The Hume account matches the manifests."
        parts = [
            f"{counts['create']} to create",
            _plural(counts["new_version"], "new version"),
            _plural(counts["rename"], "rename"),
            _plural(counts["update_description"], "description update"),
            f"{counts['delete']} to delete",
        ]
        return "Plan: " + ", ".join(parts) + "."

    def dump(self, redact: Callable[[str], str]) -> dict[str, Any]:
        """The JSON document of the plan, secrets redacted."""
        data = self.model_dump(mode="json")
        data["summary"] = {action: self.counts()[action] for action in ActionKind.__args__}
        return redact_tree(data, redact)


def redact_tree(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string in ``value`` redacted (not serialised text, where escaping could hide one)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_tree(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_tree(item, redact) for item in value]
    return value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
