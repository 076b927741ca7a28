"""Tests for ``best-fit``, ``first-fit-online`` and ``best-of``.

Hand cases pin exact offsets and peaks (worked out in the comments); hypothesis compares the
vectorised allocators with literal, slow reference loops and checks ``best-of`` against its candidates.
The generic invariants (no overlap, alignment, lower bound, naive bound) run in ``test_allocators.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_allocators import ALIGNMENTS, check_plan, request_sets

from ovmem.alloc import BufferRequest, align_up, get_allocator, lower_bound
from ovmem.alloc.best_fit import ORDERS, BestFitAllocator, conflict_degrees, placement_order
from ovmem.alloc.best_of import BestOfAllocator

R = BufferRequest


def _plan(name: str, requests: list[BufferRequest], **options: object) -> tuple[int, dict[Hashable, int]]:
    plan = get_allocator(name, **options).allocate(requests)
    plan.validate()
    return plan.peak, dict(plan.offsets)


# Seven buffers; lower bound 117 (steps 3 and 4). Placed largest first, f, a, b, e stack up to 117.
# At step 4 the live ones are a [33, 64) and e [93, 117), leaving gaps of 33 at [0, 33) and 29 at
# [64, 93). g (23) goes into the 29-byte gap under best fit, and d (20) + h (13) fill the 33 exactly.
# First fit (greedy-by-size) puts g at 0, d at 64, and h (13) no longer fits in [23, 33) or [84, 93).
TIGHT_GAP = [
    R("a", 31, 2, 4), R("b", 29, 1, 3), R("d", 20, 4, 4), R("e", 24, 3, 4),
    R("f", 33, 3, 3), R("g", 23, 4, 4), R("h", 13, 4, 4),
]  # fmt: skip


def test_best_fit_takes_the_tight_gap_where_first_fit_fragments() -> None:
    assert lower_bound(TIGHT_GAP) == 117
    assert _plan("best-fit", TIGHT_GAP) == (117, {"f": 0, "a": 33, "b": 64, "e": 93, "g": 64, "d": 0, "h": 20})
    assert _plan("greedy-by-size", TIGHT_GAP) == (130, {"f": 0, "a": 33, "b": 64, "e": 93, "g": 0, "d": 64, "h": 117})
    assert _plan("best-of", TIGHT_GAP)[0] == 117


# Online, s1 and s2 take [0, 20) at step 0; at step 1 only s1's 10 bytes are free, so big goes to
# 20 and the arena reaches 40. Planned largest first, big sits at 0, s2 above it and s1 under s2's
# lifetime-free bytes at 0: 30, the lower bound.
ONLINE_FRAGMENTS = [R("s1", 10, 0, 0), R("s2", 10, 0, 2), R("big", 20, 1, 2)]


def test_first_fit_online_fragments_where_best_fit_does_not() -> None:
    assert _plan("first-fit-online", ONLINE_FRAGMENTS) == (40, {"s1": 0, "s2": 10, "big": 20})
    assert _plan("best-fit", ONLINE_FRAGMENTS) == (30, {"big": 0, "s2": 20, "s1": 0})
    assert lower_bound(ONLINE_FRAGMENTS) == 30


def test_best_fit_breaks_gap_ties_to_the_lower_address() -> None:
    # Order e, f, d (start 1 before c's 2), c, a, b. e [0, 4) and c [6, 8) are live at step 2 only,
    # so when b (steps 0-1) comes, d [0, 2), f [4, 6) and a [8, 9) leave two 2-byte gaps: 2 and 6.
    requests = [R("a", 1, 0, 2), R("b", 1, 0, 1), R("c", 2, 2, 2), R("d", 2, 1, 1), R("e", 4, 2, 2), R("f", 2, 0, 2)]
    assert _plan("best-fit", requests) == (9, {"e": 0, "f": 4, "d": 0, "c": 6, "a": 8, "b": 2})


def test_best_fit_alignment() -> None:
    # Aligned to 32: a and c take 64 bytes, b 32; a goes first (longer than c), c reuses 0, b on top.
    requests = [R("a", 33, 0, 1), R("b", 1, 1, 2), R("c", 40, 2, 2)]
    assert _plan("best-fit", requests, alignment=32) == (96, {"a": 0, "c": 0, "b": 64})
    # Unaligned, c (40) is the largest and b sits at its end: offset 40 is not a multiple of 32.
    assert _plan("best-fit", requests) == (41, {"c": 0, "a": 0, "b": 40})
    for name in ("first-fit-online", "best-of"):
        peak, offsets = _plan(name, requests, alignment=32)
        assert all(offset % 32 == 0 for offset in offsets.values()) and peak % 32 == 0, (name, offsets)


def test_empty_buffers_sit_at_zero() -> None:
    requests = [R("a", 8, 0, 3), R("z", 0, 1, 2), R("b", 8, 1, 1)]
    for name in ("best-fit", "first-fit-online"):
        assert _plan(name, requests) == (16, {"a": 0, "z": 0, "b": 8}), name


# --- orders --------------------------------------------------------------------------------------

# (size, steps): long (2, 10), big (7, 1), late (3, 2), early and tie (3, 2); early and tie differ
# only in request order, late only in its later start.
ORDERED = [R("long", 2, 0, 9), R("big", 7, 4, 4), R("late", 3, 5, 6), R("early", 3, 0, 1), R("tie", 3, 0, 1)]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("size", ["big", "early", "tie", "late", "long"]),
        ("size-start", ["big", "early", "tie", "late", "long"]),
        ("duration", ["long", "early", "tie", "late", "big"]),  # 10 steps, then the 2-step 3s, then 1
        ("area", ["long", "big", "early", "tie", "late"]),  # areas 20, 7, 6, 6, 6
        ("start", ["early", "tie", "long", "big", "late"]),  # at step 0 the larger first
        ("conflicts", ["long", "early", "tie", "big", "late"]),  # live with 4, 2, 2, 1 (the larger), 1 other
        ("conflict-size", ["long", "big", "early", "tie", "late"]),  # 4 x 2, 1 x 7, 2 x 3, 2 x 3, 1 x 3
    ],
)
def test_placement_order(order: str, expected: list[str]) -> None:
    sizes = {r.id: r.size for r in ORDERED}
    assert [ORDERED[i].id for i in placement_order(tuple(ORDERED), sizes, order)] == expected


def test_order_is_checked() -> None:
    with pytest.raises(ValueError, match="order"):
        BestFitAllocator(order="random")  # type: ignore[arg-type]
    expected = {"size", "size-start", "conflict-size", "conflicts", "duration", "area", "start"}
    assert {BestFitAllocator(order=o).order for o in ORDERS} == expected


def test_size_start_breaks_ties_by_start_not_lifetime() -> None:
    # equal sizes: "size" takes the longer lifetime first (XLA), "size-start" the earlier start
    requests = (R("short-early", 4, 0, 0), R("long-late", 4, 1, 5))
    sizes = {r.id: r.size for r in requests}
    assert placement_order(requests, sizes, "size") == [1, 0]
    assert placement_order(requests, sizes, "size-start") == [0, 1]


@settings(max_examples=100, deadline=None)
@given(requests=request_sets())
def test_conflict_degrees_count_the_buffers_live_at_a_common_step(requests: list[BufferRequest]) -> None:
    starts, ends = (np.array([getattr(r, side) for r in requests], dtype=np.int64) for side in ("start", "end"))
    brute = [sum(a is not b and a.overlaps_in_time(b) for b in requests) for a in requests]
    assert conflict_degrees(starts, ends).tolist() == brute


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=60, deadline=None)
@given(requests=request_sets(), alignment=st.sampled_from(ALIGNMENTS))
def test_every_order_matches_the_reference(order: str, requests: list[BufferRequest], alignment: int) -> None:
    allocator = BestFitAllocator(order=order, alignment=alignment)
    plan = check_plan(allocator, requests)
    assert dict(plan.offsets) == _reference_best_fit(requests, alignment, order)


def _reference_best_fit(requests: list[BufferRequest], alignment: int, order: str) -> dict[Hashable, int]:
    """TFLite's ``SimpleMemoryArena::Allocate`` loop, literally: O(n²) but obviously right."""

    def tightest_gap(size: int, live: list[tuple[int, int]]) -> int:
        best, best_fit, current = None, None, 0
        for offset, other_size in sorted(live):
            if current + size <= offset and (best_fit is None or offset - current < best_fit):
                best, best_fit = current, offset - current
            current = max(current, offset + other_size)
        return current if best is None else best

    return reference_plan(requests, alignment, order, tightest_gap)


