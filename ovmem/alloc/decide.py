"""Do these buffers fit in this capacity? A complete, time-limited search after MiniMalloc.

The decision half of :mod:`ovmem.alloc.exact`, which bisects the capacity with it. The search is the
one of Moffitt's MiniMalloc (ASPLOS 2023; google/minimalloc ``src/solver.cc`` and ``src/sweeper.cc``,
read for the algorithm, not ported line by line):

* **Sections.** A section is a maximal set of buffers live together (at a step where one starts,
  with one ending before the next start). A buffer covers a range of sections, and two buffers are
  live together exactly when their ranges meet.
* **Canonical plans.** Buffers are placed in non-decreasing offset order, each at its *minimum
  offset*, the highest top of the placed buffers live with it: any plan can be pushed down into that
  form without raising its peak. Equal offsets go in a fixed preorder, so each plan is built once.
* **Section inference.** A section's unplaced bytes must fit between its floor and the capacity. The
  floor is the top of the last buffer placed there, no lower than the current offset (offsets only
  grow) nor than the lowest minimum offset of the section's unplaced buffers.
* **Dominance.** No buffer goes at or above the lowest top any unplaced buffer could have: that
  would leave a gap the other one fills.
* **Hatless pruning.** If a buffer that nothing unplaced is live with fails, so do its siblings.
* **Dynamic decomposition.** When no unplaced buffer crosses the boundary between two sections, the
  two sides are independent problems, solved one after the other: a failure on one side never
  backtracks through the other's choices.
* **Round robin.** Three preorders (MiniMalloc's ``WAT``, ``TAW``, ``TWA``: width, area and the
  section total, largest first) get a node budget each, doubled each round, until one finishes with
  a plan or with the proof that none exists.

The search runs compiled by numba when it is installed (the ``exact`` extra) and as plain Python
otherwise: the same code, about two orders of magnitude apart (``docs/allocators.md``).
Sizes and the capacity are integers (the caller divides by the alignment); spans are inclusive.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence

import attrs
import numpy as np

from ovmem.alloc.best_fit import conflict_degrees
from ovmem.alloc.compiled import COMPILED, njit, now

__all__ = ["COMPILED", "FITS", "NO_FIT", "UNKNOWN", "Decision", "Problem"]

logger = logging.getLogger(__name__)

FITS, NO_FIT, UNKNOWN = "fits", "no fit", "unknown"

_FOUND, _NOT_FOUND, _ABORTED, _TIMEOUT = 0, 1, 2, 3
_NONE = np.iinfo(np.int64).max
_CLOCK_EVERY = 1023  # the search reads the clock once per 1024 nodes (mask), or at every node
_CLOCK_PART = 256  # of a part this large, where a node costs more than reading the clock (~1 us)
MAX_PAIRS = 10_000_000  # pairs of buffers live together that the search keeps (16 bytes a pair)

_PREORDERS = ("WAT", "TAW", "TWA")  # MiniMalloc's defaults (src/main.cc --heuristics)


@njit(cache=True)
def _search(
    part, lo, hi, min_offset, min_rank,  # this (sub)problem: its buffers, its sections, the last placement
    size, first, last, static, rank, scheme, ov_ptr, ov_idx, sec_ptr, sec_idx,  # the problem (rank: restored)
    offset, min_off, floor, total, cuts, mark, solution,  # the search state (restored on return)
    counters, capacity, deadline,
):  # fmt: skip
    """One node: try each unplaced buffer of ``part`` at its minimum offset; recurse."""
    if counters[0] <= 0:
        return _ABORTED
    counters[0] -= 1
    counters[1] += 1
    if (counters[1] & _CLOCK_EVERY == 0 or len(part) >= _CLOCK_PART) and now() > deadline:
        return _TIMEOUT
    unplaced = 0
    lowest_top = _NONE
    for i in range(len(part)):
        k = part[i]
        if offset[k] < 0:
            unplaced += 1
            lowest_top = min(lowest_top, min_off[k] + size[k])
    if unplaced == 0:
        for i in range(len(part)):
            solution[part[i]] = offset[part[i]]
        return _FOUND
    # The candidates, sorted: canonical (not below the last placement in the preorder) and below the
    # lowest top an unplaced buffer could have (dominance: a buffer there leaves a gap another fills).
    # Filtered before sorting, so a node sorts the few candidates, not the whole part.
    keys = np.empty(unplaced, np.int64)
    candidates = np.empty(unplaced, np.int64)
    j = 0
    for i in range(len(part)):
        k = part[i]
        at = min_off[k]
        if offset[k] < 0 and at < lowest_top and (at > min_offset or (at == min_offset and rank[k] >= min_rank)):
            keys[j] = at * len(size) + rank[k]
            candidates[j] = k
            j += 1
    for c in np.argsort(keys[:j]):
        k = candidates[c]
        at, r = min_off[k], rank[k]
        top = at + size[k]
        offset[k] = at
        # Buffers live with k now start no lower than its top; their sections' floors may rise.
        counters[2] += 1
        stamp = counters[2]
        raised = np.empty(ov_ptr[k + 1] - ov_ptr[k], np.int64)
        was = np.empty(ov_ptr[k + 1] - ov_ptr[k], np.int64)
        n_raised = 0
        # the sections of raised buffers, once each; within [lo, hi], as no unplaced buffer of this part crosses out
        marked = np.empty(hi - lo + 1, np.int64)
        n_marked = 0
        hatless = True
        for p in range(ov_ptr[k], ov_ptr[k + 1]):
            o = ov_idx[p]
            if offset[o] >= 0:
                continue
            hatless = False
            if min_off[o] < top:
                raised[n_raised], was[n_raised] = o, min_off[o]
                n_raised += 1
                min_off[o] = top
                for s in range(first[o], last[o] + 1):
                    if mark[s] != stamp:
                        mark[s] = stamp
                        marked[n_marked] = s
                        n_marked += 1
        floors = np.empty(2 * (hi - lo + 1), np.int64)  # (section, floor before) pairs, in order
        floors_was = np.empty(2 * (hi - lo + 1), np.int64)
        n_floors = 0
        for s in range(first[k], last[k] + 1):
            floors[n_floors], floors_was[n_floors] = s, floor[s]
            n_floors += 1
            floor[s] = top
            total[s] -= size[k]
        for m in range(n_marked):
            s = marked[m]
            lowest = _NONE
            for p in range(sec_ptr[s], sec_ptr[s + 1]):
                o = sec_idx[p]
                if offset[o] < 0 and min_off[o] < lowest:
                    lowest = min_off[o]
                    if lowest <= floor[s]:
                        break  # the floor stays
            if lowest != _NONE and floor[s] < lowest:
                floors[n_floors], floors_was[n_floors] = s, floor[s]
                n_floors += 1
                floor[s] = lowest
        fits = True
        for s in range(lo, hi + 1):
            if max(floor[s], at) + total[s] > capacity:
                fits = False
                break
        status = _NOT_FOUND
        if fits:
            solution[k] = at
            cut_at = np.empty(last[k] - first[k] + 1, np.int64)
            n_cuts = 0
            for s in range(first[k], last[k]):
                cuts[s] -= 1
                if cuts[s] == 0:
                    cut_at[n_cuts] = s + 1
                    n_cuts += 1
            if n_cuts == 0:
                status = _search(
                    part, lo, hi, at, r, size, first, last, static, rank, scheme, ov_ptr, ov_idx, sec_ptr, sec_idx,
                    offset, min_off, floor, total, cuts, mark, solution, counters, capacity, deadline,
                )  # fmt: skip
            else:  # independent sides: each solved on its own, canonical afresh
                status = _FOUND
                begin = lo
                for c in range(n_cuts + 1):
                    end = cut_at[c] - 1 if c < n_cuts else hi
                    sub = np.empty(len(part), np.int64)
                    members = 0
                    for i in range(len(part)):
                        o = part[i]
                        if offset[o] < 0 and first[o] <= end and last[o] >= begin:
                            sub[members] = o
                            members += 1
                    if members:
                        sub = sub[:members]
                        # a new problem, ordered afresh: MiniMalloc's section totals are today's
                        saved = rank[sub]
                        order = np.argsort(sub, kind="mergesort")
                        for c in scheme[::-1]:
                            if c < 2:
                                key = static[c][sub]
                            else:
                                key = np.empty(len(sub), np.int64)
                                for i in range(len(sub)):
                                    key[i] = total[first[sub[i]] : last[sub[i]] + 1].max()
                            order = order[np.argsort(-key[order], kind="mergesort")]
                        rank[sub[order]] = np.arange(len(sub))
                        status = _search(
                            sub, begin, end, np.int64(0), np.int64(-1), size, first, last, static, rank, scheme, ov_ptr, ov_idx, sec_ptr, sec_idx,
                            offset, min_off, floor, total, cuts, mark, solution, counters, capacity, deadline,
                        )  # fmt: skip
                        rank[sub] = saved
                        if status != _FOUND:
                            break
                    begin = end + 1
            for s in range(first[k], last[k]):
                cuts[s] += 1
        for i in range(n_floors - 1, -1, -1):
            floor[floors[i]] = floors_was[i]
        for s in range(first[k], last[k] + 1):
            total[s] += size[k]
        for i in range(n_raised - 1, -1, -1):
            min_off[raised[i]] = was[i]
        offset[k] = -1
        if status != _NOT_FOUND:
            return status
        if hatless:
            break  # nothing unplaced above it: another buffer first cannot do better
    return _NOT_FOUND


@njit(cache=True)
def _pairs(first, last, count):
    """The ``count`` pairs of buffers whose section ranges meet, as two arrays ``(k, j)``."""
    order = np.argsort(first, kind="mergesort")
    ks, js = np.empty(count, np.int64), np.empty(count, np.int64)
    p = 0
    for a in range(len(order)):
        k = order[a]
        for b in range(a + 1, len(order)):
            j = order[b]
            if first[j] > last[k]:
                break
            ks[p], js[p] = k, j
            p += 1
    return ks, js


@attrs.frozen
class Decision:
    """What one call of :meth:`Problem.decide` found."""

    answer: str
    """:data:`FITS` (``offsets`` is a plan), :data:`NO_FIT` (proved) or :data:`UNKNOWN` (time ran out)."""
    offsets: tuple[int, ...] | None
    """Each buffer's offset when the answer is :data:`FITS`, else None."""
    nodes: int
    """Search nodes visited, over all rounds."""


