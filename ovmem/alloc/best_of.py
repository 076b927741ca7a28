"""``best-of``: run several offline planners and keep the plan with the smallest peak.

No single greedy order wins on every graph, so this follows XLA's ``ChooseBestHeapAlgorithm``
(``xla/service/heap_simulator/heap_simulator.h``), which runs several heap algorithms, among them
``GlobalDecreasingSizeBestFitHeap`` in its spatial and temporal orders, and keeps the result with the
smallest heap. The candidates here are:

* ``best-fit`` with each order of :data:`ovmem.alloc.best_fit.ORDERS` (size, duration, area, start);
* ``greedy-by-size``, OpenVINO's own ``MemorySolver``.

The first candidate with the smallest peak wins (ties keep the earlier one in the list above, as
XLA's strict ``<`` does). Because ``greedy-by-size`` is a candidate with the same alignment, the
result is never worse than it by construction, at the price of planning five times.
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs

from ovmem.alloc.base import Allocator, get_allocator, register_allocator
from ovmem.alloc.best_fit import ORDERS, BestFitAllocator
from ovmem.alloc.request import BufferRequest

__all__ = ["BestOfAllocator"]


@register_allocator
@attrs.frozen
class BestOfAllocator(Allocator):
    """The smallest-peak plan among best-fit in every order and greedy-by-size."""

    name = "best-of"

    def candidates(self) -> list[Allocator]:
        """The allocators tried, in tie-breaking order, all with this allocator's alignment."""
        best_fits: list[Allocator] = [BestFitAllocator(order=o, alignment=self.alignment) for o in ORDERS]
        # looked up by name: greedy-by-size is registered by the package, not imported here
        return [*best_fits, get_allocator("greedy-by-size", alignment=self.alignment)]

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        best: dict[Hashable, int] = {}
        best_peak = -1
        for candidate in self.candidates():
            # ``sizes`` is already aligned to the shared alignment, so candidates can reuse it
            offsets = candidate.place(requests, sizes)
            peak = max((offsets[r.id] + sizes[r.id] for r in requests), default=0)
            if best_peak < 0 or peak < best_peak:
                best, best_peak = offsets, peak
        return best
