"""ovmem's dataflow IR: an OpenVINO model lifted to static shapes, nodes in execution order."""

from __future__ import annotations

from ovmem.ir.core import Graph, Node, State, Use, Value
from ovmem.ir.lift import lift, read_model, resolve_model_path
from ovmem.ir.meta import ALL_KEYS, MetaKey
from ovmem.ir.specialize import Specialization
from ovmem.ir.types import DYNAMIC, TensorType

__all__ = [
    "ALL_KEYS",
    "DYNAMIC",
    "Graph",
    "MetaKey",
    "Node",
    "Specialization",
    "State",
    "TensorType",
    "Use",
    "Value",
    "lift",
    "read_model",
    "resolve_model_path",
]
