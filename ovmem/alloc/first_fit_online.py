"""``first-fit-online``: what a runtime allocator that does not plan ahead would need.

It replays execution instead of planning: a malloc-style free list is driven step by step, as in
ggml's ``ggml/src/ggml-alloc.c`` (``ggml_dyn_tallocr``: a list of free blocks whose last block is
unbounded, coalesced on free) or a plain ``malloc``. ggml picks the best-fitting block; this takes
the *first* that fits, the classic address-ordered policy. Its peak shows the fragmentation an
online allocator suffers, which the offline planners avoid.

* **Steps in order.** At each step at which some buffer starts, first every buffer whose ``end`` has
  passed (``end < step``: lifetimes are inclusive, so a buffer still read at this step stays) is
  freed, then the buffers starting at this step are allocated in request order.
* **First fit.** A buffer takes the lowest-addressed free block that holds it, from that block's
  start; the rest of the block stays free. Freed blocks merge with free neighbours (coalescing).
* **Growing top.** The free space above the highest allocated byte is unbounded, like ggml-alloc's
  last free block while it measures a graph: when no block below fits, the buffer goes at its
  start, so the arena grows only by what is missing (a freed block touching that space merges into
  it). Nothing ever shrinks: the peak is the high-water mark.
* **Empty buffers** get offset 0 and take nothing.

Free blocks live in numpy columns sorted by address, so first fit is one vectorised comparison.
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from typing import Any

import attrs
import numpy as np

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.request import BufferRequest

__all__ = ["FirstFitOnlineAllocator"]


class _FreeList:
    """Free blocks ``[lo, hi)`` sorted by address, below ``tail``; from ``tail`` up all is free."""

    def __init__(self, capacity: int, total_size: int) -> None:
        dtype: Any = np.int64 if total_size < 2**62 else object  # object: exact Python ints
        self._lo = np.zeros(capacity + 1, dtype=dtype)
        self._hi = np.zeros(capacity + 1, dtype=dtype)
        self._count = 0
        self.tail = 0

    def allocate(self, size: int) -> int:
        """Take ``size`` bytes from the lowest block that holds them; return their offset."""
        n = self._count
        fits = np.flatnonzero(self._hi[:n] - self._lo[:n] >= size)
        if not len(fits):
            offset = self.tail
            self.tail += size
            return offset
        k = int(fits[0])
        offset = int(self._lo[k])
        if self._hi[k] - offset == size:
            self._delete(k)
        else:
            self._lo[k] = offset + size
        return offset

    def free(self, lo: int, hi: int) -> None:
        """Return ``[lo, hi)``, merging it with the free space that touches it."""
        n = self._count
        at = int(np.searchsorted(self._lo[:n], lo))
        if at > 0 and self._hi[at - 1] == lo:  # merge with the block below
            at -= 1
            lo = int(self._lo[at])
            self._delete(at)
            n -= 1
        if hi == self.tail:  # the block reaches the unbounded top: it becomes part of it
            self.tail = lo
        elif at < n and self._lo[at] == hi:  # merge with the block above
            self._lo[at] = lo
        else:
            self._lo[at + 1 : n + 1] = self._lo[at:n]
            self._hi[at + 1 : n + 1] = self._hi[at:n]
            self._lo[at], self._hi[at] = lo, hi
            self._count = n + 1

    def _delete(self, k: int) -> None:
        n = self._count
        self._lo[k : n - 1] = self._lo[k + 1 : n]
        self._hi[k : n - 1] = self._hi[k + 1 : n]
        self._count = n - 1


@register_allocator
@attrs.frozen
class FirstFitOnlineAllocator(Allocator):
    """First fit replayed over the execution steps, with no look-ahead (see the module docstring)."""

    name = "first-fit-online"

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        free = _FreeList(len(requests), sum(sizes.values()))
        offsets: dict[Hashable, int] = {}
        live: list[tuple[int, int, int]] = []  # heap of (end, offset, size) of allocated buffers
        # sorted() is stable: buffers starting at one step keep the request order
        for r in sorted(requests, key=lambda r: r.start):
            while live and live[0][0] < r.start:
                _, offset, size = heapq.heappop(live)
                free.free(offset, offset + size)
            size = sizes[r.id]
            if size == 0:
                offsets[r.id] = 0
                continue
            offset = free.allocate(size)
            offsets[r.id] = offset
            heapq.heappush(live, (r.end, offset, size))
        return offsets
