"""``fuse``: the patterns the CPU plugin computes in one kernel, and what stays a buffer.

Expected counts come from the runtime graphs in docs/cpu-plugin-notes.md section 5.2: per
decoder layer 2 ``RMS``, 2 ``RoPE`` (absorbing the q/k Transpose), 1 stateful ``SDPA``, plus the final
norm; FC post-ops are the (zero) q/k/v biases of Qwen2 and the gate Swish.
"""

from __future__ import annotations

import re
from collections import Counter

import attrs
import numpy as np
import openvino as ov
import openvino.opset6 as opset6
import openvino.opset13 as ops
import pytest
from openvino.op.util import Variable, VariableInfo
from openvino.utils.node_factory import NodeFactory

import ovmem
import ovmem.api
from ovmem.ir import lift
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.passes import (
    CATEGORY,
    FOLDED_BY,
    KERNEL,
    LIFETIME,
    WEIGHT_COPY_BYTES,
    Category,
    FoldWeights,
    PassPreconditionError,
    disable,
    parse_pipeline,
)
from ovmem.passes.fuse import Fuse, fused_kernels
from ovmem.passes.lifetime import buffers
from ovmem.target import TARGET, detect_host, get_target

FIXTURES = "tests/fixtures"
SMALL = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
                    num_kv_heads=2, head_dim=16)  # fmt: skip
RULES = ("rms", "rope", "sdpa", "fc", "eltwise")


def _c(value, dtype=np.float32):
    return ops.constant(np.array(value, dtype=dtype))


def _param(name, shape, dtype=ov.Type.f32):
    p = ops.parameter(shape, dtype, name=name)
    p.output(0).get_tensor().set_names({name})
    return p


def _model(outputs, params, sinks=()):
    results = [ops.result(o) for o in outputs]
    return ov.Model(results, list(sinks), params, "t") if sinks else ov.Model(results, params, "t")


def _run(model, pipeline="fold-weights,fold-shapes,fuse", seq_len=4, target=None):
    graph = lift(model, seq_len=seq_len)
    if target is not None:
        TARGET.set(graph, get_target(target))
    return parse_pipeline(pipeline)(graph).graph


def _fused(graph, rule):
    """{root name: sorted names of the nodes whose outputs ``rule`` folded into it}."""
    out: dict[str, list[str]] = {}
    for node in graph.nodes:
        if any(FOLDED_BY.get(v, "") == f"fuse.{rule}" for v in node.outputs):
            out.setdefault(KERNEL.get(node).name, []).append(node.name)
    return {root: sorted(names) for root, names in out.items()}


def _node(graph, name):
    return next(n for n in graph.nodes if n.name == name)


# ---- rule 1: RMSNorm -----------------------------------------------------------------------


def _rms(form="divide", square="power", gamma="f16", extra_reader=None):
    x = _param("x", [-1, -1, 16])
    sq = ops.power(x, _c(2.0), name="sq") if square == "power" else ops.multiply(x, x, name="sq")
    mean = ops.reduce_mean(sq, _c([-1], np.int64), True, name="mean")
    var = ops.add(mean, _c(1e-6), name="var")
    if form == "divide":
        normed = ops.multiply(x, ops.divide(_c(1.0), ops.sqrt(var, name="sqrt"), name="inv"), name="norm")
    elif form == "power":
        normed = ops.multiply(ops.power(var, _c(-0.5), name="inv"), x, name="norm")
    else:  # x / sqrt
        normed = ops.divide(x, ops.sqrt(var, name="sqrt"), name="norm")
    out = normed
    if gamma:
        g = ops.constant(np.ones(16, np.float16 if gamma == "f16" else np.float32))
        out = ops.multiply(normed, ops.convert(g, ov.Type.f32) if gamma == "f16" else g, name="scale")
    outputs = [ops.relu(out, name="after")]
    if extra_reader:
        outputs.append(ops.relu(_by_name_in([sq, mean, var, normed], extra_reader), name="other"))
    return _model(outputs, [x])


def _by_name_in(nodes, name):
    return next(n for n in nodes if n.get_friendly_name() == name)


@pytest.mark.parametrize(
    ("form", "square", "gamma", "inner"),
    [
        ("divide", "power", "f16", ["inv", "mean", "norm", "sq", "sqrt", "var"]),
        ("power", "mul", "f32", ["inv", "mean", "norm", "sq", "var"]),
        ("sqrt", "power", "f16", ["mean", "norm", "sq", "sqrt", "var"]),
    ],
)
def test_rms_folds_its_intermediates_into_the_gamma_multiply(form, square, gamma, inner):
    graph = _run(_rms(form, square, gamma))
    assert _fused(graph, "rms") == {"scale": inner}
    assert CATEGORY.get(_node(graph, "scale").outputs[0], None) is not Category.FOLDED


def test_rms_without_gamma_ends_at_the_normalising_multiply():
    graph = _run(_rms(gamma=None))
    assert _fused(graph, "rms") == {"norm": ["inv", "mean", "sq", "sqrt", "var"]}


@pytest.mark.parametrize("reader", ["sq", "mean", "var"])
def test_rms_with_a_second_reader_of_an_intermediate_is_not_fused(reader):
    graph = _run(_rms(extra_reader=reader), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "rms") == {}


