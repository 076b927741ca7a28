"""``exact``: the smallest possible arena for small instances, by branch and bound.

Minimising the peak is dynamic storage allocation (rectangles with fixed time intervals packed as
low as possible), NP-hard in general, so this is for up to ``max_buffers`` buffers of non-zero size.

**Search space.** Any plan can be *dropped*: move a buffer down while the bytes just below it are
free at all its steps, until none moves. The peak never grows, and then every buffer sits at 0 or
directly on the top of a buffer live at a common step, its *support*. List a dropped plan by
``(offset, index)``: a support has a lower offset, so it is listed earlier. The search builds these
lists, buffer by buffer, with state the *floor* (the last offset used) and ``top[t]``, the highest
top of the placed buffers at step ``t``. All placed buffers lie at or below the floor, so a next
buffer can only go at ``max(top over its steps)`` (lower overlaps, higher rests on nothing), and only
if that is not below the floor. Every dropped plan is reached once. A fixed order (largest first at
"0 or a placed buffer's top") is not complete: an optimum may need a big buffer on a small one
(``test_fixed_order_is_not_complete``), so size only orders the siblings.

**Bounds.** Later buffers lie above the floor and the tops at their steps, never in the holes below:
the unplaced bytes live at step ``t`` need ``[max(floor, top[t]), peak)``. Without the floor that
would be the live bytes at ``t``, the :func:`lower_bound`, and prune nothing. Each unplaced buffer
also has a release, an offset it cannot go below: where it would go now, or, if it cannot go there
(below the floor), the floor plus its smallest unplaced time neighbour, which must end up under it.
A step's buffers stack above their releases no lower than in release order (scheduling's
``1|r_j|Cmax``); that top, over all steps, must stay below the best peak. The search starts from
the best of a few greedy plans and stops at the lower bound (proved optimal) or at ``time_limit``.

**Less work.** Identical buffers go in index order. A state that failed is remembered: the rest
depends only on the placed set, floor, last index and the tops at or above the floor. Buffers never
live together split into groups, solved apart; each one stops once no higher than the others.
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

_MEMO_LIMIT = 200_000  # failed states remembered (~60 MB at 40 buffers) before the memo restarts


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
    """Branch and bound over dropped plans of one group: sizes in units, spans in compressed steps."""

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
        # The buffers live with each one at some step: the ones that could end up under it.
        overlap = [[a <= e and s <= b for a, b in spans] for s, e in spans]
        self.partners = [[j for j in range(n) if j != k and overlap[k][j]] for k in range(n)]
        # Siblings are tried lowest first, then largest first: the first dive is a good greedy plan.
        self.rank = sorted(range(n), key=lambda k: (-sizes[k], spans[k]))
        self.nodes, self.mask, self.failed = 0, 0, {}
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
            raise _Stop
        sizes, spans, top, unplaced, placed = self.sizes, self.spans, self.top, self.unplaced, self.placed
        peak = max(top)
        if depth == len(sizes):
            self.best, self.best_offsets = peak, list(self.offsets)  # the bounds made it < best
            if peak <= self.target:
                raise _Stop
            return
        # Tops below the floor, or where nothing is left to place, no longer matter. The same state
        # searched before with a peak no higher found nothing below the best; nor will this one.
        key = (self.mask, floor, last, tuple(h if h >= floor and u else -1 for h, u in zip(top, unplaced)))
        if self.failed.get(key, self.best) <= peak:
            return
        children, releases = [], []
        for k in self.rank:
            if placed[k]:
                continue
            s, e = spans[k]
            at = max(top[s : e + 1])
            if at > floor or (at == floor and k > last):
                releases.append((at, k))
                if self.twin[k] < 0 or placed[self.twin[k]]:
                    children.append((at, k))
                continue
            # Not placeable now (below the floor, or at it but before the last buffer there): it
            # will rest on a buffer placed later, so at or above the floor; none left, no plan.
            under = [sizes[j] for j in self.partners[k] if not placed[j]]
            if not under:
                return
            releases.append((floor + min(under), k))
        # A step's unplaced buffers go one above another, none below its release: the least top
        # is the release-order schedule's (1|r_j|Cmax).
        releases.sort()
        stacked = top[:]
        for r, k in releases:
            s, e = spans[k]
            for t in range(s, e + 1):
                stacked[t] = (stacked[t] if stacked[t] > r else r) + sizes[k]
        if max(stacked) >= self.best:
            return
        children.sort(key=lambda c: c[0])  # stable: keeps the size order among equal offsets
        floor_bound, bound = -1, 0
        for at, k in children:
            if at != floor_bound:
                # Placing any buffer at ``at`` raises the floor there; its own bytes move from
                # unplaced to a top no lower, so the plain bound depends on ``at`` alone and grows.
                floor_bound, bound = at, max((h if h > at else at) + u for h, u in zip(top, unplaced))
                if bound >= self.best:
                    break
            s, e, size = *spans[k], sizes[k]
            if at + size >= self.best:
                continue
            saved = top[s : e + 1]
            top[s : e + 1] = [at + size] * (e - s + 1)
            for t in range(s, e + 1):
                unplaced[t] -= size
            placed[k], self.offsets[k], self.mask = True, at, self.mask | 1 << k
            self._dfs(depth + 1, at, k)
            placed[k], self.mask = False, self.mask & ~(1 << k)
            for t in range(s, e + 1):
                unplaced[t] += size
            top[s : e + 1] = saved
        if len(self.failed) >= _MEMO_LIMIT:
            self.failed.clear()  # a memo is an optimisation; memory must stay bounded
        self.failed[key] = min(peak, self.failed.get(key, peak))


def _lowest_fit(order: list[int], sizes: list[int], spans: list[tuple[int, int]]) -> list[int]:
    """Greedy: each buffer in ``order`` at the lowest offset free at all its steps."""
    offsets, placed = [0] * len(sizes), []
    for k in order:
        s, e = spans[k]
        at = 0
        below = sorted((offsets[j], offsets[j] + sizes[j]) for j in placed if spans[j][0] <= e and s <= spans[j][1])
        for lo, hi in below:
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


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
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

    time_limit: float = attrs.field(default=5.0, validator=_positive, kw_only=True)
    """Seconds of search before the best plan so far is returned."""
    max_buffers: int = attrs.field(default=40, validator=_positive, kw_only=True)
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
        # greedy-by-size on everything, as given: each group's share is no higher than its peak
        greedy = GreedyBySizeAllocator(alignment=unit).allocate(requests).offsets
        for group in groups:  # hardest first: later groups only need to stay below it
            starts = sorted({r.start for r in group})
            spans = [(bisect.bisect_left(starts, r.start), bisect.bisect_right(starts, r.end) - 1) for r in group]
            sizes = [align_up(r.size, unit) // unit for r in group]
            plans = [[greedy[r.id] // unit for r in group]]
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
