"""Invariants every registered allocator must keep, and the plan/request machinery they rely on.

New allocators are picked up automatically: the property tests iterate over
:func:`available_allocators`, so registering one puts it through the whole suite.
"""

from __future__ import annotations

from collections.abc import Hashable

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovmem.alloc import (
    Allocator,
    BufferRequest,
    Plan,
    PlanError,
    align_up,
    available_allocators,
    get_allocator,
    lower_bound,
)

ALIGNMENTS = [1, 8, 32, 64]


@st.composite
def request_sets(draw: st.DrawFn) -> list[BufferRequest]:
    """Requests with unique ids of mixed types, sizes including 0, inclusive step ranges."""
    ids = draw(st.lists(st.one_of(st.integers(-5, 100), st.text(max_size=3)), unique=True, max_size=30))
    requests = []
    for id_ in ids:
        start = draw(st.integers(0, 20))
        size = draw(st.one_of(st.just(0), st.integers(0, 300), st.integers(0, 10**6)))
        requests.append(BufferRequest(id_, size, start, start + draw(st.integers(0, 10))))
    return requests


def check_plan(allocator: Allocator, requests: list[BufferRequest]) -> Plan:
    """Plan ``requests`` with ``allocator`` and assert every allocator invariant."""
    alignment = allocator.alignment
    plan = allocator.allocate(requests)
    assert plan.allocator == allocator.name
    assert plan.requests == tuple(requests)
    assert plan.alignment == alignment
    assert set(plan.offsets) == {r.id for r in requests}
    for r in requests:
        assert plan.offsets[r.id] % alignment == 0, (r, plan.offsets[r.id])
    assert plan.peak >= lower_bound(requests, alignment)
    naive = get_allocator("naive", alignment=alignment).allocate(requests)
    assert naive.peak >= plan.peak
    plan.validate()
    return plan


@pytest.mark.parametrize("name", available_allocators())
@settings(max_examples=150, deadline=None)
@given(requests=request_sets(), alignment=st.one_of(st.none(), st.sampled_from(ALIGNMENTS)))
def test_allocator_invariants(name: str, requests: list[BufferRequest], alignment: int | None) -> None:
    # alignment None: the allocator's default, which must be 1
    allocator = get_allocator(name) if alignment is None else get_allocator(name, alignment=alignment)
    assert allocator.alignment == (alignment or 1)
    check_plan(allocator, requests)


@pytest.mark.parametrize("name", available_allocators())
def test_empty_request_list(name: str) -> None:
    plan = get_allocator(name, alignment=32).allocate([])
    assert (plan.peak, dict(plan.offsets), plan.requests) == (0, {}, ())
    plan.validate()


@pytest.mark.parametrize("name", available_allocators())
def test_duplicate_ids_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unique"):
        get_allocator(name).allocate([BufferRequest("x", 1, 0, 0), BufferRequest("x", 2, 1, 1)])


def test_naive_and_greedy_are_registered() -> None:
    assert {"naive", "greedy-by-size"} <= set(available_allocators())
    assert available_allocators() == sorted(available_allocators())


# --- the invariant check itself must be able to fail ---------------------------------------------


@attrs.frozen
class _AllAtZero(Allocator):
    name = "all-at-zero"  # not registered: it is wrong on purpose

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return {r.id: 0 for r in requests}


@attrs.frozen
class _Misaligned(Allocator):
    name = "misaligned"

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return {r.id: 1 + 2 * i * max(sizes.values()) for i, r in enumerate(requests)}


@attrs.frozen
class _Wasteful(Allocator):
    name = "wasteful"

    def place(self, requests: tuple[BufferRequest, ...], sizes: dict[Hashable, int]) -> dict[Hashable, int]:
        return {r.id: 2 * i * max(sizes.values()) for i, r in enumerate(requests)}


TWO_LIVE_TOGETHER = [BufferRequest("a", 64, 0, 1), BufferRequest("b", 64, 1, 2)]


