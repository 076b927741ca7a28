"""``cpu-runtime``: what the OpenVINO CPU plugin stores differently from the graph as exported.

Rules (sources in ``docs/cpu-plugin-notes.md``, sections 1, 4 and 5):
  1. ``precision``: float temporaries are stored in the inference precision — bf16 where the
     target CPU has AVX512-BF16 or AMX, else f32 (``auto``: the target's default, the plugin's
     ``INFERENCE_PRECISION_HINT`` there, :mod:`ovmem.target`) — except the rotary ``Cos``/``Sin`` tables, which stay f32
     (``MarkRopeInputsToKeepInMixedPrecision``); i64 temporaries are i32 (``ConvertPrecision``).
     Model inputs, outputs and states keep their types (``EnforceInferencePrecision``).
  2. In bf16/f16 mode a float model output is computed in that precision into an internal buffer
     and a ``Reorder`` writes the f32 output tensor: for logits an extra ``seq × vocab × 2`` bytes.
     The pass inserts that ``Reorder`` node — unless a FullyConnected whose weight is stored in a
     type its executor reads as it is (bf16 or f32 weights under bf16, f16 under f16) writes the
     output: the oneDNN FC type mapping keeps such a node's f32 destination (``dnnlFCTypeMapping`` in
     ``src/plugins/intel_cpu/src/nodes/executors/fullyconnected_implementations.cpp``: row
     ``{_bf16, _bf16 | _f32, _any, _bf16 | _f32}`` bypasses the destination type, the rows for
     weights in another float or integer type use the source's). Measured: the fp32 export of
     Qwen2-0.5B has no logits ``Reorder``; its fp16 and int4 exports have one.
  3. Every FullyConnected (a ``MatMul`` whose weight is a constant or computed from constants)
     gets the executor's packed copy of its weight in anonymous memory, next to the mapped ``.bin``
     (``useWeightsDecompressionImpl``): f16 weights are repacked at their size in bf16 mode and
     kept f16 in f32 mode for LLMs (SDPA plus variables), but widened to f32 for other models;
     int4/int8 weights stay compressed, their f16 scales become f32 and their zero points f32
     (``DnnlFCPrimitive``, ``src/plugins/intel_cpu/src/nodes/executors/dnnl/dnnl_fullyconnected_primitive.cpp``:
     ``dstPrc = useDynamicQuantization ? u8 : f32``; dynamic quantization needs f32 activations
     and VNNI, and is not modelled: there the estimate is 3 bytes per zero point high). The
     embedding ``Gather`` reads the original, so a tied LM head holds a second copy.
     A fused gated MLP (``LLMMLP``) declares its float weight ports f16
     (``src/plugins/intel_cpu/src/nodes/llm_mlp.cpp``, ``LLMMLP::initSupportedPrimitiveDescriptors``:
     ``weightPrecision = ov::element::f16``), so a weight stored otherwise (an ``--weight-format fp32``
     export) first gets a constant ``Reorder`` to f16 — 2 bytes per element, kept by the graph — before
     the executor packs it (measured: Qwen2-0.5B fp32, +598 MiB anonymous at compile time against the
     fp16 export; its 72 MLP weights in f16 are 627 MiB).

  4. A weight read only by lookups — an embedding ``Gather``, through its decompression — stays in
     the memory-mapped ``.bin`` (no packed copy) and only the pages a lookup touches become
     resident: per index read (the run's, and one per sequence for each of ``new_tokens`` decode steps
     after it), the row's pages or the kernel's fault-around window, whichever is larger (``FAULT_AROUND_BYTES``: Linux maps 64 KiB of a file around each page fault,
     ``do_fault_around`` in ``mm/memory.c``), at most the whole table. A table also read by a
     FullyConnected (tied embeddings) is read whole when it is packed.

  5. A compressed (int8/int4) weight read through its decompression by anything but a
     FullyConnected or a lookup — a ``Convolution`` (a vision encoder's patch embedding), an
     ``Add`` — is constant-folded when the model compiles: the plugin keeps an f32 constant of the
     weight's shape (measured: Qwen2.5-VL's int8 ``[1280, 3, 2, 14, 14]`` patch embedding is a
     5.74 MiB f32 ``Const`` in the runtime model), next to the mapped ``.bin`` pages folding read.
  6. A scalar elementwise op after data movement (``Gather``, ``Reshape``, ``Transpose``, ...) that starts at
     a constant is moved onto the constant and folded into a new one of its size: Gemma's
     ``embed_tokens(ids) * sqrt(hidden)`` becomes a scaled copy of the whole table in anonymous memory
     (``MoveEltwiseUpThroughDataMovScalar``,
     ``src/common/transformations/src/transformations/common_optimizations/move_eltwise_up_data_movement.cpp``,
     registered in the CPU plugin's ``PostLpt``; ``ConstantFolding`` in ``ConvertToCPUSpecificOpset``).
     Each op moved through must have one reader and keep its element type — an f16 table's
     decompression ``Convert`` stops the move, so only tables stored in the compute type are copied
     (measured: Gemma-3-4B's fp32 text-embedding model +2,567 MiB anonymous at compile time, a
     ``Const Multiply`` of ``[262208, 2560]`` f32 in the runtime model; its fp16 export none).

  Every f32 constant is read whole when the model compiles — ``Input::cloneBlobIfRequired``
  (``src/plugins/intel_cpu/src/nodes/input.cpp``) scans it for subnormals and, under bf16, values beyond
  bf16's range — so rule 4 does not apply to f32 tables: all their pages become resident.

On a graph lifted from the compiled model (``--lift runtime``) rules 1 and 2 are already in the
graph's types and nodes: only rule 3 runs, on the plugin's ``FullyConnected``, ``LLMMLP`` and
``QKVProjection`` nodes.

Reads: ``category``, ``folded_by``, the graph's ``target``. Writes: ``stored_type`` on temporaries, ``weight_copy_bytes``
on FullyConnected weights, ``resident_bytes`` on lookup tables, and inserts ``Reorder`` nodes
after float outputs.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ovmem.ir.core import Graph, Node, Value
from ovmem.ir.types import TensorType
from ovmem.passes.base import Pass, PassResult
from ovmem.passes.fuse import fused_kernels
from ovmem.passes.keys import (
    CATEGORY, FOLDED_BY, KERNEL, RESIDENT_BYTES, STORED_TYPE, WEIGHT_COPY_BYTES, Category,
)
from ovmem.passes.registry import register_pass
from ovmem.target import target_of

__all__ = [
    "FAULT_AROUND_BYTES", "RUNTIME_WEIGHT_PORTS", "CpuRuntime", "fc_constants", "lookup_resident_bytes",
]

FLOATS = frozenset({"f32", "f16", "bf16"})
COMPRESSED = frozenset({"u8", "i8", "u4", "i4", "nf4"})
"""Element types of compressed weights (and of their zero points)."""
KEEP_F32 = frozenset({"Cos", "Sin"})
FAULT_AROUND_BYTES = 64 * 1024
"""Bytes of a mapped file Linux maps around each page fault (``fault_around_bytes``' default)."""
PAGE_BYTES = 4096

RUNTIME_WEIGHT_PORTS = {"FullyConnected": {1}, "LLMMLP": {1, 2, 3}, "QKVProjection": {1, 2, 3}}
"""The runtime graph's FullyConnected-like nodes and the input ports of their weight matrices."""


def _from_weights(value: Value) -> bool:
    """A weight, or a value ``fold-weights`` found to be computed from weights alone."""
    category = CATEGORY.get(value, None)
    return category is Category.WEIGHT or (
        category is Category.FOLDED and FOLDED_BY.get(value, "").startswith("fold-weights")
    )


def _weight_constants(value: Value) -> list[Value]:
    """The constants a FullyConnected weight input is computed from."""
    found, stack, seen = [], [value], set()
    while stack:
        v = stack.pop()
        if v in seen or v.producer is None:
            continue
        seen.add(v)
        if v.producer.op_type == "Constant":
            found.append(v)
        elif _from_weights(v):
            stack.extend(v.producer.inputs)
    return found


def _packed_bytes(value: Value, weight: bool, precision: str, llm: bool) -> int:
    """Rule 3: bytes of the executor's copy of one constant of a FullyConnected."""
    n, dtype = value.nbytes or 0, value.type.dtype
    if weight and dtype in ("f16", "bf16"):
        return n * 2 if precision == "f32" and not llm else n
    if weight and dtype == "f32":
        return n // 2 if precision in ("bf16", "f16") else n
    if not weight and dtype in ("f16", "bf16"):  # scales become f32
        return n * 2
    if not weight and dtype in COMPRESSED:  # zero points become f32 (without dynamic quantization)
        return (value.type.numel or 0) * 4
    return n  # compressed weights stay compressed


_FC_KEEPS_DESTINATION = {"bf16": frozenset({"bf16", "f32"}), "f16": frozenset({"f16"})}
"""Weight types with which a FullyConnected computing in the key's precision writes an f32 destination itself."""


def _fc_writes_output_type(graph: Graph, producer: Node, precision: str) -> bool:
    """Rule 2's exception: ``producer`` (or the FullyConnected it is a fused post-op of) is an FC whose
    weight type lets it write the model's f32 output directly."""
    fc = producer if producer.op_type == "MatMul" else next(
        (n for n in graph.nodes if n.op_type == "MatMul" and KERNEL.get(n, None) is producer), None)
    weight = next((v for v, is_weight in fc_constants(fc) if is_weight), None) if fc is not None else None
    return weight is not None and weight.type.dtype in _FC_KEEPS_DESTINATION.get(precision, ())


def _mlp_nodes(graph: Graph) -> set[Node]:
    """The nodes run as an ``LLMMLP``: the plugin's own (``--lift runtime``) or the MatMuls ``fuse`` gave one."""
    roots = fused_kernels(graph).get("mlp", set())
    return {n for n in graph.nodes if n.op_type == "LLMMLP" or n in roots or KERNEL.get(n, None) in roots}


def fc_constants(node: Node) -> list[tuple[Value, bool]]:
    """The constants a FullyConnected-like node packs, each with whether it is a weight matrix.

    In the exported graph: a ``MatMul`` whose second input is computed from weights; its largest
    constant is the weight, the others are scales and zero points. In a runtime graph
    (``--lift runtime``) the plugin's nodes name their ports: ``FullyConnected`` reads the weight
    on port 1 and bias, scale and zero point after it
    (``src/plugins/intel_cpu/src/nodes/fullyconnected.cpp``); ``LLMMLP`` and ``QKVProjection`` read three
    weights on ports 1-3 and their scales after them (``src/plugins/intel_cpu/src/nodes/llm_mlp.cpp``,
    ``src/plugins/intel_cpu/src/nodes/qkv_proj.cpp``, openvinotoolkit/openvino).
    """
    ports = RUNTIME_WEIGHT_PORTS.get(node.op_type)
    if ports is not None:  # a constant on two ports (Phi-3's gate_up read as gate and as up) packs once
        packed: dict[Value, bool] = {}
        for port, value in enumerate(node.inputs):
            if port > 0 and _from_weights(value):
                for constant in _weight_constants(value):
                    packed[constant] = packed.get(constant, False) or port in ports
        return list(packed.items())
    if node.op_type == "MatMul" and len(node.inputs) == 2 and _from_weights(node.inputs[1]) and _fc_weight_rank(node):
        constants = _weight_constants(node.inputs[1])
        weight = max(constants, key=lambda v: v.nbytes or 0, default=None)
        return [(v, v is weight) for v in constants]
    return []


def _fc_weight_rank(matmul: Node) -> bool:
    """Whether ``ConvertMatMulToFC`` makes the MatMul a FullyConnected: a weight of at most two
    dimensions above 1 (``src/plugins/intel_cpu/src/transformations/cpu_opset/common/pass/convert_matmul_to_fc.cpp``);
    a batch of weights (gpt-oss's ``[experts, hidden, 2·inter]``) stays a MatMul."""
    return sum(1 for d in matmul.inputs[1].type.shape if d != 1) <= 2


def _folded_decompressions(node: Node, precision: str) -> list[tuple[Value, int]]:
    """Rule 5: the compressed constants a node other than a FullyConnected or a lookup reads through
    a decompression chain, each with the bytes of the constant the plugin folds it into: f32, or the
    inference precision for a ``MatMul`` (one ``ConvertMatMulToFC`` leaves: a batch of weights), whose
    inputs are converted to it — f16 weights behind their ``Convert`` too (measured: gpt-oss's int8
    expert weights become bf16 constants, 759 MiB for 776 MiB of compile-time memory; its fp16 export
    misses as much without them, ``research/moe-gpt-oss``)."""
    if not node.outputs or all(_from_weights(o) for o in node.outputs) or node.op_type == "Gather" or fc_constants(node):
        return []  # part of a folded chain itself, a lookup, or a FullyConnected (rule 3)
    matmul = node.op_type == "MatMul"
    folded_type = COMPRESSED | FLOATS if matmul else COMPRESSED  # a MatMul's f16 weights are converted too
    element = 2 if matmul and precision in ("bf16", "f16") else 4
    found = []
    for value in node.inputs:
        if value.producer is None or value.producer.op_type == "Constant" or not _from_weights(value):
            continue
        weights = [c for c in _weight_constants(value) if c.type.dtype in folded_type]
        weight = max(weights, key=lambda c: c.type.numel or 0, default=None)
        if weight is not None and weight.type.numel == value.type.numel:  # the weight itself, decompressed
            found.append((weight, (value.type.numel or 0) * element))
    return found


_DATA_MOVEMENT = frozenset({
    "Squeeze", "Unsqueeze", "Reshape", "Transpose", "ShuffleChannels", "Roll", "ReverseSequence", "DepthToSpace",
    "BatchToSpace", "Broadcast", "Gather",
})
"""``MoveEltwiseUpThroughDataMov::get_default_allowed_ops``."""
_ARITHMETIC = frozenset({
    "Add", "Subtract", "Multiply", "Divide", "Power", "Maximum", "Minimum", "Mod", "FloorMod", "SquaredDifference",
    "Abs", "Ceiling", "Cos", "Erf", "Exp", "Floor", "Log", "Negative", "Relu", "Sigmoid", "Sign", "Sin", "Sqrt",
    "Tan", "Tanh",
})
"""Element-wise arithmetic ops (OpenVINO's ``UnaryElementwiseArithmetic``/``BinaryElementwiseArithmetic``)."""


def _eltwise_folded_into(node: Node) -> Value | None:
    """Rule 6: the constant that ``node`` — a scalar element-wise op behind data movement — is folded into."""
    if node.op_type not in _ARITHMETIC or len(node.outputs) != 1 or len(node.outputs[0].uses()) != 1:
        return None
    scalars = node.inputs[1:]
    if node.outputs[0].type.dtype != node.inputs[0].type.dtype or any(
        v.producer is None or v.producer.op_type != "Constant" or v.type.numel != 1 or v.type.dtype in ("i8", "u8")
        for v in scalars
    ):
        return None
    value, moved = node.inputs[0], False
    while value.producer is not None and value.producer.op_type in _DATA_MOVEMENT:
        mover = value.producer
        if len(mover.outputs) != 1 or len(value.uses()) != 1 or value.type.dtype != mover.inputs[0].type.dtype:
            return None
        value, moved = mover.inputs[0], True
    return value if moved and value.producer is not None and value.producer.op_type == "Constant" else None


def _readers_through_decompression(value: Value) -> list[tuple[Node, int]]:
    """The nodes that read ``value`` at run time, looking through what ``fold-weights`` folded."""
    found, stack, seen = [], [value], set()
    while stack:
        v = stack.pop()
        for use in v.uses():
            outputs = use.node.outputs
            if outputs and all(FOLDED_BY.get(o, "").startswith("fold-weights") for o in outputs):
                stack.extend(o for o in outputs if o not in seen)
                seen.update(outputs)
            else:
                found.append((use.node, use.index))
    return found


def lookup_resident_bytes(table: Value, new_tokens: int = 0, batch: int = 1) -> int | None:
    """Rule 4: the resident bytes of a weight read only as a lookup table, ``None`` if read otherwise;
    ``new_tokens`` decode steps after the run look up one more row for each of ``batch`` sequences."""
    readers = _readers_through_decompression(table)
    if table.type.dtype == "f32" or not readers or any(node.op_type != "Gather" or port != 0 for node, port in readers):
        return None
    nbytes, shape = table.nbytes or 0, table.type.shape
    if len(shape) < 1 or not shape[0] or not nbytes:
        return None
    row = -(-nbytes // shape[0])
    per_lookup = max(FAULT_AROUND_BYTES, -(-row // PAGE_BYTES) * PAGE_BYTES)
    lookups = sum((node.inputs[1].type.numel or 0) + new_tokens * batch for node, _ in readers)
    return min(nbytes, lookups * per_lookup)


@register_pass
@attrs.frozen
class CpuRuntime(Pass):
    """Element types, output reorders and weight copies of the CPU plugin."""

    name = "cpu-runtime"
    precision: Literal["auto", "bf16", "f16", "f32"] = "auto"
    """Rule 1: the inference precision; ``auto``: the target's default (``graph.meta["target"]``)."""
    lookup: bool = True
    """Rule 4: a table read only by lookups is resident for the rows read, not whole."""
    new_tokens: int = 0
    """Rule 4: tokens generated after this run, each a decode step that looks up one more row."""

    def call(self, graph: Graph) -> PassResult:
        if graph.meta.get("lift") == "runtime":  # the plugin already chose the types and inserted the reorders: rule 3 only
            precision = graph.meta["inference_precision"]
            return PassResult(graph, self._weight_copies(graph, precision, self.lookup, self.new_tokens))
        precision = target_of(graph).precision if self.precision == "auto" else self.precision
        graph.meta["inference_precision"] = precision
        modified = self._reorder_outputs(graph, precision)
        pinned = {*graph.inputs, *graph.outputs}
        for state in graph.states:
            pinned.update(state.values)
        for node in graph.nodes:
            for value in node.outputs:
                stored = self._stored(node, value, precision)
                if value in pinned or CATEGORY.get(value, None) in (Category.WEIGHT, Category.FOLDED) or stored is None:
                    continue
                if STORED_TYPE.get(value, None) != stored:
                    STORED_TYPE.set(value, stored)
                    modified = True
        return PassResult(graph, self._weight_copies(graph, precision, self.lookup, self.new_tokens) or modified)

    @staticmethod
    def _weight_copies(graph: Graph, precision: str, lookup: bool, new_tokens: int) -> bool:
        modified = False
        llm = bool(graph.states) and any(n.op_type == "ScaledDotProductAttention" for n in graph.nodes)
        copies: dict[Value, int] = {}
        mlp = _mlp_nodes(graph)
        for node in graph.nodes:
            for constant, weight in fc_constants(node):
                copies[constant] = copies.get(constant, 0) + _packed_bytes(constant, weight, precision, llm)
                if node in mlp and weight and constant.type.dtype in FLOATS - {"f16"}:  # LLMMLP's f16 port
                    copies[constant] += (constant.type.numel or 0) * 2
            for constant, folded in _folded_decompressions(node, precision):
                copies[constant] = copies.get(constant, 0) + folded
            if (table := _eltwise_folded_into(node)) is not None:
                copies[table] = copies.get(table, 0) + (table.nbytes or 0)
        resident = {}
        for value in graph.values():
            if lookup and CATEGORY.get(value, None) is Category.WEIGHT:
                n = lookup_resident_bytes(value, new_tokens, graph.meta.get("batch", 1))
                if n is not None and n < (value.nbytes or 0):
                    resident[value] = n
        for key, wanted in ((WEIGHT_COPY_BYTES, copies), (RESIDENT_BYTES, resident)):
            for value in graph.values():
                if key.get(value, None) != wanted.get(value):
                    modified = True
                    if value in wanted:
                        key.set(value, wanted[value])
                    else:
                        key.clear(value)
        return modified

    @staticmethod
    def _stored(node: Node, value: Value, precision: str) -> TensorType | None:
        dtype = value.type.dtype
        if dtype in FLOATS and node.op_type not in KEEP_F32 and dtype != precision:
            return TensorType(precision, value.type.shape)
        if dtype == "i64":
            return TensorType("i32", value.type.shape)
        return None

    @staticmethod
    def _reorder_outputs(graph: Graph, precision: str) -> bool:
        if precision == "f32":
            return False
        modified = False
        for value in list(graph.outputs):
            producer = value.producer
            if producer is None or value.type.dtype not in FLOATS or producer.op_type in ("Parameter", "Reorder"):
                continue
            if _fc_writes_output_type(graph, producer, precision):
                continue
            graph.insert_after(producer, "Reorder", value.type, name=f"{producer.name}/reorder")
            modified = True
        return modified
