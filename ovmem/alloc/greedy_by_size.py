"""``greedy-by-size``: a port of OpenVINO's ``ov::MemorySolver``, the CPU plugin's static-shape planner.

Ported from openvinotoolkit/openvino ``src/inference/dev_api/openvino/runtime/memory_solver.hpp``
(checked against its tests, ``src/inference/tests/unit/memory_solver_test.cpp``, which
``tests/test_greedy_by_size.py`` reproduces). The aim is the *same offsets and total* as the C++ for
the same boxes in the same order, not just a similar heuristic:

* **Boxes.** A :class:`Box` has ``start``, ``finish`` (inclusive; ``-1`` means "until the last time
  step"), ``size`` in abstract units and ``id``. Boxes conflict when their step ranges intersect.
* **Time normalisation** (:meth:`MemorySolver.normalize_boxes`). ``finish == -1`` becomes the largest
  step mentioned by any box; the boxes are sorted by ``(start, finish)``; steps at which no box
  starts are squeezed out, so steps are renumbered ``0..k-1``. This keeps every conflict as it was.
* **Order.** Boxes are placed largest first. The C++ sorts with ``std::sort``, which is not stable:
  equal-sized boxes end up in whatever order the library's introsort leaves them, and that order
  decides their offsets. :func:`cxx_sort` replays libstdc++'s ``std::sort`` (GCC's library, used by
  OpenVINO's Linux builds; checked against g++ 12.2) step by step, for both the ``(start, finish)``
  sort and the size sort, so ties break exactly as in the real solver. MSVC or libc++ builds may
  order ties differently, which changes offsets and often the total slightly.
* **Placement.** Each box starts at offset 0 and is pushed just above any already placed box that
  is live at a common step and overlaps it in memory, until nothing overlaps. That always ends at
  the lowest non-conflicting offset, which is computed here directly (see :class:`_PlacedBoxes`).
* **Lower bound.** :meth:`MemorySolver.max_depth` is the largest total size live at one step, and
  :meth:`MemorySolver.max_top_depth` the largest number of live boxes.

In ovmem the allocator's ``alignment`` is the solver's unit: sizes are divided by it (rounding up)
and offsets multiplied back, as the CPU plugin does with ``constexpr size_t alignment = 32`` and
``div_up(box.size, alignment)`` in ``MemoryManagerStatic::solve()``
(``src/plugins/intel_cpu/src/memory_control.cpp``). Use ``alignment=32`` to reproduce the plugin.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import attrs
import numpy as np

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.request import BufferRequest

__all__ = ["Box", "GreedyBySizeAllocator", "MemorySolver", "cxx_sort"]


@attrs.define
class Box:
    """One buffer for :class:`MemorySolver`; fields default to 0 like the C++ aggregate ``Box{}``."""

    start: int = 0
    """First step at which the data is live (it is produced here)."""
    finish: int = 0
    """Last step at which the data is live, inclusive; ``-1`` means until the last step."""
    size: int = 0
    """Size in the solver's unit (the CPU plugin uses 32-byte units)."""
    id: int = 0
    """Key for :meth:`MemorySolver.get_offset`. Not checked for uniqueness, as in the C++."""


