"""The examples under examples/ run as written (so they cannot rot)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def scratch_registries():
    """The examples register a pass and an allocator: forget them afterwards."""
    from ovmem.alloc.base import ALLOCATORS
    from ovmem.passes.registry import PASSES

    with PASSES.scratch(), ALLOCATORS.scratch():
        yield


def test_custom_pass_and_allocator_example(scratch_registries, capsys):
    runpy.run_path(str(EXAMPLES / "custom_pass_and_allocator.py"), run_name="__main__")
    out = capsys.readouterr().out
    before, after = re.search(r"temp peak ([\d.]+) MiB -> ([\d.]+) MiB", out).groups()
    assert float(after) < float(before)  # f16 activations need less, even with a simpler planner
    assert "allocator first-fit-by-start" in out and "from the lifted graphs' affine shapes" in out
    exported, half = map(int, re.findall(r"512 MiB, [\w -]+: up to (\d+) tokens", out))
    assert half > exported
    assert re.search(r"what if kv-cache-precision=u4: total -", out)
    assert re.search(r"what if passes=.*half-activations.*: total -", out)
