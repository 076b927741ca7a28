"""Tests for ``greedy-by-size``, the port of OpenVINO's ``ov::MemorySolver``.

The first group reproduces every case of openvinotoolkit/openvino
``src/inference/tests/unit/memory_solver_test.cpp`` with its expected numbers. Offsets the C++ test
does not check, and the golden values further down, come from compiling the real
``src/inference/dev_api/openvino/runtime/memory_solver.hpp`` (commit 138a71f0,
i.e. 138a71f019a849bb5769045dd2ec154bca7500b2) with g++ 12.2 /
libstdc++ and running it on the same boxes; a stable sort in place of :func:`cxx_sort` changes them.
The harness is ``tests/cxx/memory_solver_harness.cpp``; ``OPENVINO_SOURCE_DIR=/path/to/openvino pytest
tests/test_memory_solver_cxx.py`` builds it and checks the port against it on these boxes.
"""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ovmem.alloc.greedy_by_size as gbs
from ovmem.alloc import BufferRequest, available_allocators, get_allocator, lower_bound
from ovmem.alloc.greedy_by_size import Box, GreedyBySizeAllocator, MemorySolver, cxx_sort


def _offsets(boxes: list[Box]) -> tuple[int, list[int]]:
    """Solve ``boxes`` with ids replaced by their index; ids never affect placement."""
    ms = MemorySolver(Box(b.start, b.finish, b.size, i) for i, b in enumerate(boxes))
    total = ms.solve()
    return total, [ms.get_offset(i) for i in range(len(boxes))]


def _assert_no_overlap(boxes: list[Box], ms: MemorySolver) -> None:
    # The C++ test's no_overlap lambda, over every pair.
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            oa, ob = ms.get_offset(a.id), ms.get_offset(b.id)
            assert a.finish < b.start or a.start > b.finish or oa + a.size <= ob or oa >= ob + b.size, (a, b)


# --- memory_solver_test.cpp ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("boxes", "total"),
    [([], 0), ([Box()], 0), ([Box(1, 3, 3)], 3), ([Box(0, 0, 0)], 0), ([Box(3, -1, 6)], 6)],
    ids=["empty", "default-box", "non-default", "size-0", "finish-minus-1"],
)
def test_can_construct(boxes: list[Box], total: int) -> None:
    # CanConstruct only constructs; solving too (totals from the C++) checks nothing chokes later.
    assert MemorySolver(boxes).solve() == total


def test_get_offset() -> None:
    n = 0
    boxes = []
    for i in range(4):
        boxes.append(Box(n, n + 1, 2, i))
        n += 1
    ms = MemorySolver(boxes)
    ms.solve()
    # "The correct answer is [0, 2, 0, 2] or [2, 0, 2, 0]."
    assert ms.get_offset(0) + ms.get_offset(1) == 2
    assert ms.get_offset(1) + ms.get_offset(2) == 2
    assert ms.get_offset(2) + ms.get_offset(3) == 2
    assert [ms.get_offset(i) for i in range(4)] == [0, 2, 0, 2]  # what the C++ picks


def test_get_offset_throws_on_unknown_id() -> None:
    ms = MemorySolver([Box(i, i + 1, 2, i) for i in range(4)])
    ms.solve()
    with pytest.raises(KeyError, match="100"):
        ms.get_offset(100)


ALEXNET = [
    (3, 227, 227), (96, 55, 55), (96, 55, 55), (96, 55, 55), (96, 27, 27), (256, 27, 27),
    (256, 27, 27), (256, 27, 27), (256, 13, 13), (384, 13, 13), (384, 13, 13), (384, 13, 13),
    (384, 13, 13), (256, 13, 13), (256, 13, 13), (256, 6, 6), (1, 1, 4069), (1, 1, 4069),
    (1, 1, 4069), (1, 1, 4069), (1, 1, 1000), (1, 1, 1000),
]  # fmt: skip

