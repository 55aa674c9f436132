"""The official ``hume`` Python SDK (0.14.1) against the emulator: every prompt, tool and config call.

The SDK is pointed at the emulator with ``base_url`` (it derives its whole environment from it).
Its HTTP client is ours: a transport that refuses anything but the emulator's loopback address,
and a response hook that checks every body against the contract, so a test here can pass only if
the emulator speaks the wire format that Hume's own generated client expects.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from hume import AsyncHumeClient, HumeClient
from hume.core.api_error import ApiError
from hume.empathic_voice import (
    PostedBuiltinTool,
    PostedConfigPromptSpec,
    PostedEllmModel,
    PostedEventMessageSpecs,
    PostedEventMessageSpecsOnNewChat,
    PostedInterruptionSpec,
    PostedLanguageModel,
    PostedNudgeSpec,
    PostedTimeoutSpecs,
    PostedTimeoutSpecsInactivity,
    PostedTimeoutSpecsMaxDuration,
    PostedTurnDetectionSpec,
    PostedUserDefinedToolSpec,
    PostedWebhookSpec,
    PromptExpansionSpec,
    ReturnConfig,
    ReturnPrompt,
    ReturnUserDefinedTool,
    VoiceId,
    VoiceName,
)
from hume.empathic_voice.configs import (
    PostedConfigEllmModel,
    PostedConfigEventMessages,
    PostedConfigEventMessagesOnInactivityTimeout,
    PostedConfigEventMessagesOnMaxDurationTimeout,
    PostedConfigEventMessagesOnNewChat,
    PostedConfigLanguageModel,
    PostedConfigNudges,
    PostedConfigPrompt,
    PostedConfigTimeouts,
    PostedConfigTimeoutsInactivity,
    PostedConfigTimeoutsMaxDuration,
)

from reconciler.emulator import EmulatorSettings
from tests.conftest import KEY, RunningEmulator
from tests.contract import check_response

PARAMS = json.dumps(
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
)
NO_RETRY = {"max_retries": 0}  # the SDK retries 409 and 5xx; an expected error must be immediate


class LoopbackOnly(httpx.HTTPTransport):
    """Sends only to the emulator; any other destination fails the test before leaving the host."""

    def __init__(self, origin: str, seen: list[httpx.Request]):
        super().__init__()
        self.origin = httpx.URL(origin)
        self.seen = seen

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        target = (url.scheme, url.host, url.port)
        assert target == (self.origin.scheme, self.origin.host, self.origin.port), url
        self.seen.append(request)
        return super().handle_request(request)


class AsyncLoopbackOnly(httpx.AsyncHTTPTransport):
    """The async twin of ``LoopbackOnly``."""

    def __init__(self, origin: str, seen: list[httpx.Request]):
        super().__init__()
        self.origin = httpx.URL(origin)
        self.seen = seen

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        target = (url.scheme, url.host, url.port)
        assert target == (self.origin.scheme, self.origin.host, self.origin.port), url
        self.seen.append(request)
        return await super().handle_async_request(request)


def _check(response: httpx.Response) -> None:
    response.read()
    check_response(response)


async def _acheck(response: httpx.Response) -> None:
    await response.aread()
    check_response(response)


@pytest.fixture
def seen() -> list[httpx.Request]:
    """Every request the SDK sent in a test, in order."""
    return []


@pytest.fixture
def hume(emulator: RunningEmulator, seen: list[httpx.Request]) -> Iterator[HumeClient]:
    """A ``HumeClient`` on the emptied emulator, loopback-only and contract-checked."""
    transport = LoopbackOnly(emulator.url, seen)
    with httpx.Client(transport=transport, event_hooks={"response": [_check]}, timeout=10) as http:
        yield HumeClient(api_key=KEY, base_url=emulator.url, httpx_client=http)


def paths(seen: list[httpx.Request], method: str = "GET") -> list[str]:
    return [f"{r.url.path}?{r.url.query.decode()}" for r in seen if r.method == method]


def status_of(exc: pytest.ExceptionInfo[ApiError]) -> int | None:
    return exc.value.status_code


# Wiring


def test_base_url_shapes_the_whole_environment(server: RunningEmulator) -> None:
    client = HumeClient(api_key=KEY, base_url=server.url)
    env = client.empathic_voice.prompts._raw_client._client_wrapper.get_environment()
    host = server.url.removeprefix("http://")
    assert env.base == server.url
    assert env.evi == f"ws://{host}/v0/evi"
    assert env.tts == f"ws://{host}/v0/tts"
    assert env.stream == f"ws://{host}/v0/stream"


def test_plain_client_reaches_only_the_emulator(emulator: RunningEmulator) -> None:
    """No custom httpx client: the emulator's request log shows every call the SDK made."""
    client = HumeClient(api_key=KEY, base_url=emulator.url)
    created = client.empathic_voice.prompts.create_prompt(name="plain", text="Hi")
    assert created is not None
    listed = [p.id for p in client.empathic_voice.prompts.list_prompts() if p is not None]
    assert listed == [created.id]
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("POST", "/v0/evi/prompts", 201),
        ("GET", "/v0/evi/prompts", 200),
        ("GET", "/v0/evi/prompts", 200),  # the pager asks for page 1, which is empty
    ]


