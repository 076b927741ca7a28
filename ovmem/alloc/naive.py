"""``naive``: every buffer gets its own bytes, nothing is reused. The upper bound of any plan."""

from __future__ import annotations

from collections.abc import Hashable

import attrs

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.request import BufferRequest

__all__ = ["NaiveAllocator"]


@register_allocator
@attrs.frozen
class NaiveAllocator(Allocator):
    """Places the buffers one after another in request order."""

    name = "naive"

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        offsets: dict[Hashable, int] = {}
        top = 0
        for r in requests:
            offsets[r.id] = top
            top += sizes[r.id]
        return offsets