def reference_plan(
    requests: list[BufferRequest], alignment: int, order: str, place: Callable[[int, list[tuple[int, int]]], int]
) -> dict[Hashable, int]:
    """Offsets of ``requests`` placed one by one in ``order``, each where ``place(size, live)`` puts it
    among the ``(offset, size)`` of the placed buffers live at a common step with it."""
    sizes = {r.id: align_up(r.size, alignment) for r in requests}
    placed: list[tuple[int, int, BufferRequest]] = []  # (offset, size, request)
    offsets: dict[Hashable, int] = {}
    for i in placement_order(tuple(requests), sizes, order):
        r, size = requests[i], sizes[requests[i].id]
        if size == 0:
            offsets[r.id] = 0
            continue
        offsets[r.id] = place(size, [(o, s) for o, s, other in placed if s and other.overlaps_in_time(r)])
        placed.append((offsets[r.id], size, r))
    return offsets


# --- first-fit-online ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requests", "peak", "offsets"),
    [
        # a is still read at step 1, so b may not reuse it; c at step 2 may.
        ([R("a", 10, 0, 1), R("b", 10, 1, 1), R("c", 10, 2, 2)], 20, {"a": 0, "b": 10, "c": 0}),
        # a and b are freed together at step 1 and coalesce into 20 bytes, which d fills.
        ([R("a", 10, 0, 0), R("b", 10, 0, 0), R("c", 10, 0, 1), R("d", 20, 1, 1)], 30, {"a": 0, "b": 10, "c": 20, "d": 0}),
        # y, freed at the top, merges into the free top: z starts at 10 and the arena grows to 40, not 50.
        ([R("x", 10, 0, 1), R("y", 10, 0, 0), R("z", 30, 1, 1)], 40, {"x": 0, "y": 10, "z": 10}),
        # holes of 30 at 0 and 10 at 40: first fit takes the low one, best fit would take 40.
        ([R("a", 30, 0, 0), R("b", 10, 0, 1), R("c", 10, 0, 0), R("d", 10, 0, 1), R("e", 10, 1, 1)], 60,
         {"a": 0, "b": 30, "c": 40, "d": 50, "e": 0}),
        # same step: request order; requests given out of step order are replayed in step order.
        ([R("late", 5, 1, 1), R("y", 5, 0, 0), R("x", 5, 0, 0)], 10, {"y": 0, "x": 5, "late": 0}),
    ],
    ids=["inclusive-end", "coalesce", "free-top", "first-not-best", "step-order"],
)  # fmt: skip
def test_first_fit_online(requests: list[BufferRequest], peak: int, offsets: dict[Hashable, int]) -> None:
    assert _plan("first-fit-online", requests) == (peak, offsets)