def test_wrong_key_is_an_api_error() -> None:
    """A 401 reaches the caller as ``ApiError`` with the emulator's JSON body."""
    with RunningEmulator(EmulatorSettings(api_key=KEY)) as strict:
        client = HumeClient(api_key="wrong", base_url=strict.url)
        with pytest.raises(ApiError) as exc:
            client.empathic_voice.tools.create_tool(
                name="t", parameters=PARAMS, request_options=NO_RETRY
            )
        assert status_of(exc) == 401
        assert exc.value.body["error"] == "Unauthorized"
        good = HumeClient(api_key=KEY, base_url=strict.url)
        assert [t for t in good.empathic_voice.tools.list_tools() if t] == []


# Prompts


def test_list_prompts_pages_until_empty(hume: HumeClient, seen: list[httpx.Request]) -> None:
    prompts = hume.empathic_voice.prompts
    created = [prompts.create_prompt(name=f"p-{i:02}", text=f"text {i}") for i in range(25)]
    ids = [p.id for p in created if p is not None]
    assert len(set(ids)) == 25
    seen.clear()

    pager = prompts.list_prompts(page_size=10)
    listed = [p.id for p in pager if p is not None]
    assert sorted(listed) == sorted(ids)
    assert len(listed) == len(set(listed)) == 25
    assert listed == ids  # creation order
    assert pager.response.total_pages == 3
    assert pager.response.page_size == 10
    assert paths(seen) == [
        f"/v0/evi/prompts?page_number={n}&page_size=10" for n in range(4)
    ]  # pages 0..2, then the empty page 3 that stops the pager

    sizes = [len(page.items or []) for page in prompts.list_prompts(page_size=10).iter_pages()]
    assert sizes == [10, 10, 5]

    by_name = [p for p in prompts.list_prompts(name="p-07") if p is not None]
    assert [(p.name, p.text) for p in by_name] == [("p-07", "text 7")]

    page_two = prompts.list_prompts(page_number=2, page_size=10)
    assert page_two.response.page_number == 2
    assert [p.name for p in page_two.items or [] if p] == [f"p-{i}" for i in range(20, 25)]


def test_list_prompts_all_versions(hume: HumeClient) -> None:
    prompts = hume.empathic_voice.prompts
    first = prompts.create_prompt(name="a", text="a0")
    other = prompts.create_prompt(name="b", text="b0")
    assert first is not None and other is not None
    prompts.create_prompt_version(first.id, text="a1")
    latest = [(p.name, p.version) for p in prompts.list_prompts() if p]
    assert latest == [("a", 1), ("b", 0)]
    every = [(p.name, p.version) for p in prompts.list_prompts(restrict_to_most_recent=False) if p]
    assert every == [("a", 0), ("a", 1), ("b", 0)]


