"""The README's Python examples run as written, and its Quickstart is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.fixture
def scratch_registries():
    """The examples register a pass and an allocator: forget them afterwards."""
    from ovmem.alloc.base import ALLOCATORS
    from ovmem.passes.registry import PASSES

    with PASSES.scratch(), ALLOCATORS.scratch():
        yield


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(index, scratch_registries, capsys):
    exec(compile(BLOCKS[index], f"README.md python block {index}", "exec"), {"__name__": "readme"})
    assert capsys.readouterr().out.strip()  # every example prints its result


def test_readme_examples_print_what_they_claim(capsys, scratch_registries):
    pass_block = next(b for b in BLOCKS if "KeepDecompressedWeights" in b)
    exec(compile(pass_block, "README pass", "exec"), {"__name__": "readme"})
    before, after = map(int, re.findall(r"weights (\d+) -> (\d+)", capsys.readouterr().out)[0])
    assert 2.9 < after / before < 3.0  # f16 weights plus their f32 copies (a few f32 constants aside)
    alloc_block = next(b for b in BLOCKS if "LargestFirstStack" in b)
    exec(compile(alloc_block, "README allocator", "exec"), {"__name__": "readme"})
    peak, bound = map(int, capsys.readouterr().out.split())
    assert (peak, bound) == (192, 192)  # 100 -> 128 and 50 -> 64 aligned; buffers 0 and 2 share an address


def test_quickstart_test_command_is_what_ci_runs():
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"```bash\n(.*?)```", quickstart, flags=re.S)[0].strip().splitlines()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text()