def test_rms_second_reader_of_the_normalised_value_keeps_it_a_buffer():
    graph = _run(_rms(extra_reader="norm"), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "rms") == {"norm": ["inv", "mean", "sq", "sqrt", "var"]}  # γ Multiply not absorbed


# ---- rule 2: RoPE ---------------------------------------------------------------------------


def _rope(split="slice", extra_transpose_reader=False, extra_concat_reader=False):
    q = _param("q", [-1, -1, 2, 8])  # [B, S, H, D]
    cos, sin = _param("cos", [-1, 1, -1, 8]), _param("sin", [-1, 1, -1, 8])
    x = ops.transpose(q, _c([0, 2, 1, 3], np.int32), name="transpose")
    if split == "slice":
        x2 = ops.slice(x, _c([4], np.int64), _c([2**62], np.int64), _c([1], np.int64), _c([3], np.int64), name="x2")
        x1 = ops.slice(x, _c([0], np.int64), _c([4], np.int64), _c([1], np.int64), _c([3], np.int64), name="x1")
        neg = ops.multiply(x2, ops.convert(_c(-1, np.int32), ov.Type.f32), name="neg")
        x1_out, neg_out = x1.output(0), neg.output(0)
    elif split == "shape":  # x[..., x.shape[-1] // 2:], x[..., : x.shape[-1] // 2] (Qwen2.5-VL's ViT export)
        half = ops.divide(ops.gather(ops.shape_of(x), _c([3], np.int64), _c(0, np.int64)), _c([2], np.int64))
        x2 = ops.slice(x, half, _c([2**62], np.int64), _c([1], np.int64), _c([3], np.int64), name="x2")
        x1 = ops.slice(x, _c([0], np.int64), half, _c([1], np.int64), _c([3], np.int64), name="x1")
        neg = ops.multiply(x2, ops.convert(_c(-1, np.int32), ov.Type.f32), name="neg")
        x1_out, neg_out = x1.output(0), neg.output(0)
    elif split == "strided":
        x2 = ops.strided_slice(x, _c([0, 0, 0, 4], np.int64), _c([0, 0, 0, 8], np.int64), _c([1, 1, 1, 1], np.int64),
                               [1, 1, 1, 0], [1, 1, 1, 0], name="x2")
        x1 = ops.strided_slice(x, _c([0, 0, 0, 0], np.int64), _c([0, 0, 0, 4], np.int64), _c([1, 1, 1, 1], np.int64),
                               [1, 1, 1, 1], [1, 1, 1, 0], name="x1")
        neg = ops.negative(x2, name="neg")
        x1_out, neg_out = x1.output(0), neg.output(0)
    elif split == "gptj":  # interleaved halves: x[..., 1::2], x[..., ::2]
        odd = ops.slice(x, _c([1], np.int64), _c([8], np.int64), _c([2], np.int64), _c([3], np.int64), name="x2")
        even = ops.slice(x, _c([0], np.int64), _c([8], np.int64), _c([2], np.int64), _c([3], np.int64), name="x1")
        neg = ops.negative(odd, name="neg")
        x1_out, neg_out = even.output(0), neg.output(0)
    else:
        halves = ops.variadic_split(x, _c(-1, np.int64), _c([4, 4], np.int64), name="split")
        neg = ops.negative(halves.output(1), name="neg")
        x1_out, neg_out = halves.output(0), neg.output(0)
    rotated = ops.concat([neg_out, x1_out], -1, name="rotated")
    out = ops.add(ops.multiply(x, cos, name="mul_cos"), ops.multiply(rotated, sin, name="mul_sin"), name="rope")
    outputs = [ops.relu(out, name="after")]
    if extra_transpose_reader:
        outputs.append(ops.relu(x, name="other"))
    if extra_concat_reader:
        outputs.append(ops.relu(rotated, name="other"))
    return _model(outputs, [q, cos, sin])


@pytest.mark.parametrize(
    ("split", "inner"),
    [
        ("slice", ["mul_cos", "mul_sin", "neg", "rotated", "transpose", "x1", "x2"]),
        ("shape", ["mul_cos", "mul_sin", "neg", "rotated", "transpose", "x1", "x2"]),
        ("strided", ["mul_cos", "mul_sin", "neg", "rotated", "transpose", "x1", "x2"]),
        ("variadic", ["mul_cos", "mul_sin", "neg", "rotated", "split", "transpose"]),
    ],
)
def test_rope_folds_rotate_half_and_its_input_transpose(split, inner):
    graph = _run(_rope(split))
    assert _fused(graph, "rope") == {"rope": inner}
    # the runtime RoPE reads the pre-transpose tensor: q (an input) here, kept until the RoPE runs
    assert KERNEL.get(_node(graph, "transpose")) is _node(graph, "rope")


def test_rope_keeps_a_transpose_that_something_else_reads():
    graph = _run(_rope(extra_transpose_reader=True))
    assert _fused(graph, "rope") == {"rope": ["mul_cos", "mul_sin", "neg", "rotated", "x1", "x2"]}
    assert CATEGORY.get(_node(graph, "transpose").outputs[0], None) is not Category.FOLDED


