"""The emulator's ASGI app: every prompt, tool and config operation of the spec, with real state.

Routes are generated from the spec's operation table, and each request goes through one pipeline:
faults → auth → parameters → body checks → the store → the response, itself checked against the
operation's response schema (an emulator that answered off-spec would teach clients wrong things).
Every bad request is a 4xx JSON error; ``_Boundary`` turns anything unforeseen into a JSON 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, TypeVar

from fastjsonschema import JsonSchemaValueException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, Router
from starlette.types import Message, Receive, Scope, Send

from reconciler.emulator import chats, views, voices
from reconciler.emulator.checks import (
    Invalid,
    Problem,
    bool_param,
    check_body,
    int_param,
    page_params,
    parse_json,
    uuid_param,
)
from reconciler.emulator.faults import BadFaults, ConnectionDropped, Faults
from reconciler.emulator.ratelimit import OFF, RateLimit
from reconciler.emulator.store import NameTaken, NotFound, Store, Version
from reconciler.hume import facts, spec

API_KEY_HEADER = "X-Hume-Api-Key"
REQUEST_LOG_SIZE = 10_000
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body (1 MiB, far above any real config); a larger one is never read whole."""
_LOG = logging.getLogger(__name__)
_T = TypeVar("_T")
_REFERENCE_FIELDS = frozenset({"prompt", "tools"})
"""The fields by which a version (a config's) points at prompt and tool versions."""


@dataclass
class EmulatorSettings:
    """How an emulator behaves; every field is also a flag of ``evictl emulator``."""

    db: str = ":memory:"
    api_key: str | None = None
    allow_duplicate_names: bool = False
    check_responses: bool = True
    faults: Faults = field(default_factory=Faults)
    rate_limit: RateLimit | None = None
    """A request rate to enforce (a token bucket in front of every API request); None: none."""
    defaults: dict[str, dict[str, Any]] | None = None
    """Another server-defaults table (a facts file's): to play a Hume that stores other values
    for omitted fields than evictl's built-in table says."""
    error_style: str = "spec"
    """``spec``: 401/404/409/422 as the spec documents; ``sdk``: every client error is a 400
    with an ``ErrorResponse`` body, as the official SDKs allow."""