@pytest.mark.parametrize(
    ("allocator", "message"),
    [
        (_AllAtZero(), "lower_bound"),  # peak 64 < 128 live at step 1
        (_Misaligned(alignment=8), "%"),
        (_Wasteful(), "naive"),  # 192 > 128
    ],
)
def test_check_plan_catches_broken_allocators(allocator: Allocator, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_plan(allocator, TWO_LIVE_TOGETHER)


# --- Plan.validate -------------------------------------------------------------------------------


def _plan(
    offsets: dict[Hashable, int], peak: int, alignment: int = 1, requests: list[BufferRequest] | None = None
) -> Plan:
    return Plan("by-hand", tuple(requests or TWO_LIVE_TOGETHER), offsets, peak, alignment)


def test_sound_plans_validate() -> None:
    _plan({"a": 0, "b": 64}, 128).validate()  # touching, not overlapping
    _plan({"a": 64, "b": 0}, 128).validate()
    _plan({"a": 0, "b": 64}, 1000).validate()  # a peak above the top is wasteful, not wrong
    apart = [BufferRequest("a", 64, 0, 1), BufferRequest("b", 64, 2, 3)]
    _plan({"a": 0, "b": 0}, 64, requests=apart).validate()  # same bytes, never live together
    empty_inside = [BufferRequest("a", 64, 0, 1), BufferRequest("z", 0, 0, 1)]
    _plan({"a": 0, "z": 32}, 64, requests=empty_inside).validate()  # a 0-byte buffer holds nothing


@pytest.mark.parametrize(
    ("offsets", "peak", "alignment", "message"),
    [
        ({"a": 0, "b": 32}, 96, 1, "overlap at \\[32, 64\\)"),
        ({"a": 0, "b": 0}, 64, 1, "overlap"),
        ({"a": 0}, 128, 1, "missing \\['b'\\]"),
        ({"a": 0, "b": 64, "c": 128}, 192, 1, "do not match"),
        ({"a": 0, "b": 68}, 132, 8, "not a multiple of 8"),
        ({"a": -64, "b": 0}, 64, 1, "negative"),
        ({"a": 0, "b": 64}, 127, 1, "peak 127 is below the highest buffer end 128"),
    ],
    ids=["overlap", "same-offset", "missing", "extra", "misaligned", "negative", "peak-too-low"],
)
def test_validate_rejects(offsets: dict[Hashable, int], peak: int, alignment: int, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        _plan(offsets, peak, alignment).validate()


def test_validate_uses_aligned_sizes() -> None:
    # 33 bytes at alignment 32 take 64, so a buffer at 32 overlaps them.
    requests = [BufferRequest("a", 33, 0, 0), BufferRequest("b", 1, 0, 0)]
    with pytest.raises(PlanError, match="overlap"):
        _plan({"a": 0, "b": 32}, 64, 32, requests).validate()
    _plan({"a": 0, "b": 64}, 96, 32, requests).validate()
    with pytest.raises(PlanError, match="peak 65 is below the highest buffer end 96"):
        _plan({"a": 0, "b": 64}, 65, 32, requests).validate()  # b ends at 96 once aligned, not 65


def test_validate_rejects_duplicate_request_ids() -> None:
    requests = [BufferRequest("a", 1, 0, 0), BufferRequest("a", 1, 5, 5)]
    with pytest.raises(PlanError, match="not unique"):
        _plan({"a": 0}, 1, requests=requests).validate()


def test_validate_finds_an_overlap_under_a_longer_buffer() -> None:
    # c lies inside a while b sits right above a: the sweep must still compare c with a.
    requests = [BufferRequest("a", 100, 0, 2), BufferRequest("b", 10, 0, 2), BufferRequest("c", 10, 1, 1)]
    with pytest.raises(PlanError, match="'c' and 'a'|'a' and 'c'"):
        _plan({"a": 0, "b": 100, "c": 50}, 110, requests=requests).validate()


# --- lower_bound, align_up, BufferRequest --------------------------------------------------------


@pytest.mark.parametrize(
    ("requests", "alignment", "expected"),
    [
        ([], 1, 0),
        ([BufferRequest("a", 5, 3, 3)], 1, 5),
        ([BufferRequest("a", 5, 0, 1), BufferRequest("b", 7, 1, 2)], 1, 12),  # both live at step 1
        ([BufferRequest("a", 5, 0, 1), BufferRequest("b", 7, 2, 3)], 1, 7),  # never together
        ([BufferRequest("a", 1, 0, 1), BufferRequest("b", 33, 1, 2)], 32, 96),  # 32 + 64
        ([BufferRequest("a", 1, 0, 1), BufferRequest("b", 33, 1, 2)], 1, 34),
        ([BufferRequest("a", 0, 0, 9), BufferRequest("b", 10, 4, 4)], 64, 64),  # 0 bytes stay 0
        (
            [BufferRequest("a", 4, 0, 10), BufferRequest("b", 3, 2, 3), BufferRequest("c", 2, 3, 5),
             BufferRequest("d", 1, 6, 6)],
            1, 9,
        ),  # fmt: skip
    ],
)
def test_lower_bound(requests: list[BufferRequest], alignment: int, expected: int) -> None:
    assert lower_bound(requests, alignment) == expected


@pytest.mark.parametrize(
    ("size", "alignment", "expected"), [(0, 32, 0), (1, 32, 32), (32, 32, 32), (33, 32, 64), (7, 1, 7)]
)
def test_align_up(size: int, alignment: int, expected: int) -> None:
    assert align_up(size, alignment) == expected


def test_buffer_request_rejects_end_before_start() -> None:
    with pytest.raises(ValueError, match="end 2 < start 3"):
        BufferRequest("x", 8, 3, 2)


@pytest.mark.parametrize("field", ["size", "start", "end"])
def test_buffer_request_rejects_negatives(field: str) -> None:
    values = {"size": 8, "start": 0, "end": 0} | {field: -1}
    with pytest.raises(ValueError, match=f"{field} must be >= 0"):
        BufferRequest("x", **values)


def test_buffer_request_overlap_is_inclusive() -> None:
    a, b, c = BufferRequest("a", 1, 0, 1), BufferRequest("b", 1, 1, 2), BufferRequest("c", 1, 2, 3)
    assert a.overlaps_in_time(b) and b.overlaps_in_time(a)
    assert not a.overlaps_in_time(c) and not c.overlaps_in_time(a)


# --- registry ------------------------------------------------------------------------------------


def test_unknown_allocator_names_the_available_ones() -> None:
    with pytest.raises(ValueError, match="unknown allocator 'nope'") as info:
        get_allocator("nope")
    for name in available_allocators():
        assert name in str(info.value)


@pytest.mark.parametrize("alignment", [0, -8])
def test_alignment_must_be_positive(alignment: int) -> None:
    with pytest.raises(ValueError, match="alignment must be >= 1"):
        get_allocator("naive", alignment=alignment)


def test_plugins_are_found_by_name_and_cannot_replace_a_registered_one(monkeypatch, caplog) -> None:
    """Entry points (group ``ovmem.allocators``) are read only for a name not registered, or to list."""
    import importlib.metadata

    from ovmem.alloc.base import ALLOCATORS
    from ovmem.alloc.naive import NaiveAllocator

    class Plugin(NaiveAllocator):
        name = "my-plugin"

    class Impostor(NaiveAllocator):
        name = "naive"

    class _EntryPoint:
        def __init__(self, cls: type) -> None:
            self.cls, self.name, self.value = cls, cls.name, f"tests:{cls.__name__}"

        def load(self) -> type:
            return self.cls

    reads = []

    def entry_points(group: str):
        reads.append(group)
        return [_EntryPoint(Plugin), _EntryPoint(Impostor)]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    with ALLOCATORS.scratch():
        assert get_allocator("naive").__class__ is NaiveAllocator and reads == []  # built in: no plugin scan
        assert get_allocator("my-plugin").__class__ is Plugin and reads == ["ovmem.allocators"]
        assert ALLOCATORS.get("naive") is NaiveAllocator  # the impostor was refused, with a warning
        assert "cannot replace" in caplog.text
