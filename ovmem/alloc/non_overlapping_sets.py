"""``non-overlapping-sets``: the CPU plugin's planner for dynamic-shape tensors.

A port, in our words, of ``MemoryManagerNonOverlappingSets::solve`` (``MemoryManageNonOverlapingSets``
before 2025) in openvinotoolkit/openvino
``src/plugins/intel_cpu/src/memory_control.cpp`` — the manager the plugin uses for every tensor whose
size is only known at run time, which is every activation of an LLM compiled as optimum-intel exports
it:

1. The boxes are normalised and sorted by ``(start, finish)`` exactly as ``ov::MemorySolver`` does
   (:meth:`~ovmem.alloc.greedy_by_size.MemorySolver.normalize_boxes`, including libstdc++'s
   ``std::sort`` tie order).
2. Each box, in that order, joins the first group whose *last* box does not overlap it in time;
   otherwise it opens a new group. Sizes play no part in the grouping.
3. Each group is one grow-only block as large as its largest member; the blocks are separate
   allocations, laid out here one after another, so the peak is the sum of the group maxima.

The plugin also stretches a lifetime that crosses a "sync point" to the next one; that is a lifetime
rule, not the planner's, and belongs to the pass that knows the sync points.
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs

from ovmem.alloc.base import Allocator, register_allocator
from ovmem.alloc.greedy_by_size import Box, MemorySolver
from ovmem.alloc.request import BufferRequest

__all__ = ["NonOverlappingSetsAllocator"]


@register_allocator
@attrs.frozen
class NonOverlappingSetsAllocator(Allocator):
    """Greedy grouping of non-overlapping lifetimes into grow-only blocks."""

    name = "non-overlapping-sets"

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        boxes = [Box(r.start, r.end, sizes[r.id], i) for i, r in enumerate(requests)]
        MemorySolver.normalize_boxes(boxes)
        groups: list[list[Box]] = []
        for box in boxes:
            for group in groups:
                last = group[-1]
                if last.start > box.finish or last.finish < box.start:
                    group.append(box)
                    break
            else:
                groups.append([box])
        offsets: dict[Hashable, int] = {}
        top = 0
        for group in groups:
            for box in group:
                offsets[requests[box.id].id] = top
            top += max(box.size for box in group)
        return offsets
