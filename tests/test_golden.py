"""Golden annotated dumps: every committed fixture through the default pipeline, and one hand
derivation of the live set at the peak of a decoder layer."""

from __future__ import annotations

import pytest
from golden.regenerate import FIXTURES, GOLDEN, fixture_dump

from ovmem.alloc import live_profile
from ovmem.ir import lift
from ovmem.models.llama import LlamaConfig, build_llama
from ovmem.passes import DEFAULT_PIPELINE, parse_pipeline
from ovmem.report import temp_requests


@pytest.mark.parametrize("folder", FIXTURES, ids=[p.name for p in FIXTURES])
def test_fixture_dump_matches_golden(folder):
    """After an intended change: ``python tests/golden/regenerate.py``, then review ``git diff tests/golden``."""
    golden = GOLDEN / f"{folder.name}_seq8_past2.txt"
    assert golden.exists(), f"{golden.name} is missing: python tests/golden/regenerate.py, review it, commit it"
    assert fixture_dump(folder) == golden.read_text()


def test_live_set_at_the_peak_of_a_decoder_layer_by_hand():
    """The demo decoder at seq 1024 peaks in layer 0's MLP, at the gate * up Multiply.

    Derivation (f32 activations, S = 1024, hidden 512, intermediate 1408, head_dim 64): live there
    are the rotary tables cos and sin [1, S, 64] (built once, read by every layer), the causal mask
    [1, 1, S, S] (read by every layer's attention), the attention residual [1, S, 512] (read again by
    the MLP residual Add), and three [1, S, 1408] tensors: the gate projection with its Swish fused
    in, the up projection, and their product being written. The MLP's input RMSNorm output died at
    the up projection; everything inside RMSNorm, RoPE and SDPA is fused away.
    """
    s, hidden, inter, head_dim = 1024, 512, 1408, 64
    expected = {
        "model.rotary_emb/cos": s * head_dim * 4,
        "model.rotary_emb/sin": s * head_dim * 4,
        "causal_mask": s * s * 4,
        "model.layers.0/attn_residual": s * hidden * 4,
        "model.layers.0.mlp.act_fn": s * inter * 4,
        "model.layers.0.mlp.up_proj": s * inter * 4,
        "model.layers.0.mlp/gated": s * inter * 4,
    }
    graph = parse_pipeline(DEFAULT_PIPELINE)(lift(build_llama(LlamaConfig()), seq_len=s)).graph
    requests, buffers = temp_requests(graph)
    step, peak = max(live_profile(requests), key=lambda p: p[1])
    assert graph.nodes[step].name == "model.layers.0.mlp/gated"
    live = {b.root.producer.name: b.nbytes for b in buffers if b.lifetime.start <= step <= b.lifetime.end}
    assert live == expected
    assert peak == sum(expected.values()) == 23 * 2**20
