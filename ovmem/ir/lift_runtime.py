"""Lift the graph a device plugin really runs: ``compiled_model.get_runtime_model()``.

:func:`~ovmem.ir.lift.lift` reads the model as exported and ovmem's passes then *emulate* what the
plugin makes of it (fusions, precisions, reorders). :func:`lift_runtime` asks the plugin instead:
it compiles the model as the runtime would (as declared — optimum-intel compiles LLMs with dynamic
shapes — with the given properties) and lifts the runtime model, whose nodes are the plugin's
executable nodes in their execution order, each with

* ``layerType`` — the kernel (``FullyConnected``, ``LLMMLP``, ``RoPE``, ``ScaledDotProductAttention``,
  ``Reorder``, ...), which becomes the node's ``op_type``, except that the plugin's names of the
  graph's edges are spelled as OpenVINO ops so that every pass understands them: ``Input`` →
  ``Parameter``, ``Output`` → ``Result``, ``Const`` → ``Constant``, ``MemoryInput`` → ``ReadValue``,
  ``MemoryOutput`` → ``Assign``;
* ``execOrder`` — the execution order, which becomes ``graph.nodes``' order;
* the output element types — the precision each tensor is stored in;
* ``originalLayersNames`` — the exported ops the node computes (node key :data:`ORIGINAL_LAYERS`).

A dynamic model's runtime graph has dynamic shapes. Each output's concrete shape comes from the
exported model lifted at the requested sizes (:func:`~ovmem.ir.lift.lift`): the op of the same
friendly name, else the last of the node's original layers with an output of that rank; a
``Reorder`` or ``Convert`` the plugin inserted has its input's shape; a variable's value (the
``ScaledDotProductAttention`` output an ``Assign`` writes) has the variable's shape. The runtime
model's own partial shapes are the compiled (declared) shapes (:data:`~ovmem.ir.lift.DECLARED_SHAPE`).
Constants take their data and storage from the exported model by name, so tied weights still count
once; a constant the plugin made while compiling is marked :data:`COMPILED_CONSTANT`. Whatever cannot be resolved keeps a dynamic shape and is counted in
``graph.meta["dynamic_values"]``.

Source of the runtime model's fields (openvinotoolkit/openvino): the keys in
``src/inference/dev_api/openvino/runtime/exec_model_info.hpp`` (``ov::exec_model_info``) and
``Graph::dump()`` (``src/plugins/intel_cpu/src/graph.cpp``), which returns
``dump_graph_as_ie_ngraph_net`` (``src/plugins/intel_cpu/src/graph_dumper.cpp``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from ovmem._lazy import is_model
from ovmem._lazy import openvino as ov
from ovmem.errors import ModelError, UsageError
from ovmem.ir.core import Graph, Node, State, Value
from ovmem.ir.lift import CONSTANT_STORAGE, DECLARED_SHAPE, _display_name, lift, read_model, resolve_model_path
from ovmem.ir.meta import MetaKey
from ovmem.ir.types import DYNAMIC, ELEMENT_BITS, TensorType

__all__ = ["COMPILED_CONSTANT", "EDGE_OPS", "ORIGINAL_LAYERS", "lift_runtime"]

logger = logging.getLogger(__name__)

EDGE_OPS = {"Input": "Parameter", "Output": "Result", "Const": "Constant", "MemoryInput": "ReadValue", "MemoryOutput": "Assign"}
"""The plugin's layer types for a graph's edges, and the OpenVINO op each stands for."""

ORIGINAL_LAYERS: MetaKey[tuple] = MetaKey(
    "original_layers", tuple, "Node: the exported model's ops that this runtime node computes (originalLayersNames)."
)

COMPILED_CONSTANT: MetaKey[bool] = MetaKey(
    "compiled_constant",
    bool,
    "A runtime graph's constant that no exported op names: the plugin computed it from the weights while "
    "compiling (a scale converted to f32, a reshaped weight), so it is no weight of the model's file.",
)


def _rt(op: ov.Node, key: str) -> str:
    info = op.get_rt_info()
    return info[key].astype(str) if key in info else ""


def _declared(output: ov.Output) -> tuple[int, ...] | None:
    pshape = output.get_partial_shape()
    if pshape.rank.is_dynamic:
        return None
    return tuple(d.get_length() if d.is_static else DYNAMIC for d in pshape)


def _dtype(output: ov.Output) -> str:
    name = output.get_element_type().get_type_name()
    return name if name in ELEMENT_BITS else "u8"  # the plugin's empty placeholders are "dynamic" [0]


def _fits(shape: tuple[int, ...], declared: tuple[int, ...] | None) -> bool:
    """Whether a concrete shape is one the declared (partial) shape allows."""
    return declared is not None and len(shape) == len(declared) and all(d in (DYNAMIC, s) for s, d in zip(shape, declared))


def _fill_from_inputs(declared: tuple[int, ...], inputs: list[Value]) -> tuple[int, ...]:
    """Each dynamic dimension from the first input of the same rank whose same dimension was dynamic
    too and is now known: elementwise ops, splits and concats along a static axis keep them."""
    shape = list(declared)
    for axis, dim in enumerate(declared):
        if dim != DYNAMIC:
            continue
        for value in inputs:
            was = DECLARED_SHAPE.get(value, None)
            if was is not None and len(was) == len(declared) and was[axis] == DYNAMIC and value.type.shape[axis] != DYNAMIC:
                shape[axis] = value.type.shape[axis]
                break
    return tuple(shape)


_SAME_SHAPE = frozenset({"Reorder", "Convert", "Eltwise", "Subgraph", "Math"})


def _resolve_from_readers(graph: Graph) -> None:
    """A value still dynamic takes the shape of a reader that keeps shapes (a ``Reorder`` or
    ``Convert``, an elementwise op) and was declared with the same shape: the plugin inserted the
    producer (a ``Gather`` before its conversion, a mask's ``Broadcast``), so no exported op names it."""
    for node in reversed(graph.nodes):
        for value in node.outputs:
            if value.type.is_static:
                continue
            declared = DECLARED_SHAPE.get(value, None)
            for use in value.uses():
                out = use.node.outputs[0] if use.node.outputs else None
                if use.node.op_type in _SAME_SHAPE and out is not None and out.type.is_static and _fits(out.type.shape, declared):
                    value.type = TensorType(value.type.dtype, out.type.shape)
                    break


def lift_runtime(
    model_or_path: ov.Model | str | os.PathLike[str],
    *,
    seq_len: int = 1,
    batch: int = 1,
    past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None,
    device: str = "CPU",
    properties: Mapping[str, Any] | None = None,
    core: ov.Core | None = None,
) -> Graph:
    """Compile ``model_or_path`` on ``device`` and lift its runtime model at the given sizes.

    Arguments as for :func:`~ovmem.ir.lift.lift`; ``properties`` go to ``compile_model``.

    Raises:
        UsageError: a bad size, path or shape override, or a device OpenVINO does not have here.
        ModelError: the model cannot be read or compiled.
    """
    core = core or ov.Core()
    # One model object for both: its unnamed ops keep their generated names through lift's copy
    # and through compilation, and those names are how runtime nodes find their exported ops.
    model = model_or_path if is_model(model_or_path) else read_model(model_or_path, core)
    exported = lift(model, seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes, core=core)
    if not is_model(model_or_path):
        exported.name = _display_name(resolve_model_path(model_or_path))
        exported.meta["source"] = str(resolve_model_path(model_or_path))
    if device not in core.available_devices:
        raise UsageError(f"--lift runtime needs the {device} device, which OpenVINO does not have here")
    try:
        compiled = core.compile_model(model, device, dict(properties or {}))
    except RuntimeError as exc:
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), "unknown error")
        raise ModelError(f"{exported.name}: {device} could not compile it: {first}") from exc
    graph = _RuntimeLifter(exported, compiled.get_runtime_model(), device).graph
    graph.meta["inference_precision"] = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()
    return graph


