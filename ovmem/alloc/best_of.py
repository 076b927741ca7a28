"""``best-of``: run several offline planners and keep the plan with the smallest peak.

No single greedy order wins on every graph, so this follows XLA's ``ChooseBestHeapAlgorithm``
(``xla/service/heap_simulator/heap_simulator.h``), which runs several heap algorithms, among them
``GlobalDecreasingSizeBestFitHeap`` in its spatial and temporal orders, and keeps the result with the
smallest heap. The candidates here are:

* ``best-fit`` with each order of :data:`ovmem.alloc.best_fit.ORDERS` (size-start, conflict-size,
  size, conflicts, duration, area, start);
* ``first-fit`` with each of the same orders (omnimalloc's greedy family; first fit beats best fit
  on some sets and loses on others, ``docs/allocators.md``);
* ``greedy-by-size``, OpenVINO's own ``MemorySolver``.

The first candidate with the smallest peak wins (ties keep the earlier one in the list above, as
XLA's strict ``<`` does). Because ``greedy-by-size`` is a candidate with the same alignment, the
result is never worse than it by construction, at the price of planning fifteen times.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable
from typing import NamedTuple

import attrs

from ovmem.alloc.base import Allocator, get_allocator, register_allocator
from ovmem.alloc.best_fit import ORDERS, BestFitAllocator
from ovmem.alloc.first_fit import FirstFitAllocator
from ovmem.alloc.request import BufferRequest

__all__ = ["BestOfAllocator", "Trial"]

logger = logging.getLogger(__name__)


class Trial(NamedTuple):
    """One candidate's plan: its offsets by request id, their peak, and the seconds it took."""

    allocator: Allocator
    offsets: dict[Hashable, int]
    peak: int
    seconds: float

    @classmethod
    def of(cls, allocator: Allocator, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> Trial:
        """``allocator``'s plan of ``requests``, whose ``sizes`` are already aligned to its alignment."""
        began = time.perf_counter()
        offsets = allocator.place(requests, sizes)
        peak = max((offsets[r.id] + sizes[r.id] for r in requests), default=0)
        return cls(allocator, offsets, peak, time.perf_counter() - began)


@register_allocator
@attrs.frozen
class BestOfAllocator(Allocator):
    """The smallest-peak plan among best-fit and first-fit in every order and greedy-by-size."""

    name = "best-of"

    def candidates(self) -> list[Allocator]:
        """The allocators tried, in tie-breaking order, all with this allocator's alignment."""
        fits: list[Allocator] = [
            fit(order=o, alignment=self.alignment) for fit in (BestFitAllocator, FirstFitAllocator) for o in ORDERS
        ]
        # looked up by name: greedy-by-size is registered by the package, not imported here
        return [*fits, get_allocator("greedy-by-size", alignment=self.alignment)]

    def trials(
        self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int], deadline: float | None = None
    ) -> list[Trial]:
        """Each candidate's plan of ``requests`` (``sizes`` already aligned), in :meth:`candidates` order.

        With a ``deadline`` (``time.perf_counter()``), ``greedy-by-size`` runs first, then first fit in
        each order, then best fit, each only if the slowest so far took less time than is left: the
        plans most often the best come first.
        """
        candidates = self.candidates()
        if deadline is not None:
            candidates = sorted(candidates, key=lambda c: _ANYTIME_RANK.get(c.name, len(_ANYTIME_RANK)))
        trials: list[Trial] = []
        slowest = 0.0
        for candidate in candidates:
            # the next candidate may cost what the slowest so far did: it must fit before the deadline
            if trials and deadline is not None and time.perf_counter() + slowest > deadline:
                logger.info("best-of: time is up after %d of %d candidates", len(trials), len(candidates))
                break
            trials.append(Trial.of(candidate, requests, sizes))
            slowest = max(slowest, trials[-1].seconds)
        return trials

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return min(self.trials(requests, sizes), key=lambda trial: trial.peak).offsets  # min keeps the first of equals


_ANYTIME_RANK = {"greedy-by-size": 0, "first-fit": 1}
