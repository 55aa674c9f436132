"""What makes large plans fast keeps their behaviour: ``aio.run`` and positions parsed again."""

from __future__ import annotations

import gc

from reconciler import aio
from tests.manifest_support import errors


class _NoRepr:
    """A result whose repr fails: ``asyncio.run`` on Python 3.11 would format it on the way out."""

    def __repr__(self) -> str:
        raise AssertionError("the command's result was repr'd")


async def _result() -> _NoRepr:
    return _NoRepr()


async def _young_threshold() -> int:
    return gc.get_threshold()[0]


def test_run_returns_the_result_without_formatting_it():
    assert isinstance(aio.run(_result()), _NoRepr)


def test_run_raises_the_young_threshold_only_while_it_runs():
    before = gc.get_threshold()
    assert aio.run(_young_threshold()) == aio.YOUNG_COLLECTION_EVERY
    assert gc.get_threshold() == before


def test_errors_found_after_the_files_are_read_point_into_the_right_document(tmp_path):
    """Positions are dropped once a file is read and parsed again for an error across resources:
    in a file of several documents (one of them empty), the error still names its own line."""
    files = {
        "a.yaml": """\
        prompts:
          - {name: p, text: hi}
        ---
        ---
        configs:
          - name: c
            evi_version: "3"
            prompt: q
        """,
        "b.yaml": "prompts:\n  - {name: p, text: again}\n",
    }
    assert errors(tmp_path, files) == [
        "a.yaml:8:5: configs[0].prompt: unknown prompt 'q'",
        "b.yaml:2:6: prompts[0].name: duplicate prompt name 'p' (also at a.yaml:2)",
    ]