def _error(status: int, error: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": error, "message": message}, status, headers=headers or None)


def _too_many(retry_after_s: int) -> JSONResponse:
    return _error(
        429, "Too Many Requests", "rate limit exceeded", **{"Retry-After": str(retry_after_s)}
    )


def _invalid(problems: list[Problem]) -> JSONResponse:
    return JSONResponse({"detail": [p.as_json() for p in problems]}, 422)


def _too_large() -> JSONResponse:
    return _error(413, "Content Too Large", f"the request body is over {MAX_BODY_BYTES} bytes")


class BodyTooLarge(Exception):
    """The request body is over ``MAX_BODY_BYTES``; answered with 413."""


async def _read_body(request: Request) -> bytes:
    """The body, read only up to ``MAX_BODY_BYTES``: a 100 MB upload costs no more than 1 MiB.

    A declared ``Content-Length`` over the limit stops before reading; the stream is counted too,
    for chunked bodies and lying headers.
    """
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


@dataclass
class Call:
    """One API request, parsed: what the handlers need to know."""

    op: spec.Operation
    kind: str
    id: str | None
    version: int | None
    query: dict[str, str]
    body: dict[str, Any]


class Emulator:
    """State, faults and the request log behind one app."""

    def __init__(self, settings: EmulatorSettings):
        self.settings = settings
        self.store = Store(settings.db, allow_duplicate_names=settings.allow_duplicate_names)
        self.faults = settings.faults
        self.rate_limit = settings.rate_limit
        self.log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.counts: Counter[str] = Counter()
        self.encoded = views.Encoded()

    # The pipeline

    async def handle(self, request: Request, op: spec.Operation) -> Response:
        """Serve one API request, or the fault or error that stands in for it."""
        method, path = request.method, request.url.path
        faults = self.faults if self.faults.in_scope(method, path) else None
        if faults and faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        response = self._styled(self._fault_response(faults) or await self._serve(request, op))
        self._record(method, path, response.status_code)
        if faults and response.status_code < 300 and faults.dropping(method):
            self._record(method, path, "dropped")
            raise ConnectionDropped(f"{method} {path}")
        return response

    async def voices(self, request: Request) -> Response:
        """``/v0/tts/voices``: the TTS voices the SDK defines (not in the EVI spec), with the
        same key check, faults and request log as every operation."""
        method, path = request.method, request.url.path
        faults = self.faults if self.faults.in_scope(method, path) else None
        if faults and faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        key = request.headers.get(API_KEY_HEADER)
        response = self._fault_response(faults)
        if response is None and (not key or self.settings.api_key not in (None, key)):
            response = _error(401, "Unauthorized", f"missing or invalid {API_KEY_HEADER}")
        if response is None:
            try:
                query = dict(request.query_params)
                posted = parse_json(await _read_body(request)) if method == "POST" else None
                status, body = voices.serve(self.store, method, query, posted)
                response = (
                    JSONResponse(body, status) if body is not None else Response(None, status)
                )
            except voices.VoiceError as exc:
                response = _error(exc.status, "Bad Request", str(exc))
            except Invalid as exc:
                response = _invalid(exc.problems)
            except BodyTooLarge as exc:
                response = _error(413, "Content Too Large", str(exc))
            except NameTaken as exc:
                response = _error(409, "Conflict", str(exc))
            except NotFound as exc:
                response = _error(404, "Not Found", str(exc))
        response = self._styled(response)
        self._record(method, path, response.status_code)
        return response

    def _styled(self, response: Response) -> Response:
        """A client error in the chosen style: as is (``spec``), or a 400 ``ErrorResponse``."""
        status = response.status_code
        if self.settings.error_style != "sdk" or not 400 <= status < 500 or status == 429:
            return response
        body = json.loads(bytes(response.body) or b"{}")
        detail = body.get("detail")
        message = body.get("message") or (
            "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in detail)
            if isinstance(detail, list)
            else str(detail)
        )
        error = {"code": str(status), "error": body.get("error", "Bad Request"), "message": message}
        return JSONResponse(error, 400)

    def _fault_response(self, faults: Faults | None) -> Response | None:
        """The rate limit's 429, or an injected fault, instead of serving the request."""
        retry_after = self.rate_limit.take() if self.rate_limit else None
        if retry_after is not None:
            return _too_many(retry_after)
        if faults is None:
            return None
        if faults.rate_limited():
            return _too_many(faults.retry_after_s)
        if faults.failing():
            return _error(faults.error_status, "Server Error", "injected failure")
        return None

    async def _serve(self, request: Request, op: spec.Operation) -> Response:
        key = request.headers.get(API_KEY_HEADER)
        if not key:
            return _error(401, "Unauthorized", f"missing {API_KEY_HEADER} header")
        if self.settings.api_key is not None and key != self.settings.api_key:
            return _error(401, "Unauthorized", "invalid API key")
        try:
            call = Call(
                op=op,
                kind=op.kind,
                id=uuid_param(request.path_params["id"]) if "id" in request.path_params else None,
                version=_version_param(request.path_params.get("version")),
                query=dict(request.query_params),
                body=check_body(op.kind, op.request_ref, await _read_body(request)),
            )
            handler = _CHAT_HANDLERS.get(op.operation_id) or _HANDLERS[(op.method, _depth(op.path))]
            status, body = handler(self, call)
            if self.settings.check_responses:
                spec.compiled_check(op.response_ref)(
                    body.envelope if isinstance(body, _Page) else body
                )
        except JsonSchemaValueException as exc:
            return _error(500, "Emulator Bug", f"response breaks the spec: {exc.message}")
        except BodyTooLarge:
            return _too_large()
        except Invalid as exc:
            return _invalid(exc.problems)
        except NotFound as exc:
            return _error(404, "Not Found", str(exc))
        except NameTaken as exc:
            return _error(409, "Conflict", str(exc))
        if isinstance(body, _Page):
            return Response(body.encode(), status, media_type="application/json")
        return JSONResponse(body, status)

    def _record(self, method: str, path: str, status: int | str) -> None:
        at = round(time.monotonic(), 4)
        self.log.append({"method": method, "path": path, "status": status, "at": at})
        self.counts[method] += 1

    # Handlers: one per (method, depth of path)

    def list_resources(self, call: Call) -> tuple[int, _Page]:
        """``GET /{kind}`` and ``GET /{kind}/{id}``: a page of versions, its items encoded (and
        checked against the spec) once per distinct state by ``views.Encoded``."""
        page_number, page_size = page_params(call.query)
        latest_only = bool_param(
            call.query.get("restrict_to_most_recent"),
            ("query", "restrict_to_most_recent"),
            default=True,
        )
        if call.id is not None and not self.store.exists(call.kind, call.id):
            raise NotFound(f"{spec.singular(call.kind)} {call.id} does not exist")
        page = self.store.list(
            call.kind,
            page_number=page_number,
            page_size=page_size,
            latest_only=latest_only,
            name=call.query.get("name") if call.id is None else None,
            id_=call.id,
        )
        check = _item_check(call.op) if self.settings.check_responses else None
        items = self.encoded.items(self.store, page.items, public=False, check=check)
        envelope = {"page_number": page_number, "page_size": page_size}
        return 200, _Page(f"{call.kind}_page", items, {**envelope, "total_pages": page.total_pages})

    def list_chats(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``GET /chats``: a page of the chats seeded through ``POST /_emulator/chats``."""
        return 200, chats.list_chats(self.store, call.query)

    def chat_events(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``GET /chats/{id}``: one chat, with no events (the emulator holds no conversations)."""
        assert call.id is not None
        return 200, chats.chat_events(self.store, call.id, call.query)

    def create(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``POST /{kind}``: a new resource at version 0."""
        stored = self._stored_body(call.kind, call.body, previous=None)
        created = self.store.create(call.kind, call.body["name"], stored)
        return 201, views.view(self.store, created)

    def create_version(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``POST /{kind}/{id}``: the next version of a resource."""
        assert call.id is not None
        previous = self.store.get(call.kind, call.id)
        stored = self._stored_body(call.kind, call.body, previous=previous)
        return 201, views.view(self.store, self.store.add_version(call.kind, call.id, stored))

    def rename(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``PATCH /{kind}/{id}``: one name for all versions; answers ``{}``."""
        assert call.id is not None
        self.store.rename(call.kind, call.id, call.body["name"])
        return 200, {}

    def delete(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``DELETE /{kind}/{id}``."""
        assert call.id is not None
        self.store.delete(call.kind, call.id)
        return 200, {}

    def get_version(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``GET /{kind}/{id}/version/{v}``."""
        assert call.id is not None
        return 200, views.view(self.store, self.store.get(call.kind, call.id, call.version))

    def update_description(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``PATCH /{kind}/{id}/version/{v}``: in place, no new version; ``{}`` changes nothing."""
        assert call.id is not None and call.version is not None
        if "version_description" not in call.body:
            return 200, views.view(self.store, self.store.get(call.kind, call.id, call.version))
        description = call.body["version_description"]
        updated = self.store.update_description(call.kind, call.id, call.version, description)
        return 200, views.view(self.store, updated)

    def delete_version(self, call: Call) -> tuple[int, dict[str, Any]]:
        """``DELETE /{kind}/{id}/version/{v}``."""
        assert call.id is not None and call.version is not None
        self.store.delete_version(call.kind, call.id, call.version)
        return 200, {}

    # What a version stores

    def _stored_body(
        self, kind: str, body: dict[str, Any], previous: Version | None
    ) -> dict[str, Any]:
        """The posted fields the spec defines for a version; references checked, defaults filled."""
        fields = spec.version_fields(kind)
        kept = {name: body[name] for name in fields if name in body}
        if _REFERENCE_FIELDS.issubset(fields):
            kept.update(self._references(body))
        previous_body = previous.body if previous else None
        return facts.fill_defaults(kind, kept, previous_body, defaults=self.settings.defaults)

    def _references(self, body: dict[str, Any]) -> dict[str, Any]:
        """Check the prompt and tool references of a body; create an inline prompt if asked."""
        refs: dict[str, Any] = {"prompt": None, "tools": []}
        problems = []
        prompt = body.get("prompt") or {}
        if prompt.get("id"):
            ref = {"id": prompt["id"], "version": prompt.get("version")}
            problems += self._missing(("body", "prompt"), "prompts", ref)
            refs["prompt"] = {**ref, "prompt_expansion": prompt.get("prompt_expansion")}
        elif prompt.get("text") is not None:
            refs["prompt"] = self._inline_prompt(body.get("name"), prompt)
        for index, tool in enumerate(body.get("tools") or []):
            ref = {"id": tool["id"], "version": tool.get("version")}
            problems += self._missing(("body", "tools", index), "tools", ref)
            refs["tools"].append(ref)
        if problems:
            raise Invalid(problems)
        return refs

    def _missing(self, loc: tuple[str | int, ...], kind: str, ref: dict[str, Any]) -> list[Problem]:
        try:
            self.store.get(kind, str(uuid_param(ref["id"])), ref.get("version"))
        except (NotFound, Invalid) as exc:
            message = str(exc) if isinstance(exc, NotFound) else f"{ref['id']!r} is not a UUID"
            what = spec.singular(kind)
            return [Problem(loc, f"references a missing {what}: {message}", "reference")]
        return []

    def _inline_prompt(self, config_name: str | None, prompt: dict[str, Any]) -> dict[str, Any]:
        """``prompt.text`` without an id: a new prompt, named after the config, pinned at v0."""
        body = facts.fill_defaults(
            "prompts",
            {"text": prompt["text"], "prompt_expansion": prompt.get("prompt_expansion")},
            defaults=self.settings.defaults,
        )
        base = f"{config_name or 'config'} prompt"
        for attempt in range(1, 100):
            try:
                name = base if attempt == 1 else f"{base} ({attempt})"
                created = self.store.create("prompts", name, body)
            except NameTaken:
                continue
            return {"id": created.id, "version": created.version, "prompt_expansion": None}
        raise Invalid([Problem(("body", "prompt"), "no free name for the prompt", "value_error")])

    # Control endpoints

    async def control(self, request: Request) -> Response:
        """``/_emulator/*``: reset, faults, the rate limit, the request log and chats, for tests
        and benchmarks; never rate-limited."""
        action = request.path_params["action"]
        if request.method == "POST" and action == "reset":
            self.store.reset()
            self.faults = Faults()
            self.rate_limit = None
            self.log.clear()
            self.counts.clear()
            return JSONResponse({})
        if request.method == "POST" and action == "faults":
            return await self._set_faults(request)
        if request.method == "GET" and action == "faults":
            return JSONResponse(self.faults.as_json())
        if request.method == "POST" and action == "rate":
            return await self._set_rate(request)
        if request.method == "GET" and action == "rate":
            return JSONResponse(self.rate_limit.as_json() if self.rate_limit else OFF)
        if request.method == "POST" and action == "chats":
            return await self._seed_chat(request)
        if request.method == "GET" and action == "requests":
            return JSONResponse({"counts": dict(self.counts), "requests": list(self.log)})
        return _error(404, "Not Found", f"no control action {request.method} {action}")

    async def _set_faults(self, request: Request) -> Response:
        """``POST /_emulator/faults``: a 422 names every bad setting, and the old faults stay."""
        faults = await _settings(request, Faults.from_json, "fault settings")
        if isinstance(faults, Response):
            return faults
        self.faults = faults
        return JSONResponse(self.faults.as_json())

    async def _set_rate(self, request: Request) -> Response:
        """``POST /_emulator/rate``: enforce ``{"rate", "burst"}`` from now on, with a full
        bucket; ``{}`` (or a null rate) enforces none. A 422 keeps the old limit."""
        limit = await _settings(request, RateLimit.from_json, "rate limit settings")
        if isinstance(limit, Response):
            return limit
        self.rate_limit = limit
        return JSONResponse(limit.as_json() if limit else OFF)

    async def _seed_chat(self, request: Request) -> Response:
        """``POST /_emulator/chats``: 201 with the new chat; 400 for a bad body, 404 for a config
        or version that does not exist."""
        try:
            chat = chats.seed(self.store, parse_json(await _read_body(request) or b"{}"))
        except BodyTooLarge:
            return _too_large()
        except (Invalid, chats.BadSeed) as exc:
            return _error(400, "Bad Request", str(exc))
        except NotFound as exc:
            return _error(404, "Not Found", str(exc))
        return JSONResponse(chats.view(chat), 201)


async def _settings(
    request: Request, parse: Callable[[dict[str, Any]], _T], what: str
) -> _T | Response:
    """A control endpoint's JSON object of settings, parsed; or the 4xx that names every bad one."""
    try:
        data = parse_json(await _read_body(request) or b"{}")
        if not isinstance(data, dict):
            raise Invalid([Problem(("body",), f"must be an object of {what}", "type")])
        return parse(data)
    except BodyTooLarge:
        return _too_large()
    except Invalid as exc:
        return _invalid(exc.problems)
    except BadFaults as exc:
        errors = exc.errors.items()
        return _invalid([Problem(("body", name), msg, "value_error") for name, msg in errors])


@dataclass(frozen=True)
class _Page:
    """A listing's body, its items already JSON text (``views.Encoded``)."""

    key: str
    """``configs_page``."""
    items: list[str]
    rest: dict[str, Any]
    """``page_number``, ``page_size``, ``total_pages``."""

    @property
    def envelope(self) -> dict[str, Any]:
        """The body without its items: what the response check reads (items are checked one
        by one when encoded)."""
        return {self.key: [], **self.rest}

    def encode(self) -> bytes:
        """The whole body, byte for byte as ``JSONResponse`` would write it."""
        return f'{{"{self.key}":[{",".join(self.items)}],{views.encode(self.rest)[1:]}'.encode()


@cache
def _item_check(op: spec.Operation) -> Callable[[Any], Any]:
    """The compiled check of one item of a listing's page (the page schema's item ``$ref``)."""
    page = spec.resolve(op.response_ref)["properties"][f"{op.kind}_page"]
    return spec.compiled_check(spec.SPEC_URI + page["items"]["$ref"])


def _depth(template: str) -> int:
    """0 for ``/{kind}``, 1 for ``/{kind}/{id}``, 2 for ``/{kind}/{id}/version/{version}``."""
    return template.count("{")


def _version_param(value: str | None) -> int | None:
    if value is None:
        return None
    return int_param(value, ("path", "version"), default=0, low=0)


_Handler = Callable[[Emulator, Call], tuple[int, dict[str, Any] | _Page]]
_HANDLERS: dict[tuple[str, int], _Handler] = {
    ("GET", 0): Emulator.list_resources,
    ("POST", 0): Emulator.create,
    ("GET", 1): Emulator.list_resources,
    ("POST", 1): Emulator.create_version,
    ("PATCH", 1): Emulator.rename,
    ("DELETE", 1): Emulator.delete,
    ("GET", 2): Emulator.get_version,
    ("PATCH", 2): Emulator.update_description,
    ("DELETE", 2): Emulator.delete_version,
}
_CHAT_HANDLERS: dict[str, _Handler] = {
    "list-chats": Emulator.list_chats,
    "list-chat-events": Emulator.chat_events,
}
"""Operations served by id: the chat reads, whose paths the depth table does not tell apart."""


class _Boundary:
    """ASGI wrapper for the two ways a request can end outside the pipeline.

    A ``ConnectionDropped`` write starts its response and then dies: starting the response first
    makes uvicorn close the socket instead of answering 500, so the client sees the connection
    drop mid-response, exactly as a lost response looks on a network.

    Any other exception, if no response has started, becomes a JSON 500 whose body has no
    traceback (the log has it). None is expected: every bad request has its own 4xx.
    """

    def __init__(self, app: Router, emulator: Emulator):
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def send_noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_noting_start)
        except ConnectionDropped:
            start: Message = {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", b"2"), (b"content-type", b"application/json")],
            }
            await send(start)
            raise
        except Exception:
            if started or scope["type"] != "http":
                raise
            _LOG.exception("emulator failure on %s %s", scope["method"], scope["path"])
            message = "the emulator failed unexpectedly; its log has the details"
            await _error(500, "Internal Server Error", message)(scope, receive, send)


class _QuietDrops(logging.Filter):
    """Keep the server log free of tracebacks for drops we injected on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


def create_app(settings: EmulatorSettings | None = None) -> _Boundary:
    """A fresh emulator app; ``app.emulator`` is its state, for tests that look inside.

    A bare ``Router`` rather than ``Starlette``: Starlette's error middleware would answer 500 to
    an injected drop before ``_Boundary`` could close the connection. One route per path.
    """
    emulator = Emulator(settings or EmulatorSettings())
    by_path: dict[str, dict[str, spec.Operation]] = {}
    for op in (*spec.operations(), *spec.chat_operations()):
        by_path.setdefault(op.path, {})[op.method] = op
    routes = [Route(path, _AnyMethod(_endpoint(emulator, ops))) for path, ops in by_path.items()]
    routes.append(Route("/v0/tts/voices", _AnyMethod(emulator.voices)))
    routes.append(Route("/_emulator/{action}", _AnyMethod(emulator.control)))
    logging.getLogger("uvicorn.error").addFilter(_QuietDrops())
    router = Router(routes=routes, default=_not_found)
    return _Boundary(router, emulator)


_Endpoint = Callable[[Request], Awaitable[Response]]


class _AnyMethod:
    """An endpoint routed for every method, so that it can answer a wrong one with JSON.

    Starlette routes a function endpoint only for the methods listed, and answers any other with a
    plain-text 405; an ASGI endpoint like this one receives them all.
    """

    def __init__(self, endpoint: _Endpoint):
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def _endpoint(emulator: Emulator, ops: dict[str, spec.Operation]) -> _Endpoint:
    """One path's endpoint: its operations by method, and a 405 naming them for any other."""

    async def serve(request: Request) -> Response:
        op = ops.get(request.method)
        if op is None:
            allowed = ", ".join(ops)
            message = f"{request.method} is not allowed here; allowed: {allowed}"
            return _error(405, "Method Not Allowed", message, Allow=allowed)
        return await emulator.handle(request, op)

    return serve


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """Unknown paths get the same JSON error body as every other failure."""
    await _error(404, "Not Found", f"no route for {scope['path']}")(scope, receive, send)
