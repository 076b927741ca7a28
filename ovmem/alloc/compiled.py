"""numba's ``njit`` when the ``exact`` extra is installed, else the same functions run as plain Python.

The searches of :mod:`ovmem.alloc.decide` and :mod:`ovmem.alloc.local_search` are loops over arrays
that numba compiles about a hundred times faster than the interpreter runs them
(``docs/allocators.md``); without numba they still run, only slower, and stop at their deadlines.
Compiled functions are cached on disk (``cache=True``), so only a machine's first use compiles them.
"""

from __future__ import annotations

import contextlib
import time

__all__ = ["COMPILED", "njit", "now", "objmode"]

try:
    from numba import njit, objmode

    COMPILED = True
except ImportError:  # the same functions, interpreted
    COMPILED = False

    def njit(*args, **kwargs):  # numba's decorator, or nothing
        return args[0] if args and callable(args[0]) else (lambda function: function)

    def objmode(**types):  # numba's escape to Python, already Python here
        return contextlib.nullcontext()


@njit(cache=True)
def now() -> float:
    """``time.perf_counter()``, callable from compiled code (through numba's object mode)."""
    with objmode(now="float64"):
        now = time.perf_counter()
    return now
