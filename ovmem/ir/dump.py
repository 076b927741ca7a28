"""``Graph.dump()``: a stable, readable listing of a graph and its analysis results."""

from __future__ import annotations

from typing import Any

import numpy as np

from ovmem.ir.core import Graph, Node, Value
from ovmem.units import format_bytes

__all__ = ["dump_graph"]

_HIDDEN_ATTRIBUTES = {"Constant": {"element_type", "shape"}, "Parameter": {"element_type", "shape"}}


def _short(value: Any, limit: int = 48) -> str:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


_HIDDEN_META = {"declared_shape", "constant_storage"}  # run-specific or noisy; the type says what matters


def _meta(meta: dict[str, Any]) -> str:
    return "".join(f" {key}={_ref(meta[key])}" for key in sorted(meta) if key not in _HIDDEN_META)


def _ref(value: Any) -> str:
    return f"%{value.name}" if isinstance(value, Value) else _short(value)


def _value(v: Value) -> str:
    return f"%{v.name}: {v.type} ({format_bytes(v.nbytes)}){_meta(v.meta)}"


def _node(node: Node) -> list[str]:
    hidden = _HIDDEN_ATTRIBUTES.get(node.op_type, set())
    attrs = ", ".join(f"{k}={_short(v)}" for k, v in sorted(node.attributes.items()) if k not in hidden)
    args = ", ".join(f"%{v.name}" for v in node.inputs)
    head = f"#{node.order} {node.op_type} {node.name!r}({args})"
    head += f" {{{attrs}}}" if attrs else ""
    head += _meta(node.meta)
    return [head] + [f"    -> {_value(v)}" for v in node.outputs]


def dump_graph(graph: Graph) -> str:
    """The graph as text: header, inputs, outputs, states, then every node in execution order."""
    facts = ", ".join(f"{k}={graph.meta[k]}" for k in ("seq_len", "batch", "past_len") if k in graph.meta)
    lines = [f"graph {graph.name!r} ({facts}){_meta({k: v for k, v in graph.meta.items() if k.startswith('ovmem.')})}"]
    lines += [f"  input  %{v.name}: {v.type} ({format_bytes(v.nbytes)})" for v in graph.inputs]
    lines += [f"  output %{v.name}: {v.type} ({format_bytes(v.nbytes)})" for v in graph.outputs]
    lines += [f"  state  {s.variable_id}: {s.type} ({format_bytes(s.type.nbytes)})" for s in graph.states]
    for node in graph.nodes:
        lines += _node(node)
    return "\n".join(lines) + "\n"
