"""The building blocks of the manifest format that every kind's models share.

Field names are the API's wire names, so a manifest reads like the request it becomes. Enums,
ranges and the https rule come from ``reconciler.hume`` (the spec and its prose facts), never
retyped here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from reconciler.hume import spec
from reconciler.hume.facts import Range
from reconciler.secrets import SecretSpan
from reconciler.spelling import suggest
from reconciler.terminal import safe_line

_NEVER_LIST = 12
"""Enums longer than this are not spelled out in error messages."""
_SHOWN = 60
"""Quoted values longer than this are cut in error messages (a value may be a megabyte long)."""
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
"""Every integer in a manifest fits in 64 bits (what JSON consumers, and the API, can hold)."""


def problem(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose ``message`` the loader shows as is (``ctx["message"]``)."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def show(value: Any) -> str:
    """A value as error messages quote it: ``true``/``null`` as YAML writes them, strings quoted
    and cut short."""
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(shorten(value)) if isinstance(value, str) else shorten(str(value))


def shorten(text: str) -> str:
    """``text``, cut to a readable length with an ellipsis."""
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "\u2026"


def spec_enum(schema_name: str, what: str) -> Any:
    """A string restricted to an enum of the spec, with a readable error and a schema ``enum``."""
    values = spec.enum_values(schema_name)
    choices = (
        ", ".join(values)
        if len(values) <= _NEVER_LIST
        else f"the {len(values)} {what} values of the API spec (see `evictl schema`)"
    )

    def check(value: str) -> str:
        if value not in values:
            message = f"must be one of {choices} (got {show(value)}){suggest(value, values)}"
            raise problem("enum", message)
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "enum": list(values)})
    ]


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        message = f"must be a UUID (got {show(value)})"
        raise problem("uuid", message) from None


def in_range(rng: Range) -> list[Any]:
    """Annotated metadata for a number limited to ``rng``, checked before conversion too (``1e29``
    is out of range, not "too large for an integer"; ``true`` is no number, though pydantic reads
    it as 1), and after it (a string from ``${...}``); the JSON Schema gets the bounds."""

    def check(value: Any) -> Any:
        if isinstance(value, bool):
            raise problem("number_type", f"must be a number (got {show(value)})")
        if isinstance(value, int | float) and not rng.low <= value <= rng.high:
            raise problem("range", f"{rng.describe()} (got {show(value)})")
        return value

    return [
        BeforeValidator(check),
        AfterValidator(check),
        Field(json_schema_extra={"minimum": rng.low, "maximum": rng.high}),
    ]


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a resource: blank (Hume answers 422), or with a control or
    bidi-control character (a name is printed everywhere, and could drive the terminal)."""
    if not name.strip():
        return f"must not be blank (got {show(name)})"
    if safe_line(name) != name:
        return f"must not contain control or bidi-control characters (got {show(name)})"
    return None


def _check_name(name: str) -> str:
    message = name_problem(name)
    if message is not None:
        raise problem("name", message)
    return name


_HIDDEN = "\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028-\\u202e\\u2066-\\u2069"
"""What ``terminal.safe_line`` escapes, as a JSON Schema (ECMA-262) class, for editors."""
Name = Annotated[
    str,
    AfterValidator(_check_name),
    WithJsonSchema({"type": "string", "minLength": 1, "pattern": f"^[^{_HIDDEN}]*$"}),
]
"""A resource's name: its identity in Hume. Any text that is not blank and holds no control or
bidi-control character."""
VERSION_RANGE = Range(("version",), 0, INT64_MAX)
"""An external reference's version: never negative, and a 64-bit integer like any other."""


