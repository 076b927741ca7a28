"""``best-fit``: offline placement, each buffer in the tightest gap left among its time-overlapping peers.

This follows the planner of TensorFlow Lite (``tensorflow/lite/arena_planner.cc`` sorts the tensors,
``SimpleMemoryArena::Allocate`` in ``tensorflow/lite/simple_memory_arena.cc`` places each) and XLA's
``GlobalDecreasingSizeBestFitHeap`` (``xla/service/heap_simulator/heap_simulator.cc``):

* **Order.** Buffers are placed one at a time in a fixed order (:data:`ORDERS`). ``order="size"`` is
  XLA's spatial order, largest first with ties to the longer lifetime; ``"size-start"`` is largest
  first with ties to the earlier start (a stable sort by size of requests in execution order, as
  omnimalloc's ``greedy_by_size`` does); ``"duration"`` is XLA's temporal order, longest lifetime
  first with ties to the larger size. ``"area"`` sorts by size × lifetime (largest first),
  ``"start"`` by earliest start (ties to the larger), ``"conflicts"`` by the number of other buffers
  live at a common step (most first, ties to the larger), ``"conflict-size"`` by that number × size
  (largest first; omnimalloc's ``greedy_by_conflict_size``). Remaining ties go to the earlier start,
  then to request order, so plans are deterministic. Lifetimes count steps inclusively.
* **Placement.** Only placed buffers that are live at a common step with the new one matter. Walking
  them in address order, the free gaps between them are found; the buffer goes into the *smallest*
  gap that holds it (ties: the lowest address), as TFLite does. When no gap holds it, it goes on
  top, just above the highest of those buffers. XLA also counts the room between that top and the
  heap size reached so far as a candidate, so it sometimes takes the top over a looser inner gap;
  this module keeps TFLite's rule.
* **Empty buffers** get offset 0 and occupy nothing, as in TFLite.

The scan is vectorised with numpy: placed buffers are columns kept sorted by offset, so one mask
over their lifetimes picks the conflicting ones already in address order, and a running maximum of
their tops gives every gap at once. Each placement is O(n) numpy work, with no Python loop over the
placed buffers (about 60 µs per buffer with 10,000 of them, 2 cores).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Literal

import attrs
import numpy as np

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.request import BufferRequest

__all__ = ["ORDERS", "BestFitAllocator", "Placed", "conflict_degrees", "place_in_order", "placement_order"]

Order = Literal["size-start", "conflict-size", "size", "conflicts", "duration", "area", "start"]
ORDERS: tuple[str, ...] = ("size-start", "conflict-size", "size", "conflicts", "duration", "area", "start")
"""The placement orders of :class:`BestFitAllocator` and :class:`~ovmem.alloc.first_fit.FirstFitAllocator`.

