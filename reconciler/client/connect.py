"""Where requests go: Hume (or another base URL) over the network, or the embedded emulator."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from reconciler.client.api import HumeClient, RetryPolicy
from reconciler.errors import UserError

DEFAULT_BASE_URL = "https://api.hume.ai"
KEY_HEADER = "X-Hume-Api-Key"


def connect(
    *,
    base_url: str | None = None,
    emulator: Path | None = None,
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
) -> HumeClient:
    """A client for ``--emulator PATH`` (no key needed) or the API at the base URL.

    The key comes only from ``HUME_API_KEY``: flags would leak it into shell history and CI logs.
    """
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(30.0, connect=10.0)
    if emulator is not None:
        from reconciler.emulator.embedded import (
            EMBEDDED_API_KEY,
            EMBEDDED_BASE_URL,
            embedded_transport,
        )

        http = httpx.AsyncClient(
            transport=embedded_transport(emulator),
            base_url=EMBEDDED_BASE_URL,
            headers={KEY_HEADER: EMBEDDED_API_KEY},
            timeout=timeout,
        )
        return HumeClient(http, concurrency=concurrency, retry=retry)
    url = base_url or os.environ.get("HUME_BASE_URL") or DEFAULT_BASE_URL
    key = os.environ.get("HUME_API_KEY", "").strip()
    if not key:
        raise UserError(
            f"HUME_API_KEY is not set: export your Hume API key to talk to {url}, "
            "or pass --emulator PATH to use the local emulator"
        )
    if not (key.isascii() and key.isprintable()):
        raise UserError("HUME_API_KEY holds a control or non-ASCII character: check how it is set")
    http = httpx.AsyncClient(
        base_url=url, headers={KEY_HEADER: key}, timeout=timeout, limits=limits
    )
    return HumeClient(http, concurrency=concurrency, retry=retry)
