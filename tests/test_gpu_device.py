"""``--device GPU``: the modelled GPU plugin — f16 storage, KV cache, I/O copies, memory pool, label."""

from __future__ import annotations

import json
from pathlib import Path

import openvino as ov
import openvino.opset13 as ops
import pytest
from graphs import kv_cache, mlp, named
from test_allocators import check_plan

import ovmem
from ovmem.alloc import BufferRequest, get_allocator
from ovmem.cli import main
from ovmem.devices import get_device
from ovmem.ir import lift
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.passes import (
    CATEGORY,
    IO_COPY_BYTES,
    STATE_PRECISION,
    STORED_TYPE,
    Category,
    States,
    parse_pipeline,
)
from ovmem.report import NOT_VALIDATED

FIXTURES = Path(__file__).parent / "fixtures"
TINY = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                   head_dim=16, tie_word_embeddings=True)  # fmt: skip


def _gpu_graph(model, seq_len: int = 8):
    return parse_pipeline(get_device("GPU").pipeline)(lift(model, seq_len=seq_len)).graph


def _value(graph, name: str):
    return next(n for n in graph.nodes if n.name == name).outputs[0]


def test_mlp_by_hand():
    # mlp(): x[1,4,16] f32 -> MatMul w1[16,32] -> Relu -> MatMul w2[32,8] -> y[1,4,8] f32 (dynamic shapes)
    report = ovmem.analyze(mlp(), seq_len=4, device="GPU")
    assert report.weights_bytes == (16 * 32 + 32 * 8) * 2  # f32 weights stored in f16: 1536, not 3072
    assert report.io_bytes == 2 * (1 * 4 * 16 * 4) + 2 * (1 * 4 * 8 * 4)  # x and its device copy; y twice
    assert report.temp_peak_bytes == 1 * 4 * 32 * 2  # Relu output in f16 (the first MatMul is fused into it)
    assert report.state_bytes == report.runtime_bytes == 0
    assert report.total_bytes == 1536 + 768 + 256
    assert report.allocator == "memory-pool"


def test_temporaries_are_f16_and_model_io_keeps_its_types():
    graph = _gpu_graph(build_llama(TINY))
    up = _value(graph, "model.layers.0.mlp.up_proj")
    assert up.type.dtype == "f32" and STORED_TYPE.get(up).dtype == "f16"  # not bf16 (CPU) and not f32
    assert STORED_TYPE.get(_value(graph, "model.rotary_emb/cos")).dtype == "f16"  # CPU keeps these f32
    (logits,) = graph.outputs
    assert logits.producer.name == "lm_head" and not STORED_TYPE.is_set(logits)  # no f16 -> f32 reorder node
    assert not any(n.op_type == "Reorder" for n in graph.nodes)
    assert IO_COPY_BYTES.get(logits) == logits.nbytes  # dynamic model: the network's output plus the caller's
    ids = next(v for v in graph.inputs if v.name.startswith("input_ids"))
    assert ids.type.dtype == "i64" and IO_COPY_BYTES.get(ids) == ids.nbytes  # device copy, i64 kept


