"""``KIND/NAME`` addresses as users type them (``--target``, ``--ignore``): checked, with hints.

Pure: it checks against the manifests, so a typo is an error naming what was meant instead of a
silent no-op (``--ignore``) or a bare "no such resource" (``--target``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from reconciler import spelling
from reconciler.errors import UserError
from reconciler.kinds import KINDS, NAMES, address
from reconciler.manifest import Manifests


def _kind(word: str) -> str | None:
    """``prompts`` for ``prompts``, ``prompt`` or ``Prompts``; None for anything else."""
    lowered = word.lower()
    return next((k.name for k in KINDS.values() if lowered in (k.name, k.singular)), None)


def _closest(word: str, choices: Iterable[str]) -> str | None:
    """The intended name: the same but for case first, else the closest spelling."""
    choices = list(choices)
    same = [choice for choice in choices if choice.casefold() == word.casefold()]
    return same[0] if same else spelling.closest(word, choices)


def split(text: str, option: str) -> tuple[str, str]:
    """``(kind, name)`` of a ``KIND/NAME`` as typed, or a ``UserError`` naming what is wrong."""
    word, slash, name = text.partition("/")
    kind = _kind(word)
    if not slash or not name or not word:
        raise UserError(
            f"{option} {text}: expected KIND/NAME, such as prompts/greeter "
            f"(kinds: {', '.join(NAMES)})"
        )
    if kind is None:
        hint = _closest(word, NAMES)
        maybe = f"; did you mean {hint!r}?" if hint else f" (kinds: {', '.join(NAMES)})"
        raise UserError(f"{option} {text}: unknown kind {word!r}{maybe}")
    return kind, name


def did_you_mean(kind: str, name: str, names: Iterable[str]) -> str:
    """``; did you mean 'prompts/greeter'?`` for the closest of ``names``, or nothing."""
    hint = _closest(name, names)
    return f"; did you mean {address(kind, hint)!r}?" if hint else ""


def resolve(manifests: Manifests, given: Sequence[str], option: str) -> list[str]:
    """The canonical ``kind/name`` of each address, or a ``UserError`` naming the bad one."""
    resolved = []
    for text in given:
        kind, name = split(text, option)
        names = [r.name for r in manifests.of_kind(kind)]
        if name not in names:
            maybe = did_you_mean(kind, name, names)
            raise UserError(
                f"{option} {text}: no {KINDS[kind].singular} named {name!r} in the manifests{maybe}"
            )
        resolved.append(address(kind, name))
    return resolved
