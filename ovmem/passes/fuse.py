"""``fuse``: what the OpenVINO CPU plugin computes in one kernel holds no buffer in between.

Rules (each is an option, ``fuse{rms=false}``; what it folds is ``folded_by=fuse.<rule>``). Rule 6 is
tried before rule 4 (``MLPFusion`` rewrites the MatMuls before they become FullyConnecteds with
post-ops), rule 5 last:
  1. ``rms`` — RMSNorm ``x·(1/Sqrt(ReduceMean(x², last axis)+eps))[·γ]`` is one ``RMS`` node. Square by
     ``Power(x,2)`` or ``x*x``; inverse root by ``Divide(1,Sqrt)``, ``Power(·,-0.5)``, ``Power(Sqrt,-1)``
     or ``x/Sqrt``; γ a constant, optional (the fixtures' exports dropped all-ones γs and the plugin
     still fused). Root: the γ Multiply, else the normalising Multiply.
     Source: ``src/common/transformations/src/transformations/common_optimizations/rms_fusion.cpp``
     (``RMSFusion``).
  2. ``rope`` — rotate-half RoPE ``x·cos + Concat(-x₂, x₁)·sin`` (halves of x's last axis by
     ``Slice``/``StridedSlice`` with step 1 — a start computed from the shape, ``x[..., x.shape[-1]//2:]``,
     counts as the constant the plugin's ``ConstantFolding`` makes of it on a static last axis — or a
     two-way ``VariadicSplit``/``Split``; negation by
     ``Multiply(-1)`` or ``Negative``) is one ``RoPE`` node, root the final ``Add``. A ``Transpose``
     ``[0,2,1,3]`` feeding x and read only by the pattern is absorbed (``input_trans0213``). GPT-J
     (interleaved, step-2 slices) and ChatGLM forms are not matched. Source:
     ``src/common/transformations/src/transformations/common_optimizations/fuse_rotary_positional_embeddings.cpp``
     (``RoPEFusionGPTNEOX``, ``RoPEFusionPreprocess``).
  3. ``sdpa`` — stateful SDPA: for each ``ScaledDotProductAttention`` whose K and V come from
     ``ReadValue [→Convert] → Gather(beam_idx, axis 0) → Concat(past, new)`` (the Concat written back
     by the variable's ``Assign``) ``[→ GQA Unsqueeze/Reshape → Broadcast/Multiply → Reshape]
     [→ Transpose]``, the Gather, Convert, GQA and Transpose outputs are folded and the Concat is
     computed by the SDPA kernel (its output, the state, is left alone), so the new K/V stay live
     until the SDPA runs. Without the cache only the GQA broadcast is folded. Source:
     ``src/plugins/intel_cpu/src/transformations/cpu_opset/common/pass/stateful_sdpa_fusion.cpp``
     (``StatefulSDPAFusion``).
  4. ``fc`` — a ``MatMul`` with constant weights (a ``FullyConnected``) absorbs a single-reader bias
     ``Add`` of a ``[..., N]`` constant, then single-reader activations (Swish, Gelu, ...): their
     inputs are folded, the last op is the root. Sources:
     ``src/plugins/intel_cpu/src/transformations/cpu_opset/common/pass/fc_bias_fusion.cpp``
     (``FullyConnectedBiasFusion``) and ``src/plugins/intel_cpu/src/graph_optimizer.cpp``
     (``GraphOptimizer::FuseFullyConnectedAndSimpleOperation``).
  5. ``eltwise`` — applied last, to what is still a buffer: an elementwise op read by exactly one
     elementwise op merges into it, greedily forward in execution order as the plugin does
     (a consumer merges at most one producer chain). Not when: an arithmetic op on integers is
     mixed with any other op (integer kernels cannot mix with float ones); the chain's output goes
     to port > 0 of a non-commutative op; the merged node would read more than
     ``MAX_ELTWISE_INPUTS`` (7) tensors (scalar constants become attributes and do not count); one
     input of the consumer comes from a producer of the chain's inputs (cycle); one is dynamic
     and the other static; it is integer Bitwise or Log. ``Convert`` is no Eltwise on x86
     (``MergeEltwiseAndConvert`` is ARM-only). Sources:
     ``src/plugins/intel_cpu/src/graph_optimizer.cpp`` (``GraphOptimizer::FuseEltwiseAndSimple``)
     and ``src/plugins/intel_cpu/src/nodes/eltwise.cpp`` (``Eltwise::canFuse``).
  6. ``mlp`` (``off`` by default; ``on``; ``auto``: as the CPU plugin on the target CPU, see
     :meth:`ovmem.target.Target.fuses_mlp`) — a gated MLP ``down(act(gate(x)) · up(x))`` is one ``LLMMLP`` node, root
     the down ``MatMul``: the gate, up, activation and product (each ``T × intermediate``) are never
     stored. The plugin registers the pass only on x86 with AMX and bf16 inference (or AMX-FP16 and
     f16), so not in f32 mode. Matched: three ``MatMul``s with ``transpose_a`` false and
     ``transpose_b`` true (or a constant-folded ``Transpose`` of the weight) whose weights are float
     constants (f16/bf16/f32, read directly or through a ``Convert``) — no int4/int8 decompression
     (u4/u8 with zero points never match; symmetric i8 with per-channel f32 scales matches only with
     ``DYNAMIC_QUANTIZATION_GROUP_SIZE`` ≥ hidden size, not the default 32, so it is not modelled);
     gate and up reading the same rank-3 input; the activation a one-input ``Swish`` (an explicit
     beta input, even 1, stops it) or a ``Gelu`` (erf or tanh); the ``Multiply`` of activation and
     up in either order feeding the down ``MatMul``. Or Phi-3's fused form: one ``gate_up`` ``MatMul``
     with an f16 weight through a ``Convert`` (an f32 weight does not match) split by a
     ``VariadicSplit`` on axis -1 into two halves (``Split``, or axis 2, does not match). Shapes:
     gate/up weights ``[I, H]`` (``[2I, H]`` fused), down ``[H, I]``, ``H`` and ``I`` multiples of 32
     (``MLP_BLOCK``). Sources:
     ``src/plugins/intel_cpu/src/transformations/cpu_opset/x64/pass/mlp_fusion.cpp``
     (``MLPFusionPass``), registered in ``src/plugins/intel_cpu/src/transformations/transformation_pipeline.cpp``
     (``Transformations::PostLpt``: ``can_use_amx_bf16_int8``/``can_use_amx_fp16``), with the callback
     ``src/plugins/intel_cpu/src/nodes/llm_mlp.cpp`` (``LLMMLP::isSupportedOperation``; the
     ``REG_BLK_*_SIZE`` of
     ``src/plugins/intel_cpu/src/nodes/kernels/x64/mlp_kernel.hpp``). Where ovmem differs: it cannot
     see the ``decompression`` mark that keeps a weight ``Convert`` (exports always carry it; an
     opset-built fused gate_up without it is folded to f32 by the plugin and not fused); and where
     an inner value has another reader the plugin still forms ``LLMMLP`` and recomputes that part,
     while ovmem leaves the whole MLP unfused (it can only overcount). The kernel keeps a
     ``256 × I`` product block and per-thread f32 accumulators in the graph's shared scratchpad:
     no tensor. The plugin's ``QKVProjection`` (q/k/v FullyConnecteds with one input → one node)
     is not a rule: it needs at least 3 inference threads (``QKVProjection::isSupportedOperation``)
     and a hidden size that is a multiple of 256, and it removes no buffer.

For every match: the internal nodes' outputs are folded, their node key ``kernel`` is the root (so
the pattern's external inputs stay live until the root runs), and the root's output stays a buffer.
A match is dropped when an internal value is read at run time outside the pattern (compile-time
readers such as ``ShapeOf`` do not count), or is a graph input, output or state value.

Reads: ``category``, ``compile_time``, ``kernel``, ``declared_shape``, ``graph.meta["inference_precision"]``
and the graph's ``target`` (``mlp=auto``). Writes: ``category``
(``folded``) and ``folded_by`` on internal values, and the node key ``kernel``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Literal, TypeVar

import attrs
import numpy as np

from ovmem.ir.core import Graph, Node, Use, Value
from ovmem.ir.lift import DECLARED_SHAPE
from ovmem.passes.base import Pass, PassPreconditionError, PassResult
from ovmem.passes.keys import CATEGORY, COMPILE_TIME, FOLDED_BY, KERNEL, Category, fold
from ovmem.passes.registry import register_pass
from ovmem.target import target_of

__all__ = [
    "ACTIVATIONS", "ELTWISE_OPS", "MAX_ELTWISE_INPUTS", "MLP_BLOCK", "Fuse", "Match", "fused_kernels",
]

ACTIVATIONS = frozenset({"Swish", "Gelu", "Relu", "Sigmoid", "Tanh", "Clamp", "HSwish", "Mish", "SoftPlus", "Elu"})
ELTWISE_OPS = ACTIVATIONS | {
    "Add", "Subtract", "Multiply", "Divide", "Maximum", "Minimum", "Power", "SquaredDifference", "FloorMod",
    "Mod", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr",
    "LogicalXor", "LogicalNot", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "Select", "Abs",
    "Exp", "Sqrt", "Negative", "Erf", "Floor", "Ceiling", "HSigmoid", "SoftSign", "Round", "PRelu",
}  # fmt: skip
MAX_ELTWISE_INPUTS = 7
_INTEGER_ARITHMETIC = frozenset({"Add", "Multiply", "Subtract", "Divide", "SquaredDifference"})
_PORT0_ONLY = frozenset({"Subtract", "Divide", "FloorMod", "Mod", "Power", "Greater", "GreaterEqual", "Less",
                         "LessEqual", "Select"})  # fmt: skip
_AS_I32 = frozenset({"i16", "u16", "i32", "u32", "i64", "u64"})  # the plugin computes these in i32
MLP_BLOCK = 32
"""LLMMLP's register block (``REG_BLK_K_SIZE``, ``REG_BLK_N_SIZE``): hidden and intermediate sizes
must be multiples of it."""
_FLOATS = frozenset({"f16", "bf16", "f32"})
T = TypeVar("T")


@attrs.frozen
class Match:
    """One fused kernel: ``internal`` nodes' outputs are folded, ``absorbed`` nodes only run in it."""

    rule: str
    root: Node
    internal: tuple[Node, ...]
    absorbed: tuple[Node, ...] = ()


