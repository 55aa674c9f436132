"""evictl's own client of Hume's EVI config API, on httpx (async, one connection pool).

Layered like httpx itself: ``connect`` picks the transport (network or embedded emulator),
``HumeClient`` speaks the operations, ``models`` types the answers. It shares no code with the
emulator: it learns the API from the wire, as it would against Hume.
"""

from reconciler.client.api import ApiError, HumeClient, ResponseLost, unreachable
from reconciler.client.connect import connect

__all__ = ["ApiError", "HumeClient", "ResponseLost", "connect", "unreachable"]
