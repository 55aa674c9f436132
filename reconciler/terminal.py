"""Text that is safe to print: no character in a name or value can drive the terminal.

A resource name such as ``"\\x1b]0;pwned\\x07"`` would retitle the terminal, a ``"\\r"`` or a bidi
override (U+202E) would forge or reorder what a reviewer reads. Every text output escapes such
characters the way Python writes them in a string (``\\x1b``, ``\\u202e``); JSON output is left to
JSON's own escaping.
"""

from __future__ import annotations

import re

_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def safe(text: str) -> str:
    """``text`` with control and bidi characters escaped; newlines and tabs kept (multi-line
    values such as prompt texts and diffs)."""
    return _UNSAFE.sub(_escape, text)


def safe_line(text: str) -> str:
    """``text`` as one line: newlines and tabs escaped too (names, progress lines)."""
    return _UNSAFE_LINE.sub(_escape, text)
