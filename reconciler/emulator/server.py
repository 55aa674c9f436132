"""``evictl emulator``: the emulator as a real HTTP server (uvicorn)."""

from __future__ import annotations

import uvicorn

from reconciler.emulator.app import EmulatorSettings, create_app


def serve(host: str, port: int, settings: EmulatorSettings, *, log_level: str = "warning") -> None:
    """Serve until interrupted. h11 keeps drop behaviour identical on every platform."""
    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, http="h11")