def test_rope_with_a_second_reader_of_the_rotation_is_not_fused():
    graph = _run(_rope(extra_concat_reader=True), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "rope") == {}


def test_gptj_interleaved_rope_is_not_mistaken_for_rotate_half():
    graph = _run(_rope("gptj"), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "rope") == {}


# ---- rule 3: stateful SDPA --------------------------------------------------------------------


def _sdpa(stateful=True, extra_reader=None):
    """One attention block with GQA (2 kv heads -> 4 heads) and, if ``stateful``, a KV cache."""
    q = _param("q", [-1, 4, -1, 8])
    new = {kind: _param(f"new_{kind}", [-1, 2, -1, 8]) for kind in ("k", "v")}
    params, sinks, kv, nodes = [q, *new.values()], [], {}, {}
    if stateful:
        beam = _param("beam_idx", [-1], ov.Type.i32)
        params.append(beam)
    for kind, value in new.items():
        if stateful:
            info = VariableInfo()
            info.variable_id, info.data_type = f"cache.{kind}", ov.Type.f32
            info.data_shape = ov.PartialShape([-1, 2, -1, 8])
            var = Variable(info)
            past = opset6.read_value(ops.broadcast(_c(0.0), _c([1, 2, 0, 8], np.int64)), var)
            past = ops.gather(past, beam, _c(0, np.int64), name=f"{kind}/beam")
            value = ops.concat([past, value], 2, name=f"{kind}/concat")
            sinks.append(opset6.assign(value, var))
        nodes[f"{kind}/unsqueeze"] = ops.unsqueeze(value, _c(2, np.int64))
        nodes[f"{kind}/unsqueeze"].set_friendly_name(f"{kind}/unsqueeze")  # opset13.unsqueeze drops name=
        nodes[f"{kind}/broadcast"] = ops.broadcast(nodes[f"{kind}/unsqueeze"], _c([1, 1, 2, 1, 1], np.int64),
                                                   broadcast_spec="BIDIRECTIONAL", name=f"{kind}/broadcast")
        kv[kind] = ops.reshape(nodes[f"{kind}/broadcast"], _c([0, 4, -1, 8], np.int64), True, name=f"{kind}/reshape")
        nodes[f"{kind}/reshape"] = kv[kind]
    out = ops.scaled_dot_product_attention(q, kv["k"], kv["v"], causal=True, name="sdpa")
    outputs = [out] + ([ops.relu(nodes[extra_reader], name="other")] if extra_reader else [])
    return _model(outputs, params, sinks)


def test_stateful_sdpa_folds_beam_gather_and_gqa_and_runs_the_concat():
    graph = _run(_sdpa(), "fold-weights,fold-shapes,fuse,placement,lifetime")
    inner = sorted(f"{k}/{part}" for k in "kv" for part in ("beam", "broadcast", "reshape", "unsqueeze"))
    assert _fused(graph, "sdpa") == {"sdpa": inner}
    sdpa = _node(graph, "sdpa")
    for kind in "kv":
        concat = _node(graph, f"{kind}/concat")
        assert KERNEL.get(concat) is sdpa and CATEGORY.get(concat.outputs[0]) is Category.STATE
        # the new K/V are read by the SDPA kernel, not at the Concat's step
        assert LIFETIME.get(_node(graph, f"new_{kind}").outputs[0]).end >= sdpa.order


def test_sdpa_without_cache_folds_only_the_gqa_broadcast():
    graph = _run(_sdpa(stateful=False))
    inner = sorted(f"{k}/{part}" for k in "kv" for part in ("broadcast", "reshape", "unsqueeze"))
    assert _fused(graph, "sdpa") == {"sdpa": inner}


def test_sdpa_with_a_second_reader_of_the_gqa_broadcast_is_not_fused():
    graph = _run(_sdpa(extra_reader="v/broadcast"), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "sdpa") == {}


# ---- rule 4: FullyConnected post-ops -------------------------------------------------------


def _fc(bias=True, act="gelu", activation_weights=False, extra_reader=False):
    x = _param("x", [-1, -1, 16])
    f16_weight = ops.constant(np.ones((32, 16), np.float16))
    w = _param("w", [32, 16]) if activation_weights else ops.convert(f16_weight, ov.Type.f32)
    mm = ops.matmul(x, w, False, True, name="fc")
    out = ops.add(mm, _c(np.zeros(32)), name="bias") if bias else mm
    out = ops.gelu(out, "erf", name="act") if act == "gelu" else ops.swish(out, name="act") if act else out
    outputs = [out]  # a Relu here would be one more post-op
    if extra_reader:
        outputs.append(ops.relu(mm, name="other"))
    return _model(outputs, [x, w] if activation_weights else [x])


@pytest.mark.parametrize(
    ("bias", "act", "fused"),
    [
        (True, "gelu", {"act": ["bias", "fc"]}),
        (False, "swish", {"act": ["fc"]}),
        (True, None, {"bias": ["fc"]}),
    ],
)
def test_fc_absorbs_bias_and_activation(bias, act, fused):
    graph = _run(_fc(bias, act), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "fc") == fused