class _RuntimeLifter:
    """Builds the runtime graph, resolving shapes against the exported one."""

    def __init__(self, exported: Graph, runtime: ov.Model, device: str) -> None:
        self.exported = {node.name: node for node in exported.nodes}
        self.graph = Graph(exported.name)
        self.graph.meta.update(exported.meta, lift="runtime", device=device)
        ops = sorted(runtime.get_ordered_ops(), key=lambda op: int(_rt(op, "execOrder") or 0))
        self.state_shapes = self._state_shapes(ops)
        self.values: dict[tuple[int, int], Value] = {}
        self.taken: set[str] = set()
        self.kept = {  # the file's constants the plugin runs as they are (name, type and shape kept)
            op.get_friendly_name()
            for op in ops
            if _rt(op, "layerType") == "Const"
            and (original := self.exported.get(op.get_friendly_name())) is not None
            and original.op_type == "Constant"
            and original.outputs[0].type == TensorType(_dtype(op.output(0)), _declared(op.output(0)) or (DYNAMIC,))
        }
        self._add_replaced_constants(exported)
        reads: dict[str, Node] = {}
        writes: dict[str, Node] = {}
        for op in ops:
            node = self._add(op)
            if node.op_type == "ReadValue":
                reads[node.attributes.get("variable_id", node.name)] = node
            elif node.op_type == "Assign":
                writes[node.attributes.get("variable_id", node.name)] = node
        self.graph.states = [State(vid, read, writes.get(vid)) for vid, read in reads.items()]
        _resolve_from_readers(self.graph)
        dynamic = [v.name for v in self.graph.values() if not v.type.is_static]
        if dynamic:
            logger.warning("%d runtime values keep dynamic shapes (first: %s)", len(dynamic), dynamic[0])
        self.graph.meta["dynamic_values"] = len(dynamic)

    def _add_replaced_constants(self, exported: Graph) -> None:
        """The model file's constants that the plugin replaced by compiled ones (a u4 weight
        reshaped for its FullyConnected, an f16 scale made f32): unread here, they still hold the
        mapped ``.bin`` pages the plugin read them from."""
        for node in exported.nodes:
            if node.op_type == "Constant" and node.name not in self.kept:
                value = node.outputs[0]
                new = self.graph.add_node(
                    "Constant", (), [value.type], name=node.name, output_names=[self._unique(value.name)],
                    attributes=node.attributes,
                )  # fmt: skip
                if (storage := CONSTANT_STORAGE.get(value, None)) is not None:
                    CONSTANT_STORAGE.set(new.outputs[0], storage)

    def _state_shapes(self, ops: list[ov.Node]) -> dict[tuple[int, int], tuple[int, ...]]:
        """The variable's shape for each runtime output an ``Assign`` (``MemoryOutput``) writes."""
        shapes = {}
        for op in ops:
            original = self.exported.get(op.get_friendly_name())
            if _rt(op, "layerType") == "MemoryOutput" and original is not None and original.op_type == "Assign":
                source = op.input_value(0)
                shapes[(source.get_node().get_instance_id(), source.get_index())] = original.inputs[0].type.shape
        return shapes

    def _add(self, op: ov.Node) -> Node:
        layer = _rt(op, "layerType") or op.get_type_name()
        op_type = EDGE_OPS.get(layer, layer)
        name = op.get_friendly_name()
        original = self.exported.get(name)
        same_op = original is not None and (original.op_type == op_type or layer not in EDGE_OPS)
        inputs = [self.values[(v.get_node().get_instance_id(), v.get_index())] for v in op.input_values()]
        outputs = [] if op_type in ("Result", "Assign") else list(op.outputs())
        types = [TensorType(_dtype(o), self._shape(op, o, original, inputs)) for o in outputs]
        names = []
        for i, o in enumerate(outputs):
            wanted = original.outputs[i].name if same_op and i < len(original.outputs) else f"{name}:{i}"
            names.append(self._unique(sorted(o.get_names())[0] if o.get_names() else wanted))
        attributes = dict(original.attributes) if same_op else {}
        node = self.graph.add_node(op_type, inputs, types, name=name, output_names=names, attributes=attributes)
        originals = tuple(n for n in _rt(op, "originalLayersNames").split(",") if n)
        if originals:
            ORIGINAL_LAYERS.set(node, originals)
        for o, value in zip(outputs, node.outputs):
            self.values[(op.get_instance_id(), o.get_index())] = value
            if (declared := _declared(o)) is not None:
                DECLARED_SHAPE.set(value, declared)
        if op_type == "Constant" and name not in self.kept:
            COMPILED_CONSTANT.set(node.outputs[0], True)
        elif op_type == "Constant" and (storage := CONSTANT_STORAGE.get(original.outputs[0], None)):
            CONSTANT_STORAGE.set(node.outputs[0], storage)
        elif op_type == "Parameter":
            self.graph.inputs.append(node.outputs[0])
        elif op_type == "Result" and same_op:  # not the plugin's stubs on unused outputs
            self.graph.outputs.append(node.inputs[0])
        return node

    def _shape(self, op: ov.Node, output: ov.Output, original: Node | None, inputs: list[Value]) -> tuple[int, ...]:
        declared = _declared(output)
        if declared is not None and DYNAMIC not in declared:
            return declared
        key = (op.get_instance_id(), output.get_index())
        if key in self.state_shapes:
            return self.state_shapes[key]
        candidates = [original] if original is not None else []
        candidates += [self.exported[n] for n in reversed(_rt(op, "originalLayersNames").split(",")) if n in self.exported]
        for node in candidates:
            if output.get_index() < len(node.outputs):
                shape = node.outputs[output.get_index()].type.shape
                if DYNAMIC not in shape and _fits(shape, declared):
                    return shape
        if declared is None:
            return (DYNAMIC,)
        if 0 in declared:  # an empty tensor (a variable's initial value, say): its other sizes do not matter
            return tuple(1 if d == DYNAMIC else d for d in declared)
        return _fill_from_inputs(declared, inputs)

    def _unique(self, name: str) -> str:
        base, n = name, 1
        while name in self.taken:
            n += 1
            name = f"{base}#{n}"
        self.taken.add(name)
        return name