# ---- helpers ------------------------------------------------------------------------------


def _runtime_uses(value: Value) -> list[Use]:
    return [u for u in value.uses() if not COMPILE_TIME.get(u.node, False)]


def _only_reader(value: Value) -> Node | None:
    uses = _runtime_uses(value)
    return uses[0].node if len(uses) == 1 else None


def _op(value: Value, *op_types: str) -> Node | None:
    """The run-time producer of ``value`` if it is one of ``op_types``."""
    p = value.producer
    return p if p is not None and p.op_type in op_types and not COMPILE_TIME.get(p, False) else None


def _first(items: Iterable[T | None]) -> T | None:
    return next((item for item in items if item is not None), None)


def _is_const(value: Value) -> bool:
    p = value.producer
    return p is not None and (p.op_type == "Constant" or COMPILE_TIME.get(p, False))


def _const(value: Value) -> np.ndarray | None:
    """The data of a small constant, looking through compile-time Converts; flattened."""
    p = value.producer
    while p is not None and p.op_type == "Convert" and COMPILE_TIME.get(p, False):
        p = p.inputs[0].producer
    data = p.attributes.get("value") if p is not None and p.op_type == "Constant" else None
    return None if data is None else np.asarray(data).reshape(-1)


def _is_scalar(value: Value, expected: float) -> bool:
    data = _const(value)
    return data is not None and data.size == 1 and bool(np.isclose(float(data[0]), expected))