def test_fc_needs_constant_weights_and_a_single_reader():
    assert _fused(_run(_fc(activation_weights=True), "fold-weights,fold-shapes,fuse{eltwise=false}"), "fc") == {}
    assert _fused(_run(_fc(extra_reader=True), "fold-weights,fold-shapes,fuse{eltwise=false}"), "fc") == {}


# ---- rule 5: eltwise chains ----------------------------------------------------------------


def test_eltwise_chain_merges_into_its_last_op():
    x, y = _param("x", [-1, -1, 8]), _param("y", [-1, -1, 8])
    h = ops.multiply(x, _c(np.full(8, 2.0)), name="mul")
    h = ops.add(h, y, name="add")
    h = ops.relu(h, name="relu")
    graph = _run(_model([ops.matmul(h, _c(np.ones((8, 8))), False, False, name="mm")], [x, y]))
    assert _fused(graph, "eltwise") == {"relu": ["add", "mul"]}


def test_eltwise_chain_stops_at_seven_inputs():
    xs = [_param(f"x{i}", [-1, 8]) for i in range(9)]
    h = xs[0]
    for i in range(1, 9):
        h = ops.add(h, xs[i], name=f"add{i}")
    graph = _run(_model([ops.relu(ops.matmul(h, _c(np.ones((8, 8))), False, False), name="r")], xs))
    # add1..add6 read x0..x6 (7 inputs); add7 would make 8, so it starts the next chain
    assert _fused(graph, "eltwise") == {"add6": [f"add{i}" for i in range(1, 6)], "add8": ["add7"]}


@pytest.mark.parametrize("case", ["port1_subtract", "cycle", "int_mixed", "static_dynamic", "convert", "int_bitwise"])
def test_eltwise_pairs_the_plugin_does_not_merge(case):
    x, y = _param("x", [-1, -1, 8]), _param("y", [-1, -1, 8])
    params = [x, y]
    if case == "port1_subtract":
        out = ops.subtract(y, ops.relu(x, name="p"), name="c")
    elif case == "cycle":
        out = ops.multiply(x, ops.sigmoid(x, name="p"), name="c")
    elif case == "int_mixed":  # integer arithmetic cannot merge with a comparison
        a, b = _param("a", [-1, 8], ov.Type.i32), _param("b", [-1, 8], ov.Type.i32)
        params = [a, b]
        out = ops.convert(ops.less(ops.add(a, b, name="p"), _c(np.full(8, 3), np.int32), name="c"), ov.Type.f32)
    elif case == "static_dynamic":
        s = _param("s", [1, 1, 8])
        params = [x, s]
        out = ops.add(ops.relu(s, name="p"), x, name="c")
    elif case == "convert":
        out = ops.relu(ops.convert(ops.relu(x, name="p"), ov.Type.f16), name="c")
    else:  # integer Bitwise ops never merge (a comparison would otherwise take them)
        a, b, c = (_param(n, [-1, 8], ov.Type.i32) for n in "abc")
        params = [a, b, c]
        out = ops.equal(ops.bitwise_and(a, b, name="p"), c, name="c")
    graph = _run(_model([ops.matmul(ops.convert(out, ov.Type.f32), _c(np.ones((8, 8))), False, False)], params))
    assert _fused(graph, "eltwise") == {}


@pytest.mark.parametrize("case", ["port0_subtract", "int_chain", "bool_bitwise"])
def test_eltwise_pairs_the_plugin_merges(case):
    x, y = _param("x", [-1, -1, 8]), _param("y", [-1, -1, 8])
    params = [x, y]
    if case == "port0_subtract":
        out = ops.subtract(ops.relu(x, name="p"), y, name="c")
    elif case == "int_chain":
        a, b, c = (_param(n, [-1, 8], ov.Type.i64) for n in "abc")
        params = [a, b, c]
        out = ops.add(ops.multiply(a, b, name="p"), c, name="c")
    else:
        a, b = _param("a", [-1, 8], ov.Type.boolean), _param("b", [-1, 8], ov.Type.boolean)
        params = [a, b]
        out = ops.logical_not(ops.bitwise_and(a, b, name="p"), name="c")
    graph = _run(_model([ops.matmul(ops.convert(out, ov.Type.f32), _c(np.ones((8, 8))), False, False)], params))
    assert _fused(graph, "eltwise") == {"c": ["p"]}


def test_eltwise_consumer_merges_only_one_producer_chain():
    x, y = _param("x", [-1, -1, 8]), _param("y", [-1, -1, 8])
    out = ops.add(ops.relu(x, name="relu"), ops.sigmoid(y, name="sigmoid"), name="add")
    graph = _run(_model([ops.matmul(out, _c(np.ones((8, 8))), False, False)], [x, y]))
    first = min(_node(graph, "relu"), _node(graph, "sigmoid"), key=lambda n: n.order)
    assert _fused(graph, "eltwise") == {"add": [first.name]}  # the later producer stays a buffer


