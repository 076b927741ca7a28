"""Tests for ``local-search``: it starts from first fit exactly, finds what the greedy orders miss,
never loses to ``best-of``, keeps its time limit, and runs without numba.

The generic invariants (no overlap, alignment, lower bound, naive bound) run in ``test_allocators.py``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_allocators import ALIGNMENTS, check_plan, request_sets

from ovmem.alloc import BufferRequest, align_up, get_allocator, local_search, lower_bound, read_requests
from ovmem.alloc.best_fit import placement_order
from ovmem.alloc.local_search import LocalSearchAllocator, improve

ROOT = Path(__file__).resolve().parent.parent

# 12 buffers of a random layered graph (bench/allocators.py's lifetimes): every best-of candidate
# peaks at 21 or more; the lower bound, 18, is reachable, and the search finds it.
MISSED = [
    ("t0", 3, 0, 10), ("t1", 3, 1, 1), ("t2", 3, 2, 7), ("t3", 2, 3, 6), ("t4", 2, 4, 8), ("t5", 2, 5, 5),
    ("t6", 8, 6, 6), ("t7", 5, 7, 9), ("t8", 8, 8, 8), ("t9", 1, 9, 9), ("t10", 3, 10, 11), ("t11", 5, 11, 11),
]  # fmt: skip


def _requests(rows: list[tuple[str, int, int, int]]) -> list[BufferRequest]:
    return [BufferRequest(*row) for row in rows]


def test_finds_the_lower_bound_the_greedy_orders_miss() -> None:
    requests = _requests(MISSED)
    assert (lower_bound(requests), get_allocator("best-of").allocate(requests).peak) == (18, 21)
    plan = get_allocator("local-search", time_limit=60).allocate(requests)  # stops at the bound
    plan.validate()
    assert plan.peak == 18


@settings(max_examples=80, deadline=None)
@given(
    requests=request_sets(), alignment=st.sampled_from(ALIGNMENTS), order=st.sampled_from(["size-start", "conflicts"])
)
def test_without_time_it_is_first_fit(requests: list[BufferRequest], alignment: int, order: str) -> None:
    # The compiled evaluation places exactly as first-fit does: with no time to search, the same plan.
    sizes = {r.id: align_up(r.size, alignment) for r in requests}
    offsets, peak = improve(tuple(requests), sizes, placement_order(tuple(requests), sizes, order), time.perf_counter())
    plan = get_allocator("first-fit", order=order, alignment=alignment).allocate(requests)
    assert (offsets, peak) == (dict(plan.offsets), plan.peak)


@settings(max_examples=60, deadline=None)
@given(requests=request_sets(), alignment=st.sampled_from(ALIGNMENTS))
def test_never_worse_than_best_of(requests: list[BufferRequest], alignment: int) -> None:
    plan = check_plan(LocalSearchAllocator(alignment=alignment, time_limit=0.2), requests)
    assert plan.peak <= get_allocator("best-of", alignment=alignment).allocate(requests).peak


def test_keeps_its_time_limit() -> None:
    # MiniMalloc's instance D is not solved in a second; the search returns on time with its best.
    requests = read_requests(ROOT / "bench" / "data" / "minimalloc" / "D.1048576.csv")
    LocalSearchAllocator(time_limit=0.1).allocate(requests[:20])  # compile (or load) the search first
    began = time.perf_counter()
    plan = LocalSearchAllocator(time_limit=1.0).allocate(requests)
    elapsed = time.perf_counter() - began
    plan.validate()
    assert plan.peak <= get_allocator("best-of").allocate(requests).peak
    assert elapsed < 1.0 + 0.5, elapsed  # the clock is read every 256 placements


def test_too_many_pairs_for_the_search(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_search, "MAX_PAIRS", 3)
    requests = _requests(MISSED)
    with caplog.at_level(logging.INFO, logger="ovmem.alloc.local_search"):
        plan = get_allocator("local-search", time_limit=5).allocate(requests)
    assert plan.peak == get_allocator("best-of").allocate(requests).peak
    assert "no search, " in caplog.text and "pairs of buffers live together (limit 3)" in caplog.text


def test_same_seed_same_moves() -> None:
    requests = read_requests(ROOT / "bench" / "data" / "minimalloc" / "A.1048576.csv")
    sizes = {r.id: r.size for r in requests}
    order = placement_order(tuple(requests), sizes, "size-start")
    # a deadline far away: the search stops on its own (lower bound, or 4,000 moves without a new best)
    runs = [improve(tuple(requests), sizes, order, time.perf_counter() + 300, seed=seed) for seed in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert all(peak <= get_allocator("first-fit").allocate(requests).peak for _, peak in runs)


def test_interpreted_search_without_numba() -> None:
    # Without numba the same search runs as Python, and finds MISSED's lower bound all the same.
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from ovmem.alloc import BufferRequest, get_allocator; from ovmem.alloc.compiled import COMPILED\n"
        f"plan = get_allocator('local-search', time_limit=60).allocate([BufferRequest(*r) for r in {MISSED}])\n"
        "print(COMPILED, plan.peak)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False 18"


def test_is_registered_and_checks_its_options() -> None:
    assert get_allocator("local-search", time_limit=0.5, seed=3, alignment=8) == LocalSearchAllocator(
        time_limit=0.5, seed=3, alignment=8
    )
    with pytest.raises(ValueError, match="time_limit must be > 0"):
        LocalSearchAllocator(time_limit=0)