def _is_last_axis(axis: Value | int | None, rank: int) -> bool:
    if isinstance(axis, Value):
        data = _const(axis)
        axis = int(data[0]) if data is not None and data.size == 1 else None
    return axis is not None and int(axis) in (-1, rank - 1)


def _other(node: Node, value: Value) -> Value:
    """The other input of a binary ``node``."""
    return node.inputs[1] if node.inputs[0] is value else node.inputs[0]


# ---- rule 1: RMSNorm -----------------------------------------------------------------------


def _normalisations(node: Node) -> Iterator[tuple[Value, list[Node], Value]]:
    """``(x, nodes, v)`` if ``node`` is ``x / Sqrt(v)`` in one of the exported forms."""
    if node.op_type == "Divide" and (sqrt := _op(node.inputs[1], "Sqrt")):
        yield node.inputs[0], [sqrt], sqrt.inputs[0]
    for x in node.inputs if node.op_type == "Multiply" else ():
        inv = _other(node, x)
        if (div := _op(inv, "Divide")) and _is_scalar(div.inputs[0], 1.0) and (sqrt := _op(div.inputs[1], "Sqrt")):
            yield x, [sqrt, div], sqrt.inputs[0]
        elif (power := _op(inv, "Power")) and _is_scalar(power.inputs[1], -0.5):
            yield x, [power], power.inputs[0]
        elif power and _is_scalar(power.inputs[1], -1.0) and (sqrt := _op(power.inputs[0], "Sqrt")):
            yield x, [sqrt, power], sqrt.inputs[0]


