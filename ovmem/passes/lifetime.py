"""``lifetime``: which runtime buffers exist, when each is live, and which are pinned for the run.

Rules:
  1. Weights and folded values (category ``weight`` / ``folded``) are not runtime buffers.
  2. Values that alias each other (``alias_of``, written by in-place rules) share one buffer, owned
     by the value at the end of the alias chain; a view of a weight or of a folded value is folded.
  3. A buffer holding a value that ``placement`` pinned as ``state`` is category ``state`` and lives
     from the first to the last step: the runtime keeps variables between runs.
  4. A buffer holding a value pinned as ``io`` (a model input or output) is category ``io`` and lives
     from the first to the last step: the caller owns it for the whole inference.
  5. Any other buffer is ``temp`` and lives from the first step at which one of its values is
     produced to the last step at which one is read (inclusive); unread values live one step.
  7. ``sync_points`` (off; the CPU device turns it on): with dynamic shapes the CPU plugin stops at
     every ``ReadValue`` and every op whose output shape depends on an input's values (a
     ``Reshape`` to a computed shape, ``Range``, ``Broadcast``, ``Slice`` with computed bounds, ...);
     a temporary live across such a step is kept until the next one at or after its end, or to the
     end (``MemoryManagerNonOverlappingSets::insert`` in ``src/plugins/intel_cpu/src/memory_control.cpp``).
     Two more kinds of sync point, which OpenVINO 2026.4 has (:func:`sync_steps`): every fused
     ``RoPE`` kernel with a dynamic output, and every ``Slice``/``StridedSlice`` with a dynamic
     output even when its bounds are constants.
  6. A read counts at the step where it really happens: a node fused into a kernel (``kernel``)
     reads when that kernel runs; a node that runs at compile time (``compile_time``: ``ShapeOf``
     of a static tensor, say) reads no buffer at all.

Time is the node's position in ``graph.nodes`` (``node.order``). Rules 3-4 win over rule 5.

Reads: ``category`` (weights, folded, pinned), ``alias_of``, ``kernel``, ``compile_time``,
``stored_type``. Writes also the graph key ``buffers`` (:data:`BUFFERS`), which the report plans. Writes: ``category`` and ``lifetime``
(:data:`~ovmem.passes.keys.LIFETIME`, the buffer's lifetime) on every value that has a buffer.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import attrs

from ovmem.ir.core import Graph, Value
from ovmem.ir.lift import DECLARED_CONSTANT_INPUTS, DECLARED_SHAPE
from ovmem.ir.meta import MetaKey
from ovmem.ir.types import DYNAMIC
from ovmem.passes.base import Pass, PassPreconditionError, PassResult
from ovmem.passes.keys import (
    CATEGORY,
    COMPILE_TIME,
    KERNEL,
    LIFETIME,
    Category,
    Lifetime,
    alias_root,
    fold,
    run_step,
    stored_nbytes,
)
from ovmem.passes.registry import register_pass
from ovmem.passes.schedule import SPLIT_GROUP

__all__ = ["BUFFERS", "SYNC_ALWAYS_OPS", "SYNC_OPS", "Buffer", "LifetimeAnalysis", "buffers", "sync_steps"]

_NO_BUFFER = (Category.WEIGHT, Category.FOLDED)
_PINNED = (Category.STATE, Category.IO)


@attrs.frozen
class Buffer:
    """One runtime buffer: the values stored in it, its category, size and lifetime."""

    root: Value
    """The value that owns the buffer (the end of every member's alias chain)."""
    members: tuple[Value, ...]
    """Every value stored in the buffer, the root first."""
    category: Category
    lifetime: Lifetime

    @property
    def nbytes(self) -> int | None:
        """The largest member's size (``None`` if any size is unknown)."""
        sizes = [stored_nbytes(v) for v in self.members]
        return None if None in sizes else max(sizes)  # type: ignore[type-var]


def _span(value: Value) -> tuple[int, int]:
    start = run_step(value.producer) if value.producer is not None else 0
    start = 0 if start is None else start
    steps = [step for use in value.uses() if (step := run_step(use.node)) is not None]
    return start, max(steps, default=start)


BUFFERS: MetaKey[tuple] = MetaKey("buffers", tuple, "Graph: the runtime buffers the lifetime pass found.")

SYNC_OPS = frozenset({"Reshape", "Broadcast", "Range", "StridedSlice", "Slice", "Tile", "NonZero", "Pad", "Interpolate", "TopK"})
"""Ops whose output shape depends on an input's values: with dynamic shapes the CPU plugin must
finish everything before them (``Node::outputShapeDataDependency``, ``Graph::IdentifySyncPoints``)."""

SYNC_ALWAYS_OPS = frozenset({"Slice", "StridedSlice"})
"""Ops that are sync points whenever their output is dynamic, constant bounds or not."""


def sync_steps(graph: Graph) -> list[int]:
    """Steps at which the CPU plugin synchronises a dynamic-shape inference (rule 7).

    ``Graph::IdentifySyncPoints`` (openvinotoolkit/openvino ``src/plugins/intel_cpu/src/graph.cpp``,
    release 2026.4) takes every dynamic node that is a ``MemoryInput`` or whose
    ``Node::outputShapeDataDependency()`` (``src/plugins/intel_cpu/src/node.cpp``) holds: a port of
    its shape inference's ``get_port_mask()`` fed by a non-constant node. Besides the ops of
    :data:`SYNC_OPS` with computed shape inputs that makes two more kinds of sync point:

    * ``RoPE``: the node is built with ``NgraphShapeInferFactory(op)`` (``RoPE::RoPE`` in
      ``src/plugins/intel_cpu/src/nodes/rope.cpp``, which older releases gave ``EMPTY_PORT_MASK``);
      ``make_shape_inference`` (``src/plugins/intel_cpu/src/shape_inference/shape_inference.cpp``)
      has no entry for ``op::internal::RoPE``, so it gets ``ShapeInferFallback`` whose port mask is
      ``FULL_PORT_MASK``, and every input of a RoPE is computed. Here: a fused ``rope`` kernel's root
      (graph lift) or a ``RoPE`` node (runtime lift).
    * ``Slice``/``StridedSlice`` with a dynamic output, even with constant bounds: measured, not
      explained by the sources read (``StridedSliceShapeInferFactory``'s port mask covers only the
      bound inputs, which are constants). With both rules the planner's blocks equal the plugin's
      allocations for Phi-3-mini int4 at 2048 tokens in bf16 (493.25 MiB: 125.25, 64 x3, 36, 32 x3,
      12 x3, 8) and f32 (800 MiB), and stay equal for Qwen2-0.5B and Llama-3.2-1B, which have no
      such Slice (``research/cpu-planner-trace``).

    A node computed inside another node's kernel (``kernel``) or at compile time is no sync point. A
    shape input counts as computed only if it was in the model as declared (``declared_constant_inputs``):
    ``Model.reshape`` turns a constant special-zero target such as ``[0, 1280]`` into shape arithmetic.
    """
    from ovmem.passes.fuse import fused_kernels  # fuse imports nothing of this module

    rope_roots = fused_kernels(graph).get("rope", set())
    steps = []
    for node in graph.nodes:
        if node.op_type == "ReadValue":
            steps.append(node.order)
            continue
        if KERNEL.is_set(node) or COMPILE_TIME.get(node, False) or SPLIT_GROUP.is_set(node):
            continue  # computed inside a kernel, at compile time, or as one VariadicSplit (schedule)
        if not any(DYNAMIC in DECLARED_SHAPE.get(v, ()) for v in node.outputs):
            continue
        if node.op_type == "RoPE" or node in rope_roots or node.op_type in SYNC_ALWAYS_OPS:
            steps.append(node.order)
        elif node.op_type in SYNC_OPS:
            declared_constant = DECLARED_CONSTANT_INPUTS.get(node, ())
            shape_inputs = [v for port, v in enumerate(node.inputs) if port and port not in declared_constant]
            if any(v.producer is not None and v.producer.op_type != "Constant" for v in shape_inputs):
                steps.append(node.order)
    return steps


def _extend_to_sync(lifetime: Lifetime, syncs: list[int], last: int) -> Lifetime:
    """A lifetime crossing a sync point lasts until the next one at or after its end (or to the end)."""
    first_after_start = bisect.bisect_left(syncs, lifetime.start)
    if first_after_start < len(syncs) and syncs[first_after_start] < lifetime.end:
        at = bisect.bisect_left(syncs, lifetime.end)
        return Lifetime(lifetime.start, syncs[at] if at < len(syncs) else last)
    return lifetime


def buffers(graph: Graph, sync_points: bool = False) -> Iterator[Buffer]:
    """The runtime buffers of ``graph`` by rules 1-7, in execution order of their first value."""
    groups: dict[Value, list[Value]] = {}
    for value in graph.values():
        if CATEGORY.get(value, None) in _NO_BUFFER:
            continue
        root = alias_root(value)
        if CATEGORY.get(root, None) in _NO_BUFFER:
            continue
        groups.setdefault(root, []).append(value)
    last = max(len(graph.nodes) - 1, 0)
    syncs = sync_steps(graph) if sync_points else []
    for root, members in groups.items():
        if root not in members:
            members.insert(0, root)
        kinds = {c for m in members if (c := CATEGORY.get(m, None)) in _PINNED}
        if kinds:
            category = Category.STATE if Category.STATE in kinds else Category.IO
            lifetime = Lifetime(0, last)
        else:
            spans = [_span(m) for m in members]
            category, lifetime = Category.TEMP, Lifetime(min(s for s, _ in spans), max(e for _, e in spans))
            if syncs:
                lifetime = _extend_to_sync(lifetime, syncs, last)
        yield Buffer(root, tuple(members), category, lifetime)


@register_pass
@attrs.frozen
class LifetimeAnalysis(Pass):
    """Groups values into buffers and gives each a category and an inclusive lifetime."""

    name = "lifetime"
    sync_points: bool = False
    """Rule 7 (the CPU plugin with dynamic shapes): stretch lifetimes that cross a sync point."""

    def requires(self, graph: Graph) -> None:
        if any(node.order != i for i, node in enumerate(graph.nodes)):
            raise PassPreconditionError("lifetime: node.order must equal the position in graph.nodes")

    def call(self, graph: Graph) -> PassResult:
        modified = False
        for value in graph.values():  # rule 2: views of weights or folded values hold nothing
            if CATEGORY.get(value, None) not in _NO_BUFFER and CATEGORY.get(alias_root(value), None) in _NO_BUFFER:
                modified |= fold(value, "view of a weight or folded value")
        found = tuple(buffers(graph, self.sync_points))
        if BUFFERS.get(graph, None) != found:
            BUFFERS.set(graph, found)
            modified = True
        for buffer in found:
            for value in buffer.members:
                if CATEGORY.get(value, None) != buffer.category or LIFETIME.get(value, None) != buffer.lifetime:
                    CATEGORY.set(value, buffer.category)
                    LIFETIME.set(value, buffer.lifetime)
                    modified = True
        return PassResult(graph, modified)
