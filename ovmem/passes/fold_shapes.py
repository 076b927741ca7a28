"""``fold-shapes``: shape arithmetic is no runtime buffer.

Rules:
  1. ``ShapeOf`` reads a tensor's shape, not its data: once shapes are known its output is a
     compile-time constant, and it does not keep its input alive.
  2. A value of rank 0 or 1 computed only from ``ShapeOf`` outputs and constants (``Gather`` of a
     dimension, ``Concat`` of target shapes, ``Range`` over a length, ...) is shape arithmetic: with
     static shapes ``ov::pass::ConstantFolding`` computes it when the model is compiled; with
     dynamic shapes the plugin evaluates it on a few integers. Either way it is no activation
     buffer.
  3. Larger tensors built from shapes (a ``[1, 1, S, S]`` causal mask from ``Range`` and
     comparisons, say) stay runtime buffers: the runtime compiles LLMs with dynamic shapes and
     computes them at every inference.

Reads: ``category``. Writes: ``category`` (``folded``) and ``folded_by`` on shape values, and the node
key ``compile_time`` on the nodes that compute them.
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph, Node
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.fold_weights import NOT_FOLDABLE
from ovmem.passes.keys import fold_node
from ovmem.passes.registry import register_pass

__all__ = ["FoldShapes"]

SHAPE_SOURCES = frozenset({"ShapeOf"})


@register_pass
@attrs.frozen
class FoldShapes(Pass):
    """Folds ShapeOf and the small shape arithmetic computed from it."""

    name = "fold-shapes"
    max_rank: int = 1
    """Rule 2 folds shape-derived values up to this rank."""

    def call(self, graph: Graph) -> PassResult:
        modified = False
        known: set[Node] = set()  # nodes whose outputs are known once shapes are
        for node in graph.nodes:
            if node.op_type == "Constant":
                known.add(node)
            elif node.op_type in SHAPE_SOURCES:
                known.add(node)
                modified |= fold_node(node, "fold-shapes.shape-of")
            elif (
                node.op_type not in NOT_FOLDABLE
                and node.inputs
                and all(v.producer in known for v in node.inputs)
                and any(v.producer.op_type != "Constant" for v in node.inputs)
                and all(len(v.type.shape) <= self.max_rank for v in node.outputs)
            ):
                known.add(node)
                modified |= fold_node(node, "fold-shapes.arithmetic")
        return PassResult(graph, modified)
