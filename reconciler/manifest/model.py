"""Pydantic models of the manifest format, and of the desired state the loader returns.

Field names are the API's wire names (``posted_config``, ``posted_prompt``,
``posted_user_defined_tool``), so a manifest reads like the request it becomes. Enums, ranges and
the https rule come from ``reconciler.hume`` (the spec and its prose facts), never retyped here.
The ``*Spec`` classes are what users write (and what ``evictl schema`` describes); ``Prompt``,
``Tool`` and ``Config`` add where each resource came from and which of its values are secret.
"""

from __future__ import annotations

import difflib
import json
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, get_args

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

from reconciler.hume import facts, spec

KINDS = ("prompts", "tools", "configs")

_NEVER_LIST = 12
"""Enums longer than this are not spelled out in error messages."""


def problem(kind: str, message: str) -> PydanticCustomError:
    """A validation error whose ``message`` the loader shows as is (``ctx["message"]``)."""
    return PydanticCustomError(kind, "{message}", {"message": message})


def suggest(word: str, choices: Any) -> str:
    """``; did you mean 'X'?`` when a close match exists, else nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _spec_enum(schema_name: str, what: str) -> Any:
    """A string restricted to an enum of the spec, with a readable error and a schema ``enum``."""
    values = spec.enum_values(schema_name)
    choices = (
        ", ".join(values)
        if len(values) <= _NEVER_LIST
        else f"the {len(values)} {what} values of the API spec (see `evictl schema`)"
    )

    def check(value: str) -> str:
        if value not in values:
            message = f"must be one of {choices} (got {value!r}){suggest(value, values)}"
            raise problem("enum", message)
        return value

    return Annotated[
        str, AfterValidator(check), WithJsonSchema({"type": "string", "enum": list(values)})
    ]


def _config_range(*path: str) -> Any:
    """A number limited to the prose range that ``facts.CONFIG_RANGES`` gives for ``path``."""
    (rng,) = (r for r in facts.CONFIG_RANGES if r.path == path)

    def check(value: float | None) -> float | None:
        if value is not None and not rng.low <= value <= rng.high:
            message = f"{rng.describe()} (got {value})"
            raise problem("range", message)
        return value

    return [
        AfterValidator(check),
        Field(json_schema_extra={"minimum": rng.low, "maximum": rng.high}),
    ]


def _https(url: str) -> str:
    if not facts.is_https_url(url):
        message = f"must be a valid https URL (got {url!r})"
        raise problem("https_url", message)
    return url


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        message = f"must be a UUID (got {value!r})"
        raise problem("uuid", message) from None


def _evi_version_is_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        message = f'must be a string: quote it, evi_version: "{value}"'
        raise problem("evi_version_type", message)
    return value


def _check_evi_version(value: str) -> str:
    if value not in facts.EVI_VERSIONS:
        allowed = ", ".join(repr(v) for v in facts.EVI_VERSIONS)
        message = f"must be one of {allowed} (got {value!r}){suggest(value, facts.EVI_VERSIONS)}"
        raise problem("evi_version", message)
    return value


Name = Annotated[str, Field(min_length=1)]
ModelProvider = _spec_enum("ModelProviderEnum", "model provider")
LanguageModelType = _spec_enum("LanguageModelType", "language model")
VoiceProvider = _spec_enum("VoiceProvider", "voice provider")
WebhookEvent = _spec_enum("PostedWebhookSpecEventsItems", "webhook event")
BuiltinToolName = _spec_enum("PostedBuiltinToolName", "built-in tool")
EviVersion = Annotated[
    str,
    BeforeValidator(_evi_version_is_text),
    AfterValidator(_check_evi_version),
    WithJsonSchema({"type": "string", "enum": list(facts.EVI_VERSIONS)}),
]
HttpsUrl = Annotated[
    str, AfterValidator(_https), WithJsonSchema({"type": "string", "pattern": "^https://"})
]


class Strict(BaseModel):
    """Unknown keys are errors (the loader adds a "did you mean" hint); values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PromptExpansion(Strict):
    enabled: bool | None = None


class BuiltinTool(Strict):
    name: BuiltinToolName
    fallback_content: str | None = None