def test_model_outputs_and_states_are_never_folded():
    graph = _run(_rms(), "fold-weights,fold-shapes,fuse")  # sanity: the same graph fuses ...
    assert _fused(graph, "rms")
    x = _param("x", [-1, -1, 16])  # ... but not when an intermediate is also a model output
    sq = ops.power(x, _c(2.0), name="sq")
    mean = ops.reduce_mean(sq, _c([-1], np.int64), True, name="mean")
    norm = ops.multiply(x, ops.divide(_c(1.0), ops.sqrt(ops.add(mean, _c(1e-6)), name="sqrt")), name="norm")
    graph = _run(_model([norm, mean], [x]), "fold-weights,fold-shapes,fuse{eltwise=false}")
    assert _fused(graph, "rms") == {}
    for fixture in ("tiny-qwen2-f16", "tiny-llama-f16"):
        graph = _run(f"{FIXTURES}/{fixture}", seq_len=8)
        pinned = {*graph.inputs, *graph.outputs, *(s.read.outputs[0] for s in graph.states),
                  *(s.assign.inputs[0] for s in graph.states)}  # fmt: skip
        assert not [v for v in pinned if FOLDED_BY.get(v, "").startswith("fuse.")]
        assert len(fused_kernels(graph)["sdpa"]) == 2


# ---- rule 6: gated MLP (LLMMLP) -----------------------------------------------------------

MLP_SMALL = attrs.evolve(SMALL, swish_beta=False)  # a one-input Swish, as optimum exports it
RUNTIME_NEEDS_AMX = pytest.mark.skipif(
    not detect_host().fuses_mlp(), reason="the CPU plugin forms LLMMLP only on AMX hosts in bf16/f16 inference"
)


def _mlp_weight(kind, rows, cols, name):
    """``[rows, cols]`` weight as the exporters store it: f16 (``Convert`` to f32), NNCF u8/u4 asymmetric
    per channel (``Convert → Subtract(zp) → Multiply(f16 scale) → Convert``), or symmetric i8 with
    f32 per-channel scales (``Convert → Multiply``: MLPFusion's int8 form)."""
    if kind == "f16":
        return ops.convert(ops.constant(np.full((rows, cols), 0.01, np.float16), name=name), ov.Type.f32)
    if kind == "i8":
        w = ops.constant(np.ones((rows, cols), np.int8), name=name)
        return ops.multiply(ops.convert(w, ov.Type.f32), _c(np.full((rows, 1), 0.01)))
    w = ops.constant(np.full((rows, cols), 3, np.uint8), dtype=ov.Type.u4 if kind == "u4" else ov.Type.u8, name=name)
    zp = ops.constant(np.full((rows, 1), 8, np.uint8), dtype=ov.Type.u4 if kind == "u4" else ov.Type.u8)
    centered = ops.subtract(ops.convert(w, ov.Type.f16), ops.convert(zp, ov.Type.f16))
    return ops.convert(ops.multiply(centered, _c(np.full((rows, 1), 0.01), np.float16)), ov.Type.f32)


def _gated_mlp(weights="f16", act="swish", hidden=64, inter=128, reader=None, up_first=False):
    """``down(act(gate(x)) * up(x))`` with ``[out, in]`` weights (``transpose_b``)."""
    x = _param("x", [-1, -1, hidden])
    gate = ops.matmul(x, _mlp_weight(weights, inter, hidden, "gate.weight"), False, True, name="gate")
    up = ops.matmul(x, _mlp_weight(weights, inter, hidden, "up.weight"), False, True, name="up")
    if act == "swish":
        a = NodeFactory("opset4").create("Swish", [gate.output(0)], {})
    else:  # swish_beta: opset13's swish adds an explicit beta = 1 input
        a = {"swish_beta": ops.swish, "gelu": lambda t: ops.gelu(t, "tanh"), "relu": ops.relu}[act](gate)
    a.set_friendly_name("act")
    mul = ops.multiply(up, a, name="mul") if up_first else ops.multiply(a, up, name="mul")
    down = ops.matmul(mul, _mlp_weight(weights, hidden, inter, "down.weight"), False, True, name="down")
    others = {"gate": gate, "act": a, "mul": mul}
    return _model([down, *([ops.relu(others[reader], name="other")] if reader else [])], [x])


def _plugin_llmmlp(model, **properties) -> set[str]:
    """The friendly names of the ``LLMMLP`` nodes the CPU plugin made of ``model``."""
    runtime = ov.Core().compile_model(model, "CPU", properties).get_runtime_model()
    return {op.get_friendly_name() for op in runtime.get_ops() if op.get_rt_info()["layerType"].astype(str) == "LLMMLP"}


def test_mlp_folds_gate_up_activation_and_product_into_the_down_projection():
    on = _run(build_llama(MLP_SMALL), "fold-weights,fold-shapes,fuse{mlp=on}", seq_len=8)
    assert _fused(on, "mlp") == {
        f"model.layers.{i}.mlp.down_proj": sorted([f"model.layers.{i}.mlp.gate_proj", f"model.layers.{i}.mlp.up_proj",
                                                   f"model.layers.{i}.mlp.act_fn", f"model.layers.{i}.mlp/gated"])
        for i in range(2)
    }  # fmt: skip
    down = _node(on, "model.layers.0.mlp.down_proj")
    assert not FOLDED_BY.is_set(down.outputs[0]) and KERNEL.get(_node(on, "model.layers.0.mlp.up_proj")) is down
    assert "model.layers.0.mlp.act_fn" not in _fused(on, "fc")  # the gate no longer takes its Swish as a post-op
    off = _run(build_llama(MLP_SMALL), seq_len=8)  # the default: the generic device is unchanged
    assert _fused(off, "mlp") == {}
    assert _fused(off, "fc")["model.layers.0.mlp.act_fn"] == ["model.layers.0.mlp.gate_proj"]