# (C++ test, boxes, solve(), max_depth(), max_top_depth(), offsets by box index from the real C++)
CASES = [
    ("LinearAndEven", [Box(0, 1, 2), Box(1, 2, 2), Box(2, 3, 2)], 4, 4, 2, [0, 2, 0]),
    ("LinearAndNotEven", [Box(0, 1, 2), Box(1, 2, 2), Box(2, 3, 3)], 5, 5, 2, [0, 3, 0]),
    ("LinearWithEmptyExecIndexes", [Box(2, 4, 2), Box(4, 6, 2), Box(6, 8, 3)], 5, 5, 2, [0, 3, 0]),
    ("OverlappingBoxes", [Box(6, 7, 4), Box(2, 5, 3), Box(5, 8, 2), Box(2, 3, 2)], 6, 6, 2, [0, 0, 4, 3]),
    (
        "EndOnSeveralBegins",
        [Box(0, 1, 2), Box(1, 2, 2), Box(3, 3, 2), Box(3, 5, 2), Box(3, 4, 2)],
        6, 6, 3, [0, 2, 0, 4, 2],
    ),
    (
        "ToEndBoxes",
        [Box(0, 1, 2), Box(1, -1, 2), Box(3, 3, 2), Box(3, -1, 2), Box(3, 4, 2)],
        8, 8, 4, [0, 2, 0, 4, 6],
    ),
    (
        "LastAndToEndBox",
        [Box(0, 1, 2), Box(6, -1, 2), Box(3, 3, 2), Box(3, 5, 2), Box(3, 4, 2)],
        6, 6, 3, [0, 0, 0, 4, 2],
    ),
    (
        # "For linear topology bottom score is reachable minRequired == max_depth"
        "OptimalAlexnet",
        [Box(i, i + 1, a * b * c) for i, (a, b, c) in enumerate(ALEXNET)],
        580800, 580800, 2,
        [290400, 0, 290400, 0, 290400, 0, 186624, 0, 186624, 0, 64896, 0, 64896, 0, 43264, 0, 9216, 0,
         4069, 0, 4069, 0],
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("boxes", "total", "depth", "top_depth", "offsets"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_memory_solver_cases(boxes: list[Box], total: int, depth: int, top_depth: int, offsets: list[int]) -> None:
    ms = MemorySolver(boxes)  # the C++ boxes as written, ids all 0
    assert ms.solve() == total
    assert ms.max_depth() == depth
    assert ms.max_top_depth() == top_depth
    assert _offsets(boxes) == (total, offsets)


UNEFFICIENCY = [Box(6, 7, 3), Box(2, 5, 2), Box(5, 8, 2), Box(2, 3, 2)]


@pytest.mark.xfail(strict=True, reason="DISABLED_Unefficiency in the C++: the greedy order gives 6, not 5")
def test_disabled_unefficiency() -> None:
    assert MemorySolver(UNEFFICIENCY).solve() == 5


def test_unefficiency_current_answer() -> None:
    # "currently we have answer 6"; the depths are still the C++ test's 5 and 2.
    ms = MemorySolver(UNEFFICIENCY)
    assert ms.solve() == 6
    assert (ms.max_depth(), ms.max_top_depth()) == (5, 2)
    assert _offsets(UNEFFICIENCY) == (6, [0, 2, 4, 0])


def test_no_overlapping() -> None:
    boxes = [Box(4, 8, 1, 0), Box(6, 7, 3, 1), Box(2, 3, 3, 2), Box(2, 4, 2, 3)]
    ms = MemorySolver(boxes)
    # The C++ test keeps `EXPECT_EQ(ms.solve(), 5)` commented out: the algorithm gives 6.
    assert ms.solve() == 6
    _assert_no_overlap(boxes, ms)
    assert [ms.get_offset(i) for i in range(4)] == [5, 0, 0, 3]


def test_best_solution1() -> None:
    boxes = [Box(2, 3, 1, 0), Box(3, 4, 1, 1), Box(4, 6, 2, 2), Box(6, 7, 3, 3)]
    ms = MemorySolver(boxes)
    assert ms.solve() == 5
    _assert_no_overlap(boxes, ms)
    assert [ms.get_offset(i) for i in range(4)] == [0, 1, 3, 0]


def test_repeated_id_reports_the_last_placed_box() -> None:
    # Most C++ tests leave every id 0; its std::map keeps the offset of the box placed last (the
    # smaller one here: 5 at 0, 4 at 5, then 3 at 9), as the compiled C++ reports.
    ms = MemorySolver([Box(0, 1, 3, 7), Box(0, 1, 5, 7), Box(1, 2, 4, 8)])
    assert ms.solve() == 12
    assert (ms.get_offset(7), ms.get_offset(8)) == (9, 5)


def test_no_overlap_check_can_fail() -> None:
    # The helper above must catch a real overlap, or the two tests using it prove nothing.
    ms = MemorySolver([Box(0, 1, 2, 0), Box(1, 2, 2, 1)])
    ms._offsets = {0: 0, 1: 1}
    with pytest.raises(AssertionError):
        _assert_no_overlap([Box(0, 1, 2, 0), Box(1, 2, 2, 1)], ms)


# --- time normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("boxes", "duration", "normalized"),
    [
        ([Box(2, 4, 2, 0), Box(4, 6, 2, 1), Box(6, 8, 3, 2)], 3, [(0, 1, 0), (1, 2, 1), (2, 2, 2)]),
        (
            [Box(0, 1, 2, 0), Box(1, -1, 2, 1), Box(3, 3, 2, 2), Box(3, -1, 2, 3), Box(3, 4, 2, 4)],
            3,
            [(0, 1, 0), (1, 2, 1), (2, 2, 2), (2, 2, 3), (2, 2, 4)],
        ),
        (
            [Box(5, 9, 1, 0), Box(0, 20, 1, 1), Box(5, 6, 1, 2), Box(0, 3, 1, 3), Box(12, 12, 1, 4)],
            3,
            [(0, 0, 3), (0, 2, 1), (1, 1, 2), (1, 1, 0), (2, 2, 4)],
        ),
    ],
)
def test_normalize_boxes(boxes: list[Box], duration: int, normalized: list[tuple[int, int, int]]) -> None:
    # (start, finish, id) after normalize_boxes, in its order, as printed by the C++.
    assert MemorySolver.normalize_boxes(boxes) == duration
    assert [(b.start, b.finish, b.id) for b in boxes] == normalized


def test_solver_copies_its_boxes() -> None:
    boxes = [Box(3, -1, 2, 0), Box(1, 4, 2, 1)]
    MemorySolver(boxes).solve()
    assert boxes == [Box(3, -1, 2, 0), Box(1, 4, 2, 1)]


@pytest.mark.parametrize("box", [Box(-1, 2, 1), Box(3, 2, 1), Box(0, -2, 1), Box(0, 1, -1)])
def test_invalid_boxes_are_refused(box: Box) -> None:
    with pytest.raises(ValueError, match="invalid box"):
        MemorySolver([box])


def test_max_depth_of_no_boxes_is_minus_one_like_the_cxx() -> None:
    assert (MemorySolver([]).max_depth(), MemorySolver([]).max_top_depth()) == (-1, -1)


# --- golden values from the compiled C++ ---------------------------------------------------------


def _lcg_boxes(seed: int, n: int, steps: int, max_size: int) -> list[Box]:
    # A fixed generator (not `random`) so the same boxes were fed to the C++.
    state = seed

    def draw(bound: int) -> int:
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        return (state >> 33) % bound

    boxes = []
    for i in range(n):
        start = draw(steps)
        finish = -1 if draw(20) == 0 else min(steps - 1, start + draw(12))
        boxes.append(Box(start, finish, draw(max_size + 1), i))
    return boxes


def _digest(offsets: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, offsets)).encode()).hexdigest()[:16]


