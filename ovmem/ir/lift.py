"""Lift an ``openvino.Model`` (or an IR on disk) into ovmem's IR at concrete shapes.

OpenVINO reads and reshapes the model (see :mod:`ovmem.ir.specialize`); this module walks
``Model.get_ordered_ops()`` — OpenVINO's own topological order, the execution order before any plugin
reorders — and builds one :class:`~ovmem.ir.core.Node` per op and one
:class:`~ovmem.ir.core.Value` per output. States come back as ``ReadValue`` / ``Assign`` nodes and
:class:`~ovmem.ir.core.State` records. The caller's model is never modified (a copy is reshaped).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ovmem._lazy import is_model
from ovmem._lazy import openvino as ov
from ovmem.errors import ModelError, UsageError
from ovmem.ir.core import Graph, State, Value
from ovmem.ir.meta import MetaKey
from ovmem.ir.specialize import STATE_READ_PREFIX, STATE_WRITE_PREFIX, Specialization, specialize
from ovmem.ir.types import DYNAMIC, TensorType
from ovmem.remote.source import is_remote

__all__ = [
    "CONSTANT_STORAGE", "DECLARED_CONSTANT_INPUTS", "DECLARED_SHAPE", "SMALL_CONSTANT_ELEMENTS", "lift", "read_model",
    "resolve_model_path",
]  # fmt: skip

logger = logging.getLogger(__name__)

SMALL_CONSTANT_ELEMENTS = 64
"""Constants with at most this many elements keep their data in ``attributes["value"]`` (shape
arithmetic needs it; large weights are never copied)."""

DEFAULT_MODEL_FILE = "openvino_model.xml"

DECLARED_SHAPE: MetaKey[tuple] = MetaKey(
    "declared_shape",
    tuple,
    "The value's shape as the model declares it, before specialisation (-1 where dynamic): the runtime "
    "compiles the model as declared, and some of its rules (in-place Concat, say) look at that.",
)
DECLARED_CONSTANT_INPUTS: MetaKey[tuple] = MetaKey(
    "declared_constant_inputs",
    tuple,
    "The node's input ports a Constant fed in the model as declared but no longer does after "
    "specialisation: ``Model.reshape`` turns a Reshape's constant special-zero target before a MatMul into "
    "shape arithmetic, which the runtime, compiling the model as declared, never sees.",
)
CONSTANT_STORAGE: MetaKey[tuple] = MetaKey(
    "constant_storage",
    tuple,
    "(address, bytes) of a Constant's data as OpenVINO holds it: the IR serializer stores identical "
    "constants once in the .bin and reading maps them to one place, so equal storage means one copy.",
)


def resolve_model_path(path: str | os.PathLike[str]) -> Path:
    """The ``.xml`` to read for ``path``: the file itself, or the one model a folder holds.

    A folder exported by optimum-intel holds ``openvino_model.xml``; any other folder must hold
    exactly one ``.xml``. A remote model (``hf://…``, ``http(s)://…``) is fetched into ovmem's cache
    first (:func:`ovmem.remote.fetch_model`). Raises :class:`UsageError` when there is nothing (or too
    much) to choose.
    """
    if is_remote(path):
        from ovmem.remote import fetch_model  # here: fetching reads ovmem.ir

        return resolve_model_path(fetch_model(path).path)
    p = Path(path)
    if not p.exists():
        raise UsageError(f"{p}: no such file or folder")
    if p.is_dir():
        if (p / DEFAULT_MODEL_FILE).is_file():
            return p / DEFAULT_MODEL_FILE
        xmls = sorted(x.name for x in p.glob("*.xml"))
        if len(xmls) == 1:
            return p / xmls[0]
        if not xmls:
            raise UsageError(f"{p}: the folder holds no OpenVINO model (.xml)")
        raise UsageError(f"{p}: the folder holds {len(xmls)} models ({', '.join(xmls)}); name one")
    return p


def read_model(path: str | os.PathLike[str], core: ov.Core | None = None) -> ov.Model:
    """Read an OpenVINO IR, turning OpenVINO's failures into one-line :class:`ModelError`."""
    xml = resolve_model_path(path)
    if xml.suffix != ".xml":
        raise UsageError(f"{xml}: not an OpenVINO IR (expected a .xml file or a folder)")
    with open(xml, "rb") as f:
        head = f.read(512).lstrip()
    if not (head.startswith(b"<?xml") or head.startswith(b"<net")):
        raise ModelError(f"{xml}: not an OpenVINO IR (no XML <net> header)")
    weights = xml.with_suffix(".bin")
    if not weights.is_file():
        raise ModelError(f"{xml}: its weights file {weights.name} is missing")
    try:
        return (core or ov.Core()).read_model(str(xml))
    except RuntimeError as exc:
        text = str(exc)
        if "Incorrect weights in bin file" in text:
            raise ModelError(f"{weights}: truncated or not the weights of {xml.name}") from exc
        if "Empty weights data" in text:
            raise ModelError(f"{weights}: empty or unreadable") from exc
        detail = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("Exception from", "Check "))]
        raise ModelError(f"{xml}: OpenVINO could not read it: {detail[0] if detail else 'unknown error'}") from exc


