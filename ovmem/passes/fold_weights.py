"""``fold-weights``: weights count at their stored size; their decompression holds no buffer.

Rules:
  1. Every ``Constant`` output is a weight (category ``weight``), sized as stored: sub-byte element
     types (u4, i4, nf4, f4e2m1) packed, so a compressed model counts what its ``.bin`` holds —
     including the scales and zero points, which are constants too.
  2. A constant read by several nodes (tied embeddings read by ``Gather`` and the LM head) is one
     value, so it counts once; and ``Constant`` nodes whose data OpenVINO stores once (the IR
     serializer writes identical constants once to the ``.bin``, and reading maps them to the same
     bytes) count once too — the later ones are folded by rule ``fold-weights.shared-storage``.
  3. A value computed from weights alone — a decompression subgraph (``Convert`` → ``Subtract``
     zero point → ``Multiply`` scale → ``Reshape``) or an f16 weight's ``Convert`` to f32 — is no
     runtime buffer: OpenVINO marks decompression subgraphs and fuses them into the consuming
     ``MatMul``/``Gather`` (the CPU plugin's ``FullyConnected`` with compressed weights and
     ``GatherCompressed``), and folds other constant subexpressions at compile time
     (``ov::pass::ConstantFolding``). Rule ``fold-weights.decompression``; off with
     ``fold-weights{decompression=false}``. Whether a device keeps a decompressed *copy* of the
     weights is a device question, not a graph one. In a runtime graph (``--lift runtime``) the
     constants the plugin computed while compiling (``compiled_constant``: an f16 scale made f32, a
     reshaped weight) are folded by the same rule: they are derived from the file's weights.

Reads: ``category``, ``constant_storage``, ``compiled_constant``. Writes: ``category`` (``weight``; ``folded`` by rule 3), ``folded_by`` and the
node key ``compile_time`` for rule 3.
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph, Node
from ovmem.passes.base import Pass, PassResult
from ovmem.ir.lift import CONSTANT_STORAGE
from ovmem.ir.lift_runtime import COMPILED_CONSTANT
from ovmem.passes.keys import CATEGORY, Category, fold, fold_node
from ovmem.passes.registry import register_pass

__all__ = ["NOT_FOLDABLE", "FoldWeights"]

NOT_FOLDABLE = frozenset({"Parameter", "ReadValue", "Assign", "Result", "RandomUniform", "Multinomial"})
"""Ops that never run at compile time (inputs, state, sinks, randomness)."""


def _from_weights_only(node: Node, derived: set[Node]) -> bool:
    """Whether every input of ``node`` is a constant or computed from constants alone."""
    return (
        node.op_type not in NOT_FOLDABLE
        and bool(node.inputs)
        and all(v.producer is not None and (v.producer.op_type == "Constant" or v.producer in derived) for v in node.inputs)
    )


@register_pass
@attrs.frozen
class FoldWeights(Pass):
    """Marks constants as weights and folds what is computed from weights alone."""

    name = "fold-weights"
    decompression: bool = True
    """Rule 3: values computed from weights alone hold no runtime buffer."""

    def call(self, graph: Graph) -> PassResult:
        modified = False
        derived: set[Node] = set()
        stored: set[tuple] = set()
        for node in graph.nodes:
            if node.op_type == "Constant":
                value = node.outputs[0]
                storage = CONSTANT_STORAGE.get(value, None)
                if self.decompression and COMPILED_CONSTANT.get(value, False):
                    modified |= fold(value, "fold-weights.decompression")
                elif storage is not None and storage[1] and storage in stored:
                    modified |= fold(value, "fold-weights.shared-storage")
                elif CATEGORY.get(value, None) is not Category.WEIGHT:
                    CATEGORY.set(value, Category.WEIGHT)
                    modified = True
                if storage is not None:
                    stored.add(storage)
            elif self.decompression and _from_weights_only(node, derived):
                derived.add(node)
                modified |= fold_node(node, "fold-weights.decompression")
        return PassResult(graph, modified)
