"""The CPU plugin's own memory: a model of physical parameters (research/cpu-runtime/RESULTS.md)."""

from __future__ import annotations

from pathlib import Path

import openvino as ov

import ovmem
from ovmem.ir import lift
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.runtime_memory import (
    BASE,
    PER_EXTRA_MODEL,
    PER_OP,
    PER_OP_THREAD,
    PER_THREAD,
    PREFILL,
    cpu_runtime_bytes,
    ir_ops,
)  # fmt: skip
from ovmem.target import get_target

FIXTURES = Path(__file__).parent / "fixtures"
AMX2 = get_target("amx").with_threads(2)


def test_ops_are_counted_as_read():
    model = ov.Core().read_model(FIXTURES / "tiny-qwen2-f16" / "openvino_model.xml")
    graph = lift(FIXTURES / "tiny-qwen2-f16", seq_len=4)
    assert ir_ops(graph) == len(model.get_ops()) != len(graph.nodes)  # before specialisation, Results included


def test_each_term_by_hand():
    one = lift(build_llama(LlamaConfig(num_layers=1)), seq_len=1)
    ops = ir_ops(one)
    assert cpu_runtime_bytes(AMX2, [one]) == BASE + PER_OP * ops + 2 * (PER_THREAD + PER_OP_THREAD * ops)
    prefill = lift(build_llama(LlamaConfig(num_layers=1)), seq_len=16)
    assert cpu_runtime_bytes(AMX2, [prefill]) - cpu_runtime_bytes(AMX2, [one]) == PREFILL
    four = get_target("amx").with_threads(4)
    assert cpu_runtime_bytes(four, [one]) - cpu_runtime_bytes(AMX2, [one]) == 2 * (PER_THREAD + PER_OP_THREAD * ops)


def test_a_process_pays_its_base_once():
    a = lift(build_llama(LlamaConfig(num_layers=1)), seq_len=8)
    b = lift(build_llama(LlamaConfig(num_layers=3)), seq_len=8)
    both = cpu_runtime_bytes(AMX2, [a, b])
    once = BASE + PREFILL + 2 * PER_THREAD  # paid once; the second model costs its own objects instead
    assert both == cpu_runtime_bytes(AMX2, [a]) + cpu_runtime_bytes(AMX2, [b]) - once + PER_EXTRA_MODEL


def test_the_report_counts_the_model_and_no_isa_term():
    path = FIXTURES / "tiny-qwen2-int4"
    reports = {t: ovmem.analyze(path, seq_len=16, target=t, threads=2) for t in ("avx2", "avx512", "amx")}
    assert len({r.runtime_bytes for r in reports.values()}) == 1  # measured: the ISA moves it by < 0.9 MiB
    assert reports["amx"].runtime_bytes == cpu_runtime_bytes(AMX2, [reports["amx"].graph])
    assert ovmem.analyze(path, seq_len=16, device="generic").runtime_bytes == 0


def test_kernel_families_beyond_an_llm_are_paid_once_or_per_model():
    from ovmem.runtime_memory import KERNEL_FAMILIES, kernel_families
    from ovmem.vlm import analyze_pipeline
    from ovmem.vlm.pipeline import compiled_graphs

    int4 = ovmem.analyze(FIXTURES / "tiny-qwen2-int4", seq_len=4).graph
    assert set(kernel_families([int4])) == {"int4 FullyConnected", "int8 FullyConnected"}  # u4 layers, u8 tied head
    assert kernel_families([ovmem.analyze(FIXTURES / "tiny-qwen2-f16", seq_len=4).graph]) == {}  # in BASE already
    pipeline = analyze_pipeline(FIXTURES / "tiny-llava-f16", 64, prompt_tokens=8)
    graphs = compiled_graphs(pipeline.runs)
    families = kernel_families(graphs)
    assert set(families) == {"Convolution", "MVN", "SDPA without a KV cache"}  # CLIP's patch embedding, LayerNorms
    twice = kernel_families(graphs + graphs)  # code pages once per process, a cache-less SDPA's JIT per model
    assert twice["Convolution"] == families["Convolution"] == KERNEL_FAMILIES["Convolution"][0]
    assert twice["SDPA without a KV cache"] == 2 * families["SDPA without a KV cache"]
