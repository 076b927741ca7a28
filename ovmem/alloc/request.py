"""What an allocator is asked to place: frozen buffer requests, and the lower bound on any plan."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import attrs

__all__ = ["BufferRequest", "align_up", "live_profile", "lower_bound"]


def _non_negative(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if value < 0:
        raise ValueError(f"BufferRequest.{attribute.name} must be >= 0, got {value}")


@attrs.frozen
class BufferRequest:
    """One buffer that must hold its bytes from step ``start`` to step ``end``, both inclusive.

    Steps are positions in the graph's execution order. Two requests conflict (may not share
    addresses) when their step ranges intersect.
    """

    id: Hashable
    """Unique key of the request; plans map it to an offset."""
    size: int = attrs.field(validator=_non_negative)
    """Bytes the buffer needs (before alignment)."""
    start: int = attrs.field(validator=_non_negative)
    """First step at which the buffer is live (its producer runs)."""
    end: int = attrs.field(validator=_non_negative)
    """Last step at which the buffer is live (its last reader runs); ``end >= start``."""

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"BufferRequest {self.id!r}: end {self.end} < start {self.start}")

    def overlaps_in_time(self, other: BufferRequest) -> bool:
        """Whether both buffers are live at some common step."""
        return self.start <= other.end and other.start <= self.end


def align_up(size: int, alignment: int) -> int:
    """``size`` rounded up to a multiple of ``alignment``."""
    return -(-size // alignment) * alignment


def live_profile(requests: Iterable[BufferRequest], alignment: int = 1) -> list[tuple[int, int]]:
    """``(step, live bytes from that step on)`` at every step where the live total changes.

    Sizes are rounded up to ``alignment``. The maximum of the second column is :func:`lower_bound`.
    """
    deltas: dict[int, int] = {}
    for r in requests:
        size = align_up(r.size, alignment)
        deltas[r.start] = deltas.get(r.start, 0) + size
        deltas[r.end + 1] = deltas.get(r.end + 1, 0) - size
    profile, live = [], 0
    for step in sorted(deltas):
        live += deltas[step]
        profile.append((step, live))
    return profile


def lower_bound(requests: Iterable[BufferRequest], alignment: int = 1) -> int:
    """The most bytes live at any one step: no plan can have a smaller peak.

    Sizes are rounded up to ``alignment`` first, as every allocator places aligned blocks.
    """
    return max((live for _, live in live_profile(requests, alignment)), default=0)
