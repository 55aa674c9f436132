"""The one exception type that the CLI shows to users as a message instead of a traceback."""

from __future__ import annotations


class UserError(Exception):
    """Bad input or an unusable environment: printed as ``error: <message>``, exit code 1."""
