"""``exact``: an optimal planner for small instances, by branch and bound over "skyline" packings.

Minimising the arena is dynamic storage allocation (rectangles with fixed time intervals packed as
low as possible), NP-hard in general, so this is for up to ``max_buffers`` buffers of non-zero size.

**Search space.** Any plan can be *dropped*: repeatedly move a buffer down while the bytes just below
it are free at all its steps. The peak never grows, and at the end every buffer sits at 0 or directly
on the top of a buffer live at a common step. List such a plan by ``(offset, index)``: a buffer's
support has a lower offset, so it comes earlier, and all earlier buffers lie at or below the current
offset. The search builds exactly these lists. Its state is the floor (the last offset used) and the
highest top of the placed buffers at each step; the next buffer ``k`` can only go at
``max(top over its steps)`` (lower overlaps a placed buffer; higher would not rest on one) and only
if that is ``>= floor``. So every dropped plan is reached once. Placing buffers in a fixed
size order with candidates "0 or a top of a placed buffer" is *not* complete: in an optimum a big
buffer may rest on a small one (``test_fixed_order_is_not_complete``); here size only orders siblings.

**Bounds.** The peak is at least the highest top. Every later buffer lies at or above the floor and
above the placed tops at its steps, so the unplaced bytes live at step ``t`` fit, disjointly, in
``[max(floor, top[t]), peak)``: ``peak >= max(floor, top[t]) + unplaced[t]`` for every ``t``. Without
the floor this would be just the live bytes at ``t`` and prune nothing: holes below the tops could
still be filled. The search starts from the best greedy plan, stops at :func:`lower_bound` (proved
optimal) or at ``time_limit``. Identical buffers are placed in index order; buffers never live
together are separate problems, and each one stops once it is no higher than the others.
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Hashable, Sequence

import attrs

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.greedy_by_size import GreedyBySizeAllocator
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
    """Search-tree nodes visited over all time-disjoint groups of buffers."""
    seconds: float
    """Wall-clock time spent."""


class _Stop(Exception):
    """Unwinds the search: the time is up or the plan is good enough."""


class _Search:
    """Branch and bound for one group of buffers, in units of the alignment and compressed steps."""

    def __init__(self, sizes: list[int], spans: list[tuple[int, int]], deadline: float) -> None:
        self.sizes, self.spans, self.deadline = sizes, spans, deadline
        n, steps = len(sizes), max(e for _, e in spans) + 1
        self.top, self.unplaced = [0] * steps, [0] * steps
        for size, (s, e) in zip(sizes, spans):
            for t in range(s, e + 1):
                self.unplaced[t] += size
        self.placed, self.offsets = [False] * n, [0] * n
        # Symmetry: a buffer waits for the previous identical one (same size and steps).
        seen: dict[tuple[int, int, int], int] = {}
        self.twin = [seen.setdefault((size, *span), k) for k, (size, span) in enumerate(zip(sizes, spans))]
        self.twin = [-1 if t == k else t for k, t in enumerate(self.twin)]
        # Siblings are tried lowest first, then largest first: the first dive is a good greedy plan.
        self.rank = sorted(range(n), key=lambda k: (-sizes[k], spans[k]))
        self.nodes, self.timed_out = 0, False
        self.best, self.best_offsets, self.target = 0, [0] * n, 0

    def run(self, best: int, offsets: list[int], target: int) -> bool:
        """Improve on ``best`` until ``target`` is met; True if the search space was exhausted."""
        self.best, self.best_offsets, self.target = best, list(offsets), target
        if best <= target:
            return False
        try:
            self._dfs(0, 0, -1)
        except _Stop:
            return False
        return True

    def _dfs(self, depth: int, floor: int, last: int) -> None:
        self.nodes += 1
        if self.nodes & 255 == 0 and time.perf_counter() > self.deadline:
            self.timed_out = True
            raise _Stop
        sizes, spans, top = self.sizes, self.spans, self.top
        if depth == len(sizes):
            self.best, self.best_offsets = max(top), list(self.offsets)  # the bound made it < best
            if self.best <= self.target:
                raise _Stop
            return
        children = []
        for k in self.rank:
            if self.placed[k] or (self.twin[k] >= 0 and not self.placed[self.twin[k]]):
                continue
            s, e = spans[k]
            at = max(top[s : e + 1])
            # Below the floor, or at it but before the last buffer there: another list's order.
            if at > floor or (at == floor and k > last):
                children.append((at, k))
        children.sort(key=lambda c: c[0])  # stable: keeps the size order among equal offsets
        unplaced = self.unplaced
        for at, k in children:
            s, e, size = *spans[k], sizes[k]
            if at + size >= self.best:
                continue
            saved = top[s : e + 1]
            top[s : e + 1] = [at + size] * (e - s + 1)
            for t in range(s, e + 1):
                unplaced[t] -= size
            self.placed[k], self.offsets[k] = True, at
            if max(max(h, at) + u for h, u in zip(top, unplaced)) < self.best:
                self._dfs(depth + 1, at, k)
            self.placed[k] = False
            for t in range(s, e + 1):
                unplaced[t] += size
            top[s : e + 1] = saved


def _lowest_fit(order: list[int], sizes: list[int], spans: list[tuple[int, int]]) -> list[int]:
    """Greedy: each buffer in ``order`` at the lowest offset free at all its steps."""
    offsets, placed = [0] * len(sizes), []
    for k in order:
        s, e = spans[k]
        at = 0
        for lo, hi in sorted((offsets[j], offsets[j] + sizes[j]) for j in placed if spans[j][0] <= e and s <= spans[j][1]):
            if lo >= at + sizes[k]:
                break
            at = max(at, hi)
        offsets[k] = at
        placed.append(k)
    return offsets


def _groups(requests: list[BufferRequest]) -> list[list[BufferRequest]]:
    """Split into groups no two of which have buffers live at a common step."""
    groups: list[list[BufferRequest]] = []
    end = -1
    for r in sorted(requests, key=lambda r: r.start):
        if r.start > end:
            groups.append([])
        groups[-1].append(r)
        end = max(end, r.end)
    return groups


def _non_negative(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value}")


@register_allocator
@attrs.frozen
class ExactAllocator(Allocator):
    """Smallest possible peak by branch and bound, for up to ``max_buffers`` non-empty buffers.

    Returns the best plan found within ``time_limit``; :meth:`solve` also says whether it is proved
    optimal.
    """

    name = "exact"

    time_limit: float = attrs.field(default=5.0, validator=_non_negative, kw_only=True)
    """Seconds of search before the best plan so far is returned."""
    max_buffers: int = attrs.field(default=40, validator=_non_negative, kw_only=True)
    """Most buffers of non-zero size accepted; more raise :class:`ValueError`."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return dict(self.solve(requests).plan.offsets)

    def solve(self, requests: Sequence[BufferRequest]) -> ExactResult:
        """Plan ``requests`` with the smallest peak found, and report whether it is optimal.

        Raises:
            ValueError: ids are not unique, or more than ``max_buffers`` have non-zero size.
        """
        began = time.perf_counter()
        requests, unit = tuple(requests), self.alignment
        if len({r.id for r in requests}) != len(requests):
            raise ValueError("BufferRequest ids must be unique")
        busy = [r for r in requests if r.size]  # empty buffers hold nothing: offset 0
        if len(busy) > self.max_buffers:
            raise ValueError(
                f"exact: too many buffers ({len(busy)} of non-zero size, max_buffers={self.max_buffers}); "
                "the search is exponential, use another allocator such as greedy-by-size"
            )
        offsets: dict[Hashable, int] = {r.id: 0 for r in requests}
        peak = nodes = 0
        proved_bound = lower_bound(busy, unit)  # raised to a group's optimum once that is proved
        groups = sorted(_groups(busy), key=lambda g: -lower_bound(g, unit))
        for group in groups:  # hardest first: later groups only need to stay below it
            starts = sorted({r.start for r in group})
            spans = [(bisect.bisect_left(starts, r.start), bisect.bisect_right(starts, r.end) - 1) for r in group]
            sizes = [align_up(r.size, unit) // unit for r in group]
            greedy = GreedyBySizeAllocator().allocate([BufferRequest(k, sizes[k], *spans[k]) for k in range(len(group))])
            plans = [[greedy.offsets[k] for k in range(len(group))]]
            for key in (lambda k: spans[k][0], lambda k: -sizes[k] * (spans[k][1] - spans[k][0] + 1)):
                plans.append(_lowest_fit(sorted(range(len(group)), key=key), sizes, spans))
            best, start = min((max(o + z for o, z in zip(p, sizes)), p) for p in plans)
            search = _Search(sizes, spans, began + self.time_limit)
            if search.run(best, start, max(proved_bound, peak) // unit):
                proved_bound = max(proved_bound, search.best * unit)
            nodes += search.nodes
            peak = max(peak, search.best * unit)
            offsets.update((r.id, o * unit) for r, o in zip(group, search.best_offsets))
        seconds = time.perf_counter() - began
        proved = peak == proved_bound
        logger.info(
            "exact: peak %d for %d buffers, %s after %d nodes in %.3f s",
            peak, len(busy), "proved optimal" if proved else f"NOT proved optimal (lower bound {proved_bound})",
            nodes, seconds,
        )  # fmt: skip
        return ExactResult(Plan(self.name, requests, offsets, peak, unit), proved, nodes, seconds)
