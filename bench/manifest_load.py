"""Benchmark: load and validate 5,000 resources across 200 files (target: under 2 s).

Run: .venv/bin/python bench/manifest_load.py
Each file holds 25 resources (9 prompts, 8 tools, 8 configs); every tool has its own JSON Schema
(no cache can help) and every config references prompts and tools by name across files.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from reconciler.manifest import load_manifests

FILES = 200
PROMPTS, TOOLS, CONFIGS = 9, 8, 8

PROMPT = """  - name: prompt-{n}
    text: |
      <role>You are assistant number {n}. Answer briefly and kindly.</role>
    version_description: Generated prompt {n}
"""
TOOL = """  - name: tool_{n}
    description: Generated tool {n}
    parameters:
      type: object
      properties:
        location: {{type: string, description: "Location for call {n}"}}
        unit: {{type: string, enum: [celsius, fahrenheit]}}
        days: {{type: integer, minimum: 1, maximum: {days}}}
      required: [location]
    fallback_content: Tool {n} is unavailable.
"""
CONFIG = """  - name: config-{n}
    evi_version: "3"
    prompt: prompt-{prompt}
    tools: [tool_{tool_a}, tool_{tool_b}]
    builtin_tools: [{{name: web_search}}]
    voice: {{name: ITO, provider: HUME_AI}}
    language_model:
      model_provider: ANTHROPIC
      model_resource: claude-sonnet-4-5-20250929
      temperature: 0.7
    timeouts:
      inactivity: {{enabled: true, duration_secs: 120}}
      max_duration: {{enabled: true, duration_secs: 1800}}
    turn_detection: {{end_of_turn_silence_ms: 900, prefix_padding_ms: 200}}
    webhooks:
      - url: https://example.com/hooks/{n}?token=${{secret:TOKEN:-bench-token}}
        events: [chat_started, chat_ended]
"""


def generate(root: Path) -> int:
    """Write the manifests; return how many resources they hold."""
    count = 0
    total_prompts, total_tools = FILES * PROMPTS, FILES * TOOLS
    for f in range(FILES):
        parts = ["prompts:\n"]
        parts += [PROMPT.format(n=f * PROMPTS + i) for i in range(PROMPTS)]
        parts.append("tools:\n")
        parts += [TOOL.format(n=f * TOOLS + i, days=f * TOOLS + i + 1) for i in range(TOOLS)]
        parts.append("configs:\n")
        for i in range(CONFIGS):
            n = f * CONFIGS + i
            parts.append(
                CONFIG.format(
                    n=n,
                    prompt=(n * 7) % total_prompts,
                    tool_a=(n * 3) % total_tools,
                    tool_b=(n * 5 + 1) % total_tools,
                )
            )
        (root / f"team-{f:03}" / "manifests.yaml").parent.mkdir()
        (root / f"team-{f:03}" / "manifests.yaml").write_text("".join(parts), encoding="utf-8")
        count += PROMPTS + TOOLS + CONFIGS
    return count


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        count = generate(root)
        start = time.perf_counter()
        manifests = load_manifests(root, {})
        elapsed = time.perf_counter() - start
    print(f"{count} resources in {FILES} files ({manifests.summary()}): {elapsed:.2f} s")
    sys.exit(0 if elapsed < 2 else 1)


if __name__ == "__main__":
    main()
