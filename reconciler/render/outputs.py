"""``evictl output`` as apps and people read it: JSON, env lines, a table.

Every renderer takes the manifests' ``redact`` last, like the plan's, so no secret reaches them.
"""

from __future__ import annotations

import re
import shlex

from reconciler.errors import UserError
from reconciler.kinds import KINDS
from reconciler.outputs import Output, Outputs, Pinned
from reconciler.render import Redact, json_document, redacted
from reconciler.terminal import safe_line


def not_applied(outputs: Outputs) -> str:
    """The error for resources the account lacks."""
    return f"not applied yet: {', '.join(outputs.missing)}; run evictl apply"


def as_json(outputs: Outputs, redact: Redact) -> str:
    """The document described in ``reconciler.outputs``, secrets redacted."""
    return json_document(outputs.model_dump(mode="json"), redact)


def env_prefix(output: Output) -> str:
    """``EVI_CONFIG_SUPPORT_LINE``: upper-case, every character but a letter or digit a ``_``."""
    return re.sub(r"[^A-Za-z0-9]", "_", f"EVI_{KINDS[output.kind].singular}_{output.name}").upper()


def as_env(outputs: Outputs, redact: Redact) -> str:
    """``NAME=value`` lines (a ``.env`` file, ``$GITHUB_ENV``, ``export``-able in a shell): an
    ``_ID`` and a ``_VERSION`` per resource, all of them or nothing (a deployment must not start
    with some ids unset). Names that would share a variable are refused first: no apply helps."""
    outputs = redacted(outputs, redact)
    owners: dict[str, Output] = {}
    for output in outputs.resources:
        prefix = env_prefix(output)
        other = owners.setdefault(prefix, output)
        if other is not output:
            raise UserError(
                f"{other.source}: {other.address} and {output.source}: {output.address} both "
                f"become {prefix}_ID: rename one of them"
            )
    if outputs.missing:
        raise UserError(f"{not_applied(outputs)} (env output is all or nothing)")
    lines = []
    for prefix, output in owners.items():
        lines.append(f"{prefix}_ID={shlex.quote(safe_line(str(output.id)))}")
        lines.append(f"{prefix}_VERSION={output.version}")
    return "\n".join(lines)


def _pin(pinned: Pinned) -> str:
    name = pinned.name if pinned.name is not None else pinned.id
    version = "latest" if pinned.version is None else f"v{pinned.version}"
    return f"{name} {version}"


def _uses(output: Output) -> str:
    """``prompt support-agent v3; tools lookup_account v1, book_visit v2``."""
    parts = []
    for field, value in output.uses.items():
        items = value if isinstance(value, list) else [] if value is None else [value]
        parts.append(f"{field} {', '.join(map(_pin, items)) or '(none)'}")
    return "; ".join(parts)


def as_text(outputs: Outputs, redact: Redact) -> str:
    """A table: kind, name, id, latest version, and what each resource pins."""
    outputs = redacted(outputs, redact)
    rows = [("KIND", "NAME", "ID", "VERSION", "USES")]
    for output in outputs.resources:
        kind = KINDS[output.kind].singular
        if output.id is None:
            rows.append((kind, output.name, "(not in the account)", "-", f"[{output.source}]"))
        else:
            rows.append((kind, output.name, output.id, str(output.version), _uses(output)))
    rows = [tuple(map(safe_line, row)) for row in rows]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    lines = [
        "  ".join(
            [*(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)), row[4]]
        )
        for row in rows
    ]
    missing = len(outputs.missing)
    total = len(outputs.resources)
    lines.append("")
    lines.append(
        f"{total - missing} of {total} resources in the account"
        + (f", {missing} not applied yet" if missing else "")
        + "."
    )
    return redact("\n".join(line.rstrip() for line in lines))