class MemorySolver:
    """Greedy largest-first placement of boxes, as ``ov::MemorySolver`` does it.

    Args:
        boxes: the boxes, in the caller's order (it matters for ties). They are copied, not changed.

    Raises:
        ValueError: a box has a negative start or size, or ends before it starts. The C++ leaves
            such boxes unchecked (a TODO in its constructor); here they are refused.
    """

    def __init__(self, boxes: Iterable[Box]) -> None:
        self._boxes = [Box(b.start, b.finish, b.size, b.id) for b in boxes]
        for b in self._boxes:
            if b.start < 0 or b.size < 0 or (b.finish != -1 and b.finish < b.start):
                raise ValueError(f"invalid box {b}: need start >= 0, size >= 0, finish >= start or -1")
        self._time_duration = self.normalize_boxes(self._boxes)
        self._offsets: dict[int, int] = {}
        self._depth = -1
        self._top_depth = -1

    @staticmethod
    def normalize_boxes(boxes: list[Box]) -> int:
        """Resolve ``finish == -1``, sort by ``(start, finish)`` and renumber steps; in place.

        Only steps at which some box starts are kept. A step ``t`` becomes the number of kept steps
        ``<= t`` minus one; a ``finish`` that is not itself a start step so falls onto the last kept
        step before it, which is exactly the C++'s "subtract the removed steps up to here".

        Returns:
            The number of steps left (the solver's time span).
        """
        last_step = max((max(b.start, b.finish) for b in boxes), default=0)
        for b in boxes:
            if b.finish == -1:
                b.finish = last_step
        cxx_sort(boxes, key=lambda b: (b.start, b.finish))
        steps = sorted({b.start for b in boxes})
        for b in boxes:
            b.start = bisect.bisect_left(steps, b.start)
            b.finish = bisect.bisect_right(steps, b.finish) - 1
        return len(steps)

    def solve(self) -> int:
        """Place every box; return the size of the arena they need (in the solver's unit)."""
        self.max_top_depth()  # as in the C++: depths are measured on the start-sorted boxes
        cxx_sort(self._boxes, key=lambda b: -b.size)  # the C++ comparator is l.size > r.size
        total = sum(b.size for b in self._boxes)
        placed = _PlacedBoxes(len(self._boxes), total)
        min_required = 0
        for box in self._boxes:
            offset = placed.lowest_free_offset(box.start, box.finish, box.size)
            placed.add(box.start, box.finish, offset, box.size)
            min_required = max(min_required, offset + box.size)
            self._offsets[box.id] = offset  # a repeated id keeps the last box's offset, like the std::map
        return min_required

    def get_offset(self, id: int) -> int:
        """Offset :meth:`solve` gave the box with ``id``.

        Raises:
            KeyError: no box has that id (the C++ throws ``ov::Exception``).
        """
        try:
            return self._offsets[id]
        except KeyError:
            raise KeyError(f"there is no box with id {id!r}") from None

    def max_depth(self) -> int:
        """Largest sum of box sizes live at one step: no placement can need less.

        Like the C++, it is ``-1`` when there are no boxes.
        """
        if self._depth == -1:
            self._calc_depth()
        return self._depth

    def max_top_depth(self) -> int:
        """Largest number of boxes live at one step (``-1`` when there are no boxes)."""
        if self._top_depth == -1:
            self._calc_depth()
        return self._top_depth

    def _calc_depth(self) -> None:
        # Walks the boxes in start order: each start adds its box, and the first box to reach step t
        # retires the boxes that finished at t - 1. That equals the live sum at every step.
        depth = top_depth = 0
        release_at: dict[int, list[Box]] = {}
        for box in self._boxes:
            depth += box.size
            top_depth += 1
            release_at.setdefault(box.finish + 1, []).append(box)
            for gone in release_at.pop(box.start, []):
                depth -= gone.size
                top_depth -= 1
            self._top_depth = max(self._top_depth, top_depth)
            self._depth = max(self._depth, depth)


class _PlacedBoxes:
    """Boxes placed so far, as columns (offset, top, start, finish) kept sorted by offset.

    The C++ lifts a new box over every conflicting placed box, pass after pass, until none conflicts.
    Each lift goes to the top of a box that overlaps the new one, and any free offset at least as
    high as the current one must also be above that box, so the lifting never passes the lowest free
    offset and stops on it. That offset is found in one sweep instead: walk the time-overlapping
    boxes in offset order, tracking the highest top seen so far (``below``); the first box starting
    at or above ``below + size`` leaves a gap that fits, else the box goes on top of them all.
    With size 0 this keeps the C++'s strict tests: a zero-size box only conflicts strictly inside.
    """

    def __init__(self, capacity: int, total_size: int) -> None:
        # Python ints if offsets could overflow int64, as the sum of all sizes bounds every top.
        dtype: Any = np.int64 if total_size < 2**62 and capacity < 2**62 else object
        self._cols = np.zeros((4, capacity), dtype=dtype)
        self._count = 0

    def lowest_free_offset(self, start: int, finish: int, size: int) -> int:
        offset, top, first, last = self._cols[:, : self._count]
        live = (first <= finish) & (last >= start)
        offset, top = offset[live], top[live]
        if not len(offset):
            return 0
        highest = np.maximum.accumulate(top)
        below = np.zeros_like(highest)  # highest top before each box (0 before the first)
        below[1:] = highest[:-1]
        fits = offset >= below + size
        i = int(np.argmax(fits))
        return int(below[i]) if fits[i] else int(highest[-1])

    def add(self, start: int, finish: int, offset: int, size: int) -> None:
        n = self._count
        at = int(np.searchsorted(self._cols[0, :n], offset, side="right"))
        self._cols[:, at + 1 : n + 1] = self._cols[:, at:n]
        self._cols[:, at] = (offset, offset + size, start, finish)
        self._count = n + 1


