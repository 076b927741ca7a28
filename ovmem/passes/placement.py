"""``placement``: where the model's inputs, outputs and states live, and for how long.

Rules (OpenVINO CPU plugin; see ``docs/passes.md`` for the sources):
  1. ``inputs``: a model input is the caller's tensor, bound without a copy for the whole inference
     (``SyncInferRequest::change_default_ptr``) — category ``io``, pinned.
  2. ``outputs``: a model output is written straight into the request's output tensor, which the
     caller holds after the run (``Graph::AllocateDynamicOutputEdges``) — category ``io``, pinned.
     Its size is the output's shape: full ``[batch, seq, vocab]`` logits unless the graph slices.
  3. States (the ``ReadValue`` output and the ``Assign`` input of each variable) live in the
     variable's own memory across inferences — category ``state``, pinned; their size is the
     ``states`` pass's business.

Without this pass (or with ``inputs=false`` / ``outputs=false``) those tensors are ordinary
temporaries: a what-if for a runtime that streams inputs in and hands outputs off.

Reads: ``graph.inputs``, ``graph.outputs``, ``graph.states``. Writes: ``category`` (``io``, ``state``).
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph, Value
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.keys import CATEGORY, Category
from ovmem.passes.registry import register_pass

__all__ = ["Placement"]


@register_pass
@attrs.frozen
class Placement(Pass):
    """Pins model inputs, outputs and states."""

    name = "placement"
    inputs: bool = True
    """Rule 1: inputs are caller-owned buffers for the whole run."""
    outputs: bool = True
    """Rule 2: outputs are caller-owned buffers for the whole run."""

    def call(self, graph: Graph) -> PassResult:
        pinned: dict[Value, Category] = {}
        for value in (graph.inputs if self.inputs else []) + (graph.outputs if self.outputs else []):
            pinned[value] = Category.IO
        for state in graph.states:
            pinned.update(dict.fromkeys(state.values, Category.STATE))
        modified = False
        for value, category in pinned.items():
            if CATEGORY.get(value, None) is not category:
                CATEGORY.set(value, category)
                modified = True
        return PassResult(graph, modified)