class Problem:
    """Buffers prepared once for any number of :meth:`decide` calls (the bisection's)."""

    def __init__(self, sizes: Sequence[int], spans: Sequence[tuple[int, int]]) -> None:
        self.n = n = len(sizes)
        self.size = np.asarray(sizes, dtype=np.int64).reshape(n)
        starts = np.asarray([s for s, _ in spans], dtype=np.int64).reshape(n)
        ends = np.asarray([e for _, e in spans], dtype=np.int64).reshape(n)
        # A section per maximal set of buffers live together: at a start step followed by an end
        # before the next start (at the others, fewer buffers are live than at a later one).
        points = np.unique(starts)
        ending = np.zeros(len(points), np.int64)  # the last start step has one: its buffers end
        np.add.at(ending, np.searchsorted(points, ends, side="right") - 1, 1)
        points = points[ending > 0]
        self.first = np.searchsorted(points, starts).astype(np.int64)
        self.last = (np.searchsorted(points, ends, side="right") - 1).astype(np.int64)
        pairs = int(conflict_degrees(self.first, self.last).sum()) // 2  # buffers meet when their sections do
        if pairs > MAX_PAIRS:
            raise ValueError(f"{pairs} pairs of buffers live together, more than the search keeps ({MAX_PAIRS})")
        sections = len(points)
        total = np.zeros(sections + 1, np.int64)  # bytes live in each section, by a difference array
        np.add.at(total, self.first, self.size)
        np.add.at(total, self.last + 1, -self.size)
        self.total = np.cumsum(total)[:sections]
        self.peak_live = int(self.total.max()) if n else 0
        # the buffers of each section, as CSR: buffer k is in sections first[k]..last[k]
        spread = self.last - self.first + 1
        owner = np.repeat(np.arange(n, dtype=np.int64), spread)
        section = np.repeat(self.first - np.cumsum(spread) + spread, spread) + np.arange(len(owner), dtype=np.int64)
        self.sec_idx = owner[np.argsort(section, kind="stable")]
        self.sec_ptr = np.concatenate([[0], np.cumsum(np.bincount(section, minlength=sections))]).astype(np.int64)
        ks, js = _pairs(self.first, self.last, pairs)  # as CSR, both ways: the buffers live with each
        owners, self.ov_idx = np.concatenate([ks, js]), np.concatenate([js, ks])
        self.ov_idx = self.ov_idx[np.argsort(owners, kind="stable")]
        self.ov_ptr = np.concatenate([[0], np.cumsum(np.bincount(owners, minlength=n))]).astype(np.int64)
        # cuts[s]: buffers live in both section s and s + 1
        crossing = np.zeros(sections + 1, np.int64)
        np.add.at(crossing, self.first, 1)
        np.add.at(crossing, self.last, -1)
        self.cuts = np.cumsum(crossing)[: max(sections - 1, 0)]
        # the time-disjoint parts, (buffers, first section, last section): where no buffer crosses
        bounds = [0, *(np.flatnonzero(self.cuts == 0) + 1).tolist(), sections]
        members = np.argsort(self.first, kind="stable")
        split = np.searchsorted(self.first[members], bounds)
        self.parts = [(members[split[p] : split[p + 1]], bounds[p], bounds[p + 1] - 1) for p in range(len(bounds) - 1)]
        self.static = np.stack([ends - starts, self.size * (ends - starts + 1)])  # MiniMalloc's W and A
        section_total = np.array([self.total[a : b + 1].max() for a, b in zip(self.first, self.last)], dtype=np.int64)
        keys = {"W": self.static[0], "A": self.static[1], "T": section_total}
        self.preorders = []  # (rank, scheme): each buffer's place in the preorder, and the keys' codes
        for preorder in _PREORDERS:  # largest first, index last (np.lexsort sorts by its last key first)
            order = np.lexsort([np.arange(n)] + [-keys[c] for c in reversed(preorder)])
            rank = np.empty(n, np.int64)
            rank[order] = np.arange(n, dtype=np.int64)
            self.preorders.append((rank, np.array(["WAT".index(c) for c in preorder], dtype=np.int64)))

    def decide(self, capacity: int, deadline: float) -> Decision:
        """Whether the buffers fit in ``capacity``, found before ``deadline`` (``time.perf_counter``).

        The search recurses once per placed buffer, so it runs in a thread with a stack sized to the
        buffers (compiled frames live on the C stack; interpreted ones need the recursion limit).
        """
        results: list = []

        def run() -> None:
            try:
                results.append(self._decide(capacity, deadline))
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread
                results.append(error)

        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * self.n + 1000))
        stack = threading.stack_size((64 << 20) + 8192 * self.n)
        try:
            thread = threading.Thread(target=run, name="ovmem-decide")
            thread.start()
        finally:
            threading.stack_size(stack)
        thread.join()
        sys.setrecursionlimit(limit)
        if isinstance(results[0], BaseException):
            raise results[0]
        return results[0]

    def _decide(self, capacity: int, deadline: float) -> Decision:
        if self.n == 0:
            return Decision(FITS, (), 0)
        if self.peak_live > capacity:
            return Decision(NO_FIT, None, 0)
        counters = np.zeros(3, np.int64)  # node budget left, nodes visited, section-mark stamp
        nodes, limit = 0, self.n
        while True:
            limit *= 2
            for name, preorder in zip(_PREORDERS, self.preorders):
                counters[0], counters[1] = limit, 0
                answer, solution = self._run(preorder, counters, capacity, deadline)
                nodes += int(counters[1])
                logger.debug("decide %d, %s, %d-node round: %d nodes, status %d", capacity, name, limit, counters[1], answer)
                if answer == _FOUND:
                    return Decision(FITS, tuple(int(o) for o in solution), nodes)
                if answer == _NOT_FOUND:
                    return Decision(NO_FIT, None, nodes)
                if answer == _TIMEOUT or time.perf_counter() > deadline:
                    return Decision(UNKNOWN, None, nodes)

    def _run(self, preorder, counters, capacity, deadline) -> tuple[int, np.ndarray]:
        """One preorder with the node budget in ``counters[0]``, from a fresh state: each part in turn."""
        n, sections = self.n, len(self.total)
        offset, min_off, solution = np.full(n, -1, np.int64), np.zeros(n, np.int64), np.full(n, -1, np.int64)
        floor, mark = np.zeros(sections, np.int64), np.zeros(sections, np.int64)
        rank, scheme = preorder[0].copy(), preorder[1]
        args = (self.size, self.first, self.last, self.static, rank, scheme, self.ov_ptr, self.ov_idx, self.sec_ptr)
        args += (self.sec_idx, offset, min_off, floor, self.total.copy(), self.cuts.copy(), mark, solution)
        for part, lo, hi in self.parts:
            answer = _search(part, lo, hi, 0, -1, *args, counters, capacity, deadline)
            if answer != _FOUND:
                return answer, solution
        return _FOUND, solution
