"""Lifting opset-built graphs: shapes, byte sizes, states, execution order, the dump."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from golden.regenerate import GOLDEN, mlp_dump
from graphs import kv_cache, mlp

from ovmem.errors import ModelError, UsageError
from ovmem.ir import DYNAMIC, TensorType, lift


@pytest.mark.parametrize(
    ("dtype", "shape", "nbytes"),
    [
        ("f32", (2, 3), 24),
        ("f16", (2, 3), 12),
        ("bf16", (5,), 10),
        ("u8", (7,), 7),
        ("u4", (32, 16), 256),
        ("u4", (3, 3), 5),  # 9 nibbles round up to 5 bytes
        ("i4", (1,), 1),
        ("nf4", (4, 3), 6),
        ("f4e2m1", (5,), 3),
        ("u1", (9,), 2),
        ("i64", (), 8),
        ("f32", (0, 8), 0),
    ],
)
def test_tensor_bytes_pack_sub_byte_types(dtype, shape, nbytes):
    assert TensorType(dtype, shape).nbytes == nbytes


def test_dynamic_tensor_has_no_size():
    t = TensorType("f32", (DYNAMIC, 4))
    assert not t.is_static and t.nbytes is None and str(t) == "f32[?,4]"


def test_lift_mlp_specialises_batch_and_sequence():
    graph = lift(mlp(), seq_len=5, batch=2)
    (x,) = graph.inputs
    (y,) = graph.outputs
    assert (x.name, x.type) == ("x", TensorType("f32", (2, 5, 16)))
    assert y.type == TensorType("f32", (2, 5, 8))
    by_name = {n.name: n for n in graph.nodes}
    assert by_name["fc1"].outputs[0].nbytes == 2 * 5 * 32 * 4
    assert by_name["w1"].outputs[0].nbytes == 16 * 32 * 4
    assert graph.meta["seq_len"] == 5 and graph.meta["batch"] == 2


def test_execution_order_is_topological_and_uses_are_ordered():
    graph = lift(mlp(), seq_len=3)
    assert [n.order for n in graph.nodes] == list(range(len(graph.nodes)))
    for node in graph.nodes:
        for value in node.inputs:
            assert value.producer.order < node.order
            assert any(use.node is node for use in value.uses())
    act = next(n for n in graph.nodes if n.name == "act")
    (use,) = act.outputs[0].uses()
    assert (use.node.name, use.index) == ("fc2", 0)
    # uses() is a copy: editing it does not touch the graph
    act.outputs[0].uses().clear()
    assert len(act.outputs[0].uses()) == 1


def test_lift_does_not_modify_the_callers_model():
    model = kv_cache()
    lift(model, seq_len=4, past_len=3)
    assert model.input("input_ids").get_partial_shape().is_dynamic
    assert sorted(op.get_type_name() for op in model.get_ops() if op.get_type_name() in ("ReadValue", "Assign")) == [
        "Assign",
        "ReadValue",
    ]


def test_states_are_first_class_with_past_and_new_lengths():
    graph = lift(kv_cache(kv_heads=2, head_dim=4), seq_len=4, past_len=3, batch=2)
    (state,) = graph.states
    assert state.variable_id == "past.0.key"
    assert state.read.op_type == "ReadValue" and state.read.name == "past.0.key/read"
    assert state.assign.op_type == "Assign" and state.assign.name == "past.0.key/assign"
    assert state.read.outputs[0].type == TensorType("f32", (2, 2, 3, 4))  # before: past tokens
    assert state.assign.inputs[0].type == TensorType("f32", (2, 2, 7, 4))  # after: past + new
    assert state.type.nbytes == 2 * 2 * 7 * 4 * 4
    shapes = {v.name: v.type.shape for v in graph.inputs}
    assert shapes == {"input_ids": (2, 4), "attention_mask": (2, 7), "beam_idx": (2,)}
    assert not any(n.op_type == "Parameter" and n.name.startswith("ovmem.") for n in graph.nodes)
    assert state.read.attributes["variable_id"] == "past.0.key"


def test_m_rope_position_ids_and_explicit_shapes():
    pos = ops.parameter([3, -1, -1], ov.Type.i64, name="position_ids")
    pix = ops.parameter([-1, 3, -1, -1], ov.Type.f32, name="pixel_values")
    for p, n in ((pos, "position_ids"), (pix, "pixel_values")):
        p.output(0).set_names({n})
    model = ov.Model([ops.result(ops.convert(pos, ov.Type.f32)), ops.result(pix)], [pos, pix])
    graph = lift(model, seq_len=6, batch=2, shapes={"pixel_values": (1, 3, 28, 28)})
    shapes = {v.name: v.type.shape for v in graph.inputs}
    assert shapes == {"position_ids": (3, 2, 6), "pixel_values": (1, 3, 28, 28)}


def test_unknown_shape_override_is_a_usage_error():
    with pytest.raises(UsageError, match="no model input: nope"):
        lift(mlp(), seq_len=2, shapes={"nope": (1, 2)})


def test_impossible_shape_is_a_model_error():
    with pytest.raises(ModelError, match="could not reshape"):
        lift(mlp(), seq_len=2, shapes={"x": (1, 2, 17)})


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "3"])
def test_sizes_must_be_positive_integers(bad):
    with pytest.raises(UsageError, match="seq-len"):
        lift(mlp(), seq_len=bad)


def test_values_left_dynamic_are_reported():
    x = ops.parameter([-1], ov.Type.f32, name="x")
    nz = ops.non_zero(x, "i64")  # data-dependent: OpenVINO cannot make it static
    model = ov.Model([ops.result(nz)], [x])
    graph = lift(model, seq_len=4)
    assert graph.meta["dynamic_values"] == 1
    (out,) = graph.outputs
    assert out.nbytes is None


def test_small_constants_keep_their_data_and_weights_do_not():
    graph = lift(mlp(hidden=16, inner=32), seq_len=2)
    w1 = next(n for n in graph.nodes if n.name == "w1")
    assert "value" not in w1.attributes
    a = ops.parameter([-1], ov.Type.f32, name="a")
    small = ov.Model([ops.result(ops.add(a, ops.constant(np.arange(3, dtype=np.float32))))], [a])
    const = next(n for n in lift(small, seq_len=3).nodes if n.op_type == "Constant")
    np.testing.assert_array_equal(const.attributes["value"], [0, 1, 2])


def test_dump_matches_golden():
    """After an intended change: ``python tests/golden/regenerate.py``, then review ``git diff tests/golden``."""
    golden = GOLDEN / "mlp_seq4.txt"
    assert golden.exists(), f"{golden.name} is missing: python tests/golden/regenerate.py, review it, commit it"
    assert mlp_dump() == golden.read_text()
