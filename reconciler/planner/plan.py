"""The Plan: what apply would do, as a typed value that render and apply consume and never change.

Format (``format_version`` 2), also what ``evictl plan --format json`` prints:

- ``fingerprint``: sha256 of ``reads``, what the plan read of the account: ``kind#id`` →
  ``[name, version, modified_on]`` for each live resource it looked at (managed ones, referenced
  ones, and the users of what it deletes), ``kind/name`` → ``absent`` for each it looked for in
  vain. A saved plan is stale only when one of these moved.
- ``path`` and ``targets``: the manifests and ``--target`` list it was made from, so that
  ``evictl apply plan.json`` can recompute it and refuse if anything moved.
- ``changes``: one entry per managed resource, in dependency order. Each has ``kind``, ``name``
  and ``address`` (``prompts/greeter``), ``actions`` (a subset of create / rename / new_version /
  update_description / delete, in the order apply runs them; empty for no change), the live
  ``id``, ``live_name``, ``live_version`` and ``live_modified_on`` it starts from, ``fields``
  (content differences, each ``{path, before, after, reference}``; for a reference field,
  ``before`` and ``after`` are pins ``{kind, name, version, pending}`` or lists of them),
  ``description`` (the version description difference, if any), ``reasons`` (typed: why a config
  gets a new version though its own settings did not change), ``body`` (the settings that create /
  new_version will post), ``refs`` (the references it will post: ``{field, target}`` for a
  resource these manifests manage, pinned by apply to the version the run leaves it at, or
  ``{field, id, version}`` as given), ``depends_on`` (the addresses whose changes apply must
  finish first), ``source`` (``file:line``), ``secrets`` (where the manifest substitutes a
  secret: each field's path and template, ``null`` in the secret's place) and ``unreadable``
  (why the resource could not be read in full, when Hume did not answer: then it has no actions
  and apply fails it).
- ``summary``: counts per action.

Reasons, by ``type``: ``dependency_created`` and ``dependency_new_version`` (``subject``: the
address of a referenced resource this apply creates or versions), ``stale_pin`` (``subject``,
``pinned``: the live pin, ``resolves_to``: what the manifests resolve it to; null means latest),
``owned_not_described`` (``globs``: the project file's ownership globs a live resource's name
matches though no manifest describes it: it is deleted, "pruned").
Notes (``notes``, for reviewers; apply ignores them), by ``type``: ``same_description`` (a new
version keeps ``live_version``'s description), ``possible_rename`` (a create equals the unmanaged
live resource ``live_name``/``id``), ``older_versions_use`` (a delete leaves older versions of
``users`` pinning it), ``still_used`` (only in drift's plans: live ``users`` still use what is
deleted; a plan to apply stops instead), ``active_chats`` (``versions``: ``[version, chats]``
pairs of ACTIVE chats on a config this plan deletes with ``--allow-active-chats``),
``recent_chats`` (``chats`` started in the last ``hours`` on a config this plan versions;
``capped``: at least that many).

Secret values never reach a serialised plan: ``body`` is masked at the ``secrets`` spans when a
change is serialised, field changes are masked when planned (both sides), and ``dump`` also
redacts every string by value with the manifests' redactor.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer

from reconciler.kinds import KINDS
from reconciler.secrets import SecretSpan, desired_mask, mask_value

ActionKind = Literal["create", "rename", "new_version", "update_description", "delete"]
FORMAT_VERSION = 2


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class FieldChange(_Value):
    """One changed field: ``path`` as the manifest writes it, live value → desired value."""

    path: str
    before: Any = None
    after: Any = None
    reference: bool = False
    """``before`` and ``after`` are ``Pin`` values (or lists of them), not plain values."""


class Pin(_Value):
    """A reference as people read it: which resource, at which version."""

    kind: str
    name: str
    id: str | None = Field(default=None, exclude=True)
    """The target's id (None: created by this apply); compared, not shown."""
    version: int | None = None
    """The pinned version; None follows the latest (or, with ``pending``, is not known yet)."""
    pending: Literal["created", "new_version"] | None = None
    """The version this apply makes: the resource is created, or gets a new version."""


class PlannedRef(_Value):
    """A reference a change posts: to a managed resource by address, or by id as given."""

    field: str
    target: str | None = None
    """``prompts/greeter``: apply pins the version its run leaves that resource at."""
    id: str | None = None
    version: int | None = None


class DependencyCreated(_Value):
    """A referenced resource is created by this apply, so the config pins its first version."""

    type: Literal["dependency_created"] = "dependency_created"
    subject: str


class DependencyNewVersion(_Value):
    """A referenced resource gets a new version in this apply, which the config must pin."""

    type: Literal["dependency_new_version"] = "dependency_new_version"
    subject: str


class StalePin(_Value):
    """The live config pins another version of a resource than the manifests resolve to."""

    type: Literal["stale_pin"] = "stale_pin"
    subject: str
    pinned: int | None = None
    resolves_to: int | None = None


