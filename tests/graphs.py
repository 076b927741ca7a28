"""Small OpenVINO graphs built with ``openvino.opset*`` for the tests, with hand-computed sizes."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset6 as opset6
import openvino.opset13 as ops
from openvino.op.util import Variable, VariableInfo


def named(node, name: str):
    """Give ``node`` a fixed friendly name (and its output the same tensor name) for stable dumps."""
    node.set_friendly_name(name)
    return node


def mlp(hidden: int = 16, inner: int = 32, out: int = 8) -> ov.Model:
    """``x[B,S,hidden] -> MatMul W1 -> Relu -> MatMul W2 -> y[B,S,out]``, f32 weights."""
    x = named(ops.parameter([-1, -1, hidden], ov.Type.f32, name="x"), "x")
    x.output(0).set_names({"x"})
    w1 = named(ops.constant(np.ones((hidden, inner), np.float32)), "w1")
    w2 = named(ops.constant(np.ones((inner, out), np.float32)), "w2")
    h = named(ops.matmul(x, w1, False, False), "fc1")
    a = named(ops.relu(h), "act")
    y = named(ops.matmul(a, w2, False, False), "fc2")
    y.output(0).set_names({"y"})
    return ov.Model([named(ops.result(y), "y/result")], [x], "mlp")


def kv_cache(kv_heads: int = 2, head_dim: int = 4) -> ov.Model:
    """A one-layer stateful cache the way optimum exports it: ReadValue -> Gather(beam_idx) -> Concat -> Assign.

    Inputs ``input_ids[B,S]`` (i64), ``attention_mask[B,past+S]`` (i64), ``beam_idx[B]`` (i32). The new
    keys are ``input_ids`` broadcast to ``[B, kv_heads, S, head_dim]`` (f32), so the state after a run
    holds ``B * kv_heads * (past + S) * head_dim`` floats. The output is the cache summed with the
    mask's length, so both inputs are used.
    """
    ids = ops.parameter([-1, -1], ov.Type.i64, name="input_ids")
    mask = ops.parameter([-1, -1], ov.Type.i64, name="attention_mask")
    beam = ops.parameter([-1], ov.Type.i32, name="beam_idx")
    for p, n in ((ids, "input_ids"), (mask, "attention_mask"), (beam, "beam_idx")):
        named(p, n).output(0).set_names({n})
    info = VariableInfo()
    info.variable_id, info.data_type = "past.0.key", ov.Type.f32
    info.data_shape = ov.PartialShape([-1, kv_heads, -1, head_dim])
    var = Variable(info)
    past = named(opset6.read_value(var), "past.0.key/read")
    reordered = named(ops.gather(past, beam, ops.constant(0)), "past.0.key/reorder")
    x = ops.unsqueeze(ops.unsqueeze(ops.convert(ids, ov.Type.f32), [1]), [3])  # [B,1,S,1]
    shape = ops.concat([ops.constant([1], ov.Type.i64), ops.constant([kv_heads], ov.Type.i64),
                        ops.constant([1], ov.Type.i64), ops.constant([head_dim], ov.Type.i64)], 0)  # fmt: skip
    new = named(ops.multiply(x, ops.broadcast(ops.constant(np.float32(1)), shape)), "new_key")  # [B,kv,S,hd]
    cache = named(ops.concat([reordered, new], 2), "past.0.key/concat")
    assign = named(opset6.assign(cache, var), "past.0.key/assign")
    total = ops.add(ops.reduce_sum(cache, [1, 2, 3], False), ops.convert(ops.reduce_sum(mask, [1], False), ov.Type.f32))
    named(total, "out").output(0).set_names({"out"})
    return ov.Model([ops.result(total)], [assign], [ids, mask, beam], "kv-cache")


def chain(length: int = 4, width: int = 64) -> ov.Model:
    """``x[B,S,width]`` through ``length`` Relus: ``length - 1`` temporaries, two live at a time."""
    x = named(ops.parameter([-1, -1, width], ov.Type.f32, name="x"), "x")
    h = x
    for i in range(length):
        h = named(ops.relu(h), f"relu{i}")
    return ov.Model([ops.result(h)], [x], "chain")


def int4_linear(hidden: int = 16, out: int = 32) -> ov.Model:
    """``y = x @ W^T`` with W stored u4 (asymmetric, per output channel): the NNCF decompression
    pattern ``Constant(u4) -> Convert(f16) -> Subtract(zp) -> Multiply(scale) -> Convert(f32)``.

    Stored: W ``out*hidden/2`` bytes, zero points ``out/2`` (u4), scales ``out*2`` (f16).
    """
    x = named(ops.parameter([-1, -1, hidden], ov.Type.f32, name="x"), "x")
    w = named(ops.constant(np.full((out, hidden), 3, np.uint8), dtype=ov.Type.u4), "w")
    zp = named(ops.constant(np.full((out, 1), 8, np.uint8), dtype=ov.Type.u4), "w/zero_point")
    scale = named(ops.constant(np.full((out, 1), 0.5, np.float16)), "w/scale")
    centered = named(ops.subtract(ops.convert(w, ov.Type.f16), ops.convert(zp, ov.Type.f16)), "w/subtract")
    weight = named(ops.convert(named(ops.multiply(centered, scale), "w/multiply"), ov.Type.f32), "w/convert")
    y = named(ops.matmul(x, weight, False, True), "linear")
    y.output(0).set_names({"y"})
    return ov.Model([ops.result(y)], [x], "int4-linear")


def shape_arithmetic(hidden: int = 8) -> ov.Model:
    """``h = Relu(x)``, then ``Reshape(h, [B, S*hidden])`` with the target built from ``ShapeOf(h)``,
    and a ``[1, 1, S, S]`` f32 causal mask from ``Range(S)`` (a real runtime tensor) added to
    ``MatMul(h, h^T)``."""
    x = named(ops.parameter([-1, -1, hidden], ov.Type.f32, name="x"), "x")
    h = named(ops.relu(x), "h")
    shape = named(ops.shape_of(h), "h/shape")
    batch = named(ops.gather(shape, ops.constant([0]), ops.constant(0)), "h/batch")
    seq = named(ops.gather(shape, ops.constant([1]), ops.constant(0)), "h/seq")
    flat = named(ops.multiply(seq, ops.constant([hidden], ov.Type.i64)), "h/flat")
    target = named(ops.concat([batch, flat], 0), "h/target")
    reshaped = named(ops.reshape(h, target, False), "reshaped")
    length = named(ops.squeeze(seq, ops.constant(0)), "seq/scalar")
    positions = named(ops.range(ops.constant(0, ov.Type.i64), length, ops.constant(1, ov.Type.i64), "i64"), "positions")
    rows = named(ops.unsqueeze(positions, [0, 1, 3]), "rows")  # [1,1,S,1]
    cols = named(ops.unsqueeze(positions, [0, 1, 2]), "cols")  # [1,1,1,S]
    mask = named(ops.select(ops.less_equal(cols, rows), ops.constant(np.float32(0)), ops.constant(np.float32(-1e4))), "mask")
    scores = named(ops.add(ops.unsqueeze(ops.matmul(h, h, False, True), [1]), mask), "scores")
    return ov.Model([ops.result(reshaped), ops.result(scores)], [x], "shape-arithmetic")
