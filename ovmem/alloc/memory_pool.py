"""``memory-pool``: the OpenVINO GPU plugin's pool of whole buffers.

Modelled, in our words, on ``memory_pool::get_from_non_padded_pool`` in openvinotoolkit/openvino
``src/plugins/intel_gpu/src/runtime/memory_pool.cpp`` (``docs/gpu-plugin-notes.md``, section 3).
Not validated: no Intel GPU was available to compare against.

1. **Arrival order** (``order``). ``start``: the order the buffers are first needed — a network
   compiled with dynamic shapes allocates each primitive's output when the primitive first runs
   (``primitive_inst::realloc_if_needed``). ``size``: largest first — a network with static shapes
   allocates every output when it is built, in ``program::get_allocating_order`` (output size,
   descending; ties keep the request order here).
2. **Whole-buffer reuse.** The pool keeps its buffers sorted by size. A request takes the smallest
   buffer at least as large as itself none of whose users so far is live at a common step (the
   plugin's memory dependencies: ``basic_memory_dependencies`` and
   ``skipped_branch_memory_dependencies`` forbid sharing with anything live between a primitive
   and its last user), and becomes one more user of it, at its start. A buffer never grows and
   never moves; two requests never share part of one.
3. **Fill limit** (``min_fill``). With dynamic shapes a buffer is taken only when the request is
   larger than half of it (the ``is_dynamic`` test in ``get_from_non_padded_pool``); larger
   buffers are then skipped too. ``0`` (static shapes) takes any buffer large enough.
4. Otherwise the pool allocates a new buffer of the request's size. Each buffer is a separate
   device allocation; they are laid out here one after another, so the peak is the sum of the
   distinct buffers.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable
from typing import Literal

import attrs

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.request import BufferRequest

__all__ = ["MemoryPoolAllocator"]


def _fraction(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{attribute.name} must be in [0, 1), got {value}")


def _free_for(users: list[tuple[int, int]], request: BufferRequest) -> bool:
    """Whether no user (disjoint lifetimes, sorted by start) is live at a step of ``request``."""
    at = bisect.bisect_right(users, (request.start, request.end))
    before_ok = at == 0 or users[at - 1][1] < request.start
    after_ok = at == len(users) or users[at][0] > request.end
    return before_ok and after_ok


@register_allocator
@attrs.frozen
class MemoryPoolAllocator(Allocator):
    """Whole buffers reused by later requests that fit and overlap none of their users."""

    name = "memory-pool"
    order: Literal["start", "size"] = "start"
    """Rule 1: requests arrive in execution order (dynamic shapes) or largest first (static)."""
    min_fill: float = attrs.field(default=0.5, validator=_fraction)
    """Rule 3: a buffer is reused only by a request larger than this fraction of it."""

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        if self.order == "start":
            arrivals = sorted(requests, key=lambda r: r.start)  # stable: request order within a step
        else:
            arrivals = sorted(requests, key=lambda r: -sizes[r.id])
        pool: list[tuple[int, int]] = []  # (size, buffer index), sorted: the plugin's multimap by size
        users: list[list[tuple[int, int]]] = []  # per buffer: its users' (start, end), sorted
        owner: dict[Hashable, int] = {}
        for r in arrivals:
            size = sizes[r.id]
            if size == 0:
                continue
            chosen = None
            for capacity, index in pool[bisect.bisect_left(pool, (size, -1)) :]:
                if size <= capacity * self.min_fill:
                    break
                if _free_for(users[index], r):
                    chosen = index
                    break
            if chosen is None:
                chosen = len(users)
                users.append([])
                bisect.insort(pool, (size, chosen))
            bisect.insort(users[chosen], (r.start, r.end))
            owner[r.id] = chosen
        base, top = [0] * len(users), 0
        for capacity, index in sorted(pool, key=lambda p: p[1]):
            base[index] = top
            top += capacity
        return {r.id: base[owner[r.id]] if r.id in owner else 0 for r in requests}
