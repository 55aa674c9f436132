"""Prompt and tool operations over real HTTP: versions, renames, descriptions, deletes, errors."""

from __future__ import annotations

import json

import httpx
import pytest

from reconciler.emulator import EmulatorSettings
from tests.conftest import RunningEmulator

PARAMS = json.dumps({"type": "object", "properties": {"city": {"type": "string"}}})


def create_prompt(api: httpx.Client, name: str = "greeter", text: str = "Hello") -> dict:
    response = api.post("/v0/evi/prompts", json={"name": name, "text": text})
    assert response.status_code == 201, response.text
    return response.json()


def create_tool(api: httpx.Client, name: str = "weather") -> dict:
    response = api.post("/v0/evi/tools", json={"name": name, "parameters": PARAMS})
    assert response.status_code == 201, response.text
    return response.json()


def versions(api: httpx.Client, kind: str, id_: str) -> list[dict]:
    page = api.get(f"/v0/evi/{kind}/{id_}", params={"restrict_to_most_recent": "false"}).json()
    return page[f"{kind}_page"]


def test_missing_key_is_401_with_json_body(emulator: RunningEmulator) -> None:
    with emulator.client(key=None) as anonymous:
        response = anonymous.get("/v0/evi/prompts")
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert "X-Hume-Api-Key" in response.json()["message"]


def test_fixed_key_rejects_other_keys() -> None:
    with RunningEmulator(EmulatorSettings(api_key="s3cret")) as running:
        with running.client("wrong") as client:
            assert client.get("/v0/evi/tools").status_code == 401
        with running.client("s3cret") as client:
            assert client.get("/v0/evi/tools").status_code == 200


def test_prompt_lifecycle(api: httpx.Client) -> None:
    first = create_prompt(api)
    assert first["version"] == 0
    assert first["version_type"] == "FIXED"
    assert first["prompt_expansion"] == {"enabled": True}
    assert first["created_on"] == first["modified_on"] > 10**12  # milliseconds
    pid = first["id"]

    second = api.post(f"/v0/evi/prompts/{pid}", json={"text": "Hi", "version_description": "d"})
    assert second.status_code == 201
    assert second.json()["version"] == 1
    assert second.json()["created_on"] == first["created_on"]
    assert second.json()["modified_on"] >= first["modified_on"]

    renamed = api.patch(f"/v0/evi/prompts/{pid}", json={"name": "welcomer"})
    assert (renamed.status_code, renamed.json()) == (200, {})
    assert [v["name"] for v in versions(api, "prompts", pid)] == ["welcomer", "welcomer"]

    described = api.patch(f"/v0/evi/prompts/{pid}/version/0", json={"version_description": "x"})
    assert described.status_code == 200
    assert (described.json()["version"], described.json()["version_description"]) == (0, "x")
    assert [v["version"] for v in versions(api, "prompts", pid)] == [0, 1]

    got = api.get(f"/v0/evi/prompts/{pid}/version/1").json()
    assert (got["text"], got["version_description"], got["name"]) == ("Hi", "d", "welcomer")

    assert api.delete(f"/v0/evi/prompts/{pid}/version/1").json() == {}
    assert api.get(f"/v0/evi/prompts/{pid}/version/1").status_code == 404
    assert api.post(f"/v0/evi/prompts/{pid}", json={"text": "again"}).json()["version"] == 2

    assert api.delete(f"/v0/evi/prompts/{pid}").json() == {}
    assert api.get(f"/v0/evi/prompts/{pid}/version/0").status_code == 404
    assert api.get("/v0/evi/prompts").json()["prompts_page"] == []


def test_deleting_the_last_version_deletes_the_resource(api: httpx.Client) -> None:
    pid = create_prompt(api)["id"]
    assert api.delete(f"/v0/evi/prompts/{pid}/version/0").status_code == 200
    assert api.get(f"/v0/evi/prompts/{pid}").status_code == 404


def test_tool_lifecycle(api: httpx.Client) -> None:
    tool = create_tool(api)
    assert (tool["tool_type"], tool["version"], tool["parameters"]) == ("FUNCTION", 0, PARAMS)
    assert tool["description"] is None and tool["fallback_content"] is None
    tid = tool["id"]
    body = {"parameters": "{}", "description": "Weather", "fallback_content": "Unavailable"}
    second = api.post(f"/v0/evi/tools/{tid}", json=body).json()
    assert (second["version"], second["description"], second["fallback_content"]) == (
        1,
        "Weather",
        "Unavailable",
    )
    assert api.patch(f"/v0/evi/tools/{tid}", json={"name": "forecast"}).status_code == 200
    described = api.patch(f"/v0/evi/tools/{tid}/version/1", json={"version_description": None})
    assert described.json()["name"] == "forecast"
    assert api.delete(f"/v0/evi/tools/{tid}/version/0").status_code == 200
    assert [v["version"] for v in versions(api, "tools", tid)] == [1]
    assert api.delete(f"/v0/evi/tools/{tid}").status_code == 200
    assert api.delete(f"/v0/evi/tools/{tid}").status_code == 404


def test_description_patch_without_the_field_changes_nothing(api: httpx.Client) -> None:
    pid = api.post(
        "/v0/evi/prompts", json={"name": "p", "text": "t", "version_description": "keep me"}
    ).json()["id"]
    patched = api.patch(f"/v0/evi/prompts/{pid}/version/0", json={})
    assert patched.json()["version_description"] == "keep me"
    cleared = api.patch(f"/v0/evi/prompts/{pid}/version/0", json={"version_description": None})
    assert cleared.json()["version_description"] is None


