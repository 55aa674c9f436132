"""Embedded mode: the emulator served in-process, with its state in a SQLite file.

Commands given ``--emulator PATH`` talk to this transport instead of the network, so the quickstart
needs no key and no server, and successive commands see the state that earlier ones left.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.emulator.app import EmulatorSettings, create_app
from reconciler.emulator.faults import ConnectionDropped

EMBEDDED_BASE_URL = "http://emulator.invalid"
EMBEDDED_API_KEY = "embedded-emulator"


class EmbeddedTransport(httpx.AsyncBaseTransport):
    """httpx's ASGI transport over the emulator app; a dropped write looks like a network drop."""

    def __init__(self, settings: EmulatorSettings):
        self.app = create_app(settings)
        self._inner = httpx.ASGITransport(app=self.app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Serve the request in-process."""
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body", request=request
            ) from exc

    async def aclose(self) -> None:
        """Close the emulator's database."""
        self.app.emulator.store.close()


def embedded_transport(db: str | Path, **settings: object) -> EmbeddedTransport:
    """A transport serving the emulator with its state in ``db`` (created if missing)."""
    Path(db).parent.mkdir(parents=True, exist_ok=True)
    return EmbeddedTransport(EmulatorSettings(db=str(db), **settings))  # type: ignore[arg-type]
