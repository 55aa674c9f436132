"""The manifest format as a whole: one YAML document, and the desired state the loader returns.

Each kind's own models live with the kind (``reconciler.kinds``); this module assembles them from
the registry, so a new kind appears in the format, the schema and the desired state by itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import quote, quote_plus

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, create_model, field_validator

from reconciler.kinds import KINDS, REGISTRY
from reconciler.kinds.fields import Resource, Strict

ManifestDocument: type[Strict] = create_model(  # type: ignore[call-overload]
    "ManifestDocument",
    __base__=Strict,
    __doc__="One YAML document of a manifest: any of the resource lists.",
    **{
        kind.name: (
            list[kind.spec],
            Field(default_factory=list, description=f"The {kind.name} to manage, by name."),
        )
        for kind in REGISTRY
    },
)
ManifestDocument.model_config["title"] = "evictl manifest"
ManifestDocument.model_rebuild(force=True)


class Manifests(BaseModel):
    """The desired state: every resource of the manifests, validated, with no I/O left in it."""

    model_config = ConfigDict(frozen=True)

    resources: Mapping[str, tuple[SerializeAsAny[Resource], ...]] = Field(default_factory=dict)
    """The resources of each kind, in file order."""
    secrets: frozenset[str] = Field(default=frozenset(), repr=False)
    warnings: tuple[str, ...] = ()
    """``file:line:col: path: message`` for what is valid but likely a mistake."""
    """Every value substituted by ``${secret:...}``: ``redact`` hides them in any output."""

    @field_validator("resources", mode="before")
    @classmethod
    def _each_of_its_kind(cls, value: Any) -> Any:
        """Plain data (a plan's JSON, say) becomes each kind's own resource model."""
        if not isinstance(value, Mapping):
            return value
        return {
            name: tuple(KINDS[name].resource.model_validate(item) for item in items)
            for name, items in value.items()
        }

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``(secret)``."""
        return redact(text, self.secrets)

    def of_kind(self, kind: str) -> tuple[Resource, ...]:
        """The resources of ``kind`` (``prompts``)."""
        return self.resources.get(kind, ())

    def summary(self) -> str:
        """``3 prompts, 3 tools, 3 configs``."""
        counts = ((len(self.of_kind(kind.name)), kind) for kind in REGISTRY)
        return ", ".join(f"{n} {kind.name if n != 1 else kind.singular}" for n, kind in counts)


def redact(text: str, secrets: frozenset[str] | set[str]) -> str:
    """``text`` with every value of ``secrets`` replaced by ``(secret)`` (longest first), also
    as JSON and URLs escape it: the net under masking by position (``reconciler.secrets``)."""
    if not secrets:
        return text
    forms = {form for secret in secrets if secret for form in _forms(secret)}
    pattern = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, "(secret)", text) if pattern else text


def _forms(secret: str) -> set[str]:
    """How a secret can appear in an output: as it is, JSON-escaped, URL-encoded."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret),
    }


def field_names_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """The keys allowed in the mapping at ``loc`` inside ``model`` (for "did you mean" hints)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return []
        if isinstance(part, str):
            field = current.model_fields.get(part)
            current = _model_in(field.annotation) if field else None
    return list(current.model_fields) if current else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
