"""Secrets by position: hide exactly where ``${secret:...}`` was substituted, and nothing more.

The loader records, for every string that substitutes a secret, a ``SecretSpan``: the field's
path in the resource and the string's *template*, its literal parts with ``None`` where a secret
went. A desired value is shown as its template with ``(secret)`` in the slots
(``https://hooks.acme.example/evi?token=(secret)``), so the rest stays readable.

A live value is matched against the template: where it matches, its slots are masked and the
rest shown (a portal edit of the host is visible); a slot that does not hold the current secret
reads ``(secret; differs)`` (a rotated secret not yet applied). Where it does not match, the
secret may have moved or changed: if masking the known secret values accounts for every slot,
that is shown; otherwise only what it shares with the template's literals at its start and end,
and ``(secret; may differ)`` in between. Redaction by value (``manifest.redact``, which also covers
JSON-escaped and URL-encoded forms) stays as the second net over every output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

SECRET = "(secret)"
DIFFERS = "(secret; differs)"
MAY_DIFFER = "(secret; may differ)"


class SecretSpan(BaseModel):
    """Where a resource's string substitutes secrets: its path and its template."""

    model_config = ConfigDict(frozen=True)

    path: str
    """As the manifest writes it: ``webhooks[0].url``, ``parameters.properties.key.default``."""
    keys: tuple[str, ...]
    """The mapping keys down to the value, list positions left out (lists compared as sets are
    reordered, so every item at these keys is treated alike). Kept as keys, not parsed back out
    of ``path``: a key may hold a dot or be all digits (``properties: {"api.key": ...}``)."""
    parts: tuple[str | None, ...]
    """Literal text, and ``None`` for each substituted secret, in order."""

    def shown(self) -> str:
        """The desired value as shown: the template with ``(secret)`` in each slot."""
        return "".join(SECRET if part is None else part for part in self.parts)

    def pattern(self) -> re.Pattern[str]:
        body = "".join("(.*?)" if part is None else re.escape(part) for part in self.parts)
        return re.compile(f"^{body}$", re.DOTALL)

    def mask_live(self, text: str, redact: Callable[[str], str]) -> str:
        """A live value with the template's secret slots hidden (see the module docstring)."""
        match = self.pattern().match(text)
        if match:
            slots = iter(SECRET if redact(found) == SECRET else DIFFERS for found in match.groups())
            return "".join(next(slots) if part is None else part for part in self.parts)
        slots = self.parts.count(None)
        redacted = redact(text)
        if redacted.count(SECRET) >= slots:
            return redacted
        head = _common_prefix(text, self.parts[0] or "")
        tail = _common_prefix(text[len(head) :][::-1], (self.parts[-1] or "")[::-1])[::-1]
        return f"{head}{MAY_DIFFER}{tail}"


def _common_prefix(text: str, literal: str) -> str:
    """What ``text`` shares with the start of a (non-secret) literal: safe to show."""
    size = 0
    for a, b in zip(text, literal, strict=False):
        if a != b:
            break
        size += 1
    return literal[:size]


def template(text: str, secrets: Iterable[str]) -> tuple[str | None, ...]:
    """``text`` split around each occurrence of a secret value: its literal parts and ``None``s.

    A literal that happens to equal a secret is a slot too: masking more, never less.
    """
    values = sorted({value for value in secrets if value}, key=len, reverse=True)
    if not values:
        return (text,)
    pieces = re.split("(" + "|".join(map(re.escape, values)) + ")", text)
    return tuple(None if index % 2 else piece for index, piece in enumerate(pieces))


def path_keys(path: str) -> tuple[str, ...]:
    """``webhooks[0].url`` → ``("webhooks", "url")``: keys only, list positions dropped.

    Lists compared as sets are reordered by the canonicaliser, so a position in a diff need not
    be the manifest's: every item at the keys is treated alike.
    """
    return tuple(part for part in re.split(r"[.\[\]]", path) if part and not part.isdigit())


def mask_at(value: Any, keys: Sequence[str], mask: Callable[[str], str]) -> Any:
    """``value`` with ``mask`` applied to the strings at ``keys`` (through every list item)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [mask_at(item, keys, mask) for item in value]
    if not keys:
        return mask(value) if isinstance(value, str) else value
    if isinstance(value, dict) and keys[0] in value:
        return {**value, keys[0]: mask_at(value[keys[0]], keys[1:], mask)}
    return value


def mask_value(
    path: str,
    value: Any,
    spans: Iterable[SecretSpan],
    mask: Callable[[SecretSpan, str], str],
    json_strings: Sequence[str] = (),
) -> Any:
    """The value found at ``path`` with every span under it masked by ``mask(span, text)``.

    A field sent as JSON text (``json_strings``: a tool's ``parameters``) is masked inside, so
    that no escaping can carry a secret past the mask.
    """
    here = path_keys(path)
    for span in spans:
        keys = span.keys
        if keys[: len(here)] != here:
            continue
        rest = keys[len(here) :]
        if isinstance(value, str) and rest and here and here[0] in json_strings:
            value = _in_json(value, rest, lambda text, s=span: mask(s, text))
        else:
            value = mask_at(value, rest, lambda text, s=span: mask(s, text))
    return value


def _in_json(text: str, keys: Sequence[str], mask: Callable[[str], str]) -> str:
    try:
        parsed = json.loads(text)
    except ValueError:
        return SECRET
    return json.dumps(mask_at(parsed, keys, mask))


def desired_mask(span: SecretSpan, text: str) -> str:
    """A desired value: its template, secret slots filled with ``(secret)``. Another value at the
    same keys (another list item) is left as it is: if it holds a secret, its own span masks it,
    and redaction by value is the net under both."""
    return span.shown() if span.pattern().match(text) else text
