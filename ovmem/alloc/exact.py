"""``exact``: the smallest arena found within a time limit, with a proof when it is the smallest.

Minimising the peak is dynamic storage allocation (rectangles with fixed time intervals packed as
low as possible), NP-hard in general. ``exact`` does it the way MiniMalloc does (Moffitt, ASPLOS 2023):
by bisection on the capacity with a complete decision search, :mod:`ovmem.alloc.decide`.

* It starts from the ``best-of`` plan, so it is never worse than any heuristic here, ``greedy-by-size``
  included, and from the lower bound, the most bytes live at one step. (On sets so large that
  ``best-of``'s candidates outlast the time limit, it starts from those that ran, ``greedy-by-size``
  first.)
* It asks first whether the buffers fit in the lower bound: on most real graphs and on MiniMalloc's
  benchmark they do, and then the plan is optimal at once. Otherwise it bisects between the best
  capacity proved too small and the best plan found.
* Each question gets half the time left (the last all of it), but no less than twice the time one
  plan takes to build at the slowest pace of the questions so far (on 10⁴ buffers, a second or
  more), while time is left. A "no" proves a higher lower bound; a question that runs out of time
  proves nothing, and the search goes on above it.
* Above :data:`ovmem.alloc.decide.MAX_PAIRS` pairs of buffers live together the decision search
  does not run; ``local-search``'s search over first-fit orders gets the time instead.

It reports the plan, the proved lower bound and whether the two meet. With numba installed (the
``exact`` extra) the search is compiled; without it, it is the same search, interpreted, about a
hundred times slower (``docs/allocators.md``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Sequence

import attrs

from ovmem.alloc.base import Allocator, positive_seconds, register_allocator
from ovmem.alloc.best_of import BestOfAllocator
from ovmem.alloc.local_search import search_from
from ovmem.alloc.plan import Plan
from ovmem.alloc.request import BufferRequest, align_up, lower_bound

__all__ = ["ExactAllocator", "ExactResult"]

logger = logging.getLogger(__name__)


@attrs.frozen
class ExactResult:
    """What :meth:`ExactAllocator.solve` found, and whether it is known to be the best."""

    plan: Plan
    """The best plan found."""
    proved_optimal: bool
    """Whether no plan can have a smaller peak (the search finished or met the lower bound)."""
    nodes_explored: int
    """Search nodes visited over all the capacities asked about."""
    seconds: float
    """Wall-clock time spent."""
    lower_bound: int
    """Bytes no plan can go below: the most bytes live at one step, or more when the search proved it."""
    found_after: float
    """Seconds until the returned plan was found (the rest went to looking for a better one, or a proof)."""


@register_allocator
@attrs.frozen
class ExactAllocator(Allocator):
    """The smallest peak found within ``time_limit``, by bisection with a complete decision search.

    Never worse than ``best-of`` (so than ``greedy-by-size``); :meth:`solve` also gives the proved
    lower bound and whether the plan meets it.
    """

    name = "exact"

    time_limit: float = attrs.field(default=5.0, validator=positive_seconds, kw_only=True)
    """Seconds of search before the best plan so far is returned."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return dict(self.solve(requests).plan.offsets)

    def solve(self, requests: Sequence[BufferRequest]) -> ExactResult:
        """Plan ``requests`` with the smallest peak found, and report whether it is optimal.

        Raises:
            ValueError: ids are not unique.
        """
        began = time.perf_counter()
        deadline = began + self.time_limit
        requests, unit = tuple(requests), self.alignment
        if len({r.id for r in requests}) != len(requests):
            raise ValueError("BufferRequest ids must be unique")
        aligned = {r.id: align_up(r.size, unit) for r in requests}
        trials = BestOfAllocator(alignment=unit).trials(requests, aligned, deadline)
        start = min(trials, key=lambda trial: trial.peak)
        busy = [r for r in requests if r.size]
        offsets = {**start.offsets, **{r.id: 0 for r in requests if not r.size}}  # empty buffers hold nothing
        peak, found_after = start.peak // unit, time.perf_counter() - began
        proved = lower_bound(busy, unit) // unit
        nodes = 0
        if peak > proved:
            from ovmem.alloc.decide import FITS, NO_FIT, Problem  # numba, when installed, loads here

            sizes = [aligned[r.id] // unit for r in busy]
            try:
                problem = Problem(sizes, [(r.start, r.end) for r in busy])
            except ValueError as too_dense:  # the anytime search on first-fit orders instead, for the time left
                logger.info("exact: no decision search (%s); local-search for the time left", too_dense)
                problem = None
            if problem is None:
                searched, searched_peak = search_from(trials, requests, aligned, deadline)
                if searched_peak < peak * unit:
                    offsets, peak, found_after = searched, searched_peak // unit, time.perf_counter() - began
            low, capacity = proved, proved
            dive = 0.0  # seconds to place every buffer once at the slowest pace seen: a plan needs that much
            while problem and low < peak and time.perf_counter() < deadline:
                asked = time.perf_counter()
                left = deadline - asked
                budget = left if low == peak - 1 else min(left, max(left / 2, 2 * dive))
                decision = problem.decide(capacity, asked + budget)
                nodes += decision.nodes
                took = time.perf_counter() - asked
                dive = max(dive, len(busy) * took / decision.nodes) if decision.nodes else dive
                answer = decision.answer
                logger.debug("exact: fits in %d? %s, %d nodes, %.2f s", capacity * unit, answer, decision.nodes, took)
                if answer == FITS:
                    peak = max(o + size for o, size in zip(decision.offsets, sizes))
                    offsets.update((r.id, o * unit) for r, o in zip(busy, decision.offsets))
                    found_after = time.perf_counter() - began
                else:  # a "no" proves a higher bound; running out of time only moves the search up
                    proved = max(proved, capacity + 1) if answer == NO_FIT else proved
                    low = capacity + 1
                capacity = (low + peak - 1) // 2
        seconds = time.perf_counter() - began
        logger.info(
            "exact: peak %d for %d buffers, %s after %d nodes in %.3f s",
            peak * unit, len(busy), "proved optimal" if peak == proved else f"NOT proved optimal (lower bound {proved * unit})",
            nodes, seconds,
        )  # fmt: skip
        plan = Plan(self.name, requests, offsets, peak * unit, unit)
        return ExactResult(plan, peak == proved, nodes, seconds, proved * unit, found_after)
