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
  4. ``client_copies``: outputs the caller copies once the run is over, while the request keeps its
     own (``client_copy_bytes``). optimum-intel's forward does it to ``logits``
     (``torch.from_numpy(self.request.get_tensor("logits").data).clone()``:
     ``OVModelForCausalLM.forward`` in ``optimum/intel/openvino/modeling_decoder.py`` and the VLM
     language model's in ``modeling_visual_language.py``, optimum-intel 2.2.0) — ``[batch, seq, vocab]``
     f32 more at the end of a prefill. openvino.genai reads the last token's logits in place
     (``runtime="genai"`` sets none).

Without this pass (or with ``inputs=false`` / ``outputs=false``) those tensors are ordinary
temporaries: a what-if for a runtime that streams inputs in and hands outputs off.

Reads: ``graph.inputs``, ``graph.outputs``, ``graph.states``. Writes: ``category`` (``io``, ``state``),
``client_copy_bytes`` (rule 4).
"""

from __future__ import annotations

import attrs

from ovmem.ir.core import Graph, Value
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.keys import CATEGORY, CLIENT_COPY_BYTES, Category
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
    client_copies: tuple[str, ...] = ("logits",)
    """Rule 4: names of the outputs the caller copies after the run (optimum-intel: ``logits``)."""

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
        for value in graph.outputs if self.outputs else ():
            copied = value.nbytes if _copied_by_client(value, self.client_copies) else None
            if CLIENT_COPY_BYTES.get(value, None) == copied:
                continue
            modified = True
            if copied is None:
                CLIENT_COPY_BYTES.clear(value)
            else:
                CLIENT_COPY_BYTES.set(value, copied)
        return PassResult(graph, modified)


def _copied_by_client(value: Value, names: tuple[str, ...]) -> bool:
    """Whether the caller copies this output, asked for by one of ``names`` (``request.get_tensor("logits")``):
    the name is the output's, or that of what a ``Reorder`` (the precision change ``cpu-runtime`` inserts,
    or the plugin's own) writes out."""
    while value.name not in names and value.producer is not None and value.producer.op_type == "Reorder":
        value = value.producer.inputs[0]
    return value.name in names
