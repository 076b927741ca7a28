"""``non-overlapping-sets``: the CPU plugin's dynamic-shape grouping, on hand cases."""

from __future__ import annotations

from ovmem.alloc import BufferRequest, get_allocator, lower_bound


def test_groups_ignore_sizes():
    # X ends before Y starts, so Y joins X's group; Z overlaps Y (the group's last) and opens a
    # second group. Two blocks of 100: twice what a size-aware planner needs.
    requests = [BufferRequest("X", 100, 0, 1), BufferRequest("Y", 1, 2, 3), BufferRequest("Z", 100, 2, 3)]
    plan = get_allocator("non-overlapping-sets").allocate(requests)
    plan.validate()
    assert plan.offsets == {"X": 0, "Y": 0, "Z": 100}
    assert plan.peak == 200
    assert lower_bound(requests) == get_allocator("greedy-by-size").allocate(requests).peak == 101


def test_a_box_joins_the_first_group_whose_last_box_it_misses():
    requests = [BufferRequest(i, size, s, e) for i, (size, s, e) in enumerate([(10, 0, 1), (20, 1, 2), (30, 2, 3), (40, 3, 4)])]
    plan = get_allocator("non-overlapping-sets").allocate(requests)
    # groups {0, 2} (max 30) and {1, 3} (max 40), laid out one after the other
    assert plan.offsets == {0: 0, 2: 0, 1: 30, 3: 30}
    assert plan.peak == 70


def test_sorting_by_start_then_finish_decides_the_groups():
    # given out of order; sorted (0,0) (0,2) (1,1): (1,1) joins the first group after (0,0)
    requests = [BufferRequest("b", 100, 1, 1), BufferRequest("c", 1, 0, 2), BufferRequest("a", 1, 0, 0)]
    plan = get_allocator("non-overlapping-sets").allocate(requests)
    assert plan.offsets["a"] == plan.offsets["b"] == 0 and plan.offsets["c"] == 100
    assert plan.peak == 101
