"""Every path of this repository that its documents, docstrings and tests name exists: a citation that reads
as a file here must be one (sources outside it carry their repository, e.g. openvinotoolkit/openvino's
``src/plugins/...``, which this check ignores)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP = ("ovmem", "docs", "research", "tests", "bench", "tools", "examples", ".ci")
REPO_PATH = re.compile(r"(?<![\w/.\-])((?:%s)/[\w.\-/*]*[\w*/])" % "|".join(re.escape(t) for t in TOP))
RELATIVE_PATH = re.compile(r"(?<![\w/.\-])(\.\./[\w.\-/]*[\w/])")
SOURCES = ("README.md", "cli.py", "docs/**/*.md", "research/**/*.md", "ovmem/**/*.py", "tests/*.py", "bench/*.py",
           "tools/*.py", "examples/*")  # fmt: skip


def missing_paths(text: str, where: Path) -> set[str]:
    """The repository paths (from the root, or ``../`` from ``where``'s folder) that ``text`` names and
    that do not exist; a glob counts if it matches something."""
    missing = set()
    cited = [*((m, ROOT) for m in REPO_PATH.findall(text)), *((m, where.parent) for m in RELATIVE_PATH.findall(text))]
    for match, base in cited:
        path = match.rstrip("/.")
        if not (list(base.glob(path)) if "*" in path else (base / path).exists()):
            missing.add(path)
    return missing


def _documents() -> list[Path]:
    return sorted({p for pattern in SOURCES for p in ROOT.glob(pattern) if p.is_file()})


@pytest.mark.parametrize("document", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_cited_repository_path_exists(document):
    assert missing_paths(document.read_text(errors="replace"), document) == set()


def test_the_check_finds_a_missing_file():
    here = ROOT / "research" / "merger-trace" / "README.md"
    # the paths are built, so that this file cites no missing path itself
    absent = "/".join(("research", "no-such-notes.md"))
    sibling = "/".join(("..", "cpu-planner-trace", "emu.py"))
    nowhere = "/".join(("..", "nowhere.py"))
    text = f"see `{absent}`, `docs/passes.md`, `{sibling}` and `{nowhere}`"
    assert missing_paths(text, here) == {absent, nowhere}
    assert missing_paths("openvinotoolkit/openvino `src/plugins/intel_cpu/src/graph.cpp`", here) == set()