def test_prompt_lifecycle(hume: HumeClient) -> None:
    prompts = hume.empathic_voice.prompts
    first = prompts.create_prompt(name="greeter", text="Hello", version_description="v0 notes")
    assert isinstance(first, ReturnPrompt)
    assert (first.name, first.text, first.version) == ("greeter", "Hello", 0)
    assert first.version_description == "v0 notes"
    assert first.version_type == "FIXED"
    assert first.prompt_expansion == PromptExpansionSpec(enabled=True)
    assert first.created_on == first.modified_on > 10**12  # milliseconds
    pid = first.id

    second = prompts.create_prompt_version(
        pid, text="Hi", prompt_expansion=PromptExpansionSpec(enabled=False)
    )
    third = prompts.create_prompt_version(pid, text="Hey", version_description="v2 notes")
    assert second is not None and third is not None
    assert (second.id, second.version, second.text) == (pid, 1, "Hi")
    assert second.prompt_expansion == PromptExpansionSpec(enabled=False)
    assert second.version_description is None
    assert (third.version, third.version_description) == (2, "v2 notes")
    assert third.created_on == first.created_on

    page = prompts.list_prompt_versions(pid, restrict_to_most_recent=False)
    assert [(p.version, p.text) for p in page.prompts_page if p] == [
        (0, "Hello"),
        (1, "Hi"),
        (2, "Hey"),
    ]
    assert (page.page_number, page.total_pages) == (0, 1)
    latest = prompts.list_prompt_versions(pid, restrict_to_most_recent=True)
    assert [p.version for p in latest.prompts_page if p] == [2]
    paged = prompts.list_prompt_versions(
        pid, page_number=1, page_size=2, restrict_to_most_recent=False
    )
    assert [p.version for p in paged.prompts_page if p] == [2]

    assert prompts.update_prompt_name(pid, name="welcomer") == "{}"
    for version in (0, 1, 2):
        got = prompts.get_prompt_version(pid, version)
        assert got is not None
        assert (got.id, got.version, got.name) == (pid, version, "welcomer")
    got = prompts.get_prompt_version(pid, 1)
    assert got is not None and got.text == "Hi"

    patched = prompts.update_prompt_description(pid, 1, version_description="fixed a typo")
    assert patched is not None
    assert (patched.version, patched.text) == (1, "Hi")
    assert patched.version_description == "fixed a typo"
    assert patched.modified_on >= second.modified_on
    refetched = prompts.get_prompt_version(pid, 1)
    assert refetched is not None and refetched.version_description == "fixed a typo"
    cleared = prompts.update_prompt_description(pid, 1, version_description=None)
    assert cleared is not None and cleared.version_description is None
    versions = prompts.list_prompt_versions(pid, restrict_to_most_recent=False).prompts_page
    assert [p.version for p in versions if p] == [0, 1, 2]  # a patch makes no version

    assert prompts.delete_prompt_version(pid, 1) is None
    with pytest.raises(ApiError) as exc:
        prompts.get_prompt_version(pid, 1, request_options=NO_RETRY)
    assert status_of(exc) == 404
    versions = prompts.list_prompt_versions(pid, restrict_to_most_recent=False).prompts_page
    assert [p.version for p in versions if p] == [0, 2]
    fourth = prompts.create_prompt_version(pid, text="Yo")
    assert fourth is not None and fourth.version == 3  # numbers are never reused

    assert prompts.delete_prompt(pid) is None
    assert [p for p in prompts.list_prompts() if p] == []
    with pytest.raises(ApiError) as exc:
        prompts.get_prompt_version(pid, 0, request_options=NO_RETRY)
    assert status_of(exc) == 404
    with pytest.raises(ApiError) as exc:
        prompts.list_prompt_versions(pid, request_options=NO_RETRY)
    assert status_of(exc) == 404


