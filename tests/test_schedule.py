"""``schedule``: the CPU plugin's execution order (``Graph::SortTopologically``) and grouped slices."""

from __future__ import annotations

import numpy as np
import openvino as ov
import openvino.opset13 as ops
from graphs import named

import ovmem
from ovmem.ir import lift
from ovmem.passes import parse_pipeline
from ovmem.passes.lifetime import sync_steps
from ovmem.passes.schedule import SPLIT_GROUP, plugin_order


def _two_branches() -> ov.Model:
    """``out = Add(a2, b2)`` with ``a2 = Tanh(Relu(x))`` and ``b2 = Tanh(Sigmoid(x))``; OpenVINO lists
    both branches' first nodes before their second ones, the plugin runs port 0's branch whole first."""
    x = named(ops.parameter([1, -1, 8], ov.Type.f32, name="x"), "x")
    a1, b1 = named(ops.relu(x), "a1"), named(ops.sigmoid(x), "b1")
    a2, b2 = named(ops.tanh(a1), "a2"), named(ops.tanh(b1), "b2")
    return ov.Model([ops.result(named(ops.add(a2, b2), "out"))], [x])


def test_the_plugin_runs_each_input_whole_in_port_order():
    graph = lift(_two_branches(), seq_len=4)
    names = [n.name for n in plugin_order(graph) if n.op_type not in ("Parameter", "Result")]
    assert names == ["a1", "a2", "b1", "b2", "out"]


def _fused_qkv(heads: int = 3) -> ov.Model:
    """``qkv = x @ W`` cut by three constant Slices (Phi-3's fused projection), each piece through a
    chain of its own, then summed."""
    x = named(ops.parameter([1, -1, 16], ov.Type.f32, name="x"), "x")
    qkv = named(ops.matmul(x, ops.constant(np.ones((16, 16 * heads), np.float32)), False, False), "qkv")
    pieces = []
    for i in range(heads):
        piece = ops.slice(qkv, ops.constant([16 * i]), ops.constant([16 * (i + 1)]), ops.constant([1]), ops.constant([2]))
        pieces.append(named(ops.relu(ops.sigmoid(named(piece, f"slice{i}"))), f"chain{i}"))
    return ov.Model([ops.result(named(ops.add(ops.add(pieces[0], pieces[1]), pieces[2]), "out"))], [x])


def test_slices_of_one_tensor_run_as_one_split_and_are_no_sync_points():
    pipeline = "fold-weights,fold-shapes,placement,schedule,lifetime{sync_points=true}"
    graph = parse_pipeline(pipeline)(lift(_fused_qkv(), seq_len=4)).graph
    running = [n for n in graph.nodes if n.op_type != "Constant"]  # what executes (their bounds are constants)
    at = {n.name: i for i, n in enumerate(running)}
    assert sorted(at[f"slice{i}"] for i in range(3)) == [at["qkv"] + 1, at["qkv"] + 2, at["qkv"] + 3]  # together
    slices = [n for n in graph.nodes if n.name.startswith("slice")]
    assert all(SPLIT_GROUP.get(s) == SPLIT_GROUP.get(slices[0]) for s in slices)
    assert not set(sync_steps(graph)) & {s.order for s in slices}
    alone = parse_pipeline("fold-weights,fold-shapes,placement,lifetime{sync_points=true}")(lift(_fused_qkv(), seq_len=4)).graph
    assert {n.order for n in alone.nodes if n.name.startswith("slice")} <= set(sync_steps(alone))  # dynamic slices


def test_the_cpu_device_schedules_and_the_qkv_output_dies_at_the_split():
    report = ovmem.analyze(_fused_qkv(), seq_len=64, target="amx")
    assert "schedule" in report.passes
    running = [n for n in report.graph.nodes if n.op_type != "Constant"]
    at = {n.name: i for i, n in enumerate(running)}
    assert max(at[f"slice{i}"] for i in range(3)) == at["qkv"] + 3  # the qkv output is read for the last time
