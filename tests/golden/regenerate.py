"""Write every golden dump anew: ``python tests/golden/regenerate.py``. Review ``git diff tests/golden``
before committing: a golden changes only with an intended change of the IR, a pass or the dump format."""

from __future__ import annotations

import sys
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent
TESTS = GOLDEN.parent
sys.path.insert(0, str(TESTS))  # tests/graphs.py

from graphs import mlp  # noqa: E402

from ovmem.ir import lift  # noqa: E402
from ovmem.passes import DEFAULT_PIPELINE, parse_pipeline  # noqa: E402

FIXTURES = sorted(p for p in (TESTS / "fixtures").iterdir() if (p / "openvino_model.xml").is_file())


def fixture_dump(folder: Path) -> str:
    """The default pipeline's annotated dump of a committed fixture at 8 tokens after 2 cached."""
    return parse_pipeline(DEFAULT_PIPELINE)(lift(folder, seq_len=8, past_len=2)).graph.dump()


def mlp_dump() -> str:
    """The hand-built MLP of ``tests/graphs.py`` at 4 tokens, through weights, placement and lifetimes."""
    return parse_pipeline("fold-weights,placement,lifetime")(lift(mlp(), seq_len=4)).graph.dump()


def goldens() -> dict[Path, object]:
    """Each golden file and the function that writes its text."""
    files = {GOLDEN / f"{folder.name}_seq8_past2.txt": (lambda f=folder: fixture_dump(f)) for folder in FIXTURES}
    files[GOLDEN / "mlp_seq4.txt"] = mlp_dump
    return files


if __name__ == "__main__":
    for path, make in goldens().items():
        path.write_text(make())
        print(f"wrote {path.relative_to(TESTS.parent)}")
