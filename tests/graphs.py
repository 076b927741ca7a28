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
