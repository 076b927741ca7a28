"""Which layer of a model a node or a value belongs to, from OpenVINO friendly names.

Exporters name nodes after the module that made them: ``model.layers.3.mlp/...`` (optimum-intel
prefixes ``__module.``, and the weights it keeps ``self.``), ``transformer.h.5.attn``,
``vision_model.encoder.layers.0.self_attn``, ``visual.blocks.2``. The layer key is that name up to
and including the layer index. Nodes that no module named (``Constant_123``, ``Add_77``) take the
layer of the nearest named nodes that read what they compute, when those agree on one layer; a
node named after something else (``model.embed_tokens``, ``attention_mask``) is :data:`OTHER`.
"""

from __future__ import annotations

import re

from ovmem.ir.core import Graph, Node, Value

__all__ = ["OTHER", "LayerNames", "layer_key"]

OTHER = "other"
"""The key of everything outside a numbered layer (embeddings, the head, shared masks and tables)."""

_PREFIXES = ("__module.", "self.")
_LAYER = re.compile(r"^((?:[A-Za-z_]\w*\.)*?(?:layers|layer|h|blocks|block|resblocks)\.\d+)(?=[./:]|$)")
_ANONYMOUS = re.compile(r"^(?:[A-Za-z]+(?:_\d+)+(?:_[a-z]+)?|\d+)$")  # Add_77, Constant_13312_compressed, 161
_SEARCH_DEPTH = 8
_SEARCH_NODES = 64


def layer_key(name: str) -> str | None:
    """The layer prefix of a friendly name (``model.layers.3``), ``None`` if it names no layer."""
    for prefix in _PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    match = _LAYER.match(name)
    return match.group(1) if match else None


class LayerNames:
    """Layer keys of one graph's nodes and values, memoised (a graph has thousands of nodes)."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self._nodes: dict[Node, str] = {}

    def of_node(self, node: Node) -> str:
        """The node's own layer, else the one layer its nearest named readers are in, else :data:`OTHER`."""
        if node not in self._nodes:
            key = layer_key(node.name)
            if key is None:
                key = self._from_readers(node.outputs) if _ANONYMOUS.match(node.name) else OTHER
            self._nodes[node] = key
        return self._nodes[node]

    def of_value(self, value: Value) -> str:
        """The layer of the node that produces ``value`` (see :meth:`of_node`)."""
        if value.producer is None:
            return self._from_readers((value,))
        return self.of_node(value.producer)

    def _from_readers(self, values: tuple[Value, ...]) -> str:
        # breadth first through anonymous readers; the first level with a named one decides
        frontier, seen = list(values), 0
        for _ in range(_SEARCH_DEPTH):
            readers = {use.node for v in frontier for use in v.uses()}
            named = [node for node in readers if not _ANONYMOUS.match(node.name)]
            if named:
                keys = {layer_key(node.name) or OTHER for node in named}
                return keys.pop() if len(keys) == 1 else OTHER
            seen += len(readers)
            if not readers or seen > _SEARCH_NODES:
                break
            frontier = [out for node in readers for out in node.outputs]
        return OTHER
