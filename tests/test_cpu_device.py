"""``--device CPU``: the CPU plugin's precisions, output reorder, weight copies, sync points, planner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest
from graphs import int4_linear, kv_cache, named, shape_arithmetic

import ovmem
from ovmem.devices import DEVICES, get_device
from ovmem.errors import UsageError
from ovmem.ir import lift
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.passes import CATEGORY, LIFETIME, STORED_TYPE, WEIGHT_COPY_BYTES, Category, parse_pipeline
from ovmem.passes.keys import RESIDENT_BYTES
from ovmem.passes.lifetime import sync_steps

TINY = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                   head_dim=16, tie_word_embeddings=True)  # fmt: skip


def _graph(model, spec: str, seq_len: int = 8):
    return parse_pipeline(spec)(lift(model, seq_len=seq_len)).graph


def test_bf16_activations_f32_rotary_tables_and_outputs():
    graph = _graph(build_llama(TINY), "fold-weights,fold-shapes,fuse,inplace,cpu-runtime{precision=bf16},placement,lifetime")
    by_name = {n.name: n for n in graph.nodes}
    assert STORED_TYPE.get(by_name["model.layers.0.mlp.up_proj"].outputs[0]).dtype == "bf16"
    assert not STORED_TYPE.is_set(by_name["model.rotary_emb/cos"].outputs[0])  # kept f32
    (logits,) = graph.outputs
    assert logits.type.dtype == "f32" and not STORED_TYPE.is_set(logits)
    reorder = logits.producer
    assert reorder.op_type == "Reorder" and reorder.inputs[0].producer.name == "lm_head"
    lm_head = reorder.inputs[0]
    assert CATEGORY.get(lm_head) is Category.TEMP and STORED_TYPE.get(lm_head).dtype == "bf16"
    assert [n.order for n in graph.nodes] == list(range(len(graph.nodes)))


def test_no_reorder_in_f32_mode_and_i64_temporaries_are_i32():
    graph = _graph(shape_arithmetic(), "fold-weights,cpu-runtime{precision=f32},placement,lifetime")
    assert not any(n.op_type == "Reorder" for n in graph.nodes)
    positions = next(n for n in graph.nodes if n.name == "positions").outputs[0]
    assert positions.type.dtype == "i64" and STORED_TYPE.get(positions).dtype == "i32"


def test_fully_connected_weights_get_a_packed_copy():
    model = build_llama(TINY)  # f16 weights, tied embeddings
    graph = _graph(model, "fold-weights,fuse,cpu-runtime{precision=bf16},placement,lifetime")
    embedding = next(n for n in graph.nodes if n.name == "model.embed_tokens.weight").outputs[0]
    q = next(n for n in graph.nodes if n.name == "model.layers.0.self_attn.q_proj.weight").outputs[0]
    assert WEIGHT_COPY_BYTES.get(q) == q.nbytes  # f16 -> bf16: same size
    assert WEIGHT_COPY_BYTES.get(embedding) == embedding.nbytes  # the tied LM head packs the table
    norm = next(n for n in graph.nodes if n.name == "model.norm.weight").outputs[0]
    assert not WEIGHT_COPY_BYTES.is_set(norm)  # not read by a FullyConnected
    f32 = _graph(model, "fold-weights,fuse,cpu-runtime{precision=f32},placement,lifetime")
    q32 = next(n for n in f32.nodes if n.name == "model.layers.0.self_attn.q_proj.weight").outputs[0]
    assert WEIGHT_COPY_BYTES.get(q32) == q32.nbytes  # an LLM in f32 keeps f16 weights


def test_f32_weights_pack_at_half_size_and_an_mlp_first_reorders_them_to_f16():
    import attrs

    model = build_llama(attrs.evolve(TINY, weight_dtype="f32", swish_beta=False))  # as `--weight-format fp32` exports
    graph = _graph(model, "fold-weights,fuse{mlp=on},cpu-runtime{precision=bf16},placement,lifetime")
    weight = {n.name: n.outputs[0] for n in graph.nodes if n.op_type == "Constant"}
    q, up = weight["model.layers.0.self_attn.q_proj.weight"], weight["model.layers.0.mlp.up_proj.weight"]
    assert WEIGHT_COPY_BYTES.get(q) == q.nbytes // 2  # FullyConnected: packed bf16
    assert WEIGHT_COPY_BYTES.get(up) == up.type.numel * (2 + 2)  # LLMMLP: a constant Reorder to f16, then packed bf16
    unfused = _graph(model, "fold-weights,fuse{mlp=off},cpu-runtime{precision=bf16},placement,lifetime")
    up = next(n.outputs[0] for n in unfused.nodes if n.name == "model.layers.0.mlp.up_proj.weight")
    assert WEIGHT_COPY_BYTES.get(up) == up.nbytes // 2
    (logits,) = graph.outputs  # an FC with f32 weights writes the f32 output itself: no Reorder
    assert logits.producer.op_type == "MatMul" and not any(n.op_type == "Reorder" for n in graph.nodes)


def _scaled_lookup(dtype: str, vocab: int = 16384, hidden: int = 64) -> ov.Model:
    """Gemma's text embeddings: ``table[ids] * sqrt(hidden)``, the table stored f32 or f16 (+ Convert)."""
    ids = ops.parameter([1, -1], ov.Type.i64, name="input_ids")
    table = np.random.default_rng(0).standard_normal((vocab, hidden)).astype(np.float32)
    data = named(ops.constant(table), "table") if dtype == "f32" else ops.convert(
        named(ops.constant(table.astype(np.float16)), "table"), ov.Type.f32)
    rows = ops.gather(data, ids, 0)
    scaled = ops.multiply(rows, ops.constant(np.float32(8.0)))
    return ov.Model([ops.result(scaled)], [ids])


