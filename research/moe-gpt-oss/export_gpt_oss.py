#!/usr/bin/env python
"""Export a random-weight gpt-oss-style model (int8 asym + fp16) the way tools/export_fixtures.py does.

Run with the export venv:
    /work/venvs/export/bin/python research/moe-gpt-oss/export_gpt_oss.py [--out /work/moe] [--only int8|fp16]

Structure kept from gpt-oss-20b (GptOssConfig): attention sinks (per-head learnable logit), alternating
layer_types sliding_attention (window 128) / full_attention, MoE 32 experts top-4 with biases and the
clamped SwiGLU, head_dim 64, 64 q heads / 8 kv heads, attention_bias, YaRN rope.
Scaled for the 7 GiB RAM budget (recorded in README.md):
    num_hidden_layers 24 -> 2 (one sliding, one full), hidden_size 2880 -> 1440,
    intermediate_size 2880 -> 1440, vocab_size 201088 -> 50304.
Uses tools/export_fixtures.py's Fixture / export_fixture (= _save_random_checkpoint + _export:
main_export with OVConfig(quantization_config=OVWeightQuantizationConfig(bits=8, sym=False)) then
_main_quantize; fp16: OVConfig(dtype="fp16")). Checkpoint saved in bfloat16 like the real one.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, "/work/main/tools")
import export_fixtures as ef  # noqa: E402  (sets HF offline env vars on import)

GPT_OSS_SMALL = dict(
    num_hidden_layers=2,
    layer_types=["sliding_attention", "full_attention"],
    sliding_window=128,
    hidden_size=1440,
    intermediate_size=1440,
    num_local_experts=32,
    num_experts_per_tok=4,
    num_attention_heads=64,
    num_key_value_heads=8,
    head_dim=64,
    vocab_size=50304,
    attention_bias=True,
    rope_theta=150000.0,
    rope_scaling={"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                  "truncate": False, "original_max_position_embeddings": 4096},
    max_position_embeddings=131072,
    tie_word_embeddings=False,
    bos_token_id=1, eos_token_id=2, pad_token_id=2,
)

FIXTURES = {
    "int8": ef.Fixture(name="gpt-oss-2l-int8", description="gpt-oss style, 2 layers, int8 asym",
                       config_class="GptOssConfig", config_kwargs=GPT_OSS_SMALL, weights=ef.INT8_ASYM),
    "fp16": ef.Fixture(name="gpt-oss-2l-f16", description="gpt-oss style, 2 layers, fp16",
                       config_class="GptOssConfig", config_kwargs=GPT_OSS_SMALL, weights="fp16"),
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="/work/moe")
    ap.add_argument("--only", choices=sorted(FIXTURES), nargs="*")
    a = ap.parse_args()
    for key in a.only or sorted(FIXTURES):
        print("exported", ef.export_fixture(FIXTURES[key], Path(a.out)), flush=True)
