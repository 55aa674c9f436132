"""The operations of Hume's EVI config API, with paging and retries.

Retries (tenacity: capped exponential backoff, fully jittered; ``Retry-After`` honoured) cover
what is safe to repeat: any request refused before it ran (429, connection refused), and reads and
patches whatever went wrong. A create whose outcome is unknown (5xx, or the connection lost
mid-response) is never repeated here: it raises ``ResponseLost``, and the caller re-reads before
it tries again, because repeating it blindly could create a duplicate.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_random_exponential,
)

from reconciler.chats import LiveChat
from reconciler.client import ratememory
from reconciler.client.limiter import AdaptiveRate, Pacer
from reconciler.kinds import KINDS, LiveVersion

PAGE_SIZE = 100
log = logging.getLogger(__name__)


class ApiError(Exception):
    """The API refused a request; carries what a user needs, never the key."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        super().__init__(f"{method} {path} failed with {status}: {message}")
        self.method, self.path, self.status, self.message = method, path, status, message
        self.retry_after: float | None = None


def unreachable(exc: httpx.HTTPError) -> str:
    """A transport failure in words that name the server (never the key: it is in a header)."""
    try:
        url = exc.request.url
        where = f"{url.scheme}://{url.netloc.decode()}"
    except RuntimeError:  # an error raised before any request was built
        where = "the API"
    reason = str(exc) or type(exc).__name__
    return f"cannot reach {where} ({reason}); check --base-url (or HUME_BASE_URL) and the network"


class ResponseLost(Exception):
    """A write was sent but its outcome is unknown; re-read before trying again."""

    def __init__(self, method: str, path: str, cause: str) -> None:
        super().__init__(f"{method} {path}: no answer ({cause}); it may or may not have happened")
        self.method, self.path = method, path


_CONNECTING = (httpx.ConnectError, httpx.ConnectTimeout)
_BEFORE_RUNNING = (*_CONNECTING, httpx.PoolTimeout)
_MID_FLIGHT = (httpx.RemoteProtocolError, httpx.ReadError, httpx.ReadTimeout, httpx.WriteError)


def _message(response: httpx.Response) -> str:
    """Any error body in words: a ``detail`` list (422), Hume's ``ErrorResponse`` (``code``,
    ``error``, ``message``), other JSON, or plain text (cut short)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("detail"), list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', []))}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in body["detail"]
        )
    if isinstance(body, dict) and any(body.get(key) for key in ("message", "error", "detail")):
        text = str(body.get("message") or body.get("detail") or body.get("error"))
        code = body.get("code")
        return f"{text} (code {code})" if code else text
    return json.dumps(body)[:300]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try; the defaults suit Hume, tests shrink the waits."""

    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 20.0
    max_retry_after: float = 60.0
    connect_attempts: int = 2
    """A server that refuses connections (or never answers the handshake) is down or mistyped:
    two tries, not six rounds of backoff, so the error naming the URL comes at once."""
    connect_wait: float = 0.2


