"""``runtime="genai"`` (``--runtime genai``): openvino.genai's LLMPipeline as ovmem models it."""

from __future__ import annotations

import json
from pathlib import Path

import openvino as ov
import pytest

import ovmem
from ovmem.cli import main
from ovmem.devices import get_device
from ovmem.genai import (
    TOKENIZER_BYTES_PER_TOKEN,
    TOKENIZER_FIXED_BYTES,
    prepare_model,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
QWEN = FIXTURES / "tiny-qwen2-f16"  # vocab 256, 2 layers, 4 query heads, 2 KV heads of 16, KV f16 (rt_info)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_logits_are_the_last_token_only():
    ov_report = ovmem.analyze(QWEN, seq_len=64, device="CPU")
    genai = ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai")
    assert [v.type.shape for v in genai.graph.outputs][0] == (1, 1, 256)  # [sampled rows, 1, vocab]
    assert [v.type.shape for v in ov_report.graph.outputs][0] == (1, 64, 256)
    # by hand: input_ids, position_ids [64] i64; past_lens, score_aggregation_window [1] i32,
    # subsequence_begins, block_indices_begins [2] i32, block_indices [2 blocks] i32, max_context_len
    # [] i32, sampled_tokens_indices [1] i64; logits [1, 1, 256] f32
    assert genai.io_bytes == 2 * 64 * 8 + 2 * 4 + 3 * 2 * 4 + 4 + 8 + 256 * 4
    assert genai.runtime == "genai" and ov_report.runtime == "ov"


def test_the_graph_is_the_paged_one():
    model = ov.Core().read_model(str(QWEN / "openvino_model.xml"))
    prepared = prepare_model(model)
    kinds = [op.get_type_name() for op in prepared.get_ordered_ops()]
    assert kinds.count("PagedAttentionExtension") == 2 and "ScaledDotProductAttention" not in kinds
    assert "ScaledDotProductAttention" in [op.get_type_name() for op in model.get_ordered_ops()]  # a clone was changed
    graph = ovmem.analyze(QWEN, seq_len=64, runtime="genai").graph
    assert not any(len(v.type.shape) == 4 and v.type.shape[-2:] == (64, 64) for v in graph.values())  # no [.,.,T,T] mask
    # the caches are states the kernel writes in place, in the logical [batch, kv heads, tokens, head size]
    assert sorted(s.variable_id for s in graph.states) == ["key_cache.0", "key_cache.1", "value_cache.0", "value_cache.1"]
    assert {s.type.shape for s in graph.states} == {(1, 2, 64, 16)} and all(s.assign is None for s in graph.states)
    assert not any("cache" in v.name for v in graph.inputs)


def test_batch_and_past_flatten_the_tokens():
    graph = ovmem.analyze(QWEN, seq_len=8, batch=3, past_len=40, runtime="genai").graph
    shapes = {v.name: v.type.shape for v in graph.inputs}
    assert shapes["input_ids"] == (24,) and shapes["past_lens"] == (3,) and shapes["subsequence_begins"] == (4,)
    assert shapes["block_indices"] == (3 * 2,)  # ceil(48 / 32) blocks per sequence
    assert {s.type.shape for s in graph.states} == {(3, 2, 48, 16)}
    assert graph.outputs[0].type.shape == (3, 1, 256)  # one sampled row per sequence


def test_paged_kv_bytes_by_hand():
    # f16 (rt_info): blocks of 32 tokens, Hkv·32·D·2 = 2·32·16·2 = 2048 B per block per variable, 4 variables
    report = ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai", new_tokens=5)
    assert report.state_bytes == 3 * 4 * 2048  # ceil((64 + 5 - 1) / 32) = 3 blocks (genai-notes rule 4: 24 576 B)
    assert ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai").state_bytes == 2 * 4 * 2048
    # u8: keys [Hkv, 32 + 8, D], values [Hkv, 32, D + 8] per block
    u8 = ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai", new_tokens=5, kv_cache_precision="u8")
    assert u8.state_bytes == 3 * 2 * (2 * 16 * 40 + 2 * 32 * 24)


def test_pa_scratch_and_library():
    report = ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai", threads=2)
    # one PagedAttention node's _weight [2, 1, 32, 64] f32 (a prefill loops over query heads: weight_h 1)
    # and _output [2, 32, H=4, 16] f32
    assert report.scratch == {"pa": 2 * 1 * 32 * 64 * 4 + 2 * 32 * 4 * 16 * 4}
    # the runtime is the CPU plugin's for the graph genai compiles plus genai's own (checked against a measured
    # run in test_genai_measure.py): more than the plugin's alone
    plugin = get_device("CPU").runtime_bytes(report.target, [report.graph])
    assert report.runtime_bytes > plugin
    assert ovmem.analyze(QWEN, seq_len=64, runtime="genai", device="generic").runtime_bytes == 0  # no runtime counted


def test_tokenizer_models_by_hand(tmp_path, capsys):
    for name, size in (("openvino_tokenizer", 1000), ("openvino_detokenizer", 3000)):
        (tmp_path / f"{name}.xml").write_text("<net/>")
        (tmp_path / f"{name}.bin").write_bytes(bytes(size))
    report = ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai", tokenizer=tmp_path)
    without = ovmem.analyze(QWEN, seq_len=64, device="CPU", runtime="genai")
    # both .bin files, the per-entry tables of the 256-entry vocabulary (the logits' width), the fixed part
    assert report.runtime_bytes - without.runtime_bytes == 4000 + 256 * TOKENIZER_BYTES_PER_TOKEN + TOKENIZER_FIXED_BYTES
    code, out, err = run(capsys, "analyze", str(QWEN), "--seq-len", "64", "--device", "CPU", "--runtime", "genai",
                         "--tokenizer", str(tmp_path), "--explain", "0")  # fmt: skip
    assert code == 0 and "pipeline 8.00 MiB, tokenizer 3.13 MiB (measured)" in out
    code, _, err = run(capsys, "llm", str(QWEN), "64", "--tokenizer", str(tmp_path / "missing"))
    assert code == 2 and err.count("\n") == 1 and "--tokenizer" in err


def test_runtime_in_text_and_json(capsys):
    code, out, err = run(capsys, "analyze", str(QWEN), "--seq-len", "64", "--runtime", "genai", "--explain", "0")
    assert code == 0, err
    assert "| runtime genai |" in out.splitlines()[0]
    code, out, err = run(capsys, "analyze", str(QWEN), "--seq-len", "64", "--json", "--explain", "0")
    assert code == 0, err
    assert json.loads(out)["runtime"] == "ov"  # analyze defaults to ov


def test_llm_defaults_to_genai(capsys):
    code, plain, err = run(capsys, "llm", str(QWEN), "64")
    assert code == 0, err
    code, out, err = run(capsys, "llm", str(QWEN), "64", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["runtime"] == "genai" and data["device"] == "CPU"
    assert data["lines"] == [line for line in plain.strip().splitlines() if not line.startswith("#")]
    # the graph alone (no plugin or genai runtime counted): genai's has no [1, 64, V] logits and no mask chain
    generic = [json.loads(run(capsys, "llm", str(QWEN), "64", "--device", "generic", "--runtime", r, "--json")[1])
               for r in ("genai", "ov")]  # fmt: skip
    assert generic[1]["runtime"] == "ov" and generic[1]["total_bytes"] > generic[0]["total_bytes"]


def test_bad_runtime_is_one_line(capsys):
    for argv in (["analyze", str(QWEN), "--runtime", "tgi"], ["llm", str(QWEN), "64", "--runtime", "tgi"]):
        code, _, err = run(capsys, *argv)
        assert code == 2 and err.count("\n") == 1 and "--runtime" in err and "ov, genai" in err
    with pytest.raises(ovmem.UsageError, match="runtime must be one of ov, genai"):
        ovmem.analyze(QWEN, seq_len=8, runtime="tgi")
    with pytest.raises(ovmem.UsageError, match="not with --lift runtime"):
        ovmem.analyze(QWEN, seq_len=8, device="CPU", runtime="genai", lift_from="runtime")
