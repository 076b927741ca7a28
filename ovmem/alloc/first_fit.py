"""``first-fit``: offline placement, each buffer at the lowest offset free over its whole lifetime.

The planner of omnimalloc's greedy allocators (``greedy_by_size`` and its siblings; fpedd/omnimalloc
``src/cpp/allocators/first_fit.cpp``) and of OpenVINO's ``MemorySolver`` (:mod:`ovmem.alloc.greedy_by_size`),
in any order of :data:`ovmem.alloc.best_fit.ORDERS`:

* **Order.** As :class:`~ovmem.alloc.best_fit.BestFitAllocator`'s, but the default is ``size-start``
  (largest first, ties to the earlier start): with few distinct sizes, as in transformers, which of
  two equal buffers goes first decides much, and execution order is the tie-break that packs best
  (``docs/allocators.md``).
* **Placement.** Among the placed buffers live at a common step with the new one, in address order,
  the new buffer takes the first gap that holds it, else goes just above the highest of them.
  Best fit looks for the tightest gap instead; neither wins everywhere, so ``best-of`` runs both.
* **Empty buffers** get offset 0 and occupy nothing.

It shares best-fit's vectorised columns (:class:`~ovmem.alloc.best_fit.Placed`), so it costs the same.
Given an order, the plan is unique: :mod:`ovmem.alloc.local_search` searches over orders with it.
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.best_fit import ORDERS, Order, place_in_order, placement_order
from ovmem.alloc.request import BufferRequest

__all__ = ["FirstFitAllocator"]


@register_allocator
@attrs.frozen
class FirstFitAllocator(Allocator):
    """Each buffer, in ``order``, at the lowest offset free of the buffers live with it."""

    name = "first-fit"

    order: Order = attrs.field(default="size-start", validator=attrs.validators.in_(ORDERS), kw_only=True)
    """Placement order (see :data:`ovmem.alloc.best_fit.ORDERS`); ``size-start`` by default."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return place_in_order(requests, sizes, placement_order(requests, sizes, self.order), first_fit=True)
