"""``cpu-scratch``: the CPU plugin's shared kernel scratch buffers, sized by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

import ovmem
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.ir import lift
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.passes import SCRATCH, parse_pipeline
from ovmem.target import TARGET, get_target

GQA = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=2,
                  head_dim=16)  # fmt: skip


def _linears(*widths: tuple[int, int]) -> ov.Model:
    """x[1, seq, K] through FullyConnected layers (f16 weights) of (K, N) each, a ReLU after each."""
    x = ops.parameter([1, -1, widths[0][0]], ov.Type.f32, name="x")
    y = x
    for i, (k, n) in enumerate(widths):
        w = ops.convert(ops.constant(np.zeros((n, k), np.float16)), ov.Type.f32)
        y = ops.relu(ops.matmul(y, w, False, True, name=f"fc{i}"))
    return ov.Model([y], [x])


def _scratch(model, spec: str, seq_len: int = 64, past_len: int = 0, target: str = "amx") -> dict:
    """The scratch ``spec`` finds on ``target`` (the rules read the graph's target, not the host)."""
    graph = lift(model, seq_len=seq_len, past_len=past_len)
    TARGET.set(graph, get_target(target))
    return SCRATCH.get(parse_pipeline(f"fold-weights,fold-shapes,fuse,inplace,{spec}")(graph).graph)


def test_fc_scratch_is_the_widest_long_reduction():
    model = _linears((2064, 3072), (3072, 4096), (4096, 8))
    # K > 2048 and N >= 3072: the whole bf16 output accumulates in f32; one shared block, the largest
    assert _scratch(model, "cpu-runtime{precision=bf16},cpu-scratch{threads=2}")["fc"] == 64 * 4096 * 4


@pytest.mark.parametrize(
    ("widths", "spec"),
    [
        ([(2048, 4096)], "cpu-runtime{precision=bf16},cpu-scratch{threads=2}"),  # one reduction pass
        ([(4096, 2048)], "cpu-runtime{precision=bf16},cpu-scratch{threads=2}"),  # narrow output
        ([(4096, 4096)], "cpu-runtime{precision=f32},cpu-scratch{threads=2}"),  # f32 output: no accumulator
        ([(4096, 4096)], "cpu-runtime{precision=bf16},cpu-scratch{threads=1}"),  # one thread
    ],
)
def test_no_fc_scratch(widths, spec):
    assert _scratch(_linears(*widths), spec)["fc"] == 0


@pytest.mark.parametrize("target", ["avx512_bf16", "zen4", "avx512", "avx2"])
def test_no_fc_scratch_without_amx(target):
    """Only oneDNN's AMX brgemm accumulates the whole output; AVX-512 keeps per-thread blocks."""
    assert _scratch(_linears((4096, 4096)), "cpu-runtime{precision=bf16},cpu-scratch{threads=2}", target=target)["fc"] == 0
    assert _scratch(_linears((4096, 4096)), "cpu-runtime{precision=bf16},cpu-scratch{threads=2}", target="amx")["fc"] > 0


def test_sdpa_prefill_buffers_by_hand():
    # 4 query heads, 2 KV heads, head size 16, 8 tokens, 2 threads, bf16:
    # packed K and V 1*2*8*(16+16)*2 = 1024, f32 output 1*8*4*16*4 = 2048, weights 2*32*8*4 = 2048
    spec = "cpu-runtime{precision=bf16},cpu-scratch{threads=2}"
    assert _scratch(build_llama(GQA), spec, seq_len=8)["sdpa"] == 1024 + 2048 + 2048
    # a decode step keeps the buffers of the prefill that filled its cache (8 tokens): the same
    assert _scratch(build_llama(GQA), spec, seq_len=1, past_len=8)["sdpa"] == 1024 + 2048 + 2048
    assert _scratch(build_llama(GQA), spec, seq_len=1)["sdpa"] == 0  # one token, nothing cached
    # f32: K/V packed in f32, no output staging
    f32 = "cpu-runtime{precision=f32},cpu-scratch{threads=2}"
    assert _scratch(build_llama(GQA), f32, seq_len=8)["sdpa"] == 2048 + 0 + 2048


def test_scratch_counts_in_the_report_once():
    report = ovmem.analyze(build_llama(GQA), seq_len=8, device="CPU")
    assert report.scratch["sdpa"] > 0 and report.scratch_bytes == sum(report.scratch.values())
    assert report.total_bytes == (report.weights_bytes + report.state_bytes + report.io_bytes + report.temp_peak_bytes
                                  + report.scratch_bytes + report.runtime_bytes)  # fmt: skip
    assert ovmem.analyze(build_llama(GQA), seq_len=8, device="generic").scratch_bytes == 0  # no plugin kernels


def test_requires_cpu_runtime_and_valid_threads():
    with pytest.raises(Exception, match="run cpu-runtime first"):
        parse_pipeline("cpu-scratch")(lift(build_llama(GQA), seq_len=4))
    with pytest.raises(UsageError, match="threads"):
        parse_pipeline("cpu-scratch{threads=-1}")


def test_cli_threads(capsys):
    import json

    args = ["analyze", "--seq-len", "64", "--target", "amx", "--json"]
    assert main([*args, "--threads", "1"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main([*args, "--threads", "4"]) == 0
    four = json.loads(capsys.readouterr().out)
    # the attention weights are per thread: 3 more threads * 32 rows * 64 keys * 4 bytes
    assert four["scratch"]["sdpa"] - one["scratch"]["sdpa"] == 3 * 32 * 64 * 4


def _attention(heads: int = 16, head_size: int = 80) -> ov.Model:
    """A vision encoder's attention: 3-D q, k, v ``[H, N, D]`` and an additive mask, no states."""
    q, k, v = (ops.parameter([heads, -1, head_size], ov.Type.f32, name=n) for n in "qkv")
    mask = ops.parameter([1, -1, -1], ov.Type.f32, name="mask")
    sdpa = ops.scaled_dot_product_attention(q, k, v, mask, causal=False)
    return ov.Model([ops.relu(sdpa)], [q, k, v, mask])


def test_stateless_attention_is_a_snippets_mha_by_hand():
    # f32, N = 2048 keys, H = 16, D = 80, 2 threads: per thread 2 * 32 * 2048 * 4 (scores, softmax) = 524288;
    # K^T repacked 80 * rnd(2048, 64) * 4 = 655360, V 2048 * rnd(80, 64) * 4 = 1048576; a head's sources and
    # copies (3014656 B) exceed this host-sized core's L1d + L2 (48 KiB + 2 MiB): every head repacked at once.
    # Traced on Qwen2.5-VL's vision merger at 2048 patches: 28,311,552 B (research/snippets-scratch).
    f32 = "cpu-runtime{precision=f32},cpu-scratch{threads=2}"
    scratch = _scratch(_attention(), f32, seq_len=2048, target="sapphire-rapids")
    assert scratch["mha"] == 2 * 524288 + 16 * (655360 + 1048576) == 28_311_552
    assert "sdpa" not in scratch  # no states: the plugin decomposes the SDPA, its own kernel never runs
    # a core with a larger cache repacks one head per thread instead
    assert _scratch(_attention(), f32, seq_len=2048, target="arrow-lake")["mha"] == 2 * 524288 + 2 * (655360 + 1048576)
    # bf16 on AMX, 3552 keys: per thread 32 * 3552 * (4 + 2) + 32 * 80 * 4 + 32768 = 724992; K^T 80 * 3552 * 2 =
    # 568320, V 3552 * rnd(80, 32) * 2 = 681984 (traced on the merger: 21,487,360 B, 0.15 % more)
    bf16 = "cpu-runtime{precision=bf16},cpu-scratch{threads=2}"
    on_amx = _scratch(_attention(), bf16, seq_len=3552, target="sapphire-rapids")["mha"]
    assert on_amx == 2 * 724992 + 16 * (568320 + 681984)


def test_mha_and_fc_requests_share_one_scratchpad():
    # a wide bf16 FullyConnected (64 x 4096 accumulated in f32: 1 MiB) next to a small attention (64 keys, bf16:
    # 2 * (32 * 64 * 6 + 32 * 80 * 4 + 32768) + 2 * (80 * 64 * 2 + 64 * 96 * 2), one head per thread)
    x = ops.parameter([1, -1, 4096], ov.Type.f32, name="x")
    fc = ops.matmul(x, ops.convert(ops.constant(np.zeros((4096, 4096), np.float16)), ov.Type.f32), False, True)
    attention = _attention()
    outputs = [attention.get_results()[0].input_value(0), ops.relu(fc).output(0)]
    model = ov.Model(outputs, [*attention.get_parameters(), x])
    spec = "cpu-runtime{precision=bf16},cpu-scratch{threads=2%s}"
    alone = _scratch(model, spec % ",fc=false", seq_len=64)["mha"]
    assert alone == 2 * (32 * 64 * 6 + 32 * 80 * 4 + 32768) + 2 * (80 * 64 * 2 + 64 * 96 * 2)
    both = _scratch(model, spec % "", seq_len=64)
    assert both["fc"] == 64 * 4096 * 4 and both["mha"] == 0  # the buffer grows to the larger request only
    # an LLM keeps its SDPA (it has states): rule 2, no MHA Subgraph
    llm = _scratch(build_llama(GQA), "cpu-runtime{precision=bf16},cpu-scratch{threads=2}", seq_len=8)
    assert llm["sdpa"] > 0 and "mha" not in llm



GENAI_QWEN = Path(__file__).resolve().parent / "fixtures" / "tiny-qwen2-f16"  # H 4, Hkv 2, head size 16


@pytest.mark.parametrize(
    ("sizes", "threads", "rows"),
    [
        ({"seq_len": 64}, 2, 64),  # a prefill: exec_loop_mixed loops over query heads, weight_h 1
        ({"seq_len": 64, "batch": 3}, 2, 64),  # prefills only ("if only first token, loop H")
        ({"seq_len": 1, "past_len": 64}, 2, 64),  # fewer decoding sequences than threads: exec_loop_bhl, the prefill's
        ({"seq_len": 1, "past_len": 64, "batch": 2}, 2, 96),  # mixed, 2·Hkv ≤ 2·threads: over query heads, 1 · 96
        ({"seq_len": 1, "past_len": 64, "batch": 3}, 2, 2 * 96),  # 3·Hkv > 2·threads: over KV heads, H/Hkv · 96
    ],
)
def test_pa_weight_buffer(sizes, threads, rows):
    """Rule 3: ``_weight [threads, weight_h, 32, rnd_up(kv_len, 32)]`` (``MHA::exec_loop_mixed``, grow-only) and
    ``_output [threads, 32, H, D]``; ``rows`` is ``weight_h · rnd_up(kv_len, 32)``."""
    report = ovmem.analyze(GENAI_QWEN, device="CPU", runtime="genai", threads=threads, **sizes)
    assert report.scratch["pa"] == threads * 32 * rows * 4 + threads * 32 * 4 * 16 * 4
