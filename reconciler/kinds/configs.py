"""EVI configs: the settings of a voice interface, pinning prompt and tool versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from reconciler.hume import facts
from reconciler.kinds.base import Kind, LiveVersion, RefField
from reconciler.kinds.fields import (
    ReferenceField,
    Resource,
    ResourceSpec,
    Strict,
    in_range,
    problem,
    required_unless_absent,
    show,
    spec_enum,
)
from reconciler.kinds.prompts import LivePrompt
from reconciler.kinds.tools import LiveTool
from reconciler.spelling import suggest

NUDGE_INTERVAL = facts.Range(("nudges", "interval_secs"), 1, 1800, "s")
"""(inference) The spec gives no range: a nudge after more silence than the longest timeout
(1,800 s) could never happen, and zero or negative intervals are meaningless."""


def config_range(*path: str) -> Any:
    """A number limited to the prose range that ``facts.CONFIG_RANGES`` gives for ``path``."""
    (rng,) = (r for r in facts.CONFIG_RANGES if r.path == path)
    return in_range(rng)


def _https(url: str) -> str:
    if not facts.is_https_url(url):
        message = f"must be a valid https URL (got {show(url)})"
        raise problem("https_url", message)
    return url


def _evi_version_is_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        message = f'must be a string: quote it, evi_version: "{value}"'
        raise problem("evi_version_type", message)
    return value


def _check_evi_version(value: str) -> str:
    if value not in facts.EVI_VERSIONS:
        allowed = ", ".join(repr(v) for v in facts.EVI_VERSIONS)
        hint = suggest(value, facts.EVI_VERSIONS)
        message = f"must be one of {allowed} (got {show(value)}){hint}"
        raise problem("evi_version", message)
    return value


ModelProvider = spec_enum("ModelProviderEnum", "model provider")
LanguageModelType = spec_enum("LanguageModelType", "language model")
VoiceProvider = spec_enum("VoiceProvider", "voice provider")
WebhookEvent = spec_enum("PostedWebhookSpecEventsItems", "webhook event")
BuiltinToolName = spec_enum("PostedBuiltinToolName", "built-in tool")
EviVersion = Annotated[
    str,
    BeforeValidator(_evi_version_is_text),
    AfterValidator(_check_evi_version),
    WithJsonSchema({"type": "string", "enum": list(facts.EVI_VERSIONS)}),
]
HttpsUrl = Annotated[
    str, AfterValidator(_https), WithJsonSchema({"type": "string", "pattern": "^https://"})
]


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
    model_provider: ModelProvider | None = Field(
        default=None, description="Who serves the supplemental language model."
    )
    model_resource: LanguageModelType | None = Field(
        default=None, description="The supplemental language model, one of model_provider's."
    )
    temperature: Annotated[float | None, *config_range("language_model", "temperature")] = None


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
        int | None, *config_range("interruption", "min_interruption_ms")
    ] = None


class Nudges(Strict):
    enabled: bool | None = None
    interval_secs: Annotated[int | None, *in_range(NUDGE_INTERVAL)] = None


class InactivityTimeout(Strict):
    enabled: bool
    duration_secs: Annotated[
        int | None, *config_range("timeouts", "inactivity", "duration_secs")
    ] = None


class MaxDurationTimeout(Strict):
    enabled: bool
    duration_secs: Annotated[
        int | None, *config_range("timeouts", "max_duration", "duration_secs")
    ] = None


class Timeouts(Strict):
    inactivity: InactivityTimeout | None = None
    max_duration: MaxDurationTimeout | None = None


class TurnDetection(Strict):
    end_of_turn_silence_ms: Annotated[
        int | None, *config_range("turn_detection", "end_of_turn_silence_ms")
    ] = None
    prefix_padding_ms: Annotated[
        int | None, *config_range("turn_detection", "prefix_padding_ms")
    ] = None
    speech_detection_threshold: Annotated[
        float | None, *config_range("turn_detection", "speech_detection_threshold")
    ] = None


class Webhook(Strict):
    url: HttpsUrl
    events: tuple[WebhookEvent, ...]


class ConfigSpec(ResourceSpec):
    """An EVI config: every field of ``posted_config``, with prompt and tools as references."""

    REQUIRED = (("evi_version",),)
    model_config = ConfigDict(json_schema_extra=required_unless_absent(*REQUIRED))

    evi_version: EviVersion | None = None
    version_description: str | None = None
    prompt: ReferenceField | None = Field(
        default=None,
        description="The prompt: its name in these manifests, or {id, version} of one managed "
        "elsewhere.",
    )
    tools: tuple[ReferenceField, ...] | None = Field(
        default=None,
        description="The tools: each by its name in these manifests, or {id, version} of one "
        "managed elsewhere.",
    )
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


class Config(ConfigSpec, Resource):
    """A config of the desired state; ``prompt``/``tools`` are unresolved references."""


class LiveConfig(LiveVersion):
    """A config version, with the prompt and tool versions it references embedded."""

    evi_version: str
    prompt: LivePrompt | None = None
    tools: list[LiveTool] | None = None
    builtin_tools: list[dict[str, Any]] | None = None
    voice: dict[str, Any] | None = None
    language_model: dict[str, Any] | None = None
    ellm_model: dict[str, Any] | None = None
    event_messages: dict[str, Any] | None = None
    timeouts: dict[str, Any] | None = None
    nudges: dict[str, Any] | None = None
    interruption: dict[str, Any] | None = None
    turn_detection: dict[str, Any] | None = None
    webhooks: list[dict[str, Any]] | None = None


def voice_keys(body: dict[str, Any]) -> tuple[str, ...]:
    """How a config names its voice: by ``name`` or by ``id`` (``VoiceRef`` is one of the two)."""
    voice = body.get("voice") or {}
    return ("id",) if "id" in voice and "name" not in voice else ("name",)


def voice_as_written(projected: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    """A live voice carries both id and name: keep the one the desired side (``like``) uses."""
    if "voice" in projected:
        voice = projected["voice"]
        kept = {key: voice[key] for key in voice_keys(like) if key in voice}
        kept["provider"] = voice.get("provider", facts.VOICE_PROVIDER_DEFAULT)
        if kept["provider"] == CUSTOM_VOICE and isinstance(kept.get("name"), str):
            kept["name"] = kept["name"].upper()  # Hume stores custom voice names upper-cased
        projected["voice"] = kept
    return projected


CUSTOM_VOICE = "CUSTOM_VOICE"


def custom_voice(config: Any) -> Any:
    """The account's own voice a config names (``provider: CUSTOM_VOICE``, or none given, which
    Hume reads the same), which must exist in the account; None for any other voice."""
    voice = None if config.absent else config.voice
    if voice is None or (voice.provider or facts.VOICE_PROVIDER_DEFAULT) != CUSTOM_VOICE:
        return None
    return voice


def missing_voice(config: Any, voices: Any) -> str | None:
    """Why a config's custom voice is not among the account's ``voices`` (None: it is, or the
    config names no custom voice)."""
    voice = custom_voice(config)
    if voice is None or voices is None:
        return None
    if voice.id is not None:
        if any(found.get("id") == voice.id for found in voices):
            return None
        return f"custom voice id {voice.id} does not exist in this Hume account"
    names = sorted(str(found.get("name")) for found in voices)
    if voice.name.upper() in {name.upper() for name in names}:
        return None
    known = f"its custom voices: {', '.join(names)}" if names else "it has no custom voices"
    return f"custom voice {voice.name!r} does not exist in this Hume account ({known})"


def export_voice(body: dict[str, Any], written: frozenset[tuple[str, ...]]) -> dict[str, Any]:
    """A voice by name, unless the entry writes it by id or the account knows it only by id."""
    live = body.get("voice")
    if not live:
        return body
    name, id_ = live.get("name"), live.get("id")
    by_id = ("voice", "id") in written or not name or name == id_
    chosen = {"id": id_} if by_id else {"name": name}
    provider = live.get("provider") or facts.VOICE_PROVIDER_DEFAULT
    return {**body, "voice": {**chosen, "provider": provider}}


MODEL_FAMILIES = (
    ("us.anthropic.", "AMAZON_BEDROCK"),
    ("claude-", "ANTHROPIC"),
    ("gpt-3", "OPEN_AI"),
    ("gpt-4", "OPEN_AI"),
    ("gpt-5", "OPEN_AI"),
    ("gemini-", "GOOGLE"),
    ("grok-", "X_AI"),
    ("sonar", "PERPLEXITY"),
    ("accounts/fireworks/", "FIREWORKS"),
)
"""Model names that clearly belong to one provider, by prefix (first match wins)."""


def provider_advice(config: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    """A ``model_resource`` that clearly belongs to another provider than ``model_provider``:
    a warning only, since providers add each other's models over time."""
    model = config.language_model
    if model is None or not model.model_provider or not model.model_resource:
        return
    family = next(
        (p for prefix, p in MODEL_FAMILIES if model.model_resource.startswith(prefix)), None
    )
    if family is not None and family != model.model_provider:
        yield (
            ("language_model", "model_provider"),
            f"{model.model_resource!r} is a {family} model, but model_provider is "
            f"{model.model_provider}: Hume may refuse it or use another model",
        )


KIND = Kind(
    name="configs",
    singular="config",
    spec=ConfigSpec,
    resource=Config,
    live=LiveConfig,
    posted_schema="posted_config_version",
    refs=(RefField("prompt", "prompts"), RefField("tools", "tools", many=True)),
    unordered={"tools": "id", "builtin_tools": "name", "webhooks.events": None, "webhooks": "url"},
    normalise=voice_as_written,
    exported=export_voice,
    advice=provider_advice,
    uses_voice=lambda config: custom_voice(config) is not None,
    voice_problem=missing_voice,
    chats=True,
    export_order=(
        "name", "evi_version", "version_description", "prompt", "tools", "builtin_tools",
        "voice", "language_model", "ellm_model", "event_messages", "interruption", "nudges",
        "timeouts", "turn_detection", "webhooks",
    ),
)  # fmt: skip