def test_mlp_removes_three_intermediate_buffers_per_layer():
    pipeline = "fold-weights,fold-shapes,fuse{{mlp={}}},inplace,placement,lifetime"
    off, on = (_run(build_llama(MLP_SMALL), pipeline.format(mlp), seq_len=64) for mlp in ("off", "on"))
    temps = [sum(b.category is Category.TEMP for b in buffers(g)) for g in (off, on)]
    assert temps[0] - temps[1] == 3 * MLP_SMALL.num_layers  # gate(+Swish), up, gate * up


@pytest.mark.parametrize("weights", ["u8", "u4", "i8"])
def test_mlp_leaves_compressed_weights_alone(weights):
    """u8/u4 with zero points never match MLPFusion; symmetric i8 matches but LLMMLP takes it only with
    per-token dynamic quantization (DYNAMIC_QUANTIZATION_GROUP_SIZE >= hidden, not the default 32)."""
    assert _fused(_run(_gated_mlp(weights), "fold-weights,fold-shapes,fuse{mlp=on}"), "mlp") == {}
    assert _fused(_run(_gated_mlp("f16"), "fold-weights,fold-shapes,fuse{mlp=on}"), "mlp") == {
        "down": ["act", "gate", "mul", "up"]
    }


@pytest.mark.parametrize("fixture", ["tiny-qwen2-int4", "tiny-llama-int8"])
def test_mlp_leaves_the_quantized_fixtures_alone(fixture):
    graph = _run(f"{FIXTURES}/{fixture}", "fold-weights,fold-shapes,fuse{mlp=on}", seq_len=8)
    assert "mlp" not in fused_kernels(graph)


def test_mlp_fuses_phi3_gate_up_and_its_split():
    graph = _run(f"{FIXTURES}/tiny-phi3-f16", "fold-weights,fold-shapes,fuse{mlp=on}", seq_len=8)
    fused = _fused(graph, "mlp")
    assert len(fused) == 2
    for root, inner in fused.items():
        assert _node(graph, root).op_type == "MatMul" and "down_proj" in root
        assert sorted(_node(graph, n).op_type for n in inner) == ["MatMul", "Multiply", "Swish", "VariadicSplit"]
        assert any("gate_up_proj" in n for n in inner)


@pytest.mark.parametrize("reader", ["gate", "act", "mul"])
def test_mlp_with_a_second_reader_of_an_intermediate_is_not_fused(reader):
    """The plugin still makes the LLMMLP and keeps the read part computed for the other reader;
    ovmem keeps the whole MLP unfused, which can only overcount."""
    assert _fused(_run(_gated_mlp(reader=reader), "fold-weights,fold-shapes,fuse{mlp=on}"), "mlp") == {}


MLP_CASES = {
    "f16-swish": {}, "up-times-act": {"up_first": True}, "gelu": {"act": "gelu"},
    "swish-with-beta": {"act": "swish_beta"}, "relu": {"act": "relu"}, "u8": {"weights": "u8"},
    "u4": {"weights": "u4"}, "i8": {"weights": "i8"}, "hidden-48": {"hidden": 48}, "inter-112": {"inter": 112},
}  # fmt: skip


@RUNTIME_NEEDS_AMX
@pytest.mark.parametrize("case", MLP_CASES)
def test_mlp_fuses_what_the_plugin_fuses_in_built_graphs(case):
    model = _gated_mlp(**MLP_CASES[case])
    emulated = {root for root in _fused(_run(model, "fold-weights,fold-shapes,fuse{mlp=auto}"), "mlp")}
    assert emulated == _plugin_llmmlp(model)
    assert emulated == ({"down"} if case in ("f16-swish", "up-times-act", "gelu") else set())


MLP_FIXTURES = ["tiny-llama-f16", "tiny-qwen2-f16", "tiny-phi3-f16", "tiny-gemma3-text-f16", "tiny-qwen2-int4",
                "tiny-llama-int8"]  # fmt: skip


@RUNTIME_NEEDS_AMX
@pytest.mark.parametrize("fixture", MLP_FIXTURES)
def test_mlp_roots_are_the_runtime_llmmlp_nodes(fixture):
    graph = _run(f"{FIXTURES}/{fixture}", "fold-weights,fold-shapes,fuse{mlp=auto}", seq_len=8)
    emulated = {root.name for root in fused_kernels(graph).get("mlp", ())}
    runtime = ovmem.api.lift_model(f"{FIXTURES}/{fixture}", lift_from="runtime", device="CPU", seq_len=8)
    assert emulated == {n.name for n in runtime.nodes if n.op_type == "LLMMLP"}
    assert len(emulated) == (2 if fixture.endswith("-f16") else 0)