class Voice(Strict):
    """A voice by ``name`` or by ``id``; Voice Library voices need ``provider: HUME_AI``."""

    id: str | None = None
    name: str | None = None
    provider: VoiceProvider | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> Voice:
        if (self.id is None) == (self.name is None):
            raise problem("voice", "give exactly one of id or name")
        return self


class LanguageModel(Strict):
    model_provider: ModelProvider | None = None
    model_resource: LanguageModelType | None = None
    temperature: Annotated[float | None, *_config_range("language_model", "temperature")] = None


class EllmModel(Strict):
    allow_short_responses: bool | None = None


class EventMessage(Strict):
    enabled: bool
    text: str | None = None


class EventMessages(Strict):
    on_new_chat: EventMessage | None = None
    on_inactivity_timeout: EventMessage | None = None
    on_max_duration_timeout: EventMessage | None = None


class Interruption(Strict):
    min_interruption_ms: Annotated[
        int | None, *_config_range("interruption", "min_interruption_ms")
    ] = None


class Nudges(Strict):
    enabled: bool | None = None
    interval_secs: int | None = None


class InactivityTimeout(Strict):
    enabled: bool
    duration_secs: Annotated[
        int | None, *_config_range("timeouts", "inactivity", "duration_secs")
    ] = None


class MaxDurationTimeout(Strict):
    enabled: bool
    duration_secs: Annotated[
        int | None, *_config_range("timeouts", "max_duration", "duration_secs")
    ] = None


class Timeouts(Strict):
    inactivity: InactivityTimeout | None = None
    max_duration: MaxDurationTimeout | None = None


class TurnDetection(Strict):
    end_of_turn_silence_ms: Annotated[
        int | None, *_config_range("turn_detection", "end_of_turn_silence_ms")
    ] = None
    prefix_padding_ms: Annotated[
        int | None, *_config_range("turn_detection", "prefix_padding_ms")
    ] = None
    speech_detection_threshold: Annotated[
        float | None, *_config_range("turn_detection", "speech_detection_threshold")
    ] = None


class Webhook(Strict):
    url: HttpsUrl
    events: tuple[WebhookEvent, ...]