def test_prompt_errors_reach_the_caller(hume: HumeClient) -> None:
    prompts = hume.empathic_voice.prompts
    prompts.create_prompt(name="taken", text="x")
    with pytest.raises(ApiError) as exc:
        prompts.create_prompt(name="taken", text="y", request_options=NO_RETRY)
    assert status_of(exc) == 409
    with pytest.raises(ApiError) as exc:
        prompts.create_prompt(name="  ", text="y", request_options=NO_RETRY)
    assert status_of(exc) == 422
    assert exc.value.body["detail"][0]["loc"] == ["body", "name"]
    with pytest.raises(ApiError) as exc:
        prompts.list_prompts(page_size=101, request_options=NO_RETRY)
    assert status_of(exc) == 422
    with pytest.raises(ApiError) as exc:
        prompts.delete_prompt("not-a-uuid", request_options=NO_RETRY)
    assert status_of(exc) == 422


# Tools


def test_list_tools_pages_until_empty(hume: HumeClient, seen: list[httpx.Request]) -> None:
    tools = hume.empathic_voice.tools
    ids = []
    for i in range(12):
        tool = tools.create_tool(name=f"t-{i:02}", parameters=PARAMS)
        assert tool is not None
        ids.append(tool.id)
    seen.clear()
    listed = [t.id for t in tools.list_tools(page_size=5) if t is not None]
    assert listed == ids
    assert len(paths(seen)) == 4  # 5 + 5 + 2, then an empty page


def test_tool_lifecycle(hume: HumeClient, seen: list[httpx.Request]) -> None:
    tools = hume.empathic_voice.tools
    first = tools.create_tool(
        name="get_weather",
        parameters=PARAMS,
        description="Weather for a city",
        fallback_content="Weather is unavailable",
        version_description="v0",
    )
    assert isinstance(first, ReturnUserDefinedTool)
    assert (first.name, first.version, first.parameters) == ("get_weather", 0, PARAMS)
    assert json.loads(first.parameters)["required"] == ["city"]
    assert first.description == "Weather for a city"
    assert first.fallback_content == "Weather is unavailable"
    assert first.version_description == "v0"
    assert (first.tool_type, first.version_type) == ("FUNCTION", "FIXED")
    tid = first.id

    params_v1 = json.dumps({"type": "object", "properties": {"zip": {"type": "string"}}})
    second = tools.create_tool_version(tid, parameters=params_v1, description="By zip code")
    assert second is not None
    assert (second.id, second.version, second.parameters) == (tid, 1, params_v1)
    assert second.description == "By zip code"
    assert second.fallback_content is None  # not inherited
    assert second.name == "get_weather"
    third = tools.create_tool_version(tid, parameters=PARAMS, version_description="back")
    assert third is not None and third.version == 2

    seen.clear()
    versions = [
        t.version for t in tools.list_tool_versions(tid, restrict_to_most_recent=False) if t
    ]
    assert versions == [0, 1, 2]
    assert len(paths(seen)) == 2  # the versions pager also stops on an empty page
    small = tools.list_tool_versions(tid, page_size=1, restrict_to_most_recent=False)
    assert [t.version for t in small if t] == [0, 1, 2]

    assert tools.update_tool_name(tid, name="weather_lookup") == "{}"
    got = tools.get_tool_version(tid, 0)
    assert got is not None
    assert (got.name, got.version, got.description) == ("weather_lookup", 0, "Weather for a city")

    patched = tools.update_tool_description(tid, 2, version_description="reverted")
    assert patched is not None
    assert (patched.version, patched.version_description, patched.parameters) == (
        2,
        "reverted",
        PARAMS,
    )
    assert [t.version for t in tools.list_tool_versions(tid, restrict_to_most_recent=False)] == [
        0,
        1,
        2,
    ]

    assert tools.delete_tool_version(tid, 0) is None
    with pytest.raises(ApiError) as exc:
        tools.get_tool_version(tid, 0, request_options=NO_RETRY)
    assert status_of(exc) == 404
    remaining = [t for t in tools.list_tool_versions(tid, restrict_to_most_recent=False) if t]
    assert [t.version for t in remaining] == [1, 2]

    assert tools.delete_tool(tid) is None
    assert [t for t in tools.list_tools() if t] == []


