"""The one-call Python API: ``ovmem.analyze(model, seq_len=N)`` → :class:`~ovmem.report.MemoryReport`."""

from __future__ import annotations

import os
from collections.abc import Sequence

import openvino as ov

from ovmem.alloc import Allocator, parse_allocator
from ovmem.devices import get_device
from ovmem.ir import lift
from ovmem.passes import Instrument, Pass, Pipeline, parse_pipeline
from ovmem.report import MemoryReport, plan_memory

__all__ = ["DEFAULT_ALLOCATOR", "analyze"]

DEFAULT_ALLOCATOR = "greedy-by-size"
"""The generic device's planner: OpenVINO's own ``ov::MemorySolver``."""


def analyze(
    model: ov.Model | str | os.PathLike[str],
    *,
    seq_len: int = 1,
    batch: int = 1,
    past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None,
    device: str = "generic",
    passes: str | Sequence[Pass] | Pipeline | None = None,
    allocator: str | Allocator | None = None,
    instruments: Sequence[Instrument] = (),
) -> MemoryReport:
    """Lift ``model`` at the given sizes, run the passes, plan the temporaries, report.

    Args:
        model: an ``openvino.Model`` or a path to an IR (``.xml`` or its folder).
        seq_len, batch, past_len, shapes: see :func:`ovmem.ir.lift`.
        device: what to model (:data:`ovmem.devices.DEVICES`): ``generic`` (the graph as exported)
            or ``CPU`` (the OpenVINO CPU plugin); it chooses the default passes and allocator.
        passes: a pipeline string, a list of passes, or a :class:`Pipeline` (default: the device's).
        allocator: an allocator (``name`` or ``name{option=value}``, see
            :func:`ovmem.alloc.available_allocators`) or an instance (default: the device's).
        instruments: run around every pass (timing, printing).
    """
    target = get_device(device)
    if passes is None:
        passes = target.pipeline
    if isinstance(passes, str):
        pipeline = parse_pipeline(passes, instruments=instruments)
    elif isinstance(passes, Pipeline):
        pipeline = Pipeline(passes.passes, instruments=tuple(passes.instruments) + tuple(instruments))
    else:
        pipeline = Pipeline(passes, instruments=instruments)
    graph = lift(model, seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes)
    graph = pipeline(graph).graph
    if allocator is None:
        allocator = target.allocator(graph)
    elif isinstance(allocator, str):
        allocator = parse_allocator(allocator)
    return plan_memory(graph, allocator, passes=str(pipeline), device=target.name, runtime_bytes=target.runtime_bytes)
