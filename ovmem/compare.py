"""Every allocator on the same buffer requests: peak, ratio to the lower bound, planning time.

Used by ``ovmem compare-allocators`` and ``bench/allocators.py``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import attrs

from ovmem.alloc import BufferRequest, available_allocators, get_allocator, lower_bound

__all__ = ["AllocatorRun", "compare_allocators"]


@attrs.frozen
class AllocatorRun:
    """One allocator's result on one request set."""

    allocator: str
    peak: int | None
    """Arena bytes, ``None`` when the allocator declined the input (``note`` says why)."""
    ratio: float | None
    """``peak / lower bound`` (1.0 for an empty set)."""
    seconds: float
    """Planning time (wall clock, one run)."""
    note: str = ""


def compare_allocators(
    requests: Sequence[BufferRequest], names: Sequence[str] | None = None, *, alignment: int = 1
) -> list[AllocatorRun]:
    """Plan ``requests`` with each allocator in ``names`` (default: all) and validate every plan."""
    bound = lower_bound(requests, alignment)
    runs = []
    for name in names or available_allocators():
        allocator = get_allocator(name, alignment=alignment)
        solve = getattr(allocator, "solve", None)  # an exact solver also says whether it proved optimality
        note = ""
        began = time.perf_counter()
        try:
            if solve is None:
                plan = allocator.allocate(requests)
            else:
                result = solve(requests)
                plan, note = result.plan, "proved optimal" if result.proved_optimal else "not proved optimal"
                if not result.proved_optimal and result.lower_bound > bound:
                    note += f", none below {result.lower_bound} B"
        except ValueError as exc:  # an allocator that declines the set
            runs.append(AllocatorRun(name, None, None, time.perf_counter() - began, str(exc)))
            continue
        seconds = time.perf_counter() - began
        plan.validate()
        runs.append(AllocatorRun(name, plan.peak, plan.peak / bound if bound else 1.0, seconds, note))
    return runs