@RUNTIME_NEEDS_AMX
def test_mlp_follows_the_plugin_on_build_llama_and_in_f32_mode():
    for config, fused in ((MLP_SMALL, 2), (SMALL, 0)):  # SMALL's Swish has a beta input: no LLMMLP
        emulated = fused_kernels(_run(build_llama(config), "fold-weights,fold-shapes,fuse{mlp=auto}", seq_len=8))
        assert {r.name for r in emulated.get("mlp", ())} == _plugin_llmmlp(build_llama(config))
        assert len(emulated.get("mlp", ())) == fused
    assert _plugin_llmmlp(build_llama(MLP_SMALL), INFERENCE_PRECISION_HINT="f32") == set()
    assert detect_host().fuses_mlp("f32") is False


@pytest.mark.parametrize(
    ("target", "fused"),
    [("amx", True), ("amx_fp16", True), ("sapphire-rapids", True), ("avx512_bf16", False), ("zen4", False),
     ("avx512", False), ("avx2", False), ("lunar-lake", False)],
)  # fmt: skip
def test_mlp_auto_follows_the_target(target, fused):
    """MLPFusion is registered only with AMX-BF16 in bf16 inference (or AMX-FP16 in f16)."""
    graph = _run(_gated_mlp(), "fold-weights,fold-shapes,fuse{mlp=auto}", target=target)
    assert bool(_fused(graph, "mlp")) is fused


def test_mlp_auto_follows_the_inference_precision():
    def fused(target, precision):
        graph = FoldWeights()(lift(_gated_mlp(), seq_len=4)).graph
        TARGET.set(graph, get_target(target))
        graph.meta["inference_precision"] = precision  # as a pass before fuse set it
        return bool(_fused(Fuse(mlp="auto")(graph).graph, "mlp"))

    assert fused("amx", "bf16") and not fused("amx", "f32")  # f32: the plugin registers no MLPFusion
    assert not fused("amx", "f16") and fused("amx_fp16", "f16")  # f16 needs AMX-FP16
    assert Fuse().mlp == "off" and str(Fuse(mlp="auto")) == "fuse{mlp=auto}"
    assert str(disable(parse_pipeline("fold-weights,fuse{mlp=auto}"), ["fuse.mlp"])) == "fold-weights,fuse"


def test_mlp_keeps_the_packed_weight_copies():
    """LLMMLP packs the same three weights the FullyConnecteds would (cpu-runtime rule 3)."""
    copies = []
    for mlp in ("off", "on"):
        pipeline = f"fold-weights,fold-shapes,fuse{{mlp={mlp}}},inplace,cpu-runtime{{precision=bf16}}"
        graph = _run(f"{FIXTURES}/tiny-qwen2-f16", pipeline, seq_len=8)
        copies.append(sum(WEIGHT_COPY_BYTES.get(v, 0) for v in graph.values()))
    assert copies[0] == copies[1] > 0


# ---- options, preconditions, idempotence ----------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "model"),
    [("rms", lambda: _rms()), ("rope", lambda: _rope()), ("sdpa", lambda: _sdpa()), ("fc", lambda: _fc()),
     ("eltwise", lambda: _rope(split="strided"))],  # fmt: skip
)
def test_each_rule_can_be_switched_off(rule, model):
    on = _run(model(), f"fold-weights,fold-shapes,fuse{{{'rope=false' if rule == 'eltwise' else ''}}}")
    assert _fused(on, rule)
    off = _run(model(), f"fold-weights,fold-shapes,fuse{{{rule}=false}}")
    assert _fused(off, rule) == {}


def test_fuse_needs_fold_weights_and_runs_once():
    graph = lift(_rms(), seq_len=4)
    with pytest.raises(PassPreconditionError, match="fold-weights"):
        Fuse()(graph)
    FoldWeights()(graph)
    assert Fuse()(graph).modified is True
    assert Fuse()(graph).modified is False
    assert str(Fuse(rms=False)) == "fuse{rms=false}"


# ---- real models ----------------------------------------------------------------------------


def _per_layer(graph) -> dict[str, Counter]:
    """Kernels per rule, by layer (``"norm"`` for the final norm)."""
    out: dict[str, Counter] = {}
    for rule, roots in fused_kernels(graph).items():
        for root in roots:
            m = re.search(r"layers\.(\d+)[./]", root.name)
            layer = m.group(1) if m else "norm" if "model.norm" in root.name else "other"
            out.setdefault(rule, Counter())[layer] += 1
    return out


@pytest.mark.parametrize(
    ("model", "fc_per_layer"),
    [("demo", 1), ("tiny-llama-f16", 1), ("tiny-qwen2-f16", 4)],  # qwen2: q/k/v bias Adds + gate Swish
)
def test_kernels_per_layer_match_the_cpu_runtime_graph(model, fc_per_layer):
    source = build_llama(SMALL) if model == "demo" else f"{FIXTURES}/{model}"
    graph = _run(source, seq_len=8)
    counts = _per_layer(graph)
    assert counts["rms"] == Counter({"0": 2, "1": 2, "norm": 1})
    assert counts["rope"] == Counter({"0": 2, "1": 2})
    assert counts["sdpa"] == Counter({"0": 1, "1": 1})
    assert counts["fc"] == Counter({"0": fc_per_layer, "1": fc_per_layer})
    assert all(r.op_type == "Add" for r in fused_kernels(graph)["rope"])
    assert all(r.op_type == "ScaledDotProductAttention" for r in fused_kernels(graph)["sdpa"])
    # every q/k Transpose feeding a RoPE is absorbed (input_trans0213)
    absorbed = [n for n in graph.nodes if n.op_type == "Transpose" and FOLDED_BY.get(n.outputs[0], "") == "fuse.rope"]
    assert len(absorbed) == 4


