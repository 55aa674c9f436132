"""Markdown reports as GitHub renders them: a table first, then ```diff blocks GitHub colours.

GitHub colours a fenced block whose info string is ``diff`` line by line, by the line's first
character (``+`` green, ``-`` red, ``!`` orange). So each report is parsed with a CommonMark
parser with GFM tables (markdown-it-py), and the fenced blocks' info strings and the column of
each changed line are checked, over plans and drift reports of the embedded emulator.
"""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests.test_plan_cli import AFTER, BEFORE, TOKEN, Workspace, write
from tests.test_plan_cli import workspace as workspace  # the fixture: one change of each kind

GFM = MarkdownIt("commonmark").enable("table")


def fences(markdown: str) -> list[Token]:
    return [token for token in GFM.parse(markdown) if token.type == "fence"]


def table(markdown: str) -> list[list[str]]:
    """The first table's rows as their cells' inline source (the header row first)."""
    rows: list[list[str]] = []
    tokens = GFM.parse(markdown)
    assert [t.type for t in tokens].count("table_open") == 1
    for token in tokens:
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows and token.level > 2:
            rows[-1].append(token.content)
        elif token.type == "table_close":
            break
    return rows


def test_the_plan_opens_with_a_table_of_resources_actions_and_reasons(
    workspace: Workspace,
) -> None:
    markdown = workspace.plan("--format", "markdown").output
    assert table(markdown) == [
        ["", "resource", "action", "why"],
        ["`~`", "prompt <code>greeter</code>", "new version (live v0)", "settings differ: text"],
        [
            "`~`",
            "prompt <code>farewell</code>",
            'renamed from "closer", description of v0 updated',
            r"settings differ: version\_description",
        ],
        [
            "`-`",
            "prompt <code>old</code>",
            "will be deleted (live v0)",
            "marked absent in the manifests",
        ],
        ["`+`", "prompt <code>fresh</code>", "will be created", "not in Hume"],
        ["`~`", "tool <code>lookup</code>", "new version (live v0)", "settings differ: parameters"],
        [
            "`~`",
            "config <code>front-desk</code>",
            "new version (live v0)",
            "prompt greeter → new version; tool lookup → new version",
        ],
    ]
    assert markdown.index("| resource |") < markdown.index("<details>")


def test_every_changed_line_starts_in_column_0_of_a_diff_block(workspace: Workspace) -> None:
    blocks = fences(workspace.plan("--format", "markdown").output)
    assert [block.info for block in blocks] == ["diff"] * 6
    greeter, _, _, fresh, lookup, config = (block.content.splitlines() for block in blocks)
    assert greeter == [
        " # version_description is the same as live v0's: describe what the new version changes",
        "! text:",
        "--- live v0",
        "+++ manifests",
        "@@ -1,2 +1,2 @@",
        "     Hello there",
        "-    Be kind",
        "+    Be very kind",
    ]
    assert fresh == ["+ text: New one"]
    assert lookup == [
        "! parameters:",
        "--- live v0",
        "+++ manifests",
        "@@ -1,3 +1,4 @@",
        "     type: object",
        "     properties:",
        "       q: {type: string}",
        "+      n: {type: integer}",
    ]
    assert config == [
        '! prompt: "greeter v0" → "greeter (new version)"',
        '! tools: ["lookup v0"] → ["lookup (new version)"]',
    ]


def test_a_created_tools_parameters_are_yaml_and_every_line_is_green(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    write(space.root, BEFORE)
    markdown = space.plan("--format", "markdown").output
    [tool] = [b.content for b in fences(markdown) if "parameters" in b.content]
    assert tool.splitlines() == [
        '+ description: "Look something up"',
        "+ parameters:",
        "+    type: object",
        "+    properties:",
        "+      q: {type: string}",
    ]
    [config] = [b.content for b in fences(markdown) if "webhooks" in b.content]
    assert '+ webhooks: [{"url": "https://hooks.example.com/(secret)"' in config
    assert TOKEN not in markdown


def test_drift_blocks_are_coloured_too(workspace: Workspace) -> None:
    workspace.apply(AFTER)
    write(workspace.root, AFTER.replace("Be very kind", "Be kind, always"))
    markdown = workspace.run("drift", str(workspace.root), "--format", "markdown").output
    [block] = fences(markdown)
    assert block.info == "diff"
    lines = block.content.splitlines()
    assert lines[0].startswith("  live version 1, ")
    assert "-    Be very kind" in lines
    assert "+    Be kind, always" in lines
    assert all(line[0] in " !+-@" for line in lines)


def test_no_text_can_close_the_fence_early(workspace: Workspace) -> None:
    workspace.apply(AFTER)
    write(workspace.root, AFTER.replace("Be very kind", "Be very kind\n      ````"))
    greeter = fences(workspace.plan("--format", "markdown").output)[0]
    assert (greeter.info, greeter.markup) == ("diff", "`````")
    assert greeter.content.splitlines()[-2:] == ["     Be very kind", "+    ````"]