def cxx_sort(items: list[Any], key: Callable[[Any], Any]) -> None:
    """Sort ``items`` in place by ``key(x) < key(y)`` leaving ties where libstdc++'s ``std::sort`` does.

    libstdc++ runs introsort: quicksort with the median of elements 1, middle and last
    moved to the front as pivot, stopping on ranges of 16 or fewer, with a heapsort fallback once
    the recursion is ``2 * floor(log2 n)`` deep; then one insertion sort over everything. Only the
    comparisons and moves decide where equal keys land, so those are replayed exactly. The final
    insertion sort is stable, so Python's (stable) sort gives the same result for it.
    """
    keyed = [(key(x), x) for x in items]
    n = len(keyed)
    if n > 1:
        _introsort_loop(keyed, 0, n, 2 * (n.bit_length() - 1))
        keyed.sort(key=lambda e: e[0])
    items[:] = [x for _, x in keyed]


_THRESHOLD = 16  # libstdc++'s _S_threshold


def _introsort_loop(a: list[tuple[Any, Any]], first: int, last: int, depth_limit: int) -> None:
    while last - first > _THRESHOLD:
        if depth_limit == 0:
            _heap_sort(a, first, last)
            return
        depth_limit -= 1
        cut = _partition_pivot(a, first, last)
        _introsort_loop(a, cut, last, depth_limit)
        last = cut


def _partition_pivot(a: list[tuple[Any, Any]], first: int, last: int) -> int:
    # Move the median of a[first + 1], a[mid], a[last - 1] to a[first]; it is the pivot.
    x, y, z = first + 1, first + (last - first) // 2, last - 1
    kx, ky, kz = a[x][0], a[y][0], a[z][0]
    if kx < ky:
        median = y if ky < kz else (z if kx < kz else x)
    else:
        median = x if kx < kz else (z if ky < kz else y)
    a[first], a[median] = a[median], a[first]
    # Hoare partition of [first + 1, last) around the pivot, with no bounds checks: the pivot and
    # the median-of-three make both scans stop in range. The pivot itself never moves.
    pivot = a[first][0]
    lo, hi = first + 1, last
    while True:
        while a[lo][0] < pivot:
            lo += 1
        hi -= 1
        while pivot < a[hi][0]:
            hi -= 1
        if not lo < hi:
            return lo
        a[lo], a[hi] = a[hi], a[lo]
        lo += 1


def _heap_sort(a: list[tuple[Any, Any]], first: int, last: int) -> None:
    # std::partial_sort(first, last, last): make_heap, then pop_heap to the back repeatedly.
    n = last - first
    for parent in range((n - 2) // 2, -1, -1):
        _adjust_heap(a, first, parent, n, a[first + parent])
    while last - first > 1:
        last -= 1
        value = a[last]
        a[last] = a[first]
        _adjust_heap(a, first, 0, last - first, value)


def _adjust_heap(a: list[tuple[Any, Any]], first: int, hole: int, length: int, value: tuple[Any, Any]) -> None:
    # libstdc++'s __adjust_heap: sink the hole to a leaf along the larger children, then sift
    # ``value`` up from there (its __push_heap).
    top = hole
    child = hole
    while child < (length - 1) // 2:
        child = 2 * (child + 1)
        if a[first + child][0] < a[first + child - 1][0]:
            child -= 1
        a[first + hole] = a[first + child]
        hole = child
    if length % 2 == 0 and child == (length - 2) // 2:
        child = 2 * (child + 1)
        a[first + hole] = a[first + child - 1]
        hole = child - 1
    parent = (hole - 1) // 2
    while hole > top and a[first + parent][0] < value[0]:
        a[first + hole] = a[first + parent]
        hole = parent
        parent = (hole - 1) // 2
    a[first + hole] = value


@register_allocator
@attrs.frozen
class GreedyBySizeAllocator(Allocator):
    """OpenVINO's ``MemorySolver``: largest buffer first, each at its lowest free offset.

    ``alignment`` is the solver's unit; the CPU plugin plans static shapes with ``alignment=32``.
    Requests become boxes in the order given, which is what breaks ties between equal sizes.
    """

    name = "greedy-by-size"

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        unit = self.alignment
        # sizes are already rounded up to the unit, so // is the plugin's div_up
        solver = MemorySolver(Box(r.start, r.end, sizes[r.id] // unit, i) for i, r in enumerate(requests))
        solver.solve()
        return {r.id: solver.get_offset(i) * unit for i, r in enumerate(requests)}
