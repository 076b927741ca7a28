"""``inplace``: outputs that the runtime writes into an existing buffer instead of a new one.

Each rule is an option (``inplace{eltwise=false}``); the defaults follow the OpenVINO CPU plugin,
which compiles LLMs with dynamic shapes (sources in ``docs/passes.md``):

  1. ``view`` (on): ``Reshape``, ``Squeeze`` and ``Unsqueeze`` reinterpret their input; the output
     is the same buffer (``Reshape::initSupportedPrimitiveDescriptors``: in place, dynamic shapes
     included, unless the input is a constant — then the view is folded with it).
  2. ``concat`` (on): ``Concat`` gathers its inputs in place — each input is written straight into
     its slice of the output — when every declared dimension before the axis is a static 1 and the
     axis dimension is static, and no input is a constant, a model input or a state
     (``Concat::getSupportedDescriptors``). Inputs and output then share one buffer.
  3. ``split`` (on): ``Split`` / ``VariadicSplit`` outputs are views of the input under the same
     condition on the declared input shape (``Split::initSupportedPrimitiveDescriptors``).
  4. ``eltwise`` (``auto``: only where the declared shapes are static, as the plugin's
     ``Eltwise::initSupportedPrimitiveDescriptors`` offers in-place only when
     ``!isDynamicNode() && canBeInPlace()``): an elementwise op writes over its first input
     when every input has this op as its only reader, the first input is not a model input, and it
     has the output's shape and element type.
  5. ``transpose`` (on): a ``Transpose`` that moves only axes of a static size 1 (the others keep
     their order, in the declared shape) is a ``Reshape``, so a view: OpenVINO's
     ``TransposeToReshape`` (``src/common/transformations/src/transformations/common_optimizations/transpose_to_reshape.cpp``)
     rewrites it so before the plugin plans memory — e.g. ``[T, 1, H, D] → [T, H, 1, D]`` in the
     graph openvino.genai compiles.
  6. ``rope`` (``auto``): a fused rotate-half RoPE (``fuse.rope``) writes over its input ``x``, as
     the CPU plugin's ``RoPE`` node does (``src/plugins/intel_cpu/src/nodes/rope.cpp``, ``can_inplace``),
     unless it absorbed
     the Transpose before it (``input_trans0213``) or ``x`` is a slice (``slice_start``/``slice_stop``,
     or the rotated part of a partial rotation); nothing else may read ``x`` (else the plugin copies
     it first, ``Graph::ResolveComplexInplaceConflicts``) and it is no model input. A ViT's ``q``/``k``
     rotated before the head transpose are written over the ``qkv`` buffer; an LLM's RoPE absorbs
     the transpose and writes anew. ``on`` aliases every fused RoPE with a same-size input (a what-if).

Reads: ``category``, ``declared_shape``, ``kernel``, ``folded_by`` and ``compile_time`` (rule 6). Writes: ``alias_of``.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ovmem.ir.core import Graph, Node, Value
from ovmem.ir.lift import DECLARED_SHAPE
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.keys import CATEGORY, COMPILE_TIME, FOLDED_BY, KERNEL, Category, alias
from ovmem.passes.registry import register_pass

__all__ = ["ELTWISE_OPS", "VIEW_OPS", "InPlace"]

VIEW_OPS = frozenset({"Reshape", "Squeeze", "Unsqueeze"})
ELTWISE_OPS = frozenset({
    "Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power", "SquaredDifference", "Mod",
    "FloorMod", "Abs", "Clamp", "Exp", "Log", "Relu", "Sigmoid", "Tanh", "Swish", "Gelu", "HSwish",
    "HSigmoid", "Mish", "SoftPlus", "Elu", "Sqrt", "Negative", "Erf", "Floor", "Ceiling", "Sin", "Cos",
    "Eltwise",  # the CPU plugin's (possibly merged) elementwise node in a runtime graph
})  # fmt: skip
CONCAT_OPS = frozenset({"Concat", "Concatenation"})  # the exported op, the CPU plugin's node (--lift runtime)
_NOT_A_BUFFER = (Category.WEIGHT, Category.FOLDED)
_SLICE_OPS = frozenset({"Slice", "StridedSlice", "Split", "VariadicSplit"})


def _buffer(value: Value) -> bool:
    return CATEGORY.get(value, None) not in _NOT_A_BUFFER


def _axis(node: Node, rank: int) -> int | None:
    axis = node.attributes.get("axis")
    if axis is None and len(node.inputs) > 1:  # Split/VariadicSplit take the axis as an input
        value = node.inputs[1].producer.attributes.get("value") if node.inputs[1].producer else None
        axis = None if value is None else int(value.reshape(-1)[0])
    if axis is None:
        return None
    axis = int(axis)
    return axis + rank if axis < 0 else axis


def _leading_ones(value: Value, axis: int | None) -> bool:
    """Every declared dimension before ``axis`` is a static 1 and the axis dimension is static."""
    declared = DECLARED_SHAPE.get(value, None)
    if axis is None or declared is None or axis >= len(declared):
        return False
    return all(d == 1 for d in declared[:axis]) and declared[axis] >= 0


def _moves_only_ones(node: Node) -> bool:
    """Rule 5: the Transpose's constant order keeps every axis not declared a static 1 in order."""
    order = node.inputs[1].producer.attributes.get("value") if len(node.inputs) > 1 and node.inputs[1].producer else None
    declared = DECLARED_SHAPE.get(node.inputs[0], None)
    if order is None or declared is None or len(declared) != order.size:
        return False
    kept = [int(axis) for axis in order.reshape(-1) if declared[int(axis)] != 1]
    return kept == sorted(kept)


