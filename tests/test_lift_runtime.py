"""``--lift runtime``: the CPU plugin's own graph (``compiled.get_runtime_model()``) lifted and analysed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ovmem
from ovmem.api import lift_model
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.ir.lift_runtime import COMPILED_CONSTANT, ORIGINAL_LAYERS
from ovmem.passes import CATEGORY, WEIGHT_COPY_BYTES, Category, parse_pipeline

FIXTURES = Path(__file__).parent / "fixtures"
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


def _runtime(fixture: str, seq_len: int = 16, **kwargs):
    return lift_model(FIXTURES / fixture, lift_from="runtime", device="CPU", seq_len=seq_len, **kwargs)


def test_runtime_graph_has_the_plugins_nodes_with_concrete_shapes():
    graph = _runtime("tiny-qwen2-f16", seq_len=16, past_len=3)
    kinds = {n.op_type for n in graph.nodes}
    assert {"FullyConnected", "RMS", "RoPE", "ScaledDotProductAttention"} <= kinds
    assert not kinds & {"MatMul@", "Input", "Output", "Const", "MemoryInput", "MemoryOutput"}  # edges renamed
    assert graph.meta["dynamic_values"] == 0 and all(v.type.is_static for v in graph.values())
    assert graph.meta["lift"] == "runtime"
    # the plugin's stub on an unused Split output is no model output: logits only
    assert [str(v.type) for v in graph.outputs] == ["f32[1,16,256]"]
    if graph.meta["inference_precision"] != "f32":  # bf16 logits -> the f32 output tensor
        assert graph.outputs[0].producer.op_type == "Reorder"
    assert len(graph.states) == 4
    for state in graph.states:
        past, present = state.values
        assert past.type.shape == (1, 2, 3, 16) and present.type.shape == (1, 2, 19, 16)
        assert present.producer.op_type == "ScaledDotProductAttention"  # the kernel appends to the cache
    fc = next(n for n in graph.nodes if n.op_type == "FullyConnected")
    assert ORIGINAL_LAYERS.get(fc)  # names the exported ops it computes


def test_output_types_are_the_plugins_precision():
    graph = _runtime("tiny-qwen2-f16", properties=F32)
    assert graph.meta["inference_precision"] == "f32"
    fcs = [n for n in graph.nodes if n.op_type == "FullyConnected"]
    assert fcs and all(n.outputs[0].type.dtype == "f32" for n in fcs)
    assert not any(n.op_type == "Reorder" and n.outputs[0] in graph.outputs for n in graph.nodes)


def test_file_weights_count_once_and_compiled_constants_are_derived():
    """Every constant of the .bin counts, whether the plugin read it as is or replaced it (int4 weights
    are reshaped and their scales made f32 while compiling); the replacements are no weights."""
    for fixture in ("tiny-qwen2-f16", "tiny-qwen2-int4", "tiny-llama-int8"):
        spec = "fold-weights"
        exported = parse_pipeline(spec)(lift_model(FIXTURES / fixture, seq_len=16)).graph
        runtime = parse_pipeline(spec)(_runtime(fixture)).graph

        def weights(graph):
            return sum(v.nbytes for v in graph.values() if CATEGORY.get(v, None) is Category.WEIGHT)

        assert weights(runtime) == pytest.approx(weights(exported), rel=0.01), fixture
    compiled = [v for v in runtime.values() if COMPILED_CONSTANT.get(v, False)]
    assert compiled and all(CATEGORY.get(v) is Category.FOLDED for v in compiled)


def test_packed_copies_match_the_emulation():
    """The FullyConnected/LLMMLP weight copies of the runtime graph equal the emulated ones: a weight
    read on two ports of one kernel (Phi-3's gate_up in LLMMLP) is packed once."""
    for fixture in ("tiny-phi3-f16", "tiny-qwen2-int4"):
        emulated = parse_pipeline("fold-weights,fold-shapes,fuse,cpu-runtime")(lift_model(FIXTURES / fixture, seq_len=16)).graph
        runtime = parse_pipeline("fold-weights,fold-shapes,cpu-runtime")(_runtime(fixture)).graph
        copies = [sum(WEIGHT_COPY_BYTES.get(v, 0) for v in g.values()) for g in (emulated, runtime)]
        assert copies[0] > 0 and copies[1] == pytest.approx(copies[0], rel=0.02), fixture


def test_analyze_runtime_drops_the_emulated_fusions():
    report = ovmem.analyze(FIXTURES / "tiny-qwen2-int4", seq_len=64, device="CPU", lift_from="runtime")
    emulated = ovmem.analyze(FIXTURES / "tiny-qwen2-int4", seq_len=64, device="CPU")
    def names(report):
        return [p.partition("{")[0] for p in report.passes.split(",")]

    assert "fuse" not in names(report) and "fuse" in names(emulated)
    assert report.weights_bytes == pytest.approx(emulated.weights_bytes, rel=0.02)
    assert report.state_bytes == emulated.state_bytes and report.io_bytes == emulated.io_bytes
    assert 0 < report.temp_lower_bound_bytes <= report.temp_peak_bytes


def test_runtime_lift_needs_a_device_openvino_runs():
    with pytest.raises(UsageError, match="not one OpenVINO runs here"):
        ovmem.analyze(FIXTURES / "tiny-qwen2-f16", seq_len=8, lift_from="runtime", device="generic")
    with pytest.raises(UsageError, match="compiles on this host"):
        ovmem.analyze(FIXTURES / "tiny-qwen2-f16", seq_len=8, lift_from="runtime", target="avx2")
    with pytest.raises(UsageError, match="lift must be"):
        ovmem.analyze(FIXTURES / "tiny-qwen2-f16", seq_len=8, device="CPU", lift_from="compiled")


def test_cli_lift_runtime(capsys):
    assert main(["analyze", str(FIXTURES / "tiny-phi3-f16"), "--seq-len", "32", "--device", "CPU", "--lift", "runtime", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["lift"] == "runtime" and "fuse" not in report["passes"]
    assert main(["analyze", str(FIXTURES / "tiny-phi3-f16"), "--lift", "runtime", "--device", "generic"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not one OpenVINO runs here" in err
    assert main(["dump", str(FIXTURES / "tiny-phi3-f16"), "--seq-len", "4", "--device", "CPU", "--lift", "runtime"]) == 0
    assert "FullyConnected" in capsys.readouterr().out