@settings(max_examples=150, deadline=None)
@given(requests=request_sets(), alignment=st.sampled_from(ALIGNMENTS))
def test_first_fit_online_matches_the_reference(requests: list[BufferRequest], alignment: int) -> None:
    plan = check_plan(get_allocator("first-fit-online", alignment=alignment), requests)
    assert dict(plan.offsets) == _reference_first_fit(requests, alignment)


def _reference_first_fit(requests: list[BufferRequest], alignment: int) -> dict[Hashable, int]:
    """A free list of ``[lo, hi)`` blocks below ``tail``, re-merged after every step's frees."""
    free: list[tuple[int, int]] = []
    tail, offsets, freed = 0, {}, set()
    for step in sorted({r.start for r in requests}):
        for r in requests:
            if r.id in offsets and r.end < step and r.id not in freed:
                freed.add(r.id)
                if (size := align_up(r.size, alignment)) > 0:
                    free.append((offsets[r.id], offsets[r.id] + size))
        merged: list[tuple[int, int]] = []
        for lo, hi in sorted(free):
            if merged and merged[-1][1] == lo:
                merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        while merged and merged[-1][1] == tail:
            tail = merged.pop()[0]
        free = merged
        for r in (r for r in requests if r.start == step):
            size = align_up(r.size, alignment)
            if size == 0:
                offsets[r.id] = 0
                continue
            k = next((k for k, (lo, hi) in enumerate(free) if hi - lo >= size), None)
            if k is None:
                offsets[r.id], tail = tail, tail + size
            else:
                lo, hi = free[k]
                offsets[r.id] = lo
                free[k : k + 1] = [(lo + size, hi)] if hi - lo > size else []
    return offsets


# --- best-of -------------------------------------------------------------------------------------


def test_best_of_candidates() -> None:
    names = [(c.name, getattr(c, "order", None), c.alignment) for c in BestOfAllocator(alignment=8).candidates()]
    fits = [(fit, o, 8) for fit in ("best-fit", "first-fit") for o in ORDERS]
    assert names == [*fits, ("greedy-by-size", None, 8)]


def test_best_of_against_a_deadline_runs_greedy_by_size_then_first_fit() -> None:
    # With a deadline the candidates most often best run first, and greedy-by-size always runs.
    sizes = {r.id: r.size for r in TIGHT_GAP}
    best_of = BestOfAllocator()
    no_time = best_of.trials(tuple(TIGHT_GAP), sizes, time.perf_counter() - 1)
    assert [t.allocator.name for t in no_time] == ["greedy-by-size"]
    trials = best_of.trials(tuple(TIGHT_GAP), sizes, time.perf_counter() + 60)
    names = ["greedy-by-size"] + ["first-fit"] * len(ORDERS) + ["best-fit"] * len(ORDERS)
    assert [t.allocator.name for t in trials] == names
    assert min(t.peak for t in trials) == best_of.allocate(TIGHT_GAP).peak == 117


@settings(max_examples=150, deadline=None)
@given(requests=request_sets(), alignment=st.sampled_from(ALIGNMENTS))
def test_best_of_is_the_best_candidate(requests: list[BufferRequest], alignment: int) -> None:
    plan = check_plan(BestOfAllocator(alignment=alignment), requests)
    greedy = get_allocator("greedy-by-size", alignment=alignment).allocate(requests)
    assert plan.peak <= greedy.peak
    plans = [c.allocate(requests) for c in BestOfAllocator(alignment=alignment).candidates()]
    winner = min(plans, key=lambda p: p.peak)  # min keeps the first of equals, as best-of must
    assert (plan.peak, dict(plan.offsets)) == (winner.peak, dict(winner.offsets))
