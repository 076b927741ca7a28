"""The golden values of ``test_greedy_by_size.py``, regenerated from OpenVINO's own C++ ``ov::MemorySolver``.

``tests/cxx/memory_solver_harness.cpp`` is built against the header of an OpenVINO source checkout
(``OPENVINO_SOURCE_DIR``, holding ``src/inference/dev_api/openvino/runtime/memory_solver.hpp``; the wheel
does not ship it) and the wheel's own headers and ``libopenvino``, then run on the same boxes as the port.
Skipped, with the reason, where no checkout or no C++ compiler is at hand. To regenerate a golden value,
print the harness's output for its boxes (``_cxx`` below)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_greedy_by_size import CASES, _lcg_boxes

from ovmem.alloc.greedy_by_size import Box, MemorySolver

HEADER = Path("src/inference/dev_api/openvino/runtime/memory_solver.hpp")
HARNESS = Path(__file__).parent / "cxx" / "memory_solver_harness.cpp"


@pytest.fixture(scope="module")
def harness(tmp_path_factory) -> Path:
    source = os.environ.get("OPENVINO_SOURCE_DIR")
    compiler = shutil.which(os.environ.get("CXX", "g++")) or shutil.which("c++")
    if not source or not (Path(source) / HEADER).is_file():
        pytest.skip(f"set OPENVINO_SOURCE_DIR to an openvinotoolkit/openvino checkout (it has {HEADER})")
    if compiler is None:
        pytest.skip("no C++ compiler (g++ or c++) on PATH")
    import openvino

    package = Path(openvino.__file__).parent
    library = next((package / "libs").glob("libopenvino.so*"), None) or pytest.skip("no libopenvino.so in the wheel")
    binary = tmp_path_factory.mktemp("cxx") / "memory_solver_harness"
    subprocess.run(
        [compiler, "-std=c++17", "-O1", str(HARNESS), "-o", str(binary), f"-I{Path(source) / HEADER.parents[2]}",
         f"-I{package / 'include'}", str(library), f"-Wl,-rpath,{library.parent}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return binary


def _cxx(binary: Path, mode: str, boxes: list[Box]) -> list[list[int]]:
    text = "\n".join([mode, *(f"{b.start} {b.finish} {b.size} {b.id}" for b in boxes)])
    out = subprocess.run([str(binary)], input=text, check=True, capture_output=True, text=True).stdout
    return [list(map(int, line.split())) for line in out.splitlines()]


def _port(boxes: list[Box]) -> list[list[int]]:
    ms = MemorySolver(boxes)
    return [[ms.solve(), ms.max_depth(), ms.max_top_depth()], *([ms.get_offset(b.id)] for b in boxes)]


CASES_WITH_IDS = [[Box(b.start, b.finish, b.size, i) for i, b in enumerate(boxes)] for _, boxes, *_ in CASES]


@pytest.mark.parametrize(
    "boxes",
    [*CASES_WITH_IDS, _lcg_boxes(1, 40, 10, 3), _lcg_boxes(2, 300, 60, 4), _lcg_boxes(3, 2000, 400, 8),
     _lcg_boxes(4, 2000, 100, 1000)],
    ids=[*(c[0] for c in CASES), "ties", "random-300", "random-2000", "random-2000-wide"],
)  # fmt: skip
def test_the_port_solves_as_the_cxx(harness: Path, boxes: list[Box]) -> None:
    assert _port(boxes) == _cxx(harness, "solve", boxes)


def test_the_port_normalizes_as_the_cxx(harness: Path) -> None:
    def boxes() -> list[Box]:  # fresh each time: normalize_boxes works in place
        return [Box(5, 9, 1, 0), Box(0, 20, 1, 1), Box(5, 6, 1, 2), Box(0, 3, 1, 3), Box(12, 12, 1, 4)]

    ours = boxes()
    duration = MemorySolver.normalize_boxes(ours)
    assert [[duration], *([b.start, b.finish, b.id] for b in ours)] == _cxx(harness, "normalize", boxes())
