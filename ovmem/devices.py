"""Devices: the pass pipeline and planner that model how one OpenVINO device spends memory.

* ``generic`` — the graph as exported: activations at the graph's element types, the KV cache in
  the precision the model asks for, temporaries packed by ``greedy-by-size``. No runtime effects.
* ``CPU`` — the OpenVINO CPU plugin (``docs/cpu-plugin-notes.md``) on the target CPU
  (:mod:`ovmem.target`, the graph's ``target``), plus the plugin's own resident code and runtime
  (:mod:`ovmem.runtime_memory`: per process, per op, per thread): the fused MLP on AMX targets
  (``fuse{mlp=auto}``), the target's inference precision and the output reorder, packed weight copies next to
  the mapped ``.bin`` (``cpu-runtime``); the kernels' shared scratch (``cpu-scratch``); the KV cache
  in u8 unless the model's rt_info says otherwise, resident for the tokens it holds (``states``;
  the plugin reserves twice that, but pages never written are not resident); and for
  models compiled with dynamic shapes (every optimum-intel LLM export) the plugin's
  ``non-overlapping-sets`` planner with its sync-point lifetimes, in the plugin's execution order
  (``schedule``); static models get
  ``greedy-by-size`` in 32-byte units, as ``MemoryManagerStatic`` does.
* ``GPU`` — the OpenVINO GPU plugin, **modelled from its documentation and source and not
  validated** (no Intel GPU was available; ``docs/gpu-plugin-notes.md``): f16 activations and
  weights, one copy of each weight in device memory, device copies of the inputs and a second copy
  of every output of a dynamic-shape model (``gpu-runtime``); the KV cache in i8 with f16 scales and
  zero points unless the model's rt_info says otherwise, with 128-191 spare tokens per variable
  (``states``); the plugin's ``memory-pool`` of whole buffers (execution order with the half-full
  rule for dynamic shapes, largest first for static). Its runtime is counted as 0: no documented
  figure for the plugin's own footprint was found, and none could be measured here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import attrs

from ovmem.alloc import Allocator, parse_allocator
from ovmem.errors import UsageError
from ovmem.ir.core import Graph
from ovmem.options import split_top_level
from ovmem.passes import DEFAULT_PIPELINE
from ovmem.runtime_memory import cpu_runtime_bytes
from ovmem.target import Target

__all__ = ["DEVICES", "RUNTIME_DONE_PASSES", "Device", "get_device"]

RUNTIME_DONE_PASSES = ("fuse", "schedule")
"""Passes that emulate what a plugin does to the graph: a runtime graph (``--lift runtime``) has
them done already (its fused nodes, in their execution order)."""


@attrs.frozen
class Device:
    """How to analyse a model for one device."""

    name: str
    pipeline: str
    """The pass pipeline (a pipeline string)."""
    dynamic_allocator: str
    """The planner for models compiled with dynamic shapes."""
    static_allocator: str
    """The planner for models compiled with static shapes."""
    runtime: Callable[[Target, Iterable[Graph]], int] | None = None
    """What the device's runtime holds besides the models' tensors (plugin code pages, JIT kernels,
    thread pools, the graphs' own objects) on a target for a process that compiled these graphs;
    ``None``: 0."""
    targeted: bool = False
    """Whether the device's rules read the target CPU (``graph.meta["target"]``, ``--target``)."""
    plugin: str | None = None
    """The OpenVINO device that runs models like this here (``--lift runtime`` compiles on it), or
    ``None`` for a device that is only modelled."""
    validated: bool = True
    """Whether the model of the device was checked against measurements; reports label it otherwise."""
    note: str = ""
    """One line every report of this device carries: what the model is, where its memory lives."""

    def pipeline_for(self, lift_from: str = "graph") -> str:
        """The pipeline for a graph lifted as exported (``graph``) or from the plugin (``runtime``:
        without the passes that emulate what the plugin has then done, :data:`RUNTIME_DONE_PASSES`)."""
        if lift_from != "runtime":
            return self.pipeline
        return ",".join(p for p in split_top_level(self.pipeline) if p.partition("{")[0] not in RUNTIME_DONE_PASSES)

    def runtime_bytes(self, target: Target, graphs: Iterable[Graph]) -> int:
        """The device runtime's own resident bytes on ``target`` for a process that compiled
        ``graphs`` (one model, or each sub-model of a pipeline once)."""
        return self.runtime(target, graphs) if self.runtime is not None else 0

    def allocator(self, graph: Graph) -> Allocator:
        """The planner the device uses for ``graph`` (it depends on how the model is declared)."""
        return parse_allocator(self.dynamic_allocator if graph.meta.get("dynamic_model") else self.static_allocator)


DEVICES = {
    "generic": Device("generic", DEFAULT_PIPELINE, "greedy-by-size", "greedy-by-size"),
    "CPU": Device(
        "CPU",
        "fold-weights,fold-shapes,fuse{mlp=auto},inplace,cpu-runtime,cpu-scratch,states{fallback=u8},placement,"
        "schedule,lifetime{sync_points=true}",
        "non-overlapping-sets",
        "greedy-by-size{alignment=32}",
        runtime=cpu_runtime_bytes,
        plugin="CPU",
        targeted=True,
    ),
    "GPU": Device(
        "GPU",
        "fold-weights,fold-shapes,fuse,inplace{rope=off},gpu-runtime,"
        "states{fallback=i8,growth=chunk,scale_precision=f16},placement,lifetime",
        "memory-pool",
        "memory-pool{order=size,min_fill=0}",
        validated=False,
        note="derived from the OpenVINO GPU plugin's documentation and source, no Intel GPU to measure;"
        " weights, KV cache and temporaries in device memory (system RAM on an integrated GPU),"
        " inputs and outputs in host memory",
    ),
}


def get_device(name: str) -> Device:
    """A device by name (case-insensitive)."""
    for key, device in DEVICES.items():
        if key.lower() == name.lower():
            return device
    raise UsageError(f"unknown device {name!r}; available: {', '.join(DEVICES)}")