def _match_rms(node: Node) -> Iterator[Match]:
    for x, inverse, variance in _normalisations(node):
        add = _op(variance, "Add")
        mean = add and _first(_op(v, "ReduceMean") for v in add.inputs)
        if not (mean and _is_const(eps := _other(add, mean.outputs[0])) and eps.type.numel == 1):
            continue
        square = _op(mean.inputs[0], "Power", "Multiply")
        if not (square and square.inputs[0] is x and _is_last_axis(mean.inputs[1], len(x.type.shape))):
            continue
        if square.inputs[1] is x or _is_scalar(square.inputs[1], 2.0):
            internal = (square, mean, add, *inverse)
            gamma = _only_reader(node.outputs[0])
            if gamma is not None and gamma.op_type == "Multiply" and _is_const(_other(gamma, node.outputs[0])):
                yield Match("rms", gamma, (*internal, node))
            yield Match("rms", node, internal)
            return


# ---- rule 2: rotate-half RoPE ---------------------------------------------------------------


def _slice_start(p: Node, rank: int) -> int | None:
    """Where a step-1 ``Slice``/``StridedSlice`` of the last axis starts."""
    if p.op_type == "Slice" and len(p.inputs) == 5 and _is_last_axis(p.inputs[4], rank):
        start, stop, step = _const(p.inputs[1]), _const(p.inputs[2]), _const(p.inputs[3])
        if step is None or step.size != 1 or step[0] != 1:
            return None
        if start is not None and start.size == 1:
            return int(start[0])
        # ``x[..., x.shape[-1] // 2:]``: the start is shape arithmetic (the plugin's ConstantFolding
        # computes it when the last axis is static), the stop a constant: start = stop - length.
        dim, out = p.inputs[0].type.shape, p.outputs[0].type.shape
        if stop is not None and stop.size == 1 and dim and out and isinstance(dim[-1], int) and isinstance(out[-1], int):
            end = int(stop[0])
            end = min(end + dim[-1] if end < 0 else end, dim[-1])
            return end - out[-1]
        return None
    if p.op_type == "StridedSlice":
        begin, a = _const(p.inputs[1]), p.attributes
        strides = _const(p.inputs[3]) if len(p.inputs) > 3 else None
        if begin is None or begin.size != rank or (strides is not None and np.any(strides != 1)):
            return None
        if any(any(a.get(m) or ()) for m in ("new_axis_mask", "shrink_axis_mask", "ellipsis_mask")):
            return None
        begin_mask = list(a.get("begin_mask") or ())
        return 0 if len(begin_mask) == rank and begin_mask[-1] else int(begin[-1])
    return None