def test_tool_errors_reach_the_caller(hume: HumeClient) -> None:
    tools = hume.empathic_voice.tools
    with pytest.raises(ApiError) as exc:
        tools.create_tool(name="bad", parameters="{not json", request_options=NO_RETRY)
    assert status_of(exc) == 422
    assert exc.value.body["detail"][0]["loc"] == ["body", "parameters"]


# Configs


def make_refs(
    hume: HumeClient,
) -> tuple[ReturnPrompt, ReturnUserDefinedTool, ReturnUserDefinedTool]:
    prompt = hume.empathic_voice.prompts.create_prompt(name="sys", text="You are helpful.")
    weather = hume.empathic_voice.tools.create_tool(name="weather", parameters=PARAMS)
    clock = hume.empathic_voice.tools.create_tool(
        name="clock", parameters=json.dumps({"type": "object", "properties": {}})
    )
    assert prompt is not None and weather is not None and clock is not None
    return prompt, weather, clock


def test_config_lifecycle(hume: HumeClient) -> None:
    prompt, weather, clock = make_refs(hume)
    configs = hume.empathic_voice.configs
    first = configs.create_config(
        evi_version="3",
        name="support",
        version_description="first cut",
        prompt=PostedConfigPrompt(id=prompt.id, version=0),
        tools=[
            PostedUserDefinedToolSpec(id=weather.id, version=0),
            PostedUserDefinedToolSpec(id=clock.id),  # no version: tracks the latest
        ],
        builtin_tools=[PostedBuiltinTool(name="web_search", fallback_content="offline")],
        voice=VoiceName(name="Ito", provider="HUME_AI"),
        language_model=PostedConfigLanguageModel(
            model_provider="ANTHROPIC", model_resource="claude-3-7-sonnet-latest", temperature=0.5
        ),
        ellm_model=PostedConfigEllmModel(allow_short_responses=True),
        event_messages=PostedConfigEventMessages(
            on_new_chat=PostedConfigEventMessagesOnNewChat(enabled=True, text="Welcome!"),
            on_inactivity_timeout=PostedConfigEventMessagesOnInactivityTimeout(enabled=False),
            on_max_duration_timeout=PostedConfigEventMessagesOnMaxDurationTimeout(
                enabled=True, text=None
            ),
        ),
        nudges=PostedConfigNudges(enabled=True, interval_secs=6),
        timeouts=PostedConfigTimeouts(
            inactivity=PostedConfigTimeoutsInactivity(enabled=True, duration_secs=120),
            max_duration=PostedConfigTimeoutsMaxDuration(enabled=True, duration_secs=900),
        ),
        interruption=PostedInterruptionSpec(min_interruption_ms=300),
        turn_detection=PostedTurnDetectionSpec(
            end_of_turn_silence_ms=800, prefix_padding_ms=200, speech_detection_threshold=0.6
        ),
        webhooks=[PostedWebhookSpec(url="https://hooks.example.com/evi", events=["chat_ended"])],
    )
    assert isinstance(first, ReturnConfig)
    assert (first.name, first.version, first.evi_version) == ("support", 0, "3")
    assert first.version_description == "first cut"
    cid = first.id
    assert cid is not None

    assert first.prompt is not None
    assert (first.prompt.id, first.prompt.version, first.prompt.text) == (
        prompt.id,
        0,
        "You are helpful.",
    )
    assert first.prompt.name == "sys"
    assert first.prompt.version_type == "FIXED"
    assert first.tools is not None
    embedded = [(t.id, t.version, t.name, t.version_type) for t in first.tools if t]
    assert embedded == [
        (weather.id, 0, "weather", "FIXED"),
        (clock.id, 0, "clock", "LATEST"),
    ]
    assert first.tools[0] is not None and first.tools[0].parameters == PARAMS
    assert first.builtin_tools is not None
    assert [(b.name, b.fallback_content, b.tool_type) for b in first.builtin_tools if b] == [
        ("web_search", "offline", "BUILTIN")
    ]
    assert first.voice is not None
    assert (first.voice.name, first.voice.provider) == ("Ito", "HUME_AI")
    assert first.voice.id
    assert first.language_model is not None
    assert (first.language_model.model_provider, first.language_model.temperature) == (
        "ANTHROPIC",
        0.5,
    )
    assert first.language_model.model_resource == "claude-3-7-sonnet-latest"
    assert first.ellm_model is not None and first.ellm_model.allow_short_responses is True
    assert first.event_messages is not None
    new_chat = first.event_messages.on_new_chat
    assert new_chat is not None and (new_chat.enabled, new_chat.text) == (True, "Welcome!")
    inactive = first.event_messages.on_inactivity_timeout
    assert inactive is not None and inactive.enabled is False
    assert first.nudges is not None
    assert (first.nudges.enabled, first.nudges.interval_secs) == (True, 6)
    assert first.timeouts is not None
    assert first.timeouts.inactivity.duration_secs == 120
    assert first.timeouts.max_duration.duration_secs == 900
    assert first.interruption is not None and first.interruption.min_interruption_ms == 300
    assert first.turn_detection is not None
    assert first.turn_detection.end_of_turn_silence_ms == 800
    assert first.turn_detection.speech_detection_threshold == 0.6
    assert first.webhooks is not None
    assert [(w.url, list(w.events)) for w in first.webhooks if w] == [
        ("https://hooks.example.com/evi", ["chat_ended"])
    ]

    # A new tool version shows up in a config that tracks the latest, not in a pinned one.
    hume.empathic_voice.tools.create_tool_version(clock.id, parameters=PARAMS)
    hume.empathic_voice.tools.create_tool_version(weather.id, parameters=PARAMS)
    again = configs.get_config_version(cid, 0)
    assert again.tools is not None
    assert [(t.name, t.version) for t in again.tools if t] == [("weather", 0), ("clock", 1)]

    # create_config_version takes the Posted*Spec types; omitted fields get server defaults.
    second = configs.create_config_version(
        cid,
        evi_version="4-mini",
        version_description="second",
        prompt=PostedConfigPromptSpec(
            id=prompt.id, prompt_expansion=PromptExpansionSpec(enabled=False)
        ),
        tools=[PostedUserDefinedToolSpec(id=weather.id, version=1)],
        builtin_tools=[PostedBuiltinTool(name="hang_up")],
        voice=VoiceId(id="11111111-2222-3333-4444-555555555555"),
        language_model=PostedLanguageModel(
            model_provider="OPEN_AI", model_resource="gpt-4o", temperature=1.0
        ),
        event_messages=PostedEventMessageSpecs(
            on_new_chat=PostedEventMessageSpecsOnNewChat(enabled=True, text="Hello again")
        ),
        nudges=PostedNudgeSpec(enabled=False),
        timeouts=PostedTimeoutSpecs(
            inactivity=PostedTimeoutSpecsInactivity(enabled=False),
            max_duration=PostedTimeoutSpecsMaxDuration(enabled=True, duration_secs=1800),
        ),
        interruption=PostedInterruptionSpec(min_interruption_ms=50),
        turn_detection=PostedTurnDetectionSpec(end_of_turn_silence_ms=3000),
    )
    assert (second.id, second.version, second.evi_version) == (cid, 1, "4-mini")
    assert second.name == "support"
    assert second.prompt is not None
    assert (second.prompt.id, second.prompt.version_type) == (prompt.id, "LATEST")
    assert second.prompt.prompt_expansion == PromptExpansionSpec(enabled=False)
    assert second.tools is not None
    assert [(t.id, t.version) for t in second.tools if t] == [(weather.id, 1)]
    assert second.builtin_tools is not None
    assert [b.name for b in second.builtin_tools if b] == ["hang_up"]
    assert second.voice is not None
    assert (second.voice.id, second.voice.provider) == (
        "11111111-2222-3333-4444-555555555555",
        "CUSTOM_VOICE",
    )
    assert second.language_model is not None
    assert second.language_model.model_resource == "gpt-4o"
    assert second.ellm_model is not None
    assert second.ellm_model.allow_short_responses is True  # inherited when omitted
    assert second.webhooks == []  # not inherited
    assert second.timeouts is not None and second.timeouts.inactivity.enabled is False
    third = configs.create_config_version(
        cid, evi_version="3", ellm_model=PostedEllmModel(allow_short_responses=False)
    )
    assert third.version == 2
    assert third.ellm_model is not None and third.ellm_model.allow_short_responses is False
    assert third.prompt is None and third.tools == [] and third.voice is None

    every = [c.version for c in configs.list_config_versions(cid, restrict_to_most_recent=False)]
    assert every == [0, 1, 2]
    listed = list(configs.list_configs())
    assert [(c.id, c.version) for c in listed] == [(cid, 2)]

    assert configs.update_config_name(cid, name="helpdesk") == "{}"
    assert {c.name for c in configs.list_config_versions(cid, restrict_to_most_recent=False)} == {
        "helpdesk"
    }

    patched = configs.update_config_description(cid, 1, version_description="tuned")
    assert (patched.version, patched.version_description, patched.evi_version) == (
        1,
        "tuned",
        "4-mini",
    )
    assert configs.get_config_version(cid, 1).version_description == "tuned"

    assert configs.delete_config_version(cid, 2) is None
    with pytest.raises(ApiError) as exc:
        configs.get_config_version(cid, 2, request_options=NO_RETRY)
    assert status_of(exc) == 404
    assert [c.version for c in configs.list_configs()] == [1]  # the latest is now 1
    assert configs.create_config_version(cid, evi_version="3").version == 3

    assert configs.delete_config(cid) is None
    assert list(configs.list_configs()) == []
    with pytest.raises(ApiError) as exc:
        configs.update_config_name(cid, name="gone", request_options=NO_RETRY)
    assert status_of(exc) == 404


