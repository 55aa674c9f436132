"""Where requests go: the caller picks the transport, as with httpx.

``connect`` knows nothing of the emulator: the workflow passes the embedded emulator's transport
(and its key) for ``--emulator PATH``, and nothing for Hume over the network.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import httpx

from reconciler.client.api import HumeClient, RetryPolicy
from reconciler.errors import UserError

DEFAULT_BASE_URL = "https://api.hume.ai"
KEY_HEADER = "X-Hume-Api-Key"


def connect(
    *,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    api_key: str | None = None,
    key_env: str = "HUME_API_KEY",
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
    adaptive: bool = True,
) -> HumeClient:
    """A client of the API at ``base_url`` (default ``HUME_BASE_URL``, then Hume's own).

    ``transport`` replaces the network (the embedded emulator passes its own, with ``api_key``).
    Otherwise the key comes only from the environment variable ``key_env`` (an environment's
    ``api_key_env`` in evictl.toml): flags would leak it into shell history and CI logs. A rate
    limit learnt over the network is remembered under the URL and ``key_env``, never the key.
    """
    url = base_url or os.environ.get("HUME_BASE_URL") or DEFAULT_BASE_URL
    key = api_key if api_key is not None else os.environ.get(key_env, "").strip()
    if not key:
        raise UserError(
            f"{key_env} is not set: export your Hume API key to talk to {url}, "
            "or pass --emulator PATH to use the local emulator"
        )
    if not (key.isascii() and key.isprintable()):
        raise UserError(f"{key_env} holds a control or non-ASCII character: check how it is set")
    _settle_sniffio()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    http = httpx.AsyncClient(
        base_url=url,
        headers={KEY_HEADER: key},
        timeout=httpx.Timeout(30.0, connect=5.0),
        limits=limits,
        transport=transport,
    )
    remember_as = None if transport else f"{_address(url)} {key_env}"
    return HumeClient(
        http, concurrency=concurrency, retry=retry, adaptive=adaptive, remember_as=remember_as
    )


def _address(url: str) -> str:
    """The API's address for the rate memory: scheme, host, port and path, without any user,
    password or query a URL may carry, which would otherwise be written to a file."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(userinfo=b"", query=None, fragment=None))


def _settle_sniffio() -> None:
    """Record sniffio as absent when it is not installed (anyio 4 no longer needs it).

    httpcore imports it on every connection-pool lock to learn the event loop, and Python does not
    remember a failed import: each one searched ``sys.path`` again, 0.11 s of a 10,000-resource
    plan. A ``None`` in ``sys.modules`` fails that import at once, which httpcore reads as asyncio.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None