RT_INFO_ATTRIBUTES = ("num_k_heads", "k_head_size", "num_v_heads", "v_head_size")
"""Integer rt_info entries kept as attributes: ``SDPAToPagedAttention`` leaves the heads and head
sizes of each ``PagedAttentionExtension`` there (the op's inputs are ``[tokens, heads·size]``)."""


def _dims(pshape: ov.PartialShape) -> tuple[int, ...] | None:
    """The dimensions (-1 where dynamic: ``?`` or an interval ``a..b``); ``None`` for a dynamic rank.

    Read from the shape's text, ``[1,?,896]``: ~8x faster than iterating an ``ov.PartialShape``'s
    dimensions through the bindings, which is most of a lift's walk otherwise."""
    text = str(pshape)
    if text == "[...]":
        return None
    inner = text[1:-1]
    return tuple(int(d) if d.isdigit() else DYNAMIC for d in inner.split(",")) if inner else ()


def _tensor_type(output: ov.Output) -> TensorType:
    dims = _dims(output.get_partial_shape())
    return TensorType(output.get_element_type().get_type_name(), (DYNAMIC,) if dims is None else dims)


def _storage(op: ov.Node) -> tuple[int, int] | None:
    """Address and size of a constant's bytes: constants the IR stores once share them."""
    try:
        tensor = op.get_tensor_view()
        return int(tensor.data.ctypes.data), int(tensor.get_byte_size())
    except Exception:  # strings and exotic types have no flat buffer view
        return None


def _attributes(op: ov.Node, op_type: str) -> dict[str, Any]:
    try:
        attributes = dict(op.get_attributes())
    except Exception:  # some ops cannot report every attribute to Python
        attributes = {}
    if op_type == "PagedAttentionExtension":
        info = op.get_rt_info()
        attributes.update({key: info[key].astype(int) for key in RT_INFO_ATTRIBUTES if key in info})
    if op_type == "Constant":
        out = op.output(0)
        dims = _dims(out.get_partial_shape())
        if dims is not None and DYNAMIC not in dims and math.prod(dims) <= SMALL_CONSTANT_ELEMENTS:
            element = out.get_element_type()
            if element.bitwidth >= 8 and element.get_type_name() != "string":
                import numpy as np  # only here: `import ovmem.ir` (the command line, a replayed answer) without numpy

                attributes["value"] = np.array(op.get_data(), copy=True)
    return attributes


def _value_name(output: ov.Output, node_name: str, taken: set[str]) -> str:
    names = sorted(output.get_names())
    return _unique(names[0] if names else f"{node_name}:{output.get_index()}", taken)


def _unique(name: str, taken: set[str]) -> str:
    base, n = name, 1
    while name in taken:
        n += 1
        name = f"{base}#{n}"
    taken.add(name)
    return name