def _retryable(method: str) -> Callable[[BaseException], bool]:
    idempotent = method != "POST"

    def check(exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            return exc.status == 429 or (idempotent and exc.status >= 500)
        if isinstance(exc, _BEFORE_RUNNING):
            return True
        return idempotent and isinstance(exc, _MID_FLIGHT)

    return check


class HumeClient:
    """Every prompt, tool and config operation of the spec, over one httpx connection pool."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        adaptive: bool = True,
        remember_as: str | None = None,
    ) -> None:
        """``concurrency`` is the ceiling of requests in flight; ``adaptive`` paces them at a rate
        learnt from 429s (``limiter``). Only the rate-limit benchmark turns it off, to compare.
        ``remember_as`` names the account in ``ratememory``: a rate an earlier command learnt
        there paces requests from the start, and a rate learnt here is kept for the next one."""
        self.http = http
        self.retry = retry or RetryPolicy()
        self._slots = asyncio.Semaphore(concurrency)
        known = ratememory.recall(remember_as) if adaptive and remember_as else None
        limiter = AdaptiveRate(rate=known.rate, ceiling=known.limit) if known else AdaptiveRate()
        self.pacer = Pacer(limiter) if adaptive else None
        self.remember_as = remember_as
        self.requests = 0
        self._told_paced = known is not None
        if known is not None and limiter.rate is not None:
            log.warning(
                "pacing requests at %.1f/s from the start: an earlier command met a rate limit "
                "at this API in the last ten minutes (to forget it, delete %s)",
                limiter.rate,
                ratememory.cache_file(),
            )

    async def __aenter__(self) -> HumeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()
        self._remember()

    def _remember(self) -> None:
        """Keep the rate this command learnt from a 429, for the next command (``ratememory``)."""
        if not (self.pacer and self.remember_as):
            return
        limiter = self.pacer.limiter
        if not limiter.worth_keeping or limiter.rate is None or limiter.learnt_at is None:
            return
        age = self.pacer.clock() - limiter.learnt_at
        learnt = ratememory.Learnt(limiter.rate, limiter.ceiling)
        ratememory.remember(self.remember_as, learnt, time.time() - age)

    # Transport with retries

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_random_exponential(self.retry.initial_wait, self.retry.max_wait)(state)
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _CONNECTING):
            return self.retry.connect_wait
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry.max_retry_after)
        return backoff

    async def _once(self, method: str, path: str, **kwargs: Any) -> Any:
        async with self._slots:
            sent_at = await self.pacer.wait() if self.pacer else 0.0
            self.requests += 1
            try:
                response = await self.http.request(method, path, **kwargs)
            except BaseException as exc:
                if self.pacer:
                    self.pacer.answered(sent_at, None, None)
                if method == "POST" and isinstance(exc, _MID_FLIGHT):
                    raise ResponseLost(method, path, type(exc).__name__) from exc
                raise
        retry_after = _seconds(response.headers.get("retry-after", ""))
        if self.pacer:
            pause = None if retry_after is None else min(retry_after, self.retry.max_retry_after)
            self.pacer.answered(sent_at, response.status_code, pause)
            if self.pacer.limiter.rate is not None and not self._told_paced:
                self._told_paced = True
                log.warning(
                    "the API at %s answered 429 Too Many Requests: evictl paces its requests "
                    "from now on, learning the limit as it goes (docs/rate-limits.md)",
                    self.http.base_url.host,
                )
        if response.status_code >= 400:
            if method == "POST" and response.status_code >= 500:
                raise ResponseLost(method, path, f"status {response.status_code}")
            error = ApiError(method, path, response.status_code, _message(response))
            error.retry_after = retry_after
            raise error
        try:
            return response.json()
        except ValueError:
            if method in ("PATCH", "DELETE"):
                return {}  # the rename PATCH may answer with plain text instead of {}
            kind = response.headers.get("content-type", "no content-type")
            raise ApiError(
                method, path, response.status_code, f"answered non-JSON ({kind})"
            ) from None

    def retrying(self, retry_on: Callable[[BaseException], bool]) -> AsyncRetrying:
        """Attempts under this client's policy, retrying the errors ``retry_on`` accepts.

        Public so that the applier's re-read-then-repost loop after a ``ResponseLost`` backs off
        exactly like the transport does.
        """
        return AsyncRetrying(
            retry=retry_if_exception(retry_on),
            stop=self._stop,
            wait=self._wait,
            reraise=True,
        )

    def _stop(self, state: RetryCallState) -> bool:
        exc = state.outcome.exception() if state.outcome else None
        limit = self.retry.connect_attempts if isinstance(exc, _CONNECTING) else self.retry.attempts
        return state.attempt_number >= limit

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One operation, retried as far as that is safe; the parsed JSON answer."""
        async for attempt in self.retrying(_retryable(method)):
            with attempt:
                return await self._once(method, path, **kwargs)
        raise AssertionError("unreachable: tenacity reraises")

    # Reads

    async def _page(
        self, path: str, number: int, params: dict[str, Any]
    ) -> tuple[list[dict], int | None]:
        body = await self.request(
            "GET", path, params={**params, "page_number": number, "page_size": PAGE_SIZE}
        )
        items = next((v for k, v in body.items() if k.endswith("_page")), None) or []
        return items, body.get("total_pages")

    async def _all_pages(
        self, path: str, params: dict[str, Any], each: Callable[[list[Any]], list[Any]] = list
    ) -> list[Any]:
        """Page 0, then the rest concurrently; stop at ``total_pages`` or an empty page.

        ``each`` turns a page's items into what is kept as soon as the page arrives: 4,000
        configs held as parsed JSON until the last page came were a sixth of a plan's peak memory.
        """

        async def page(number: int) -> tuple[list[Any], bool, int | None]:
            items, total = await self._page(path, number, params)
            return each(items), bool(items), total

        items, more, total = await page(0)
        if not more:
            return []
        if total is None:
            number = 1
            while (found := await page(number))[1]:
                items += found[0]
                number += 1
            return items
        for found, more, _ in await asyncio.gather(*(page(n) for n in range(1, total))):
            if not more:
                break
            items += found
        return items

    async def _versions(
        self, kind: str, path: str, params: dict[str, Any], where: str
    ) -> list[LiveVersion]:
        """Every page of a listing of ``kind``, as models (``_valid``), page by page."""
        nulls = 0

        def models(items: list[Any]) -> list[LiveVersion]:
            nonlocal nulls
            nulls += sum(item is None for item in items)
            return [_model(kind, item, where) for item in items if item is not None]

        found = await self._all_pages(path, params, models)
        _warn_nulls(where, nulls)
        return found

    async def list(
        self, kind: str, *, latest_only: bool = True, name: str | None = None
    ) -> list[LiveVersion]:
        """Every resource of a kind (its latest versions, unless ``latest_only`` is false)."""
        params: dict[str, Any] = {"restrict_to_most_recent": _flag(latest_only)}
        if name is not None:
            params["name"] = name
        return await self._versions(kind, f"/v0/evi/{kind}", params, f"the {kind} listing")

    async def list_versions(self, kind: str, id_: str) -> list[LiveVersion]:
        """Every version of one resource, oldest first."""
        versions = await self._versions(
            kind,
            f"/v0/evi/{kind}/{id_}",
            {"restrict_to_most_recent": "false"},
            f"the versions of {KINDS[kind].singular} {id_}",
        )
        return sorted(versions, key=lambda v: v.version)

    async def voices(self, provider: str = "CUSTOM_VOICE") -> list[dict[str, Any]]:
        """The account's voices of ``provider`` (``GET /v0/tts/voices``, the SDK's
        ``tts.voices.list``): each ``{id, name, provider}``; null items skipped."""
        items = await self._all_pages("/v0/tts/voices", {"provider": provider})
        skipped = sum(item is None for item in items)
        if skipped:
            log.warning("the %s voices listing had %d null item(s); skipped", provider, skipped)
        return [item for item in items if isinstance(item, dict)]

    async def chats(
        self,
        config_id: str | None,
        *,
        status: str | None = None,
        since: int | None = None,
        limit: int | None = None,
    ) -> list[LiveChat]:
        """A config's chats (None: the account's), newest first (``GET /v0/evi/chats``): at most
        ``limit``, and only those that started at or after ``since`` (Unix seconds).

        Pages are read one at a time, unlike ``_all_pages``, so that reading stops as soon as
        ``limit`` or an older chat is reached. A chat seen twice (pages shift when a chat starts
        mid-read) counts once; null items are skipped with a warning.
        """
        params = {"ascending_order": "false"}
        if config_id is not None:
            params["config_id"] = config_id
        if status is not None:
            params["status"] = status
        found: dict[str, LiveChat] = {}
        number, skipped = 0, 0
        while limit is None or len(found) < limit:
            items, total = await self._page("/v0/evi/chats", number, params)
            older = False
            for item in items:
                if item is None:
                    skipped += 1
                    continue
                chat = LiveChat.model_validate(item)
                if since is not None and chat.start_timestamp < since:
                    older = True
                    break
                found.setdefault(chat.id, chat)
            number += 1
            if older or not items or (total is not None and number >= total):
                break
        if skipped:
            log.warning("the chats listing of config %s had %d null item(s)", config_id, skipped)
        return list(found.values())[:limit]

    async def latest(self, kind: str, id_: str) -> LiveVersion | None:
        """A resource's latest version (None if the resource is gone): one small read."""
        try:
            body = await self.request(
                "GET",
                f"/v0/evi/{kind}/{id_}",
                params={"restrict_to_most_recent": "true", "page_size": 1, "page_number": 0},
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        items = next((v for k, v in body.items() if k.endswith("_page")), None) or []
        found = _valid(kind, items, f"the latest version of {KINDS[kind].singular} {id_}")
        return found[0] if found else None

    async def get_version(self, kind: str, id_: str, version: int) -> LiveVersion:
        """One version."""
        body = await self.request("GET", f"/v0/evi/{kind}/{id_}/version/{version}")
        return _model(kind, body, f"{KINDS[kind].singular} {id_} v{version}")

    # Writes

    async def create(self, kind: str, body: dict[str, Any]) -> LiveVersion:
        """A new resource (version 0). May raise ``ResponseLost``."""
        answer = await self.request("POST", f"/v0/evi/{kind}", json=body)
        return _model(kind, answer, f"the new {KINDS[kind].singular}")

    async def create_version(self, kind: str, id_: str, body: dict[str, Any]) -> LiveVersion:
        """The next version of a resource. May raise ``ResponseLost``."""
        answer = await self.request("POST", f"/v0/evi/{kind}/{id_}", json=body)
        return _model(kind, answer, f"the new version of {KINDS[kind].singular} {id_}")

    async def rename(self, kind: str, id_: str, name: str) -> None:
        """A new name for all versions."""
        await self.request("PATCH", f"/v0/evi/{kind}/{id_}", json={"name": name})

    async def update_description(
        self, kind: str, id_: str, version: int, description: str | None
    ) -> LiveVersion:
        """One version's description, in place."""
        answer = await self.request(
            "PATCH",
            f"/v0/evi/{kind}/{id_}/version/{version}",
            json={"version_description": description},
        )
        return _model(kind, answer, f"{KINDS[kind].singular} {id_} v{version}")

    async def delete(self, kind: str, id_: str) -> None:
        """A resource and all its versions."""
        await self.request("DELETE", f"/v0/evi/{kind}/{id_}")

    async def delete_version(self, kind: str, id_: str, version: int) -> None:
        """One version."""
        await self.request("DELETE", f"/v0/evi/{kind}/{id_}/version/{version}")


def _valid(kind: str, items: list[Any], where: str) -> list[LiveVersion]:
    """List items as models, tolerating what the official SDKs say Hume may send: a null item
    (skipped), and null entries in an item's embedded lists (dropped), each with a warning."""
    _warn_nulls(where, sum(item is None for item in items))
    return [_model(kind, item, where) for item in items if item is not None]


def _warn_nulls(where: str, skipped: int) -> None:
    if skipped:
        log.warning("%s had %d null item(s); skipped", where, skipped)


def _model(kind: str, item: dict[str, Any], where: str) -> LiveVersion:
    """One answer as its kind's model, null entries of embedded lists dropped with a warning
    (the item is copied only then: 10,000 list items are read per plan)."""
    nulls = [key for key, value in item.items() if isinstance(value, list) and None in value]
    if nulls:
        item = {
            **item,
            **{key: [entry for entry in item[key] if entry is not None] for key in nulls},
        }
        name = item.get("name", item.get("id"))
        for key in nulls:
            log.warning("%s: %r had null entries in %s; dropped", where, name, key)
    return _shared_fields(KINDS[kind].live.model_validate(item))


def _shared_fields(model: LiveVersion) -> LiveVersion:
    """``model``, its set of fields set swapped for the equal one other models share."""
    fields = model.__pydantic_fields_set__
    object.__setattr__(
        model, "__pydantic_fields_set__", _FIELDS_SET.setdefault(frozenset(fields), fields)
    )
    return model


_FIELDS_SET: dict[frozenset[str], set[str]] = {}
"""One set of "fields set" per distinct set, shared by every model that has it: pydantic keeps
one per model (0.6 kB, 6 MB of a 10,000-resource plan), and live models are frozen, so pydantic
never adds to it in place (``model_copy`` copies it first)."""


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