def test_a_scalar_after_a_lookup_is_folded_into_a_copy_of_an_f32_table():
    spec = "fold-weights,fuse,cpu-runtime{precision=bf16},placement,lifetime"
    graph = _graph(_scaled_lookup("f32"), spec)
    table = next(n.outputs[0] for n in graph.nodes if n.name == "table")
    assert WEIGHT_COPY_BYTES.get(table) == table.nbytes  # MoveEltwiseUpThroughDataMovScalar + ConstantFolding
    assert not RESIDENT_BYTES.is_set(table)  # an f32 constant is read whole when the model compiles
    graph = _graph(_scaled_lookup("f16"), spec)
    table = next(n.outputs[0] for n in graph.nodes if n.name == "table")
    assert not WEIGHT_COPY_BYTES.is_set(table)  # the decompression Convert stops the move
    assert 0 < RESIDENT_BYTES.get(table) < table.nbytes  # only the rows looked up page in
    generated = _graph(_scaled_lookup("f16"), spec.replace("cpu-runtime{", "cpu-runtime{new_tokens=4,"))
    later = next(n.outputs[0] for n in generated.nodes if n.name == "table")
    assert RESIDENT_BYTES.get(later) - RESIDENT_BYTES.get(table) == 4 * 64 * 1024  # a decode step: one more row


def test_non_llm_f16_weights_widen_in_f32_mode():
    x = named(ops.parameter([-1, 16], ov.Type.f32, name="x"), "x")
    w = named(ops.constant(np.ones((16, 32), np.float16)), "w")
    y = ops.matmul(x, ops.convert(w, ov.Type.f32), False, False)
    graph = _graph(ov.Model([ops.result(y)], [x]), "fold-weights,cpu-runtime{precision=f32},placement,lifetime")
    w = next(n for n in graph.nodes if n.name == "w").outputs[0]
    assert WEIGHT_COPY_BYTES.get(w) == 2 * w.nbytes