def _static(node: Node) -> bool:
    values = [*node.inputs, *node.outputs]
    return all(-1 not in DECLARED_SHAPE.get(v, (-1,)) for v in values)


@register_pass
@attrs.frozen
class InPlace(Pass):
    """Aliases outputs to the buffers the runtime writes them into."""

    name = "inplace"
    view: bool = True
    concat: bool = True
    split: bool = True
    eltwise: Literal["auto", "on", "off"] = "auto"
    transpose: bool = True
    rope: Literal["auto", "on", "off"] = "auto"

    def call(self, graph: Graph) -> PassResult:
        pinned = {*graph.inputs, *(s.read.outputs[0] for s in graph.states)}
        modified = False
        for node in graph.nodes:
            out = node.outputs[0] if node.outputs else None
            if out is None or not _buffer(out):
                continue
            if self.view and node.op_type in VIEW_OPS and _buffer(node.inputs[0]):
                modified |= alias(out, node.inputs[0])
            elif self.transpose and node.op_type == "Transpose" and _buffer(node.inputs[0]) and _moves_only_ones(node):
                modified |= alias(out, node.inputs[0])
            elif self.concat and node.op_type in CONCAT_OPS and self._concat_in_place(node, pinned):
                for value in node.inputs:
                    modified |= alias(value, out)
            elif self.split and node.op_type in ("Split", "VariadicSplit") and self._split_in_place(node):
                for value in node.outputs:
                    modified |= alias(value, node.inputs[0])
            elif node.op_type in ELTWISE_OPS and self._eltwise_in_place(node, pinned):
                modified |= alias(out, node.inputs[0])
        if self.rope != "off":
            modified |= self._rope(graph, pinned)
        return PassResult(graph, modified)

    def _concat_in_place(self, node: Node, pinned: set[Value]) -> bool:
        out = node.outputs[0]
        inputs = node.inputs
        return (
            len(set(inputs)) == len(inputs)
            and all(_buffer(v) and v not in pinned and v.nbytes for v in inputs)
            and _leading_ones(out, _axis(node, len(out.type.shape)))
        )

    def _split_in_place(self, node: Node) -> bool:
        source = node.inputs[0]
        return _buffer(source) and _leading_ones(source, _axis(node, len(source.type.shape)))

    def _eltwise_in_place(self, node: Node, pinned: set[Value]) -> bool:
        if self.eltwise == "off" or (self.eltwise == "auto" and not _static(node)):
            return False
        first, out = node.inputs[0], node.outputs[0]
        return (
            _buffer(first)
            and first not in pinned
            and first.type == out.type
            and all(len(v.uses()) == 1 for v in node.inputs if _buffer(v))
        )

    def _rope(self, graph: Graph, pinned: set[Value]) -> bool:
        """Rule 6: alias each fused RoPE's output to its input ``x`` (same element type and size)."""
        regions: dict[Node, list[Node]] = {}
        for node in graph.nodes:
            if node.outputs and FOLDED_BY.get(node.outputs[0], "") == "fuse.rope":
                regions.setdefault(KERNEL.get(node), []).append(node)
        modified = False
        for root, inner in regions.items():
            members = {root, *inner}
            out = root.outputs[0]
            outside = [v for n in [*inner, root] for v in n.inputs if v.producer not in members and _buffer(v)]
            same = [v for v in outside if (v.type.dtype, v.nbytes) == (out.type.dtype, out.nbytes) and v not in pinned]
            # the plugin's input 0, x, is the one the rotation slices in halves; cos and sin may be as large
            halved = [v for v in same if any(u.node in members and u.node.op_type in _SLICE_OPS for u in v.uses())]
            x = (halved or same or [None])[0]
            if x is not None and (self.rope == "on" or self._plugin_rope_in_place(members, x)):
                modified |= alias(out, x)
        return modified

    @staticmethod
    def _plugin_rope_in_place(members: set[Node], x: Value) -> bool:
        """``RoPE::initSupportedPrimitiveDescriptors``: no absorbed transpose, no slice of a wider tensor,
        and ``x`` read by nothing else."""
        if any(n.op_type == "Transpose" for n in members):
            return False
        if x.producer is not None and x.producer.op_type in _SLICE_OPS:
            return False  # absorbed as slice_start/slice_stop, or a partial rotation (RoPEFusionIOSlicing)
        return all(u.node in members for u in x.uses() if not COMPILE_TIME.get(u.node, False))