class OwnedNotDescribed(_Value):
    """A live resource in the scope the manifests own (``[ownership]`` globs) that no manifest
    describes: pruned."""

    type: Literal["owned_not_described"] = "owned_not_described"
    globs: tuple[str, ...]
    """The ownership globs its name matches."""


Reason = Annotated[
    DependencyCreated | DependencyNewVersion | StalePin | OwnedNotDescribed,
    Field(discriminator="type"),
]
DEPENDENCY_REASONS = (DependencyCreated, DependencyNewVersion)


class SameDescription(_Value):
    """A new version would keep the live version's description word for word."""

    type: Literal["same_description"] = "same_description"
    live_version: int


class PossibleRename(_Value):
    """A create whose content equals a live resource that no manifest manages."""

    type: Literal["possible_rename"] = "possible_rename"
    live_name: str
    id: str


class OlderVersionsUse(_Value):
    """A delete leaves older (not latest) versions of live resources pinning what it deletes."""

    type: Literal["older_versions_use"] = "older_versions_use"
    users: tuple[str, ...]
    """``configs/support v3``: each older version, newest first."""


class StillUsed(_Value):
    """A delete that live resources would still use after the apply: a plan made for drift
    carries this instead of stopping."""

    type: Literal["still_used"] = "still_used"
    users: tuple[str, ...]
    """``configs/legacy v0``: each live resource's latest version that uses what is deleted."""


class ActiveChats(_Value):
    """A delete of a resource live chats are using, allowed by ``--allow-active-chats``."""

    type: Literal["active_chats"] = "active_chats"
    versions: tuple[tuple[int | None, int], ...]
    """``(version, chats)`` for each version with ACTIVE chats (None: version unknown)."""


class RecentChats(_Value):
    """A new version of a resource chats used lately: clients that connect without a version
    get the new one."""

    type: Literal["recent_chats"] = "recent_chats"
    chats: int
    hours: int
    capped: bool = False
    """At least ``chats``: evictl stopped counting there."""


Note = Annotated[
    SameDescription | PossibleRename | OlderVersionsUse | StillUsed | ActiveChats | RecentChats,
    Field(discriminator="type"),
]


class Change(_Value):
    """What happens to one resource."""

    kind: str
    name: str
    actions: tuple[ActionKind, ...] = ()
    id: str | None = None
    live_name: str | None = None
    live_version: int | None = None
    live_modified_on: int | None = None
    fields: tuple[FieldChange, ...] = ()
    description: FieldChange | None = None
    reasons: tuple[Reason, ...] = ()
    notes: tuple[Note, ...] = ()
    """Warnings and hints for whoever reviews the plan; apply ignores them."""
    body: dict[str, Any] | None = None
    refs: tuple[PlannedRef, ...] = ()
    depends_on: tuple[str, ...] = ()
    source: str | None = None
    unreadable: str | None = None
    """Why the live resource could not be read in full: it is left out (no actions), and apply
    fails it, skipping what depends on it."""
    secrets: tuple[SecretSpan, ...] = ()
    """Where the manifest substitutes secrets: ``body`` is masked there whenever the change is
    serialised (plan files, JSON, renderings), while apply posts the real values."""

    @field_serializer("body")
    def _masked_body(self, body: dict[str, Any] | None) -> dict[str, Any] | None:
        if body is None or not self.secrets:
            return body
        json_strings = KINDS[self.kind].json_strings
        return {
            key: mask_value(key, value, self.secrets, desired_mask, json_strings)
            for key, value in body.items()
        }

    @property
    def singular(self) -> str:
        """``prompt``, ``tool`` or ``config``."""
        return KINDS[self.kind].singular

    @property
    def address(self) -> str:
        """``prompts/name``, the form ``--target`` and ``depends_on`` take."""
        return f"{self.kind}/{self.name}"


class Plan(_Value):
    """Every change, and the live state they were computed against."""

    format_version: Literal[2] = FORMAT_VERSION
    fingerprint: str
    reads: dict[str, str] = Field(default_factory=dict)
    """What the plan read of the account (see the module docstring); ``fingerprint`` hashes it."""
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

    @property
    def unreadable(self) -> tuple[Change, ...]:
        """The changes left out because Hume did not answer for their resource: the plan is
        incomplete."""
        return tuple(change for change in self.changes if change.unreadable)

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

    def document(self) -> dict[str, Any]:
        """The JSON document of the plan, not redacted (``render.json_document`` redacts it)."""
        data = self.model_dump(mode="json")
        for change, dumped in zip(self.changes, data["changes"], strict=True):
            dumped["address"] = change.address
        data["summary"] = {action: self.counts()[action] for action in ActionKind.__args__}
        return data

    def dump(self, redact: Callable[[str], str]) -> dict[str, Any]:
        """The JSON document of the plan, secrets redacted."""
        return redact_tree(self.document(), redact)


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
