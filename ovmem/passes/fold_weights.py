"""``fold-weights``: count the model's constants as weights, at their stored size.

Rules:
  1. Every ``Constant`` output is a weight (category ``weight``), sized as stored: sub-byte element
     types (u4, i4, nf4, f4e2m1) packed, so a compressed model counts what its ``.bin`` holds.
  2. A constant read by several nodes (tied embeddings read by ``Gather`` and the LM head) is one
     value, so it counts once.

Reads: nothing. Writes: ``category`` (:data:`~ovmem.passes.keys.CATEGORY`) on constant values.
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.keys import CATEGORY, Category
from ovmem.passes.registry import register_pass

__all__ = ["FoldWeights"]


@register_pass
@attrs.frozen
class FoldWeights(Pass):
    """Marks constants as weights."""

    name = "fold-weights"

    def call(self, graph: Graph) -> PassResult:
        modified = False
        for node in graph.nodes:
            if node.op_type != "Constant":
                continue
            for value in node.outputs:
                if CATEGORY.get(value, None) is not Category.WEIGHT:
                    CATEGORY.set(value, Category.WEIGHT)
                    modified = True
        return PassResult(graph, modified)
