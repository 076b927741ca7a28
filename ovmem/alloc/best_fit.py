"""``best-fit``: offline placement, each buffer in the tightest gap left among its time-overlapping peers.

This follows the planner of TensorFlow Lite (``tensorflow/lite/arena_planner.cc`` sorts the tensors,
``SimpleMemoryArena::Allocate`` in ``tensorflow/lite/simple_memory_arena.cc`` places each) and XLA's
``GlobalDecreasingSizeBestFitHeap`` (``xla/service/heap_simulator/heap_simulator.cc``):

* **Order.** Buffers are placed one at a time in a fixed order. ``order="size"`` is XLA's spatial
  order: largest first, ties by longer lifetime, then earlier start, then request order.
  ``"duration"`` is XLA's temporal order (longest lifetime first, then largest), ``"area"`` sorts by
  size × lifetime (largest first) and ``"start"`` by earliest start (then largest); every order ends
  its ties on earlier start and request order, so plans are deterministic.
* **Placement.** Only placed buffers that are live at a common step with the new one matter. Walking
  them in address order, the free gaps between them are found; the buffer goes into the *smallest*
  gap that holds it (ties: the lowest address), as TFLite does. When no gap holds it, it goes on
  top, just above the highest of those buffers. Unlike XLA, the room between that top and the arena
  size reached so far is not a candidate gap: it is the same offset either way, and this keeps the
  rule TFLite's.
* **Empty buffers** get offset 0 and occupy nothing, as in TFLite.

The scan is vectorised with numpy: placed buffers are columns kept sorted by offset, so one boolean
mask picks the conflicting ones already in address order, and a running maximum of their tops gives
every gap at once. Each placement is O(n) numpy work and no Python loop over placed buffers.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Literal

import attrs
import numpy as np

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.request import BufferRequest

__all__ = ["ORDERS", "BestFitAllocator", "placement_order"]

Order = Literal["size", "duration", "area", "start"]
ORDERS: tuple[str, ...] = ("size", "duration", "area", "start")
"""The values of :attr:`BestFitAllocator.order`."""

_KEYS: dict[str, Callable[[int, int, int], tuple[int, ...]]] = {
    # (size, start, duration) -> sort key; the caller appends the request index as the last tie-break
    "size": lambda size, start, span: (-size, -span, start),
    "duration": lambda size, start, span: (-span, -size, start),
    "area": lambda size, start, span: (-size * span, -size, start),
    "start": lambda size, start, span: (start, -size),
}


def placement_order(requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int], order: str) -> list[int]:
    """Indices of ``requests`` in the order ``order`` places them (lifetimes count steps inclusively)."""
    key = _KEYS[order]
    return sorted(
        range(len(requests)),
        key=lambda i: (*key(sizes[requests[i].id], requests[i].start, requests[i].end - requests[i].start + 1), i),
    )


def _dtype(largest: int, narrow: Any = np.int64) -> Any:
    """The narrowest of ``narrow``/int64 holding ``largest``, else ``object`` (exact Python ints)."""
    if largest < np.iinfo(narrow).max:
        return narrow
    return np.int64 if largest < 2**63 - 1 else object


class _Placed:
    """Placed buffers as columns (offset, top, start, end), kept sorted by offset.

    Conflicting buffers are gathered with ``flatnonzero`` + ``take``, which is several times faster
    than boolean indexing on a half-full mask and costs little when lifetimes are short.
    """

    def __init__(self, capacity: int, total_size: int, last_step: int) -> None:
        # every top is at most the sum of all sizes; steps usually fit int32, which halves the
        # memory the time mask streams through
        self._space = np.zeros((2, capacity), dtype=_dtype(total_size))  # offset, top
        self._time = np.zeros((2, capacity), dtype=_dtype(last_step, np.int32))  # start, end
        self._count = 0

    def best_gap(self, start: int, end: int, size: int) -> int:
        """Offset of the smallest gap holding ``size`` among buffers live in ``[start, end]``, else their top."""
        n = self._count
        first, last = self._time[:, :n]
        live = np.nonzero((first <= end) & (last >= start))[0]
        if not len(live):
            return 0
        offset, top = self._space[:, :n].take(live, axis=1)  # still in address order
        # Free memory starts only where a buffer begins above the one before it in address order;
        # the floor of that gap is the highest top before it. Those few candidates need only the
        # maxima of the runs between them (reduceat: vectorised), not a prefix max of every top.
        cand = np.nonzero(offset[1:] > top[:-1])[0] + 1
        runs = np.maximum.reduceat(top, np.concatenate(([0], cand)))
        highest = np.maximum.accumulate(runs)  # highest[i]: highest top below candidate i + 1
        floors = np.concatenate(([0], highest[:-1]))
        gaps = np.concatenate(([offset[0]], offset[cand])) - floors  # gap before buffer 0, then candidates
        fits = np.nonzero(gaps >= size)[0]
        if not len(fits):
            return int(highest[-1])
        return int(floors[fits[np.argmin(gaps[fits])]])  # argmin keeps the first: the lowest address

    def add(self, start: int, end: int, offset: int, size: int) -> None:
        n = self._count
        at = int(np.searchsorted(self._space[0, :n], offset, side="right"))
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
    """Placement order: ``size`` (default), ``duration``, ``area`` or ``start``."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        placed = _Placed(len(requests), sum(sizes.values()), max((r.end for r in requests), default=0))
        offsets: dict[Hashable, int] = {}
        for i in placement_order(requests, sizes, self.order):
            r = requests[i]
            size = sizes[r.id]
            if size == 0:  # holds nothing, so it conflicts with nothing
                offsets[r.id] = 0
                continue
            # sizes and tops are multiples of the alignment, so every gap floor is aligned too
            offset = placed.best_gap(r.start, r.end, size)
            placed.add(r.start, r.end, offset, size)
            offsets[r.id] = offset
        return offsets
