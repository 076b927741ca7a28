"""``local-search``: ``best-of``'s plan, then a search over placement orders until a time limit.

An anytime planner for sets too large for ``exact`` to settle (10³ buffers and more), after the hill
climbing of omnimalloc (fpedd/omnimalloc ``src/cpp/allocators/local_search.cpp``, read for the move):

* **Start.** ``best-of``'s candidates run first: ``greedy-by-size``, then first fit and best fit in
  each order, as long as time is left (on 30,000 buffers all of them take 10–25 s). The best plan
  among them is the fallback, so the result is never worse than ``greedy-by-size``, nor than
  ``best-of`` when they all ran. The search starts from the order of the best ``first-fit``
  candidate: under first fit an order gives exactly one plan, so searching orders searches plans.
* **Move.** Take a buffer whose top is the peak, and one that is live with it and placed before it;
  swap the two in the order. The critical buffer now claims its space first.
* **Evaluation.** Only what the swap can change is placed again. From the earlier of the two
  positions on, a buffer is placed again when one of the buffers live with it moved (or is one of
  the two); if its offset changes, the buffers live with it are marked in turn. The evaluation gives
  up as soon as a top rises above the current peak.
* **Acceptance.** A move is kept when the peak does not rise, so the search walks across plans of
  equal peak until one lowers it. After 500 moves without a new best, one move is kept whatever it
  costs (a kick out of the local optimum), and the climb goes on from there; the best plan seen is
  returned. It stops at the time limit, at the lower bound, or after 4,000 moves without a new best.

Moves are drawn from a generator seeded with ``seed``: the same seed makes the same moves, and the
time limit decides how many. The
evaluation is compiled by numba when it is installed (the ``exact`` extra) and interpreted otherwise,
about a hundred times slower: the same moves, fewer of them in the time. The first use on a machine
compiles it, about 4 s here, inside the time limit (that run may search not at all, or overrun a
short limit); numba caches the machine code, so later processes load it in milliseconds. It keeps every pair of
buffers live together (8 bytes a pair); above :data:`MAX_PAIRS` (1 M interpreted) it does not search
and returns the best candidate's plan, with a log line saying so.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable

import attrs
import numpy as np

from ovmem.alloc.base import Allocator, positive_seconds, register_allocator
from ovmem.alloc.best_fit import conflict_degrees, placement_order
from ovmem.alloc.best_of import BestOfAllocator, Trial
from ovmem.alloc.compiled import COMPILED, njit, now
from ovmem.alloc.first_fit import FirstFitAllocator
from ovmem.alloc.request import BufferRequest, lower_bound

__all__ = ["MAX_PAIRS", "LocalSearchAllocator", "improve", "search_from"]

logger = logging.getLogger(__name__)

MAX_PAIRS = 30_000_000 if COMPILED else 1_000_000
"""Pairs of buffers live together the search keeps (240 MB at 30 M); above, no search."""

_DONE, _ABOVE, _TIMEOUT = 0, 1, 2
_CLOCK_EVERY = 255  # the evaluation reads the clock once per 256 placements (mask)
_INF = np.iinfo(np.int64).max
_PATIENCE = 500  # moves without a new best before one is taken even if it raises the peak
_STALL = 8 * _PATIENCE  # moves without a new best after which the search gives up


@register_allocator
@attrs.frozen
class LocalSearchAllocator(Allocator):
    """``best-of``'s plan improved by swapping buffers in a first-fit order for ``time_limit`` seconds."""

    name = "local-search"

    time_limit: float = attrs.field(default=2.0, validator=positive_seconds, kw_only=True)
    """Seconds in all, ``best-of`` included; the search stops earlier at the lower bound."""
    seed: int = attrs.field(default=0, kw_only=True)
    """Seed of the moves."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        deadline = time.perf_counter() + self.time_limit
        trials = BestOfAllocator(alignment=self.alignment).trials(requests, sizes, deadline)
        return search_from(trials, requests, sizes, deadline, seed=self.seed)[0]


def search_from(
    trials: list[Trial],
    requests: tuple[BufferRequest, ...],
    sizes: dict[Hashable, int],
    deadline: float,
    *,
    seed: int = 0,
) -> tuple[dict[Hashable, int], int]:
    """The best of ``trials``, or better: :func:`improve` from the best first-fit trial's order until ``deadline``.

    The search is skipped when too many pairs of buffers are live together (:data:`MAX_PAIRS`), and
    when less time is left than it needs to set up: listing those pairs and placing every buffer once
    more, measured at about twice a first-fit candidate's time (``docs/allocators.md``).
    """
    best = min(trials, key=lambda trial: trial.peak)
    starts = [t for t in trials if isinstance(t.allocator, FirstFitAllocator)]
    if not starts:
        return best.offsets, best.peak
    start = min(starts, key=lambda trial: trial.peak)
    if time.perf_counter() + 2 * start.seconds > deadline:
        logger.info("local-search: no search, too little time left after best-of's candidates")
        return best.offsets, best.peak
    busy = [r for r in requests if sizes[r.id]]
    spans = np.array([(r.start, r.end) for r in busy], dtype=np.int64).reshape(-1, 2)
    pairs = int(conflict_degrees(spans[:, 0], spans[:, 1]).sum()) // 2
    if pairs > MAX_PAIRS:
        logger.info("local-search: no search, %d pairs of buffers live together (limit %d)", pairs, MAX_PAIRS)
        return best.offsets, best.peak
    offsets, peak = improve(
        requests, sizes, placement_order(requests, sizes, start.allocator.order), deadline, seed=seed
    )
    return (offsets, peak) if peak < best.peak else (best.offsets, best.peak)


def improve(
    requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int], order: list[int], deadline: float, *, seed: int = 0
) -> tuple[dict[Hashable, int], int]:
    """The first-fit plan of ``requests`` in ``order`` (indices), improved by swaps until ``deadline``.

    Returns the offsets by request id and their peak. ``sizes`` are the aligned sizes by id. It keeps
    every pair of buffers live together: :func:`search_from` checks there are not too many.
    """
    began = time.perf_counter()
    busy = [i for i in order if sizes[requests[i].id]]
    size = np.array([sizes[requests[i].id] for i in busy], dtype=np.int64)
    start = np.array([requests[i].start for i in busy], dtype=np.int64)
    end = np.array([requests[i].end for i in busy], dtype=np.int64)
    offsets = {r.id: 0 for r in requests}
    n = len(busy)
    ptr, idx = _overlaps(start, end)
    work_lo, work_hi = (np.empty(max(1, int(np.diff(ptr).max(initial=0))), np.int64) for _ in range(2))
    order_now = np.arange(n, dtype=np.int64)  # busy is already in placement order
    pos = order_now.copy()
    flag = np.ones(n, np.int64)
    offset = np.zeros(n, np.int64)

    def place_again(begin: int, seeds: np.ndarray, into: np.ndarray, limit: int, stamp: int, until: float) -> int:
        return _place_again(
            order_now, pos, begin, seeds, size, into, ptr, idx, limit, flag, stamp, work_lo, work_hi, until
        )

    place_again(0, np.arange(n, dtype=np.int64), offset, int(_INF), 1, float(_INF))  # every buffer, once
    peak = int((offset + size).max(initial=0))
    # the most bytes live at one step, of the aligned sizes: the search stops there
    bound = lower_bound(BufferRequest(r.id, sizes[r.id], r.start, r.end) for r in (requests[i] for i in busy))
    first_peak = peak
    rng = np.random.default_rng(seed)
    best_offset, best_peak = offset, peak
    moves = kept = since_best = 0
    stamp = 1
    while best_peak > bound and since_best < _STALL and time.perf_counter() < deadline:
        critical = np.flatnonzero(offset + size == peak)
        c = critical[rng.integers(len(critical))]
        before = idx[ptr[c] : ptr[c + 1]]
        before = before[pos[before] < pos[c]]
        if not len(before):  # c is placed at 0: the peak is its size, a lower bound
            break
        j = before[rng.integers(len(before))]
        p, q = pos[c], pos[j]
        order_now[p], order_now[q], pos[c], pos[j] = j, c, q, p
        trial = offset.copy()
        stamp += 1
        kick = since_best > 0 and since_best % _PATIENCE == 0  # stuck: take this move whatever it costs
        limit = _INF if kick else peak
        status = place_again(int(q), np.array([c, j]), trial, limit, stamp, deadline)
        moves += 1
        since_best += 1
        if status != _DONE:  # undo the swap
            order_now[p], order_now[q], pos[c], pos[j] = c, j, p, q
            if status == _TIMEOUT:
                break
            continue
        kept += 1
        offset, peak = trial, int((trial + size).max())
        if peak < best_peak:
            best_offset, best_peak, since_best = offset, peak, 0
    offset, peak = best_offset, best_peak
    logger.info(
        "local-search: peak %d -> %d (lower bound %d) for %d buffers, %d moves (%d kept) in %.3f s",
        first_peak, peak, bound, n, moves, kept, time.perf_counter() - began,
    )  # fmt: skip
    offsets.update((requests[i].id, int(o)) for i, o in zip(busy, offset))
    return offsets, peak


@njit(cache=True)
def _overlaps(start, end):  # fmt: skip
    """The buffers live with each buffer, as CSR (``ptr`` int64, ``idx`` int32), in two passes."""
    n = len(start)
    by = np.argsort(start, kind="mergesort")
    degree = np.zeros(n, np.int64)
    for a in range(n):
        k = by[a]
        b = a + 1
        while b < n and start[by[b]] <= end[k]:  # starts no earlier and by k's end: they meet
            degree[k] += 1
            degree[by[b]] += 1
            b += 1
    ptr = np.zeros(n + 1, np.int64)
    ptr[1:] = np.cumsum(degree)
    idx = np.empty(ptr[n], np.int32)
    fill = ptr[:-1].copy()
    for a in range(n):
        k = by[a]
        b = a + 1
        while b < n and start[by[b]] <= end[k]:
            o = by[b]
            idx[fill[k]], idx[fill[o]] = o, k
            fill[k] += 1
            fill[o] += 1
            b += 1
    return ptr, idx


@njit(cache=True)
def _first_fit(i, size, pos, offset, ptr, idx, lo, hi):  # fmt: skip
    """The lowest offset for ``i`` free of the buffers live with it placed before it."""
    m = 0
    for p in range(ptr[i], ptr[i + 1]):
        j = idx[p]
        if pos[j] < pos[i]:
            lo[m], hi[m] = offset[j], offset[j] + size[j]
            m += 1
    at = 0
    for k in np.argsort(lo[:m]):  # in address order: the first gap that holds it
        if lo[k] - at >= size[i]:
            break
        at = max(at, hi[k])
    return at


@njit(cache=True)
def _place_again(order, pos, begin, seeds, size, offset, ptr, idx, bound, flag, stamp, lo, hi, deadline):  # fmt: skip
    """First fit again, from ``order[begin]`` on, of the buffers a change reaches (``offset`` updated).

    ``seeds`` changed; a buffer is placed again when it is one or is live with one whose offset
    changed. Returns ``_ABOVE`` when a top exceeds ``bound``, ``_TIMEOUT`` past ``deadline``.
    """
    for s in seeds:
        flag[s] = stamp
        for p in range(ptr[s], ptr[s + 1]):
            flag[idx[p]] = stamp
    placed = 0
    for t in range(begin, len(order)):
        i = order[t]
        if flag[i] != stamp:
            continue
        placed += 1
        if placed & _CLOCK_EVERY == 0 and now() > deadline:
            return _TIMEOUT
        at = _first_fit(i, size, pos, offset, ptr, idx, lo, hi)
        if at + size[i] > bound:
            return _ABOVE
        if at != offset[i]:
            offset[i] = at
            for p in range(ptr[i], ptr[i + 1]):
                flag[idx[p]] = stamp
    return _DONE