def test_golden_ties_in_full() -> None:
    # 40 boxes of size 0..3: > 16 boxes, so libstdc++'s introsort partitions before it insertion-sorts.
    total, offsets = _offsets(_lcg_boxes(1, 40, 10, 3))
    assert total == 34
    assert offsets == [
        15, 23, 21, 29, 0, 15, 0, 3, 15, 0, 0, 0, 27, 33, 12, 0, 6, 19, 9, 12,
        0, 0, 25, 23, 3, 3, 0, 4, 24, 32, 0, 17, 0, 0, 15, 2, 0, 31, 21, 17,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("spec", "total", "depth", "top_depth", "digest"),
    [
        ((2, 300, 60, 4), 108, 105, 50, "dee0475b6b7fba93"),
        ((3, 2000, 400, 8), 479, 469, 135, "0f1cabd7d0bef537"),
        ((4, 2000, 100, 1000), 116148, 114069, 232, "9e7423b6c31f4324"),
    ],
)
def test_golden_random(spec: tuple[int, int, int, int], total: int, depth: int, top_depth: int, digest: str) -> None:
    boxes = _lcg_boxes(*spec)
    ms = MemorySolver(boxes)
    assert ms.solve() == total
    assert (ms.max_depth(), ms.max_top_depth()) == (depth, top_depth)
    assert _digest([ms.get_offset(b.id) for b in boxes]) == digest