@pytest.mark.parametrize("fixture", ["tiny-qwen2-f16", "tiny-qwen2-int4"])
def test_weights_are_stored_once_in_f16(fixture):
    path = FIXTURES / fixture
    generic, cpu, gpu = (ovmem.analyze(path, seq_len=16, device=d) for d in ("generic", "CPU", "GPU"))
    graph = lift(path, seq_len=16)
    graph = parse_pipeline("fold-weights")(graph).graph
    weights = [v for v in graph.values() if CATEGORY.get(v, None) is Category.WEIGHT]
    halved = {"f32", "i64"}  # f32 -> f16, i64 -> i32; f16, u4, u8 and their scales as stored
    expected = sum(v.nbytes // 2 if v.type.dtype in halved else v.nbytes for v in weights)
    assert gpu.weights_bytes == expected
    assert gpu.weights_bytes <= generic.weights_bytes < cpu.weights_bytes  # no packed copy, no doubling


def test_kv_cache_i8_with_f16_scales_and_chunked_preallocation():
    # one variable [1, 2, T, 8]; no rt_info hint: i8 (GPUs without XMX), f16 scale + f16 zero point per
    # token and head; the first allocation holds the 10 tokens plus 128 (+ 0 for variable 0)
    report = ovmem.analyze(kv_cache(kv_heads=2, head_dim=8), seq_len=10, device="GPU")
    tokens = 10 + 128
    assert report.state_bytes == 2 * tokens * 8 + 2 * tokens * (2 + 2)  # 3312


def test_kv_cache_follows_the_models_hint_and_spreads_the_spare_tokens():
    hinted = kv_cache(kv_heads=2, head_dim=8)
    hinted.set_rt_info("f16", ["runtime_options", "KV_CACHE_PRECISION"])
    assert ovmem.analyze(hinted, seq_len=10, device="GPU").state_bytes == 2 * (10 + 128) * 8 * 2
    # TINY: 4 variables [1, 2, T, 16] in i8: 2 * (16 + 2 * 2) = 40 bytes per token; variable i gets 128 + i spare
    report = ovmem.analyze(build_llama(TINY), seq_len=8, device="GPU")
    assert report.state_bytes == sum(40 * (8 + 128 + i) for i in range(4))  # 22000
    graph = _gpu_graph(build_llama(TINY))
    assert {STATE_PRECISION.get(s) for s in graph.states} == {"i8"}


@pytest.mark.parametrize(("fixture", "precision", "bytes_per_token"), [
    ("tiny-qwen2-f16", "f16", 2 * 16 * 2),  # optimum writes KV_CACHE_PRECISION f16 for unquantised exports
    ("tiny-qwen2-int4", "i8", 2 * 16 + 2 * 2 * 2),  # no hint: the GPU default
])  # fmt: skip
def test_fixture_kv_cache(fixture, precision, bytes_per_token):
    graph = _gpu_graph(FIXTURES / fixture, seq_len=16)
    assert {STATE_PRECISION.get(s) for s in graph.states} == {precision}
    report = ovmem.analyze(FIXTURES / fixture, seq_len=16, device="GPU")
    assert report.state_bytes == sum(bytes_per_token * (16 + 128 + i) for i in range(len(graph.states)))


def test_chunk_growth_reallocates_when_a_decode_step_overflows():
    states = States(growth="chunk", new_tokens=200)
    assert states.capacity(0, 10) == 139 + 128  # 138 fits 10..138; token 139 reallocates 139 + 128
    assert States(growth="chunk").capacity(0, 10, index=70) == 10 + 128 + 6  # 70 % 64
    assert States(growth="chunk", new_tokens=128).capacity(0, 10) == 138  # exactly full


def test_static_models_get_no_output_copy_and_the_build_time_order():
    x = named(ops.parameter([1, 4, 16], ov.Type.f32, name="x"), "x")
    relu = ops.relu(x)
    model = ov.Model([ops.result(ops.add(ops.tanh(relu), ops.sigmoid(relu)))], [x])
    report = ovmem.analyze(model, seq_len=4, device="GPU")
    assert report.allocator == "memory-pool{order=size,min_fill=0.0}"
    assert report.io_bytes == 3 * 256  # x, its device copy and the output; no second output copy
    assert report.temp_peak_bytes == 2 * 4 * 16 * 2  # Relu and Tanh outputs in f16, both read by Sigmoid+Add


def test_gpu_runtime_rules_switch_off():
    off = "gpu-runtime{input_copies=false,output_copies=false,weights=false}"
    spec = get_device("GPU").pipeline.replace("gpu-runtime", off)
    report = ovmem.analyze(mlp(), seq_len=4, device="GPU", passes=spec)
    assert report.weights_bytes == (16 * 32 + 32 * 8) * 4
    assert report.io_bytes == 1 * 4 * 16 * 4 + 1 * 4 * 8 * 4


# --- the label ------------------------------------------------------------------------------------


def test_every_output_says_the_gpu_model_is_not_validated(capsys):
    assert get_device("gpu").validated is False and get_device("CPU").validated is True
    report = ovmem.analyze(mlp(), seq_len=4, device="GPU")
    assert NOT_VALIDATED in ovmem.format_report(report)
    data = report.to_dict()
    assert data["validated"] is False and "device memory" in data["device_note"]
    assert main(["analyze", "--device", "GPU", "--seq-len", "8"]) == 0
    assert NOT_VALIDATED in capsys.readouterr().out
    assert main(["analyze", "--device", "GPU", "--seq-len", "8", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["device"] == "GPU" and data["validated"] is False and data["device_note"]
    cpu = ovmem.analyze(mlp(), seq_len=4, device="CPU")
    assert NOT_VALIDATED not in ovmem.format_report(cpu) and cpu.to_dict()["validated"] is True


# --- the memory-pool allocator --------------------------------------------------------------------


def test_memory_pool_reuses_whole_dead_buffers_by_hand():
    a, b, c, d = (BufferRequest("a", 100, 0, 1), BufferRequest("b", 60, 2, 3), BufferRequest("c", 40, 2, 4),
                  BufferRequest("d", 100, 5, 6))  # fmt: skip
    # execution order: b takes a's dead buffer (60 > 100 / 2); c (40, not above half of 100) gets its own;
    # d takes a's buffer again after b died. Peak: 100 + 40.
    plan = check_plan(get_allocator("memory-pool"), [a, b, c, d])
    assert (plan.peak, dict(plan.offsets)) == (140, {"a": 0, "b": 0, "c": 100, "d": 0})
    # without the half-full rule c also fits a's buffer, but b holds it at steps 2-3
    plan = check_plan(get_allocator("memory-pool", min_fill=0.0), [a, b, c, d])
    assert plan.peak == 140
    # the smallest fitting buffer wins: e (30) at step 5 takes c's 40-byte buffer, not a's 100
    e = BufferRequest("e", 30, 5, 5)
    plan = check_plan(get_allocator("memory-pool", min_fill=0.0), [a, b, c, d, e])
    assert plan.offsets["e"] == plan.offsets["c"] == 100 and plan.peak == 140


def test_memory_pool_largest_first():
    # static shapes: allocated largest first, so the small early buffer lands in the big one's block
    small, big = BufferRequest("small", 10, 0, 1), BufferRequest("big", 100, 2, 3)
    assert check_plan(get_allocator("memory-pool", order="size", min_fill=0.0), [small, big]).peak == 100
    assert check_plan(get_allocator("memory-pool"), [small, big]).peak == 110  # in order: 10 cannot grow


@pytest.mark.parametrize("min_fill", [-0.1, 1.0])
def test_memory_pool_rejects_bad_fill(min_fill):
    with pytest.raises(ValueError, match="min_fill"):
        get_allocator("memory-pool", min_fill=min_fill)
