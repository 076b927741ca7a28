"""``lifetime``: when each tensor is live, and which tensors are pinned for the whole run.

Rules:
  1. Values already classified as weights are left alone (they are not runtime buffers).
  2. A state — the output of ``ReadValue`` or the input of ``Assign`` — is category ``state`` and
     lives from the first to the last step: the runtime keeps variables between runs.
  3. A model input (``Parameter``) or output (read by ``Result``) is category ``io`` and lives from
     the first to the last step: the caller owns those buffers for the whole inference.
  4. Any other value is ``temp`` and lives from its producer's step to its last reader's step
     (inclusive); a value nobody reads lives at its producer's step only.

Time is the node's position in ``graph.nodes`` (``node.order``). Rules 2-3 win over rule 4.

Reads: ``category`` (weights). Writes: ``category`` and ``lifetime``
(:data:`~ovmem.passes.keys.LIFETIME`) on every non-weight value.
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph, Value
from ovmem.passes.base import Pass, PassPreconditionError, PassResult
from ovmem.passes.keys import CATEGORY, LIFETIME, Category, Lifetime
from ovmem.passes.registry import register_pass

__all__ = ["LifetimeAnalysis"]


def _pinned(graph: Graph) -> dict[Value, Category]:
    pinned: dict[Value, Category] = {}
    for value in graph.inputs + graph.outputs:
        pinned[value] = Category.IO
    for state in graph.states:
        pinned[state.read.outputs[0]] = Category.STATE
        if state.assign is not None:
            pinned[state.assign.inputs[0]] = Category.STATE
    return pinned


@register_pass
@attrs.frozen
class LifetimeAnalysis(Pass):
    """Assigns every runtime value a category and an inclusive lifetime."""

    name = "lifetime"

    def requires(self, graph: Graph) -> None:
        if any(node.order != i for i, node in enumerate(graph.nodes)):
            raise PassPreconditionError("lifetime: node.order must equal the position in graph.nodes")

    def call(self, graph: Graph) -> PassResult:
        last = max(len(graph.nodes) - 1, 0)
        pinned = _pinned(graph)
        modified = False
        for value in graph.values():
            category = CATEGORY.get(value, None)
            if category is Category.WEIGHT:
                continue
            if value in pinned:
                category, lifetime = pinned[value], Lifetime(0, last)
            else:
                start = value.producer.order if value.producer is not None else 0
                end = max((use.node.order for use in value.uses()), default=start)
                category, lifetime = Category.TEMP, Lifetime(start, end)
            if CATEGORY.get(value, None) != category or LIFETIME.get(value, None) != lifetime:
                CATEGORY.set(value, category)
                LIFETIME.set(value, lifetime)
                modified = True
        return PassResult(graph, modified)