def test_golden_changes_with_a_stable_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    # The goldens do test tie-breaking: with Python's stable sort the 300-box case needs 106, not 108.
    monkeypatch.setattr(gbs, "cxx_sort", lambda items, key: items.sort(key=key))
    assert MemorySolver(_lcg_boxes(2, 300, 60, 4)).solve() == 106


def test_allocator_matches_the_cpu_plugin() -> None:
    # MemoryManagerStatic::solve(): sizes div_up to 32-byte units, offsets and total times 32.
    # Golden: the C++ solver on the div_up'd boxes, offsets times 32.
    boxes = _lcg_boxes(5, 500, 120, 100000)
    requests = [BufferRequest(b.id, b.size, b.start, 119 if b.finish == -1 else b.finish) for b in boxes]
    plan = get_allocator("greedy-by-size", alignment=32).allocate(requests)
    assert plan.peak == 87368 * 32
    assert _digest([plan.offsets[r.id] for r in requests]) == "d77fcf8a37c00ebb"
    plan.validate()


# --- libstdc++ std::sort replay ------------------------------------------------------------------

# McIlroy's adversary against libstdc++'s std::sort for 100 items, halved to add ties: it drives
# introsort to its depth limit, so a range of 76 items goes through the heapsort fallback.
KILLER_KEYS = list(map(int, """
46 0 35 1 42 2 34 3 49 4 33 5 41 6 32 7 45 8 31 9 40 10 12 11 49 48 47 46 45 44 43 42 41 40 39 38 37 36
35 34 33 32 47 39 44 38 48 37 43 36 0 1 2 3 4 5 6 7 8 9 10 11 31 29 30 28 29 27 28 26 27 25 26 24 25 23
24 22 23 21 22 20 21 19 20 18 19 17 18 16 17 15 16 14 15 13 14 12 13 30""".split()))
KILLER_ORDER = list(map(int, """
1 50 3 51 5 52 7 53 9 54 11 55 13 56 15 57 17 58 19 59 21 60 23 61 97 22 98 95 93 96 94 91 89 92 87 90 85
88 83 86 84 81 79 82 77 80 75 78 73 76 71 74 69 72 67 70 65 68 63 66 99 64 18 62 14 41 10 40 39 6 2 38 49
37 47 36 45 35 43 34 20 33 12 32 31 4 48 30 44 29 16 28 27 0 42 26 25 46 24 8""".split()))  # std::sort's


def test_cxx_sort_replays_the_heapsort_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    heap_sorted: list[int] = []
    real = gbs._heap_sort
    def counting(a: list, first: int, last: int) -> None:
        heap_sorted.append(last - first)
        real(a, first, last)

    monkeypatch.setattr(gbs, "_heap_sort", counting)
    order = list(range(100))
    cxx_sort(order, key=lambda i: KILLER_KEYS[i])
    assert heap_sorted == [76]
    assert order == KILLER_ORDER
    assert order != sorted(range(100), key=lambda i: KILLER_KEYS[i])  # ties really are reordered