def test_config_with_inline_prompt_text(hume: HumeClient) -> None:
    """``prompt.text`` without an id makes a new prompt, which the config embeds."""
    configs = hume.empathic_voice.configs
    made = configs.create_config(
        evi_version="3", name="inline", prompt=PostedConfigPrompt(text="Be brief.")
    )
    assert made.prompt is not None
    assert (made.prompt.text, made.prompt.version) == ("Be brief.", 0)
    stored = hume.empathic_voice.prompts.get_prompt_version(made.prompt.id, 0)
    assert stored is not None and stored.text == "Be brief."


def test_config_defaults_read_back(hume: HumeClient) -> None:
    made = hume.empathic_voice.configs.create_config(evi_version="3", name="bare")
    assert (made.version, made.prompt, made.voice, made.tools, made.builtin_tools) == (
        0,
        None,
        None,
        [],
        [],
    )
    assert made.timeouts is not None
    assert made.timeouts.inactivity.duration_secs == 600
    assert made.timeouts.max_duration.duration_secs == 1800
    assert made.ellm_model is not None and made.ellm_model.allow_short_responses is False


def test_list_configs_pages_through_referencing_configs(
    hume: HumeClient, seen: list[httpx.Request]
) -> None:
    prompt, weather, clock = make_refs(hume)
    configs = hume.empathic_voice.configs
    ids = []
    for i in range(23):
        made = configs.create_config(
            evi_version="3",
            name=f"c-{i:02}",
            prompt=PostedConfigPrompt(id=prompt.id, version=0),
            tools=[
                PostedUserDefinedToolSpec(id=weather.id, version=0),
                PostedUserDefinedToolSpec(id=clock.id, version=0),
            ],
        )
        ids.append(made.id)
    seen.clear()
    listed = list(configs.list_configs(page_size=10))
    assert [c.id for c in listed] == ids
    assert len(paths(seen)) == 4
    for config in listed:
        assert config.prompt is not None and config.prompt.id == prompt.id
        assert config.tools is not None
        assert [t.id for t in config.tools if t] == [weather.id, clock.id]
    named = list(configs.list_configs(name="c-13"))
    assert [c.id for c in named] == [ids[13]]