class Strict(BaseModel):
    """Unknown keys are errors (the loader adds a "did you mean" hint); values are immutable;
    numbers are finite (``"nan"`` from a variable is no temperature)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Reference(Strict):
    """A prompt or tool: by ``name`` (managed in these manifests) or by ``id`` (managed elsewhere).

    Written as a bare name string, or as ``{id: <uuid>, version: N}``; ``version`` is optional
    and absent means "track the latest version".
    """

    name: Name | None = Field(
        default=None, description="The name of a resource these manifests manage."
    )
    id: Annotated[str, AfterValidator(_uuid)] | None = Field(
        default=None, description="The id (a UUID) of a resource managed outside these manifests."
    )
    version: Annotated[int | None, *in_range(VERSION_RANGE)] = Field(
        default=None, description="The version of the resource given by id; absent: its latest."
    )

    @model_validator(mode="after")
    def _one_identity(self) -> Reference:
        if (self.id is None) == (self.name is None):
            raise problem("reference", "give exactly one of a name or an id")
        if self.version is not None and self.id is None:
            raise problem("reference", "version goes with id, not with a name")
        return self


class _NameOrMapping:
    """JSON Schema of a reference as users write it: a name string, or the ``{id}`` mapping."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "minLength": 1}, handler(core_schema)]}


def _name_to_reference(value: Any) -> Any:
    if isinstance(value, str):
        return {"name": value}
    if not isinstance(value, dict):
        raise problem("reference_type", "must be a name or a mapping {id: <uuid>, version: <int>}")
    return value


ReferenceField = Annotated[Reference, BeforeValidator(_name_to_reference), _NameOrMapping]


ABSENT_ONLY = "The resource must not exist remotely: then it needs no other field."


def required_unless_absent(*groups: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """JSON Schema: ``groups`` (one field of each) are required unless ``absent: true``."""

    def extra(schema: dict[str, Any]) -> None:
        schema["anyOf"] = [
            {
                "required": ["absent"],
                "properties": {"absent": {"const": True, "description": ABSENT_ONLY}},
            },
            {"allOf": [{"anyOf": [{"required": [name]} for name in group]} for group in groups]}
            if len(groups) > 1 or len(groups[0]) > 1
            else {"required": list(groups[0])},
        ]

    return extra


class ResourceSpec(Strict):
    """What every prompt, tool and config has."""

    REQUIRED: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """Groups of fields (one of each group) required unless ``absent: true``."""
    EXCLUSIVE: ClassVar[tuple[tuple[str, ...], ...]] = ()
    """Groups of fields of which users may write at most one.

    Checked on what users write, not in a validator: a loaded ``Prompt`` has both ``text`` (read
    from the file) and ``text_file``, and must still round-trip through validation.
    """

    @classmethod
    def presence_problems(cls, written: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        """(field, message) for each required group missing and each exclusive group overfilled."""
        if not is_true(written.get("absent")):
            for group in cls.REQUIRED:
                if all(written.get(name) is None for name in group):
                    alternatives = ", ".join(group)
                    yield (
                        group[0],
                        (
                            "required field is missing"
                            if len(group) == 1
                            else f"one of {alternatives} is required"
                        ),
                    )
        for group in cls.EXCLUSIVE:
            given = [name for name in group if written.get(name) is not None]
            if len(given) > 1:
                yield given[-1], f"give either {' or '.join(given)}, not both"

    name: Name = Field(description="The resource's name in Hume: its identity.")
    previous_names: tuple[Name, ...] = Field(
        default=(), description="Earlier names: the resource is renamed, not recreated."
    )
    absent: bool = Field(
        default=False, description="The resource must not exist remotely (deletes it)."
    )


class Source(BaseModel):
    """Where a resource is defined: ``file`` relative to the manifest root, 1-based position."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Loaded(BaseModel):
    """The fields the loader adds to what the user wrote."""

    source: Source
    secret_spans: tuple[SecretSpan, ...] = ()
    """Where each ``${secret:...}`` was substituted: the field's path (``webhooks[0].url``) and its
    template, so that outputs mask exactly that and show the rest."""


def is_true(value: Any) -> bool:
    """Whether ``value`` reads as ``true`` the way a bool field would (``absent: "true"``)."""
    if value is None or isinstance(value, bool):  # nearly always: asked twice per resource
        return value is True
    try:
        return _BOOL.validate_python(value)
    except ValidationError:
        return False


_BOOL = TypeAdapter(bool)


class Resource(ResourceSpec, Loaded):
    """A resource of the desired state, of any kind: what the user wrote, and where."""