@given(st.lists(st.integers(0, 5), max_size=60))
def test_cxx_sort_sorts(keys: list[int]) -> None:
    order = list(range(len(keys)))
    cxx_sort(order, key=lambda i: keys[i])
    assert sorted(order) == list(range(len(keys)))
    assert [keys[i] for i in order] == sorted(keys)
    if len(keys) <= 16:  # libstdc++ insertion-sorts short ranges, which is stable
        assert order == sorted(range(len(keys)), key=lambda i: keys[i])


# --- the fast placement equals the C++'s lift-until-nothing-overlaps loop ------------------------


def _reference_solve(boxes: list[Box]) -> tuple[int, dict[int, int]]:
    """The C++ ``solve()`` loop as written: time slots, lift over every overlap, repeat."""
    work = [Box(b.start, b.finish, b.size, b.id) for b in boxes]
    steps = MemorySolver.normalize_boxes(work)
    cxx_sort(work, key=lambda b: -b.size)
    slots: list[list[tuple[int, int]]] = [[] for _ in range(steps)]
    offsets, total = {}, 0
    for box in work:
        offset, lifted = 0, True
        while lifted:
            lifted = False
            for slot in slots[box.start : box.finish + 1]:
                for other_offset, other_size in slot:
                    if offset + box.size > other_offset and other_offset + other_size > offset:
                        offset, lifted = other_offset + other_size, True
        for slot in slots[box.start : box.finish + 1]:
            slot.append((offset, box.size))
        total = max(total, offset + box.size)
        offsets[box.id] = offset
    return total, offsets


@st.composite
def _boxes(draw: st.DrawFn) -> list[Box]:
    n = draw(st.integers(0, 40))
    out = []
    for i in range(n):
        start = draw(st.integers(0, 12))
        finish = draw(st.one_of(st.just(-1), st.integers(start, start + 6)))
        out.append(Box(start, finish, draw(st.integers(0, 6)), i))
    return out


@settings(max_examples=300)
@given(_boxes())
def test_placement_equals_the_cxx_loop(boxes: list[Box]) -> None:
    ms = MemorySolver(boxes)
    total = ms.solve()
    ref_total, ref_offsets = _reference_solve(boxes)
    assert total == ref_total
    assert {b.id: ms.get_offset(b.id) for b in boxes} == ref_offsets


# --- as an ovmem allocator -----------------------------------------------------------------------


def test_registered() -> None:
    assert "greedy-by-size" in available_allocators()
    assert isinstance(get_allocator("greedy-by-size"), GreedyBySizeAllocator)


@pytest.mark.parametrize("alignment", [1, 32])
def test_plan_is_the_solver_in_units(alignment: int) -> None:
    requests = [
        BufferRequest("a", 100, 0, 1), BufferRequest("b", 64, 1, 2), BufferRequest("c", 1, 2, 3),
        BufferRequest("d", 0, 0, 3), BufferRequest("e", 33, 3, 3),
    ]  # fmt: skip
    plan = GreedyBySizeAllocator(alignment=alignment).allocate(requests)
    units = [Box(r.start, r.end, -(-r.size // alignment), i) for i, r in enumerate(requests)]
    ms = MemorySolver(units)
    assert plan.peak == ms.solve() * alignment
    assert [plan.offsets[r.id] for r in requests] == [ms.get_offset(i) * alignment for i in range(len(requests))]
    assert ms.max_depth() * alignment == lower_bound(requests, alignment)
    plan.validate()


def test_10k_requests_plan_validly() -> None:
    """Scale check (planning speed is measured in bench/allocators.py, not here)."""
    rng = random.Random(7)
    requests = []
    for i in range(10_000):
        a, b = rng.randrange(10_000), rng.randrange(10_000)
        requests.append(BufferRequest(i, rng.randrange(1 << 20), min(a, b), max(a, b)))
    plan = get_allocator("greedy-by-size", alignment=32).allocate(requests)
    plan.validate()
    assert plan.peak >= lower_bound(requests, 32)