def test_compressed_weights_keep_their_bits_but_zero_points_and_scales_become_f32():
    graph = _graph(int4_linear(hidden=64, out=32), "fold-weights,cpu-runtime{precision=bf16},placement,lifetime")
    by_name = {n.name: n.outputs[0] for n in graph.nodes if n.op_type == "Constant"}
    w, zp, scale = by_name["w"], by_name["w/zero_point"], by_name["w/scale"]
    assert WEIGHT_COPY_BYTES.get(w) == w.nbytes == 32 * 64 // 2  # u4 stays u4
    assert WEIGHT_COPY_BYTES.get(zp) == 32 * 4 and zp.nbytes == 32 // 2  # u4 zero points: f32 in the executor
    assert WEIGHT_COPY_BYTES.get(scale) == 32 * 4  # f16 scales: f32


def _int8_convolution() -> ov.Model:
    """A patch embedding: ``Convolution`` with an int8-sym weight ``[64, 3, 4, 4]`` and an f16 scale."""
    x = named(ops.parameter([1, 3, 16, 16], ov.Type.f32, name="pixels"), "pixels")
    w = named(ops.constant(np.ones((64, 3, 4, 4), np.int8)), "patch.weight")
    scale = named(ops.constant(np.full((64, 1, 1, 1), 0.5, np.float16)), "patch.scale")
    weight = ops.convert(ops.multiply(ops.convert(w, ov.Type.f16), scale), ov.Type.f32)
    return ov.Model([ops.result(ops.convolution(x, weight, [4, 4], [0, 0], [0, 0], [1, 1]))], [x])


def test_compressed_weights_read_by_a_convolution_are_folded_to_f32():
    graph = _graph(_int8_convolution(), "fold-weights,cpu-runtime{precision=bf16},placement,lifetime")
    w = next(n for n in graph.nodes if n.name == "patch.weight").outputs[0]
    assert WEIGHT_COPY_BYTES.get(w) == 64 * 3 * 4 * 4 * 4  # an f32 constant of the weight's shape
    graph = _graph(int4_linear(), "fold-weights,cpu-runtime{precision=bf16},placement,lifetime")
    w = next(n for n in graph.nodes if n.name == "w").outputs[0]
    assert WEIGHT_COPY_BYTES.get(w) == w.nbytes  # a FullyConnected keeps it compressed


def _range_in_the_middle() -> ov.Model:
    """``a = Relu(x)``; then ``Range(S)`` over x's computed length (a sync point); then ``a + range``."""
    x = named(ops.parameter([1, -1], ov.Type.f32, name="x"), "x")
    a = named(ops.relu(x), "a")
    length = ops.squeeze(ops.gather(ops.shape_of(x), ops.constant([1]), ops.constant(0)), ops.constant(0))
    positions = named(ops.range(ops.constant(0, ov.Type.i64), length, ops.constant(1, ov.Type.i64), "f32"), "positions")
    b = named(ops.add(a, positions), "b")
    return ov.Model([ops.result(named(ops.tanh(ops.sigmoid(b)), "out"))], [x])


def test_sync_points_stretch_lifetimes_across_them():
    spec = "fold-weights,placement,lifetime{sync_points=%s}"
    plain, synced = _graph(_range_in_the_middle(), spec % "false"), _graph(_range_in_the_middle(), spec % "true")
    positions = next(n for n in synced.nodes if n.name == "positions")
    assert sync_steps(synced) == [positions.order]  # Range over a computed length; nothing else
    a_plain = LIFETIME.get(next(n for n in plain.nodes if n.name == "a").outputs[0])
    a_synced = LIFETIME.get(next(n for n in synced.nodes if n.name == "a").outputs[0])
    b_order = next(n for n in plain.nodes if n.name == "b").order
    assert a_plain.start < positions.order < a_plain.end == b_order  # live across the Range ...
    assert a_synced.end == len(synced.nodes) - 1  # ... with no later sync point: kept to the end
    b_synced = LIFETIME.get(next(n for n in synced.nodes if n.name == "b").outputs[0])
    assert b_synced == LIFETIME.get(next(n for n in plain.nodes if n.name == "b").outputs[0])  # after it: unchanged