def test_description_patch_moves_modified_on_but_not_the_version(api: httpx.Client) -> None:
    tool = create_tool(api)
    patched = api.patch(
        f"/v0/evi/tools/{tool['id']}/version/0", json={"version_description": "v0"}
    ).json()
    assert patched["version"] == 0
    assert patched["modified_on"] >= tool["modified_on"]
    assert len(versions(api, "tools", tool["id"])) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v0/evi/prompts/{id}"),
        ("POST", "/v0/evi/prompts/{id}"),
        ("PATCH", "/v0/evi/prompts/{id}"),
        ("DELETE", "/v0/evi/prompts/{id}"),
        ("GET", "/v0/evi/tools/{id}/version/0"),
        ("PATCH", "/v0/evi/tools/{id}/version/0"),
        ("DELETE", "/v0/evi/configs/{id}/version/0"),
    ],
)
def test_missing_resources_are_404(api: httpx.Client, method: str, path: str) -> None:
    bodies = {"POST": {"text": "x"}, "PATCH": {"name": "x", "version_description": "x"}}
    missing = "00000000-0000-4000-8000-000000000000"
    response = api.request(method, path.format(id=missing), json=bodies.get(method))
    assert response.status_code == 404
    assert missing in response.json()["message"]


def test_duplicate_names_are_409_by_default(api: httpx.Client) -> None:
    create_prompt(api, "same")
    other = create_prompt(api, "other")
    duplicate = api.post("/v0/evi/prompts", json={"name": "same", "text": "x"})
    assert duplicate.status_code == 409
    assert duplicate.json()["error"] == "Conflict"
    assert "'same'" in duplicate.json()["message"]
    rename = api.patch(f"/v0/evi/prompts/{other['id']}", json={"name": "same"})
    assert rename.status_code == 409
    assert api.patch(f"/v0/evi/prompts/{other['id']}", json={"name": "other"}).status_code == 200
    # Names are per kind: a tool may share a prompt's name.
    assert api.post("/v0/evi/tools", json={"name": "same", "parameters": "{}"}).status_code == 201


def test_duplicate_names_allowed_by_flag() -> None:
    with (
        RunningEmulator(EmulatorSettings(allow_duplicate_names=True)) as running,
        running.client() as client,
    ):
        for _ in range(2):
            assert (
                client.post("/v0/evi/prompts", json={"name": "n", "text": "t"}).status_code == 201
            )
        page = client.get("/v0/evi/prompts", params={"name": "n"}).json()
        assert len(page["prompts_page"]) == 2


def detail(response: httpx.Response) -> list[tuple[tuple, str]]:
    assert response.status_code == 422, response.text
    return [(tuple(d["loc"]), d["type"]) for d in response.json()["detail"]]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"text": "x"}, [(("body", "name"), "missing")]),
        ({"name": 5, "text": "x"}, [(("body", "name"), "type")]),
        ({"name": "x", "text": None}, [(("body", "text"), "type")]),
        ({"name": "x", "text": "x", "version_description": 3}, [(("body", "version_description"), "type")]),
        ({"name": "x", "text": "x", "prompt_expansion": {"enabled": "yes"}}, [(("body", "prompt_expansion", "enabled"), "type")]),
        ({"name": " ", "text": "x"}, [(("body", "name"), "value_error")]),
        ([], [(("body",), "type")]),
    ],
)  # fmt: skip
def test_prompt_bodies_are_checked_against_the_spec(
    api: httpx.Client, body: object, expected: list
) -> None:
    assert detail(api.post("/v0/evi/prompts", json=body)) == expected


def test_nullable_fields_accept_null(api: httpx.Client) -> None:
    body = {"name": "x", "text": "x", "version_description": None}
    assert api.post("/v0/evi/prompts", json=body).status_code == 201


def test_malformed_json_is_422(api: httpx.Client) -> None:
    response = api.post("/v0/evi/prompts", content=b"{nope", headers={"content-type": "json"})
    assert detail(response) == [(("body",), "json_invalid")]


@pytest.mark.parametrize(
    ("parameters", "kind"), [("{not json", "json_invalid"), ("[1, 2]", "value_error")]
)
def test_tool_parameters_must_be_a_json_schema_string(
    api: httpx.Client, parameters: str, kind: str
) -> None:
    response = api.post("/v0/evi/tools", json={"name": "t", "parameters": parameters})
    assert detail(response) == [(("body", "parameters"), kind)]


@pytest.mark.parametrize(
    ("path", "params", "loc"),
    [
        ("/v0/evi/prompts", {"page_size": 0}, ("query", "page_size")),
        ("/v0/evi/prompts", {"page_size": 101}, ("query", "page_size")),
        ("/v0/evi/tools", {"page_number": -1}, ("query", "page_number")),
        ("/v0/evi/tools", {"page_number": "one"}, ("query", "page_number")),
        ("/v0/evi/configs", {"restrict_to_most_recent": "maybe"}, ("query", "restrict_to_most_recent")),
        ("/v0/evi/prompts/not-a-uuid", {}, ("path", "id")),
        ("/v0/evi/prompts/00000000-0000-4000-8000-000000000000/version/x", {}, ("path", "version")),
    ],
)  # fmt: skip
def test_parameters_are_checked(api: httpx.Client, path: str, params: dict, loc: tuple) -> None:
    assert [item[0] for item in detail(api.get(path, params=params))] == [loc]


def test_unknown_route_is_json_404(api: httpx.Client) -> None:
    response = api.get("/v0/evi/voices")
    assert response.status_code == 404
    assert "no route" in response.json()["message"]