def lift(
    model_or_path: ov.Model | str | os.PathLike[str],
    *,
    seq_len: int = 1,
    batch: int = 1,
    past_len: int = 0,
    shapes: dict[str, tuple[int, ...]] | None = None,
    core: ov.Core | None = None,
    finish: Callable[[Graph], object] | None = None,
) -> Graph:
    """Lift a model into a :class:`Graph` with static shapes for one run.

    Args:
        model_or_path: an ``openvino.Model`` (not modified) or a path to an IR ``.xml`` or folder.
        seq_len: tokens processed in this run.
        batch: batch size.
        past_len: tokens already in the KV cache (0 = prefill).
        shapes: explicit input shapes by name, overriding the rules of :mod:`ovmem.ir.specialize`.
        core: an ``openvino.Core`` to read with (a new one by default).
        finish: called on the lifted graph before shapes that stayed dynamic are counted (a
            runtime's own lift settles its special inputs and outputs there: :mod:`ovmem.genai`).

    Raises:
        UsageError: a bad size, path or shape override.
        ModelError: the model cannot be read or reshaped.
    """
    spec = Specialization(seq_len=seq_len, batch=batch, past_len=past_len, shapes=shapes or {})
    if is_model(model_or_path):
        model, source = model_or_path.clone(), None
    else:
        source = resolve_model_path(model_or_path)
        model = read_model(source, core)
    declared, constant_inputs = _as_declared(model)
    dynamic_model = any(p.get_output_partial_shape(0).is_dynamic for p in model.get_parameters())
    ir_ops = len(model.get_ops())  # as read, before specialisation: what read_model and the plugin keep per op
    state_info = specialize(model, spec)

    graph = Graph(_display_name(source) if source else model.get_friendly_name() or "model")
    graph.meta.update(
        source=str(source) if source else None,
        seq_len=spec.seq_len,
        batch=spec.batch,
        past_len=spec.past_len,
        shapes=dict(spec.shapes),
        rt_info=_runtime_options(model),
        dynamic_model=dynamic_model,
        ir_ops=ir_ops,
    )
    values: dict[tuple[int, int], Value] = {}  # (node instance id, port) -> value
    taken: set[str] = set()
    reads: dict[str, Any] = {}
    writes: dict[str, Any] = {}
    for order, op in enumerate(model.get_ordered_ops()):
        op_type, name = op.get_type_name(), op.get_friendly_name()
        if name == op.get_name():  # never named: OpenVINO's process-wide counter; use a stable one
            name = f"{op_type}@{order}"
        attributes = _attributes(op, op_type)
        inputs = [values[(v.get_node().get_instance_id(), v.get_index())] for v in op.input_values()]
        if name.startswith(STATE_READ_PREFIX):
            variable_id = name[len(STATE_READ_PREFIX) :]
            info = state_info[variable_id]
            op_type, name = "ReadValue", str(info.get("original_name", variable_id))
            attributes = {k: v for k, v in info.items() if k.startswith("variable_")}
        elif name.startswith(STATE_WRITE_PREFIX):
            variable_id = name[len(STATE_WRITE_PREFIX) :]
            op_type = "Assign"
            name = str(state_info[variable_id].get("assign_name", variable_id))
            attributes = {"variable_id": variable_id}
        # Result and Assign pass their input through; their own output is not a new tensor.
        outputs = [] if op_type in ("Result", "Assign") else [op.output(i) for i in range(op.get_output_size())]
        names = [_value_name(o, name, taken) for o in outputs]
        if op_type == "ReadValue":  # the state before this step is known by its variable id
            names = [_unique(attributes["variable_id"], taken)]
        node = graph.add_node(
            op_type,
            inputs,
            [_tensor_type(o) for o in outputs],
            name=name,
            output_names=names,
            attributes=attributes,
        )
        if op_type == "Constant" and (storage := _storage(op)) is not None:
            CONSTANT_STORAGE.set(node.outputs[0], storage)
        replaced = tuple(
            port for port in constant_inputs.get(op.get_instance_id(), ())
            if op.input_value(port).get_node().get_type_name() != "Constant"
        )  # fmt: skip
        if replaced:
            DECLARED_CONSTANT_INPUTS.set(node, replaced)
        for o, value in zip(outputs, node.outputs):
            values[(op.get_instance_id(), o.get_index())] = value
            if (op.get_instance_id(), o.get_index()) in declared:
                DECLARED_SHAPE.set(value, declared[(op.get_instance_id(), o.get_index())])
        if op_type == "ReadValue":
            reads[attributes["variable_id"]] = node
        elif op_type == "Assign":
            writes[attributes["variable_id"]] = node
        elif op_type == "Parameter":
            graph.inputs.append(node.outputs[0])
        elif op_type == "Result":
            graph.outputs.append(node.inputs[0])
    graph.states = [State(vid, read, writes.get(vid)) for vid, read in reads.items()]
    if finish is not None:
        finish(graph)
    dynamic = [v.name for v in graph.values() if not v.type.is_static]
    if dynamic:
        logger.warning("%d values keep dynamic shapes after specialisation (first: %s)", len(dynamic), dynamic[0])
    graph.meta["dynamic_values"] = len(dynamic)
    return graph


def _as_declared(model: ov.Model) -> tuple[dict[tuple[int, int], tuple[int, ...]], dict[int, tuple[int, ...]]]:
    """Before specialisation: each output's shape as the model declares it (-1 where dynamic), by (node
    instance id, port); and each node's input ports a Constant feeds, by node instance id."""
    shapes, constant_inputs = {}, {}
    for op in model.get_ordered_ops():
        node_id = op.get_instance_id()
        for o in op.outputs():
            if (dims := _dims(o.get_partial_shape())) is not None:
                shapes[(node_id, o.get_index())] = dims
        ports = tuple(i for i, v in enumerate(op.input_values()) if v.get_node().get_type_name() == "Constant")
        if ports:
            constant_inputs[node_id] = ports
    return shapes, constant_inputs


def _display_name(xml: Path) -> str:
    """The export folder's name for ``openvino_model.xml`` (exports all call it that), else the file stem."""
    return xml.resolve().parent.name if xml.name == DEFAULT_MODEL_FILE else xml.stem


def _runtime_options(model: ov.Model) -> dict[str, str]:
    """The IR's ``rt_info`` ``runtime_options`` (``KV_CACHE_PRECISION``, ...), as strings."""
    try:
        if not model.has_rt_info(["runtime_options"]):
            return {}
        options = model.get_rt_info(["runtime_options"])
        return {str(k): (v.astype(str) if isinstance(v, ov.OVAny) else str(v)) for k, v in options.astype(dict).items()}
    except Exception:  # rt_info formats vary between OpenVINO releases
        logger.debug("runtime_options not readable", exc_info=True)
        return {}