def _rope_after_a_constant_slice() -> ov.Model:
    """``a = Softmax(x)``; ``rot = x[..., :8]`` (constant bounds, as Phi-3 takes the rotary part of q);
    a rotate-half RoPE of ``rot``; then ``a + rope``: ``a`` is live across both."""
    x = named(ops.parameter([1, 2, -1, 16], ov.Type.f32, name="x"), "x")
    cos, sin = (named(ops.parameter([1, 1, -1, 8], ov.Type.f32, name=n), n) for n in ("cos", "sin"))
    c = lambda v: ops.constant(np.array(v, np.int64))  # noqa: E731
    a = named(ops.softmax(x, -1), "a")
    rot = named(ops.slice(x, c([0]), c([8]), c([1]), c([3])), "rot")
    x1 = named(ops.slice(rot, c([0]), c([4]), c([1]), c([3])), "x1")
    x2 = named(ops.slice(rot, c([4]), c([8]), c([1]), c([3])), "x2")
    rotated = ops.concat([ops.negative(x2), x1], -1)
    rope = named(ops.add(ops.multiply(rot, cos), ops.multiply(rotated, sin)), "rope")
    pad = ops.concat([rope, rope], -1)
    return ov.Model([ops.result(named(ops.tanh(ops.add(a, pad)), "out"))], [x, cos, sin])


def test_rope_kernels_and_constant_slices_are_sync_points():
    # OpenVINO 2026.4: a RoPE node's shape inference is the fallback with a full port mask, and a
    # dynamic Slice is a sync point even with constant bounds (research/cpu-planner-trace); the
    # rotate-half slices inside the RoPE kernel are not nodes of the plugin's graph
    graph = _graph(_rope_after_a_constant_slice(), "fold-weights,fold-shapes,fuse,placement,lifetime{sync_points=true}")
    by_name = {n.name: n for n in graph.nodes}
    assert sync_steps(graph) == [by_name["rot"].order, by_name["rope"].order]
    a = LIFETIME.get(by_name["a"].outputs[0])
    assert a.start < by_name["rot"].order and a.end == len(graph.nodes) - 1  # kept to the end


def _reshape_to(target: str) -> ov.Model:
    """``x [T, 2, 8]`` reshaped to ``[T, 16]`` by a constant special-zero target ``[0, 16]`` (as exports write it
    before a Linear), or by one computed from the shape; then a MatMul."""
    x = named(ops.parameter([-1, 2, 8], ov.Type.f32, name="x"), "x")
    a = named(ops.relu(x), "a")
    if target == "constant":
        pattern = ops.constant([0, 16], ov.Type.i64)
    else:
        length = ops.gather(ops.shape_of(a), ops.constant([0], ov.Type.i64), ops.constant(0))
        pattern = ops.concat([length, ops.constant([16], ov.Type.i64)], 0)
    r = named(ops.reshape(a, pattern, target == "constant"), "r")
    y = ops.matmul(r, ops.constant(np.ones((16, 4), np.float32)), False, False)
    return ov.Model([ops.result(named(ops.tanh(y), "out"))], [x])


@pytest.mark.parametrize("target", ["constant", "computed"])
def test_a_reshape_is_a_sync_point_only_if_its_target_is_computed_as_declared(target):
    # Model.reshape (ovmem's specialisation; SmartReshape's ReshapeAMatMul) turns the constant [0, 16] before a
    # MatMul into shape arithmetic; the plugin compiles the model as declared, where the target is a constant
    graph = _graph(_reshape_to(target), "fold-weights,fold-shapes,placement,lifetime{sync_points=true}")
    r = next(n for n in graph.nodes if n.name == "r")
    assert r.inputs[1].producer.op_type != "Constant"  # computed after specialisation, both ways
    assert sync_steps(graph) == ([] if target == "constant" else [r.order])