def test_config_reference_errors(hume: HumeClient) -> None:
    configs = hume.empathic_voice.configs
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ApiError) as exc:
        configs.create_config(
            evi_version="3",
            name="dangling",
            tools=[PostedUserDefinedToolSpec(id=missing)],
            request_options=NO_RETRY,
        )
    assert status_of(exc) == 422
    assert exc.value.body["detail"][0]["loc"] == ["body", "tools", 0]
    with pytest.raises(ApiError) as exc:
        configs.create_config(evi_version="2", name="old", request_options=NO_RETRY)
    assert status_of(exc) == 422


# The async client


def test_async_client_pages_and_writes(emulator: RunningEmulator) -> None:
    seen: list[httpx.Request] = []

    async def scenario() -> None:
        transport = AsyncLoopbackOnly(emulator.url, seen)
        async with httpx.AsyncClient(
            transport=transport, event_hooks={"response": [_acheck]}, timeout=10
        ) as http:
            client = AsyncHumeClient(api_key=KEY, base_url=emulator.url, httpx_client=http)
            prompts = client.empathic_voice.prompts
            made = await asyncio.gather(
                *(prompts.create_prompt(name=f"a-{i:02}", text="x") for i in range(15))
            )
            ids = {p.id for p in made if p is not None}
            pager = await prompts.list_prompts(page_size=4)
            listed = [p.id async for p in pager if p is not None]
            assert sorted(listed) == sorted(ids) and len(listed) == 15
            target = made[0]
            assert target is not None
            version = await prompts.create_prompt_version(target.id, text="y")
            assert version is not None and version.version == 1
            assert await prompts.update_prompt_name(target.id, name="renamed") == "{}"
            got = await prompts.get_prompt_version(target.id, 0)
            assert got is not None and got.name == "renamed"

            tool = await client.empathic_voice.tools.create_tool(name="t", parameters=PARAMS)
            assert tool is not None
            config = await client.empathic_voice.configs.create_config(
                evi_version="3",
                name="async",
                prompt=PostedConfigPrompt(id=target.id, version=1),
                tools=[PostedUserDefinedToolSpec(id=tool.id, version=0)],
            )
            assert config.prompt is not None and config.prompt.text == "y"
            tools_pager = await client.empathic_voice.tools.list_tool_versions(tool.id)
            assert [t.version async for t in tools_pager if t] == [0]
            configs_pager = await client.empathic_voice.configs.list_configs()
            assert [c.name async for c in configs_pager] == ["async"]
            await client.empathic_voice.configs.delete_config(config.id or "")

    asyncio.run(scenario())
    creates, list_pages, prompt_calls, tool_and_config, pagers, delete = 15, 5, 3, 2, 2 + 2, 1
    assert len(seen) == creates + list_pages + prompt_calls + tool_and_config + pagers + delete
    assert all(r.headers["X-Hume-Api-Key"] == KEY for r in seen)
