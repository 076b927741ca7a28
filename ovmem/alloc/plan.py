"""An allocator's answer: an offset for every request and the arena size (peak) they need."""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Mapping

import attrs

from ovmem.alloc.request import BufferRequest, align_up

__all__ = ["Plan", "PlanError"]


class PlanError(ValueError):
    """A plan breaks an invariant: a missing or misaligned offset, or two live buffers overlap."""


@attrs.frozen
class Plan:
    """Offsets into one arena for a set of buffer requests."""

    allocator: str
    """Name of the allocator that made the plan."""
    requests: tuple[BufferRequest, ...]
    """The requests, in the order they were given."""
    offsets: Mapping[Hashable, int]
    """Byte offset of each request's buffer, by request id."""
    peak: int
    """Arena size: the largest ``offset + aligned size`` over all requests."""
    alignment: int = 1
    """Every offset is a multiple of it and every size is rounded up to it."""

    def validate(self) -> None:
        """Raise :class:`PlanError` unless the plan is sound.

        Checks that every request has an aligned offset, that no two requests live at a common
        step share an address, and that ``peak`` covers every buffer. A sweep over steps keeps
        the live buffers sorted by address, so only address neighbours need comparing.
        """
        ids = {r.id for r in self.requests}
        if len(ids) != len(self.requests):
            raise PlanError("request ids are not unique")
        if set(self.offsets) != ids:
            raise PlanError(f"offsets do not match the requests: missing {sorted(map(str, ids - set(self.offsets)))[:5]}")
        top = 0
        events: list[tuple[int, int, BufferRequest]] = []
        for r in self.requests:
            offset = self.offsets[r.id]
            if offset < 0 or offset % self.alignment:
                raise PlanError(f"request {r.id!r}: offset {offset} is negative or not a multiple of {self.alignment}")
            size = align_up(r.size, self.alignment)
            top = max(top, offset + size)
            if size:
                events.append((r.start, 1, r))  # opens after closes at the same step sorted below
                events.append((r.end + 1, 0, r))
        if top > self.peak:
            raise PlanError(f"peak {self.peak} is below the highest buffer end {top}")
        live: list[tuple[int, int, Hashable]] = []  # (offset, end address, id), sorted
        for _, is_open, r in sorted(events, key=lambda e: (e[0], e[1])):
            lo = self.offsets[r.id]
            hi = lo + align_up(r.size, self.alignment)
            key = (lo, hi, r.id)
            if not is_open:
                live.pop(bisect.bisect_left(live, key[:2], key=lambda e: e[:2]))
                continue
            at = bisect.bisect_left(live, key[:2], key=lambda e: e[:2])
            for neighbour in live[max(at - 1, 0) : at + 1]:
                if neighbour[0] < hi and lo < neighbour[1]:
                    raise PlanError(
                        f"requests {r.id!r} and {neighbour[2]!r} are live together and overlap at "
                        f"[{max(lo, neighbour[0])}, {min(hi, neighbour[1])})"
                    )
            live.insert(at, key)
        return None
