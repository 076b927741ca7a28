"""``states``: KV-cache bytes for every precision, new tokens, and the model's rt_info."""

from __future__ import annotations

import pytest
from graphs import kv_cache

import ovmem
from ovmem.errors import UsageError
from ovmem.ir import lift
from ovmem.passes import STATE_BYTES, STATE_PRECISION, States, parse_pipeline

LAYERS, KV_HEADS, HEAD_DIM = 1, 2, 8


def _state_bytes(precision: str = "auto", new_tokens: int = 0, group_size: int = 0, rt_info: str | None = None,
                 seq_len: int = 10, past_len: int = 6) -> int:  # fmt: skip
    model = kv_cache(kv_heads=KV_HEADS, head_dim=HEAD_DIM)
    if rt_info:
        model.set_rt_info(rt_info, ["runtime_options", "KV_CACHE_PRECISION"])
    spec = f"fold-weights,states{{precision={precision},new_tokens={new_tokens},group_size={group_size}}},lifetime"
    return ovmem.analyze(model, seq_len=seq_len, past_len=past_len, passes=spec).state_bytes


@pytest.mark.parametrize(("precision", "element_bytes"), [("f32", 4), ("f16", 2), ("bf16", 2)])
def test_float_caches(precision, element_bytes):
    tokens = 6 + 10
    assert _state_bytes(precision) == LAYERS * KV_HEADS * tokens * HEAD_DIM * element_bytes


@pytest.mark.parametrize(("precision", "bits"), [("u8", 8), ("i8", 8), ("u4", 4)])
def test_quantised_caches_carry_a_scale_and_zero_point_per_token_and_head(precision, bits):
    tokens = 16
    data = KV_HEADS * tokens * HEAD_DIM * bits // 8
    overhead = KV_HEADS * tokens * 2 * 4  # f32 scale + f32 zero point per token and head
    assert _state_bytes(precision) == data + overhead
    # groups of 4 channels: HEAD_DIM / 4 scale pairs per token and head
    assert _state_bytes(precision, group_size=4) == data + overhead * HEAD_DIM // 4


def test_new_tokens_grow_the_cache():
    assert _state_bytes("f32", new_tokens=16) == KV_HEADS * (16 + 16) * HEAD_DIM * 4


def test_auto_follows_rt_info_then_the_declared_type():
    assert _state_bytes() == KV_HEADS * 16 * HEAD_DIM * 4  # declared f32, no hint
    assert _state_bytes(rt_info="f16") == KV_HEADS * 16 * HEAD_DIM * 2
    assert _state_bytes("u8", rt_info="f16") == KV_HEADS * 16 * HEAD_DIM + KV_HEADS * 16 * 8  # option wins


def test_states_writes_typed_results():
    graph = lift(kv_cache(kv_heads=KV_HEADS, head_dim=HEAD_DIM), seq_len=4)
    result = parse_pipeline("states{precision=f16}")(graph)
    (state,) = graph.states
    assert result.modified and STATE_PRECISION.get(state) == "f16"
    assert STATE_BYTES.get(state) == KV_HEADS * 4 * HEAD_DIM * 2
    assert States(precision="f16")(graph).modified is False


def test_negative_options_are_rejected():
    with pytest.raises(UsageError):
        States(new_tokens=-1)


def test_double_growth_follows_the_runtime_reallocation():
    states = States(growth="double")
    assert states.capacity(0, 1000) == 2000  # the prefill reserves twice its length
    assert States(growth="double", new_tokens=1000).capacity(0, 1000) == 2000  # exactly full
    assert States(growth="double", new_tokens=1001).capacity(0, 1000) == 4002  # overflow at 2001
    # the CPU plugin's measured jumps: 134 -> 270 -> 542 -> 1086 -> 2174 (docs/cpu-plugin-notes.md)
    assert [States(growth="double", new_tokens=n).capacity(0, 67) for n in (67, 68, 204, 476, 1020)] == [
        134, 270, 542, 1086, 2174]
    assert States(new_tokens=5).capacity(3, 10) == 18  # exact: the tokens held
    spec = "fold-weights,states{precision=f32,growth=double},placement,lifetime"
    report = ovmem.analyze(kv_cache(kv_heads=KV_HEADS, head_dim=HEAD_DIM), seq_len=10, past_len=6, passes=spec)
    assert report.state_bytes == KV_HEADS * 32 * HEAD_DIM * 4
