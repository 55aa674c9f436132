"""The bounds of manifest input, so that a hostile or broken file fails fast with a located error.

Each one is far beyond what a real manifest needs; docs/manifests.md ("Limits") lists them. The
number range (64-bit integers, finite numbers) is ``reconciler.kinds.fields.INT64_MIN``/``MAX``.
"""

MAX_FILE_BYTES = 10 * 1024 * 1024
"""A manifest file or a ``text_file``: larger ones are refused before they are read."""
MAX_DEPTH = 64
"""Nesting of mappings and lists in a YAML document (aliases included): Python recursion, in the
loader and in the JSON Schema check, must never run out."""
MAX_STRING = 1024 * 1024
"""Characters in one string value: as written, after ``${...}`` interpolation, or a text file."""
MAX_ALIAS_GROWTH = 100
"""Nodes built per YAML event: aliases may repeat structure, but not "billion laughs" style."""
MAX_ALIASED_CHARS = 10 * 1024 * 1024
"""Characters of strings that aliases may repeat in one file (a megabyte string aliased a thousand
times is as hostile as a bomb of small nodes)."""


def too_long(text: str) -> str:
    """The problem with a string over ``MAX_STRING``, worded the same wherever it is found."""
    return f"longer than {MAX_STRING} characters ({len(text)})"
