"""Random-weight LFM2-350M (real widths) -> optimum-intel fp16 stateful export, like tools/export_fixtures.py.

Run with the export venv:  /work/venvs/export/bin/python research/hybrid-conv-lfm2/build_export.py [350m|700m] [OUT]
"""
import shutil
import sys
import tempfile
from pathlib import Path

CONFIGS = {
    # LiquidAI/LFM2-350M config.json (hidden 1024, 16 layers, 6 attention at full_attn_idxs, conv L_cache 3,
    # tied embeddings, ff 6656 auto-adjusted to 4608)
    "350m": dict(
        vocab_size=65536, hidden_size=1024, intermediate_size=6656, num_hidden_layers=16,
        num_attention_heads=16, num_key_value_heads=8, max_position_embeddings=128000,
        norm_eps=1e-5, rope_theta=1000000.0, conv_L_cache=3, conv_bias=False,
        block_auto_adjust_ff_dim=True, block_ffn_dim_multiplier=1.0, block_multiple_of=256,
        full_attn_idxs=[2, 5, 8, 10, 12, 14], tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=7, pad_token_id=0,
    ),
    # LiquidAI/LFM2-700M
    "700m": dict(
        vocab_size=65536, hidden_size=1536, intermediate_size=10240, num_hidden_layers=16,
        num_attention_heads=24, num_key_value_heads=8, max_position_embeddings=128000,
        norm_eps=1e-5, rope_theta=1000000.0, conv_L_cache=3, conv_bias=False,
        block_auto_adjust_ff_dim=True, block_ffn_dim_multiplier=1.0, block_multiple_of=256,
        full_attn_idxs=[2, 5, 8, 10, 12, 14], tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=7, pad_token_id=0,
    ),
    # tiny, like tools/export_fixtures.py's tiny-* fixtures (hidden 64, vocab 256): every LFM2 feature
    "tiny": dict(
        vocab_size=256, hidden_size=64, intermediate_size=256, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        norm_eps=1e-5, rope_theta=1000000.0, conv_L_cache=3, conv_bias=False,
        block_auto_adjust_ff_dim=True, block_ffn_dim_multiplier=1.0, block_multiple_of=64,
        full_attn_idxs=[2], tie_word_embeddings=True, bos_token_id=1, eos_token_id=7, pad_token_id=0,
    ),
}
# Attribution pair at LFM2-350M widths, vocab 256 (no logits to dominate): 15 conv layers + 1 attention layer,
# and 16 attention layers (the same model with every layer full_attention).
_ATTR = dict(CONFIGS["350m"], vocab_size=256)
CONFIGS["conv15"] = dict(_ATTR, full_attn_idxs=[15])
CONFIGS["attn16"] = dict(_ATTR, full_attn_idxs=list(range(16)))


def main():
    which = sys.argv[1] if len(sys.argv) > 1 else "350m"
    out = Path(sys.argv[2] if len(sys.argv) > 2 else f"/work/lfm2/lfm2-{which}-fp16")
    import torch
    import transformers
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig

    config = transformers.Lfm2Config(**CONFIGS[which])
    config.torch_dtype = "bfloat16"
    torch.manual_seed(0)
    # 350m: fp32 init then cast, as tools/export_fixtures.py does. 700m: init in bf16 directly, to keep the
    # export under ~4 GiB RSS on the shared machine (random weights either way; only the stream differs).
    init_dtype = torch.bfloat16 if which == "700m" else torch.float32
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=init_dtype)
    model = model.to(torch.bfloat16).eval()
    print("params", sum(p.numel() for p in model.parameters()), "layer_types", config.layer_types)
    with tempfile.TemporaryDirectory(prefix="lfm2-", dir="/work/lfm2") as tmp:
        ckpt = Path(tmp) / "ckpt"
        model.save_pretrained(ckpt, safe_serialization=True)
        del model
        main_export(
            model_name_or_path=str(ckpt), output=out, task="text-generation-with-past",
            ov_config=OVConfig(dtype="fp16"), stateful=True, convert_tokenizer=False,
            library_name="transformers", local_files_only=True,
        )
    print("exported to", out)


if __name__ == "__main__":
    main()