In the order ``local-search`` tries them when time is short: first those that won on the benchmark's
30,000-buffer sets (``docs/allocators.md``), then XLA's two, then the rest.
"""


_KEYS: dict[str, Callable[[int, int, int, int], tuple[int, ...]]] = {
    # (size, start, duration, conflicts) -> sort key; the caller appends the request index as the last tie-break
    "size": lambda size, start, span, conflicts: (-size, -span, start),
    "size-start": lambda size, start, span, conflicts: (-size, start),
    "duration": lambda size, start, span, conflicts: (-span, -size, start),
    "area": lambda size, start, span, conflicts: (-size * span, -size, start),
    "start": lambda size, start, span, conflicts: (start, -size),
    "conflicts": lambda size, start, span, conflicts: (-conflicts, -size, start),
    "conflict-size": lambda size, start, span, conflicts: (-conflicts * size, -size, start),
}


def placement_order(requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int], order: str) -> list[int]:
    """Indices of ``requests`` in the order ``order`` places them (lifetimes count steps inclusively)."""
    key = _KEYS[order]
    conflicts = [0] * len(requests)
    if order.startswith("conflict"):
        spans = np.array([(r.start, r.end) for r in requests], dtype=np.int64).reshape(-1, 2)
        conflicts = conflict_degrees(spans[:, 0], spans[:, 1]).tolist()
    spans = [r.end - r.start + 1 for r in requests]
    keys = [(*key(sizes[r.id], r.start, span, c), i) for i, (r, span, c) in enumerate(zip(requests, spans, conflicts))]
    return sorted(range(len(requests)), key=keys.__getitem__)


def conflict_degrees(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """For each inclusive span, how many others meet it: those started by its end, less those ended before it."""
    started = np.searchsorted(np.sort(start), end, side="right")
    ended = np.searchsorted(np.sort(end), start, side="left")
    return started - ended - 1


def _dtype(largest: int, narrow: Any = np.int64) -> Any:
    """``narrow`` if it holds ``largest``, else int64, else ``object`` (exact Python ints)."""
    for dtype in (narrow, np.int64):
        if largest < np.iinfo(dtype).max:
            return dtype
    return object


class Placed:
    """Placed buffers as columns (offset, top, start, end), kept sorted by offset.

    Conflicting buffers are gathered with ``nonzero`` + ``take``, about three times faster than
    boolean indexing on a half-full mask.
    """

    def __init__(self, capacity: int, total_size: int, last_step: int) -> None:
        # every top is at most the sum of all sizes; steps usually fit int32, which halves the
        # memory the time mask streams through
        self._space = np.zeros((2, capacity), dtype=_dtype(total_size))
        self._time = np.zeros((2, capacity), dtype=_dtype(last_step, np.int32))
        self._offset, self._top = self._space  # row views, made once: per-call numpy overhead adds up
        self._first, self._last = self._time
        self._count = 0

    def best_gap(self, start: int, end: int, size: int) -> int:
        """Offset of the smallest gap holding ``size`` among buffers live in ``[start, end]``, else their top."""
        n = self._count
        live = ((self._first[:n] <= end) & (self._last[:n] >= start)).nonzero()[0]
        if not len(live):
            return 0
        offset = self._offset.take(live)  # still in address order
        highest = np.maximum.accumulate(self._top.take(live))
        # [highest[i], offset[i + 1]) is free of every live buffer (empty if <= 0): a gap whose floor
        # is the highest top below it. The gap [0, offset[0]) comes first, so it wins ties.
        gaps = offset[1:] - highest[:-1]
        fits = (gaps >= size).nonzero()[0]
        first = offset[0]
        if len(fits):
            best = fits[gaps[fits].argmin()]  # argmin keeps the first: the lowest address
            if not size <= first <= gaps[best]:
                return int(highest[best])
        return 0 if first >= size else int(highest[-1])

    def first_gap(self, start: int, end: int, size: int) -> int:
        """The lowest offset holding ``size`` among buffers live in ``[start, end]`` (first fit)."""
        n = self._count
        live = ((self._first[:n] <= end) & (self._last[:n] >= start)).nonzero()[0]
        if not len(live):
            return 0
        offset = self._offset.take(live)
        if offset[0] >= size:
            return 0
        highest = np.maximum.accumulate(self._top.take(live))
        fits = (offset[1:] - highest[:-1] >= size).nonzero()[0]
        return int(highest[fits[0]] if len(fits) else highest[-1])

    def add(self, start: int, end: int, offset: int, size: int) -> None:
        n = self._count
        at = int(self._offset[:n].searchsorted(offset, side="right"))
        for columns, values in ((self._space, (offset, offset + size)), (self._time, (start, end))):
            columns[:, at + 1 : n + 1] = columns[:, at:n]  # numpy copies overlapping slices safely
            columns[:, at] = values
        self._count = n + 1


@register_allocator
@attrs.frozen
class BestFitAllocator(Allocator):
    """Decreasing-size best fit, as TFLite's arena planner and XLA's heap simulator do it.

    ``order`` picks the placement order (see the module docstring); ``best-of`` tries them all.
    """

    name = "best-fit"

    order: Order = attrs.field(default="size", validator=attrs.validators.in_(ORDERS), kw_only=True)
    """Placement order, one of :data:`ORDERS`: ``size`` (XLA's, the default), ``size-start``, ``conflicts``..."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return place_in_order(requests, sizes, placement_order(requests, sizes, self.order))


def place_in_order(
    requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int], order: list[int], *, first_fit: bool = False
) -> dict[Hashable, int]:
    """Offsets of ``requests`` placed one by one in ``order`` (indices), each in the tightest gap or the first."""
    placed = Placed(len(requests), sum(sizes.values()), max((r.end for r in requests), default=0))
    gap = placed.first_gap if first_fit else placed.best_gap
    offsets: dict[Hashable, int] = {}
    for i in order:
        r = requests[i]
        size = sizes[r.id]
        if size == 0:  # holds nothing, so it conflicts with nothing
            offsets[r.id] = 0
            continue
        # sizes and tops are multiples of the alignment, so every gap floor is aligned too
        offset = gap(r.start, r.end, size)
        placed.add(r.start, r.end, offset, size)
        offsets[r.id] = offset
    return offsets
