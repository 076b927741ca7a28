"""The one-call Python API: ``ovmem.analyze(model, seq_len=N)`` → :class:`~ovmem.report.MemoryReport`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import openvino as ov

from ovmem.alloc import Allocator, parse_allocator
from ovmem.devices import get_device
from ovmem.errors import UsageError
from ovmem.ir import Graph, lift
from ovmem.ir.lift_runtime import lift_runtime
from ovmem.passes import Instrument, Pass, Pipeline, parse_pipeline
from ovmem.report import MemoryReport, plan_memory

__all__ = ["DEFAULT_ALLOCATOR", "analyze", "lift_model"]

DEFAULT_ALLOCATOR = "greedy-by-size"
"""The generic device's planner: OpenVINO's own ``ov::MemorySolver``."""


def lift_model(
    model: ov.Model | str | os.PathLike[str],
    *,
    lift_from: Literal["graph", "runtime"] = "graph",
    device: str = "generic",
    properties: Mapping[str, Any] | None = None,
    **sizes: Any,
) -> Graph:
    """The graph to analyse: the model as exported (``graph``), or as ``device``'s plugin compiled
    it (``runtime``: :func:`~ovmem.ir.lift_runtime.lift_runtime`, with ``properties`` for
    ``compile_model``). ``sizes``: ``seq_len``, ``batch``, ``past_len``, ``shapes``."""
    if lift_from == "graph":
        return lift(model, **sizes)
    if lift_from != "runtime":
        raise UsageError(f"lift must be 'graph' or 'runtime', got {lift_from!r}")
    target = get_device(device)
    if target.plugin is None:
        raise UsageError(f"--lift runtime compiles the model, but device {target.name} is not one OpenVINO runs here")
    return lift_runtime(model, device=target.plugin, properties=properties, **sizes)


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
    lift_from: Literal["graph", "runtime"] = "graph",
    properties: Mapping[str, Any] | None = None,
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
        lift_from: ``graph`` analyses the model as exported and emulates the plugin's fusions;
            ``runtime`` compiles it on the device and analyses the plugin's own graph
            (:func:`lift_model`; the default passes then skip
            :data:`~ovmem.devices.RUNTIME_DONE_PASSES`).
        properties: ``compile_model`` properties for ``lift_from="runtime"``.
    """
    target = get_device(device)
    if passes is None:
        passes = target.pipeline_for(lift_from)
    if isinstance(passes, str):
        pipeline = parse_pipeline(passes, instruments=instruments)
    elif isinstance(passes, Pipeline):
        pipeline = Pipeline(passes.passes, instruments=tuple(passes.instruments) + tuple(instruments))
    else:
        pipeline = Pipeline(passes, instruments=instruments)
    graph = lift_model(
        model, lift_from=lift_from, device=device, properties=properties,
        seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes,
    )  # fmt: skip
    graph = pipeline(graph).graph
    if allocator is None:
        allocator = target.allocator(graph)
    elif isinstance(allocator, str):
        allocator = parse_allocator(allocator)
    return plan_memory(graph, allocator, passes=str(pipeline), device=target.name, runtime_bytes=target.runtime_bytes)