def test_fuse_lowers_the_peak_of_a_real_export():
    model = f"{FIXTURES}/tiny-qwen2-f16"
    plain = ovmem.analyze(model, seq_len=256, passes="fold-weights,fold-shapes,placement,lifetime")
    fused = ovmem.analyze(model, seq_len=256, passes="fold-weights,fold-shapes,fuse,placement,lifetime")
    assert fused.temp_peak_bytes < plain.temp_peak_bytes
    assert fused.counts["temps"] < plain.counts["temps"]


def test_k_rope_output_lives_until_the_sdpa_reads_it():
    graph = _run(build_llama(SMALL), "fold-weights,fold-shapes,fuse,placement,lifetime", seq_len=8)
    k_rope, sdpa = _node(graph, "model.layers.0.self_attn/k_rope"), _node(graph, "model.layers.0.self_attn/sdpa")
    assert LIFETIME.get(k_rope.outputs[0]).end == sdpa.order
    plain = _run(build_llama(SMALL), "fold-weights,fold-shapes,placement,lifetime", seq_len=8)
    assert LIFETIME.get(_node(plain, "model.layers.0.self_attn/k_rope").outputs[0]).end < sdpa.order


def test_layer_0_buffers_after_fuse_by_hand():
    """Research 5.2 "real activation buffers per layer" (f32 mode: no LLMMLP), for the demo at seq 64.

    RMS x2, FC q/k/v, RoPE q/k (each reading the pre-transpose Reshape), V Transpose, SDPA out,
    attention-output Transpose, o-proj FC, residual Adds x2, gate FC(+Swish), up FC, Multiply, down
    FC. The Reshapes are views in the runtime; without an in-place pass they are still buffers here.
    """
    graph = _run(build_llama(SMALL), "fold-weights,fold-shapes,fuse,placement,lifetime", seq_len=64)
    p = "model.layers.0"
    expected = {
        f"{p}.input_layernorm", f"{p}.self_attn.q_proj", f"{p}.self_attn.k_proj", f"{p}.self_attn.v_proj",
        f"{p}.self_attn/q_rope", f"{p}.self_attn/k_rope", f"{p}.self_attn.v_proj/transpose",
        f"{p}.self_attn/sdpa", f"{p}.self_attn/transpose_out", f"{p}.self_attn.o_proj", f"{p}/attn_residual",
        f"{p}.post_attention_layernorm", f"{p}.mlp.act_fn", f"{p}.mlp.up_proj", f"{p}.mlp/gated",
        f"{p}.mlp.down_proj", f"{p}/mlp_residual",
    }  # fmt: skip
    views = {f"{p}.self_attn.q_proj/reshape", f"{p}.self_attn.k_proj/reshape", f"{p}.self_attn.v_proj/reshape",
             f"{p}.self_attn/reshape_out"}  # fmt: skip
    temps = {
        n.name
        for n in graph.nodes
        if n.name.startswith((f"{p}.", f"{p}/")) and any(CATEGORY.get(v, None) is Category.TEMP for v in n.outputs)
    }
    assert temps == expected | views
    assert {n.op_type for n in graph.nodes if n.name in views} == {"Reshape"}


def test_layer_0_buffers_with_inplace_are_exactly_the_runtime_ones():
    """With the in-place views aliased, layer 0's temporaries are research 5.2's list, one per buffer."""
    graph = _run(build_llama(SMALL), "fold-weights,fold-shapes,fuse,inplace,placement,lifetime", seq_len=64)
    p = "model.layers.0"
    owners = [
        b.root.producer.name
        for b in buffers(graph)
        if b.category is Category.TEMP and b.root.producer.name.startswith((f"{p}.", f"{p}/"))
    ]
    assert sorted(owners) == sorted([
        f"{p}.input_layernorm", f"{p}.post_attention_layernorm",                       # RMS x2
        f"{p}.self_attn.q_proj", f"{p}.self_attn.k_proj", f"{p}.self_attn.v_proj",     # FC q, k, v
        f"{p}.self_attn/q_rope", f"{p}.self_attn/k_rope",                              # RoPE q, k
        f"{p}.self_attn.v_proj/transpose", f"{p}.self_attn/sdpa",                      # V Transpose, SDPA
        f"{p}.self_attn/transpose_out", f"{p}.self_attn.o_proj",                       # Transpose, o-FC
        f"{p}/attn_residual", f"{p}/mlp_residual",                                     # residual Adds
        f"{p}.mlp.act_fn", f"{p}.mlp.up_proj", f"{p}.mlp/gated", f"{p}.mlp.down_proj",  # gate(+Swish), up, mul, down
    ])  # fmt: skip
