"""The memory report: hand-computed totals, allocator choice, the analyze() API."""

from __future__ import annotations

import pytest
from graphs import chain, kv_cache, mlp

import ovmem
from ovmem.alloc import get_allocator
from ovmem.errors import UsageError
from ovmem.ir import lift
from ovmem.passes import PassPreconditionError, parse_pipeline
from ovmem.report import plan_memory, temp_requests


BASIC = "fold-weights,placement,lifetime"  # no fusion or in-place: every op output is a buffer


def test_mlp_report_by_hand():
    # x[1,4,16] f32 = 256 B in, y[1,4,8] = 128 B out; w1 16x32 + w2 32x8 floats = 3072 B;
    # temps fc1 and act, 512 B each, live together at the Relu step.
    report = ovmem.analyze(mlp(), seq_len=4, passes=BASIC, device="generic")
    assert report.weights_bytes == 3072
    assert report.io_bytes == 384
    assert report.state_bytes == 0
    assert report.temp_lower_bound_bytes == 1024
    assert report.temp_peak_bytes == 1024
    assert report.total_bytes == 3072 + 384 + 1024
    assert report.peak.op_type == "Relu" and report.peak.name == "act"
    assert report.counts["temps"] == 2
    report.plan.validate()
    # the default pipeline fuses the Relu into fc1 (FullyConnected + activation): one 512 B temporary
    fused = ovmem.analyze(mlp(), seq_len=4, device="generic")
    assert (fused.counts["temps"], fused.temp_peak_bytes, fused.total_bytes) == (1, 512, 3072 + 384 + 512)


def test_reuse_beats_no_reuse_on_a_chain():
    # 4 Relus on [1,8,64] f32 (2 KiB): relu0..relu2 are temporaries, relu3 is the output.
    size = 8 * 64 * 4
    naive = ovmem.analyze(chain(), seq_len=8, allocator="naive", passes=BASIC, device="generic")
    greedy = ovmem.analyze(chain(), seq_len=8, allocator="greedy-by-size", passes=BASIC, device="generic")
    assert naive.temp_peak_bytes == 3 * size
    assert greedy.temp_peak_bytes == greedy.temp_lower_bound_bytes == 2 * size
    assert naive.temp_lower_bound_bytes == 2 * size
    assert naive.total_bytes - greedy.total_bytes == size


def test_state_bytes_count_the_cache_after_the_run():
    report = ovmem.analyze(kv_cache(kv_heads=2, head_dim=4), seq_len=4, past_len=3, device="generic")
    assert report.state_bytes == 1 * 2 * 7 * 4 * 4
    assert report.counts["states"] == 1
    # inputs: input_ids[1,4] i64, attention_mask[1,7] i64, beam_idx[1] i32; output out[1] f32
    assert report.io_bytes == 32 + 56 + 4 + 4


def test_temp_requests_follow_lifetimes():
    graph = parse_pipeline("fold-weights,placement,lifetime")(lift(mlp(), seq_len=4)).graph
    requests, temps = temp_requests(graph)
    assert [b.root.name for b in temps] == ["fc1:0", "act:0"]
    assert [(r.size, r.start, r.end) for r in requests] == [(512, 2, 3), (512, 3, 5)]


def test_plan_memory_needs_lifetimes():
    graph = parse_pipeline("fold-weights")(lift(mlp(), seq_len=4)).graph
    with pytest.raises(PassPreconditionError, match="lifetime"):
        plan_memory(graph, get_allocator("naive"))


def test_analyze_rejects_unknown_allocator():
    with pytest.raises(UsageError, match="unknown allocator 'nope'"):
        ovmem.analyze(mlp(), seq_len=4, allocator="nope", device="generic")


def test_json_fields_are_integers_and_add_up():
    data = ovmem.analyze(kv_cache(), seq_len=16, past_len=4, device="generic").to_dict()
    for key in ("seq_len", "batch", "weights_bytes", "state_bytes", "io_bytes", "temp_peak_bytes",
                "temp_lower_bound_bytes", "total_bytes"):  # fmt: skip
        assert isinstance(data[key], int), key
    parts = data["weights_bytes"] + data["state_bytes"] + data["io_bytes"] + data["temp_peak_bytes"]
    assert data["total_bytes"] == parts
    assert data["temp_lower_bound_bytes"] <= data["temp_peak_bytes"]
    assert (data["model"], data["past_len"], data["device"]) == ("kv-cache", 4, "generic")
