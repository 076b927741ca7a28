"""Allocators: pack buffer lifetimes into one arena and report its peak.

Public API::

    from ovmem.alloc import BufferRequest, get_allocator, lower_bound
    plan = get_allocator("greedy-by-size").allocate(requests)
    plan.validate(); plan.peak >= lower_bound(requests)
    requests = read_requests("A.1048576.csv")      # MiniMalloc's CSV; write_requests(path, requests)
"""

from __future__ import annotations

from ovmem.alloc import best_fit, best_of, exact, first_fit, first_fit_online, greedy_by_size, local_search, memory_pool, naive, non_overlapping_sets  # noqa: F401  (register the built-ins)
from ovmem.alloc.base import Allocator, available_allocators, get_allocator, parse_allocator, register_allocator
from ovmem.alloc.plan import Plan, PlanError
from ovmem.alloc.request import BufferRequest, align_up, live_profile, lower_bound
from ovmem.alloc.requests_csv import read_requests, write_requests

__all__ = [
    "Allocator",
    "BufferRequest",
    "Plan",
    "PlanError",
    "align_up",
    "available_allocators",
    "get_allocator",
    "live_profile",
    "parse_allocator",
    "lower_bound",
    "read_requests",
    "register_allocator",
    "write_requests",
]
