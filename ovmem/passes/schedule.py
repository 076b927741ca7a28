"""``schedule``: run the nodes in the order the CPU plugin executes them.

The plugin does not run a model in ``ov::Model::get_ordered_ops()`` order: ``Graph::SortTopologically``
(openvinotoolkit/openvino ``src/plugins/intel_cpu/src/graph.cpp``) numbers the nodes by a depth-first
walk that visits a node's parents in input-port order before the node itself, starting

  1. from every ``MemoryInput`` (a ``ReadValue``: it switches the memory of its ``MemoryOutput``
     sibling, so it runs first),
  2. then from every output (``outputNodesMap``, by output index),
  3. then from every other node in graph order (``Assign`` sinks and what only they read).

So each input of a node is computed completely, port by port, just before the node. Which tensors
are live together — the planner's input — follows from this order.

Slices of one tensor with constant bounds (Phi-3's fused ``qkv`` cut into Q, K and V) run as one
node: ``GroupedSliceToVSplitOptimization`` (``src/common/transformations/src/transformations/
common_optimizations/optimize_strided_slice.cpp``, part of ``MOCTransformations``) replaces them by a
single ``VariadicSplit``, which the walk reaches with the first of them. All pieces are made at once
and the sliced tensor is freed right after (measured on Phi-3-mini: the fused ``qkv`` output lives 3
steps in the plugin's runtime graph, 72 in the exported order).

A ``VariadicSplit`` has constant split lengths, so its output shapes never wait for data: unlike the
slices it replaces, it is no sync point (``lifetime`` rule 7 skips the slices marked ``split_group``).

Reads: the graph's inputs and ``Result``/``ReadValue`` nodes. Writes: ``graph.nodes`` reordered, every
``node.order``, and the node key ``split_group`` on grouped slices. Run it before ``lifetime`` (time is
the node's position).
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph, Node
from ovmem.ir.meta import MetaKey
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.registry import register_pass

__all__ = ["SPLIT_GROUP", "Schedule", "plugin_order"]

SPLIT_GROUP: MetaKey[tuple] = MetaKey(
    "split_group", tuple, "Node: the slices of one tensor that the plugin runs as one VariadicSplit (schedule)."
)


SLICES = frozenset({"Slice", "StridedSlice"})


def _grouped_slices(graph: Graph) -> dict[Node, list[Node]]:
    """Each slice with constant bounds → every such slice of the same tensor (groups of two or more)."""
    groups: dict[Node, list[Node]] = {}
    for value in graph.values():
        slices = [
            u.node for u in value.uses()
            if u.index == 0 and u.node.op_type in SLICES
            and all(v.producer is not None and v.producer.op_type == "Constant" for v in u.node.inputs[1:])
        ]  # fmt: skip
        if len(slices) > 1:
            for node in slices:
                groups[node] = slices
    return groups


def plugin_order(graph: Graph) -> list[Node]:
    """The nodes in ``Graph::SortTopologically``'s order, grouped slices as one (module doc)."""
    done: set[Node] = set()
    order: list[Node] = []
    grouped = _grouped_slices(graph)

    def visit(root: Node) -> None:  # iterative post-order: parents in port order, then the node
        stack = [(root, 0)]
        while stack:
            node, port = stack.pop()
            if node in done:
                continue
            if port < len(node.inputs):
                stack.append((node, port + 1))
                parent = node.inputs[port].producer
                if parent is not None and parent not in done:
                    stack.append((parent, 0))
                continue
            done.add(node)
            order.append(node)
            for sibling in grouped.get(node, ()):  # one VariadicSplit: every piece now
                if sibling not in done:
                    stack.append((sibling, 0))

    for node in graph.nodes:
        if node.op_type == "ReadValue":
            visit(node)
    for node in graph.nodes:
        if node.op_type == "Result":
            visit(node)
    for node in graph.nodes:
        visit(node)
    return order


@register_pass
@attrs.frozen
class Schedule(Pass):
    """Orders the nodes as the CPU plugin executes them."""

    name = "schedule"

    def call(self, graph: Graph) -> PassResult:
        modified = False
        for node, group in _grouped_slices(graph).items():
            if SPLIT_GROUP.get(node, None) != tuple(group):
                SPLIT_GROUP.set(node, tuple(group))
                modified = True
        order = plugin_order(graph)
        if order != graph.nodes:
            graph.nodes[:] = order
            for i, node in enumerate(graph.nodes):
                node.order = i
            modified = True
        return PassResult(graph, modified)