def _half(value: Value) -> tuple[Value, int] | None:
    """``(x, 0)`` or ``(x, 1)`` if ``value`` is the first or second half of x's last axis."""
    p = value.producer
    if p is None or COMPILE_TIME.get(p, False) or not p.inputs:
        return None
    x = p.inputs[0]
    shape = x.type.shape
    if not shape or shape[-1] % 2 or value.type.shape != (*shape[:-1], shape[-1] // 2):
        return None
    if p.op_type in ("VariadicSplit", "Split") and len(p.outputs) == 2 and _is_last_axis(p.inputs[1], len(shape)):
        return x, value.index
    start = _slice_start(p, len(shape))
    return (x, 0) if start == 0 else (x, 1) if start in (shape[-1] // 2, -shape[-1] // 2) else None


def _match_rope(add: Node) -> Iterator[Match]:
    """``x·cos + Concat(-x₂, x₁)·sin``, with the Transpose feeding x if possible."""
    for cos_term, sin_term in (add.inputs, add.inputs[::-1]) if add.op_type == "Add" else ():
        mul_cos, mul_sin = _op(cos_term, "Multiply"), _op(sin_term, "Multiply")
        concat = mul_sin and _first(_op(v, "Concat") for v in mul_sin.inputs)
        if not (mul_cos and concat and len(concat.inputs) == 2):
            continue
        neg = _op(concat.inputs[0], "Negative", "Multiply")
        if not (neg and _is_last_axis(concat.attributes.get("axis"), len(concat.outputs[0].type.shape))):
            continue
        x2 = neg.inputs[0] if neg.op_type == "Negative" else _first(
            v if _is_scalar(_other(neg, v), -1.0) else None for v in neg.inputs)
        first, second = _half(concat.inputs[1]), x2 is not None and _half(x2)
        if not (first and second and (first[1], second[1]) == (0, 1) and first[0] is second[0]):
            continue
        x = first[0]
        if x not in mul_cos.inputs:
            continue
        splits = tuple(dict.fromkeys([concat.inputs[1].producer, x2.producer]))
        internal = (*splits, neg, concat, mul_sin, mul_cos)
        transpose = _op(x, "Transpose")
        perm = _const(transpose.inputs[1]) if transpose else None
        if perm is not None and list(perm) == [0, 2, 1, 3] and all(u.node in internal for u in _runtime_uses(x)):
            yield Match("rope", add, (transpose, *internal))  # input_trans0213
        yield Match("rope", add, internal)
        return


# ---- rule 3: stateful SDPA ------------------------------------------------------------------


def _kv_path(value: Value, sdpa: Node) -> tuple[list[Node], list[Node], Node | None]:
    """(nodes folded if the cache is fused, GQA nodes, the cache's Concat) from K or V back to the cache."""
    path, gqa = [], []
    if transpose := _op(value, "Transpose"):
        path, value = [transpose], transpose.inputs[0]
    if (reshape := _op(value, "Reshape")) and (expand := _op(reshape.inputs[0], "Broadcast", "Multiply")):
        data = expand.inputs[0] if expand.op_type == "Broadcast" else _first(
            v if _is_const(_other(expand, v)) else None for v in expand.inputs)
        if data is not None and (unsqueeze := _op(data, "Unsqueeze", "Reshape")):
            gqa, value = [reshape, expand, unsqueeze], unsqueeze.inputs[0]
    concat = _op(value, "Concat")
    gather = concat and len(concat.inputs) == 2 and _op(concat.inputs[0], "Gather")
    if not (gather and _is_scalar(gather.inputs[2], 0)):
        return path, gqa, None
    convert = _op(gather.inputs[0], "Convert")
    read = (convert.inputs[0] if convert else gather.inputs[0]).producer
    path_reader = (gqa or path or [sdpa])[-1]
    writers = [u.node for u in _runtime_uses(concat.outputs[0]) if u.node is not path_reader]
    assign = writers[0] if len(writers) == 1 else None  # the Concat's only other reader: [Convert →] Assign
    if assign is not None and assign.op_type == "Convert":
        assign = _only_reader(assign.outputs[0])
    if not (read and read.op_type == "ReadValue" and assign and assign.op_type == "Assign"):
        return path, gqa, None
    if assign.attributes.get("variable_id") != read.attributes.get("variable_id"):
        return path, gqa, None
    return [*path, *gqa, *([convert] if convert else []), gather], gqa, concat


def _match_sdpa(sdpa: Node) -> Iterator[Match]:
    if sdpa.op_type != "ScaledDotProductAttention" or len(sdpa.inputs) < 3:
        return
    (k_path, k_gqa, k_cache), (v_path, v_gqa, v_cache) = (_kv_path(v, sdpa) for v in sdpa.inputs[1:3])
    if k_cache and v_cache:  # StatefulSDPAFusion: the kernel reads the state and the new K/V itself
        yield Match("sdpa", sdpa, (*k_path, *v_path), absorbed=(k_cache, v_cache))
    if k_gqa or v_gqa:
        yield Match("sdpa", sdpa, (*k_gqa, *v_gqa))


# ---- rule 4: FullyConnected post-ops ------------------------------------------------------


def _match_fc(matmul: Node) -> Iterator[Match]:
    if matmul.op_type != "MatMul" or not _is_const(matmul.inputs[1]) or _is_const(matmul.inputs[0]):
        return
    chain, out = [matmul], matmul.outputs[0]
    reader = _only_reader(out)
    if reader is not None and reader.op_type == "Add" and out.type.shape:
        bias, n = _other(reader, out), out.type.shape[-1]
        if _is_const(bias) and bias.type.shape[-1:] == (n,) and bias.type.numel == n:
            chain.append(reader)
            reader = _only_reader(reader.outputs[0])
    while reader is not None and reader.op_type in ACTIVATIONS and reader.inputs[0] is chain[-1].outputs[0]:
        chain.append(reader)
        reader = _only_reader(reader.outputs[0])
    if len(chain) > 1:
        yield Match("fc", chain[-1], tuple(chain[:-1]))


# ---- rule 5: eltwise chains ---------------------------------------------------------------


def _is_eltwise(node: Node) -> bool:
    if node.op_type.startswith("Bitwise"):  # ConvertBitwiseToLogical makes boolean ones Logical*
        return all(v.type.dtype == "boolean" for v in node.inputs)
    return node.op_type in ELTWISE_OPS and len(node.outputs) == 1


def _is_integer(node: Node) -> bool:
    return node.op_type in _INTEGER_ARITHMETIC and all(v.type.dtype in _AS_I32 for v in node.inputs)


def _is_dynamic(node: Node) -> bool:
    return any(-1 in DECLARED_SHAPE.get(v, ()) for v in (*node.inputs, *node.outputs))


def _tensors(values: Iterable[Value]) -> list[Value]:
    """Inputs a merged Eltwise reads (scalar constants become attributes)."""
    return [v for v in values if not (_is_const(v) and v.type.numel == 1)]


def _can_merge(chain: list[Node], reader: Node) -> bool:
    """``Eltwise::canFuse`` and ``FuseEltwiseAndSimple``'s checks for appending ``reader`` to ``chain``."""
    out = chain[-1].outputs[0]
    outside = _tensors(v for n in chain for v in n.inputs if v.producer not in chain)
    others = _tensors(v for v in reader.inputs if v is not out)
    return (
        _is_integer(chain[0]) == _is_integer(reader)
        and len(outside) + len(others) <= MAX_ELTWISE_INPUTS
        and _is_dynamic(chain[-1]) == _is_dynamic(reader)
        and not {v.producer for v in others} & {v.producer for v in outside}  # would make a cycle
        and (reader.inputs[0] is out or (reader.op_type not in _PORT0_ONLY
                                         and len({v.type.dtype for v in chain[0].inputs}) == 1))
    )


def _eltwise_matches(graph: Graph, free: Callable[[Node], bool]) -> list[Match]:
    """Chains grown forward in execution order; a consumer joins at most one producer's chain."""
    chains: dict[Node, list[Node]] = {}  # tail -> chain
    matches = []
    for node in graph.nodes:
        if not (_is_eltwise(node) and free(node)):
            continue
        chain = chains.pop(node, [node])
        reader = _only_reader(node.outputs[0])
        if reader and _is_eltwise(reader) and free(reader) and reader not in chains and _can_merge(chain, reader):
            chains[reader] = [*chain, reader]
        elif len(chain) > 1:
            matches.append(Match("eltwise", chain[-1], tuple(chain[:-1])))
    return matches


# ---- rule 6: gated MLP (LLMMLP) -----------------------------------------------------------


def _fc_weight(matmul: Node, combined: bool = False) -> tuple[int, int] | None:
    """``(N, K)`` of a ``MatMul``'s float constant weight as LLMMLP reads it, or ``None``.

    The weight is ``[N, K]`` under ``transpose_b`` (or ``[K, N]`` through a constant-folded
    ``Transpose``, which the plugin folds into the MatMul); a float constant read directly or through
    a ``Convert``. The fused gate_up weight must be f16 through a ``Convert``.
    """
    if matmul.op_type != "MatMul" or matmul.attributes.get("transpose_a") or len(matmul.inputs) != 2:
        return None
    transposed, p = bool(matmul.attributes.get("transpose_b")), matmul.inputs[1].producer
    if not transposed and p is not None and p.op_type == "Transpose" and COMPILE_TIME.get(p, False):
        perm = _const(p.inputs[1])
        transposed, p = perm is not None and list(perm) == [1, 0], p.inputs[0].producer
    convert = p if p is not None and p.op_type == "Convert" and COMPILE_TIME.get(p, False) else None
    constant = convert.inputs[0].producer if convert else p
    if not transposed or constant is None or constant.op_type != "Constant":
        return None
    dtype, shape = constant.outputs[0].type.dtype, constant.outputs[0].type.shape
    if len(shape) != 2 or dtype not in _FLOATS or (combined and (convert is None or dtype != "f16")):
        return None
    return shape[0], shape[1]


def _gate_act(value: Value) -> Node | None:
    """The MLP's activation if ``value`` is one: a one-input ``Swish`` or a ``Gelu``."""
    act = _op(value, "Swish", "Gelu")
    return act if act is not None and (act.op_type == "Gelu" or len(act.inputs) == 1) else None


def _match_mlp(down: Node) -> Iterator[Match]:
    """``down(act(gate(x)) · up(x))``, gate and up separate or one ``gate_up`` split in two."""
    mul = _op(down.inputs[0], "Multiply") if down.op_type == "MatMul" else None
    down_w = mul and _fc_weight(down)
    for act_out, up_out in (mul.inputs, mul.inputs[::-1]) if down_w else ():
        act = _gate_act(act_out)
        if act is None:
            continue
        gate, up = _op(act.inputs[0], "MatMul"), _op(up_out, "MatMul")
        split = _op(act.inputs[0], "VariadicSplit")
        if gate is not None and up is not None and gate is not up and gate.inputs[0] is up.inputs[0]:
            gate_w, up_w = _fc_weight(gate), _fc_weight(up)
            if gate_w is None or gate_w != up_w:
                continue
            x, (inter, hidden), internal = gate.inputs[0], gate_w, (gate, up, act, mul)
        elif split is not None and up_out.producer is split and up_out is not act.inputs[0]:
            gate_up = _op(split.inputs[0], "MatMul")
            gate_up_w = gate_up and _fc_weight(gate_up, combined=True)
            if not (gate_up_w and _is_scalar(split.inputs[1], -1) and _is_const(split.inputs[2])):
                continue  # the lengths are constant, or shape arithmetic the plugin folds
            x, (inter, hidden), internal = gate_up.inputs[0], (gate_up_w[0] // 2, gate_up_w[1]), (gate_up, split, act, mul)
            if len(split.outputs) != 2 or any(v.type.shape[-1:] != (inter,) for v in split.outputs):
                continue  # two equal halves
        else:
            continue
        if down_w == (hidden, inter) and len(x.type.shape) == 3 and not (hidden % MLP_BLOCK or inter % MLP_BLOCK):
            yield Match("mlp", down, internal)
            return


# ---- the pass -----------------------------------------------------------------------------

_MATCHERS: tuple[tuple[str, Callable[[Node], Iterator[Match]]], ...] = (
    ("rms", _match_rms),
    ("rope", _match_rope),
    ("sdpa", _match_sdpa),
    ("mlp", _match_mlp),  # MLPFusion runs on MatMuls, before they become FullyConnected with post-ops
    ("fc", _match_fc),
)


def fused_kernels(graph: Graph) -> dict[str, set[Node]]:
    """The roots of the kernels ``fuse`` formed, by rule (read back from ``kernel``/``folded_by``)."""
    kernels: dict[str, set[Node]] = {}
    for node in graph.nodes:
        for value in node.outputs if KERNEL.is_set(node) else ():
            rule = FOLDED_BY.get(value, "")
            if rule.startswith("fuse."):
                kernels.setdefault(rule.removeprefix("fuse."), set()).add(KERNEL.get(node))
    return kernels


@register_pass
@attrs.frozen
class Fuse(Pass):
    """Folds the intermediates of the patterns the CPU plugin computes in one kernel."""

    name = "fuse"
    rms: bool = True
    """Rule 1: RMSNorm."""
    rope: bool = True
    """Rule 2: rotate-half RoPE, with its input Transpose."""
    sdpa: bool = True
    """Rule 3: KV-cache gather/concat and GQA broadcast inside ScaledDotProductAttention."""
    fc: bool = True
    """Rule 4: bias and activation post-ops of FullyConnected."""
    eltwise: bool = True
    """Rule 5: chains of elementwise ops."""
    mlp: Literal["auto", "on", "off"] = "off"
    """Rule 6: gated MLP → ``LLMMLP``; ``auto``: as the CPU plugin on the graph's target
    (:meth:`~ovmem.target.Target.fuses_mlp` at the graph's ``inference_precision`` if a pass set one,
    else at the target's default)."""

    def _enabled(self, rule: str, graph: Graph) -> bool:
        if rule != "mlp":
            return bool(getattr(self, rule))
        return self.mlp == "on" or (self.mlp == "auto" and target_of(graph).fuses_mlp(graph.meta.get("inference_precision")))

    def requires(self, graph: Graph) -> None:
        if any(n.op_type == "Constant" and not CATEGORY.is_set(n.outputs[0]) for n in graph.nodes):
            raise PassPreconditionError("fuse: run fold-weights first (constants carry no category)")

    def call(self, graph: Graph) -> PassResult:
        protected = {*graph.inputs, *graph.outputs}
        for state in graph.states:
            protected.update(state.values)
        claimed = {KERNEL.get(n) for n in graph.nodes if KERNEL.is_set(n)}  # roots of earlier runs

        def free(node: Node) -> bool:
            return node not in claimed and not KERNEL.is_set(node) and not COMPILE_TIME.get(node, False)

        def valid(match: Match) -> bool:
            members = [*match.internal, *match.absorbed, match.root]
            return len(set(members)) == len(members) and all(map(free, members)) and all(
                value not in protected
                and CATEGORY.get(value, None) is not Category.FOLDED
                and all(u.node in members for u in _runtime_uses(value))
                for node in match.internal
                for value in node.outputs
            )

        matches: list[Match] = []
        for rule, matcher in _MATCHERS:
            for node in graph.nodes if self._enabled(rule, graph) else ():
                if match := next((m for m in matcher(node) if valid(m)), None):
                    matches.append(match)
                    claimed.update((*match.internal, *match.absorbed, match.root))
        if self.eltwise:
            matches += [m for m in _eltwise_matches(graph, free) if valid(m)]
        for match in matches:
            for node in (*match.internal, *match.absorbed):
                KERNEL.set(node, match.root)
            for node in match.internal:
                for value in node.outputs:
                    fold(value, f"fuse.{match.rule}")
        return PassResult(graph, bool(matches))