def test_cpu_kv_cache_defaults_to_u8_resident_as_written():
    # no rt_info hint: u8 with f32 scale + zero point per token and head; the plugin reserves twice the
    # tokens (growth=double) but only the written ones are resident, which is what RSS counts
    report = ovmem.analyze(kv_cache(kv_heads=2, head_dim=8), seq_len=10, device="CPU")
    tokens = 10
    assert report.state_bytes == 2 * tokens * 8 + 2 * tokens * 8
    assert report.device == "CPU" and report.runtime_bytes == get_device("cpu").runtime_bytes(report.target, [report.graph]) > 0
    assert report.total_bytes == (report.weights_bytes + report.state_bytes + report.io_bytes
                                  + report.temp_peak_bytes + report.scratch_bytes + report.runtime_bytes)  # fmt: skip
    reserved = ovmem.analyze(kv_cache(kv_heads=2, head_dim=8), seq_len=10, device="CPU",
                             passes=get_device("CPU").pipeline.replace("states{", "states{growth=double,"))  # fmt: skip
    assert reserved.state_bytes == 2 * report.state_bytes


def test_device_chooses_the_planner_by_how_the_model_is_declared():
    dynamic = ovmem.analyze(build_llama(TINY), seq_len=8, device="CPU")
    assert dynamic.allocator == "non-overlapping-sets"
    x = named(ops.parameter([1, 8, 16], ov.Type.f32, name="x"), "x")
    static = ovmem.analyze(ov.Model([ops.result(ops.tanh(ops.relu(x)))], [x]), seq_len=8, device="CPU")
    assert static.allocator == "greedy-by-size{alignment=32}"
    assert ovmem.analyze(build_llama(TINY), seq_len=8, device="generic").allocator == "greedy-by-size"


def test_unknown_device():
    with pytest.raises(UsageError, match="unknown device 'NPU'"):
        ovmem.analyze(build_llama(TINY), seq_len=8, device="NPU")
    assert set(DEVICES) == {"generic", "CPU", "GPU"}


@pytest.mark.parametrize("fixture", ["tiny-qwen2-int4", "tiny-phi3-f16"])
def test_cpu_estimate_tracks_a_real_run(fixture):
    """Estimate vs real OpenVINO CPU runs (a fresh process each) on a committed export, at 256 and 2048
    tokens. On these tiny models the plugin's own memory is most of the total, so the total alone would
    mostly check that term; the growth from 256 to 2048 tokens cancels it and checks what the model's
    graph adds (mask, logits, activations, KV cache), where the CPU model must beat the graph as exported."""
    from pathlib import Path

    from ovmem.validate import validate

    folder = Path(__file__).parent / "fixtures" / fixture
    short, long = validate(folder, [256, 2048], device="CPU")
    for point in (short, long):
        assert abs(point.error) <= 0.10, f"estimate {point.estimate.total_bytes} vs {point.measurement.peak_rss_bytes}"
    measured = long.measurement.peak_rss_bytes - short.measurement.peak_rss_bytes
    cpu = long.estimate.total_bytes - short.estimate.total_bytes
    generic = [ovmem.analyze(folder, seq_len=n, device="generic").total_bytes for n in (256, 2048)]
    assert abs(cpu - measured) <= 0.15 * measured, f"growth: estimated {cpu}, measured {measured}"
    assert abs(cpu - measured) < abs(generic[1] - generic[0] - measured) / 2  # e.g. 2.9 vs 9.2 MiB off


def test_a_step_on_a_cache_keeps_what_its_prefill_grew():
    """``--past-len P``: the P cached tokens came from a prefill, and the request keeps its grow-only buffers
    (as ``ovmem measure --past-len`` runs it); the exported graph alone (``generic``) is the step."""
    fixture = Path(__file__).parent / "fixtures" / "tiny-qwen2-f16"
    step = ovmem.analyze(fixture, seq_len=1, past_len=255)
    prefill = ovmem.analyze(fixture, seq_len=255)
    assert (step.io_bytes, step.temp_peak_bytes) == (prefill.io_bytes, prefill.temp_peak_bytes)
    assert step.state_bytes >= prefill.state_bytes and any("prefill" in w for w in step.warnings)
    alone = ovmem.analyze(fixture, seq_len=1, past_len=255, device="generic")
    assert alone.io_bytes < prefill.io_bytes and not any("prefill" in w for w in alone.warnings)