class Reference(Strict):
    """A prompt or tool: by ``name`` (managed in these manifests) or by ``id`` (managed elsewhere).

    Written as a bare name string, or as ``{id: <uuid>, version: N}``; ``version`` is optional
    and absent means "track the latest version".
    """

    name: Name | None = None
    id: Annotated[str, AfterValidator(_uuid)] | None = None
    version: Annotated[int, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _one_identity(self) -> Reference:
        if (self.id is None) == (self.name is None):
            raise problem("reference", "give exactly one of a name or an id")
        if self.version is not None and self.id is None:
            raise problem("reference", "version goes with id, not with a name")
        return self

    @property
    def is_external(self) -> bool:
        """True for ``{id, version}``: a resource these manifests do not manage."""
        return self.id is not None


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


def _required_unless_absent(*groups: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    """JSON Schema: ``groups`` (one field of each) are required unless ``absent: true``."""

    def extra(schema: dict[str, Any]) -> None:
        schema["anyOf"] = [
            {"required": ["absent"], "properties": {"absent": {"const": True}}},
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


class PromptSpec(ResourceSpec):
    """A prompt: ``text`` inline, or ``text_file`` relative to this manifest file."""

    REQUIRED = (("text", "text_file"),)
    EXCLUSIVE = (("text", "text_file"),)
    model_config = ConfigDict(json_schema_extra=_required_unless_absent(*REQUIRED))

    text: str | None = None
    text_file: str | None = None
    version_description: str | None = None
    prompt_expansion: PromptExpansion | None = None


class ToolSpec(ResourceSpec):
    """A user-defined tool; ``parameters`` is a JSON Schema written as a YAML mapping."""

    REQUIRED = (("parameters",),)
    model_config = ConfigDict(json_schema_extra=_required_unless_absent(*REQUIRED))

    description: str | None = None
    parameters: dict[str, Any] | None = None
    fallback_content: str | None = None
    version_description: str | None = None


class ConfigSpec(ResourceSpec):
    """An EVI config: every field of ``posted_config``, with prompt and tools as references."""

    REQUIRED = (("evi_version",),)
    model_config = ConfigDict(json_schema_extra=_required_unless_absent(*REQUIRED))

    evi_version: EviVersion | None = None
    version_description: str | None = None
    prompt: ReferenceField | None = None
    tools: tuple[ReferenceField, ...] | None = None
    builtin_tools: tuple[BuiltinTool, ...] | None = None
    voice: Voice | None = None
    language_model: LanguageModel | None = None
    ellm_model: EllmModel | None = None
    event_messages: EventMessages | None = None
    interruption: Interruption | None = None
    nudges: Nudges | None = None
    timeouts: Timeouts | None = None
    turn_detection: TurnDetection | None = None
    webhooks: tuple[Webhook, ...] | None = None


class ManifestDocument(Strict):
    """One YAML document of a manifest: any of the three resource lists."""

    model_config = ConfigDict(title="evictl manifest")

    prompts: list[PromptSpec] = Field(default_factory=list)
    tools: list[ToolSpec] = Field(default_factory=list)
    configs: list[ConfigSpec] = Field(default_factory=list)


SPECS: dict[str, type[ResourceSpec]] = {
    "prompts": PromptSpec,
    "tools": ToolSpec,
    "configs": ConfigSpec,
}


class Source(BaseModel):
    """Where a resource is defined: ``file`` relative to the manifest root, 1-based position."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class _Loaded(BaseModel):
    """The fields the loader adds to what the user wrote."""

    source: Source
    secret_paths: tuple[str, ...] = ()
    """Field paths (``webhooks[0].url``) whose value contains a ``${secret:...}`` substitution."""


class Prompt(PromptSpec, _Loaded):
    """A prompt of the desired state; ``text`` is resolved (read from ``text_file`` if given)."""


class Tool(ToolSpec, _Loaded):
    """A tool of the desired state; ``parameters`` parsed, ``parameters_json`` the wire form."""

    @property
    def parameters_json(self) -> str | None:
        """The stringified JSON Schema the API expects in ``parameters``."""
        return None if self.parameters is None else json.dumps(self.parameters)


class Config(ConfigSpec, _Loaded):
    """A config of the desired state; ``prompt``/``tools`` are unresolved references."""


Resource = Prompt | Tool | Config
RESOURCES: dict[str, type[Prompt] | type[Tool] | type[Config]] = {
    "prompts": Prompt,
    "tools": Tool,
    "configs": Config,
}


class Manifests(BaseModel):
    """The desired state: every resource of the manifests, validated, with no I/O left in it."""

    model_config = ConfigDict(frozen=True)

    prompts: tuple[Prompt, ...] = ()
    tools: tuple[Tool, ...] = ()
    configs: tuple[Config, ...] = ()
    secrets: frozenset[str] = Field(default=frozenset(), repr=False)
    """Every value substituted by ``${secret:...}``: ``redact`` hides them in any output."""

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``(secret)``."""
        return redact(text, self.secrets)

    def of_kind(self, kind: str) -> tuple[Resource, ...]:
        """The resources of ``kind`` ("prompts", "tools" or "configs")."""
        resources: tuple[Resource, ...] = getattr(self, kind)
        return resources

    def summary(self) -> str:
        """``3 prompts, 3 tools, 3 configs``."""
        counts = ((len(self.of_kind(kind)), kind) for kind in KINDS)
        return ", ".join(f"{n} {kind if n != 1 else kind[:-1]}" for n, kind in counts)


def redact(text: str, secrets: frozenset[str] | set[str]) -> str:
    """``text`` with every value of ``secrets`` replaced by ``(secret)`` (longest first)."""
    if not secrets:
        return text
    pattern = "|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True) if s)
    return re.sub(pattern, "(secret)", text) if pattern else text


def is_true(value: Any) -> bool:
    """Whether ``value`` reads as ``true`` the way a bool field would (``absent: "true"``)."""
    try:
        return _BOOL.validate_python(value)
    except ValidationError:
        return False


_BOOL = TypeAdapter(bool)


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
