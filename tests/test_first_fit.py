"""Tests for ``first-fit``: a hand case, and every order against a literal, slow reference loop.

The generic invariants (no overlap, alignment, lower bound, naive bound) run in ``test_allocators.py``.
"""

from __future__ import annotations

from collections.abc import Hashable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_allocators import ALIGNMENTS, check_plan, request_sets
from test_best_fit import TIGHT_GAP, reference_plan

from ovmem.alloc import BufferRequest, get_allocator
from ovmem.alloc.best_fit import ORDERS
from ovmem.alloc.first_fit import FirstFitAllocator

R = BufferRequest


def test_in_size_order_it_is_openvinos_memory_solver() -> None:
    # No two sizes are equal in TIGHT_GAP, so largest first leaves nothing to ties: first fit places
    # as ov::MemorySolver does, and misses the tight gap best fit takes (130 against 117).
    plan = get_allocator("first-fit").allocate(TIGHT_GAP)
    greedy = get_allocator("greedy-by-size").allocate(TIGHT_GAP)
    assert (plan.peak, dict(plan.offsets)) == (130, dict(greedy.offsets))
    assert get_allocator("best-fit").allocate(TIGHT_GAP).peak == 117


def test_default_order_breaks_size_ties_by_start() -> None:
    # Two 4-byte buffers, one long (steps 1-5), one short (step 0), and a 4-byte one at step 6.
    # By start, short goes first at 0, long at 0 too (no common step), late at 0: peak 4.
    requests = [R("long", 4, 1, 5), R("short", 4, 0, 0), R("late", 4, 6, 6)]
    assert FirstFitAllocator().order == "size-start"
    plan = get_allocator("first-fit").allocate(requests)
    assert (plan.peak, dict(plan.offsets)) == (4, {"long": 0, "short": 0, "late": 0})


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=60, deadline=None)
@given(requests=request_sets(), alignment=st.sampled_from(ALIGNMENTS))
def test_every_order_matches_the_reference(order: str, requests: list[BufferRequest], alignment: int) -> None:
    plan = check_plan(FirstFitAllocator(order=order, alignment=alignment), requests)
    assert dict(plan.offsets) == reference_first_fit(requests, alignment, order)


def reference_first_fit(requests: list[BufferRequest], alignment: int, order: str) -> dict[Hashable, int]:
    """The lowest offset free of every placed buffer live at a common step, by trying each candidate."""

    def lowest_free(size: int, live: list[tuple[int, int]]) -> int:
        candidates = sorted({0} | {o + s for o, s in live})  # a lowest offset sits at 0 or on a top
        return next(x for x in candidates if all(x + size <= o or x >= o + s for o, s in live))

    return reference_plan(requests, alignment, order, lowest_free)
