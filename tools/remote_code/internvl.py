"""InternVL2.5 (``internvl_chat``, remote code): source, patches, configs, checkpoints, stub tokenizer.

Used by tools/export_fixtures.py (its ``Fixture(remote_code="internvl")`` entries, exported with
``--remote-code internvl=DIR``); details in research/remote-code/internvl.md.

InternVL's modeling code is not part of ``transformers``: hub checkpoints ship it as remote code.
This module does NOT contain that code.  ``SOURCES["internvl"]`` names the public training repository
OpenGVLab/InternVL, a commit, and the five files (``internvl_chat/internvl/...``) a flat hub-style
remote-code checkpoint needs; :func:`prepare_checkpoint` reads them from a local copy of that
repository (see tools/remote_code/__init__.py), applies ``PATCHES`` (exact ``str.replace`` each,
asserted to match once), builds the model with random weights from a config dict (``TINY`` /
``BIG`` below), saves it as safetensors, and writes the stub tokenizer optimum-intel's exporter needs
(see :func:`_write_tokenizer`; export_fixtures drops tokenizer files from the output).

The export output::

    openvino_language_model.{xml,bin}         Qwen2 decoder fed with inputs_embeds (stateful)
    openvino_text_embeddings_model.{xml,bin}  token embedding table
    openvino_vision_embeddings_model.{xml,bin}  InternViT -> pixel shuffle 0.5 -> mlp1
    config.json (incl. img_context_token_id)  generation_config.json  (+ openvino_config.json for int4)

(optimum also writes the checkpoint's configuration_*.py files there; they are InternVL's code and
export_fixtures drops them.)  optimum-intel's own runtime cuts the tiles in Python (``preprocess_inputs``,
config.json's ``force_image_size``); the ``preprocessor_config.json`` written next to the checkpoint (the
hub repositories' CLIP-style one, :func:`_write_image_processor`) is what openvino.genai reads.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict

from remote_code import Source, save_random_model, write_remote_code

_MODEL_DIR = "internvl_chat/internvl/model/internvl_chat"

# (file, old, new, why).  Each `old` must occur exactly once in the file at the source commit.
# The training repo's files import the repo as the package `internvl` and pull in training-only
# libraries at module level; a flattened remote-code checkpoint has neither, and transformers'
# `check_imports` refuses to load a module whose top-level imports (outside try blocks) are missing.
PATCHES = [
    (
        "configuration_internvl_chat.py",
        "from internvl.model.internlm2.configuration_internlm2 import InternLM2Config\n"
        "from internvl.model.phi3.configuration_phi3 import Phi3Config\n",
        "",
        "absolute imports of the training repo's `internvl` package (not importable from a flattened "
        "checkpoint); InternLM2/Phi3 LLM configs are only used for those LLMs, InternVL2.5-4B uses Qwen2",
    ),
    (
        "configuration_internvl_chat.py",
        "llm_config = {'architectures': ['']}",
        "llm_config = {'architectures': ['LlamaForCausalLM']}  # ovmem patch: was [''] (raises)",
        "transformers >= 4.44 instantiates the config class with no arguments (to_diff_dict, used by "
        "save_pretrained and repr); the default llm_config {'architectures': ['']} then raises "
        "'Unsupported architecture' (the TODO above it); the log line says LlamaConfig is the default",
    ),
    (
        "modeling_internvl_chat.py",
        "from internvl.conversation import get_conv_template\n"
        "from internvl.model.internlm2.modeling_internlm2 import InternLM2ForCausalLM\n"
        "from internvl.model.phi3.modeling_phi3 import Phi3ForCausalLM\n"
        "from peft import LoraConfig, get_peft_model\n",
        "from .conversation import get_conv_template\n"
        "try:  # ovmem patch: peft is only used by wrap_*_lora (use_backbone_lora / use_llm_lora)\n"
        "    from peft import LoraConfig, get_peft_model\n"
        "except ImportError:\n"
        "    pass\n",
        "`internvl.conversation` -> the flattened sibling `.conversation` (as in hub checkpoints); "
        "drop the InternLM2/Phi3 model imports (other LLMs); peft (LoRA training only) not installed",
    ),
    (
        "modeling_intern_vit.py",
        "from einops import rearrange\n",
        "try:  # ovmem patch: einops is only used on the flash-attn path\n"
        "    from einops import rearrange\n"
        "except ImportError:\n"
        "    pass\n",
        "einops is not installed; `rearrange` is only used by FlashAttention/_flash_attn, which is off "
        "without flash_attn (and the export patcher forces the naive attention anyway)",
    ),
    (
        "modeling_intern_vit.py",
        "from timm.models.layers import DropPath\n",
        "try:\n"
        "    from timm.models.layers import DropPath\n"
        "except ImportError:  # ovmem patch: no timm; stochastic depth is the identity in eval mode\n"
        "    class DropPath(torch.nn.Identity):\n"
        "        def __init__(self, drop_prob=0.0):\n"
        "            super().__init__()\n",
        "timm is not installed (timm pulls torchvision); DropPath (stochastic depth, instantiated when "
        "drop_path_rate > 0 as in the real configs, 0.1) is the identity in eval mode",
    ),
]

# Token layout of the real InternVL2.5 (Qwen2.5) tokenizer: Qwen2.5's 151643 BPE tokens, its 22
# special tokens from 151643 (<|endoftext|>, <|im_start|>, <|im_end|>, ...), then the 9 tokens
# InternVL's training script adds (internvl/train/internvl_chat_finetune.py, constants.py), so
# vocab_size = 151674 and <IMG_CONTEXT> = 151667.  The stub tokenizer keeps these offsets from the
# end of the vocabulary for any vocab size (tiny vocab 256: <|endoftext|> 225, <IMG_CONTEXT> 249).

SOURCES = {
    "internvl": Source(
        key="internvl",
        family="internvl",
        url="https://github.com/OpenGVLab/InternVL",
        commit="2410d1dbf208f0e799459aff9376e5747dbf41a2",  # main, 2025-09-22 (Merge PR #1165)
        files={
            "configuration_intern_vit.py": f"{_MODEL_DIR}/configuration_intern_vit.py",
            "configuration_internvl_chat.py": f"{_MODEL_DIR}/configuration_internvl_chat.py",
            "modeling_intern_vit.py": f"{_MODEL_DIR}/modeling_intern_vit.py",
            "modeling_internvl_chat.py": f"{_MODEL_DIR}/modeling_internvl_chat.py",
            "conversation.py": "internvl_chat/internvl/conversation.py",
        },
        patches=tuple(PATCHES),
    ),
}

_QWEN_SPECIALS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")  # at vocab_size - 31, -30, -29
_INTERNVL_TOKENS = (
    "<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>", "<box>", "</box>",
)  # at vocab_size - 9 ... vocab_size - 1  # fmt: skip


def _special_ids(vocab_size: int) -> Dict[str, int]:
    ids = {t: vocab_size - 31 + i for i, t in enumerate(_QWEN_SPECIALS)}
    ids.update({t: vocab_size - 9 + i for i, t in enumerate(_INTERNVL_TOKENS)})
    return ids


def _config(vision: Dict[str, Any], llm: Dict[str, Any]) -> Dict[str, Any]:
    """A config.json dict of InternVL2.5 (values of InternVL2_5-4B, widths from the arguments)."""
    ids = _special_ids(llm["vocab_size"])
    return {
        "architectures": ["InternVLChatModel"],
        "model_type": "internvl_chat",
        "auto_map": {
            "AutoConfig": "configuration_internvl_chat.InternVLChatConfig",
            "AutoModel": "modeling_internvl_chat.InternVLChatModel",
            "AutoModelForCausalLM": "modeling_internvl_chat.InternVLChatModel",
        },
        "vision_config": {
            "architectures": ["InternVisionModel"],
            "model_type": "intern_vit_6b",
            "num_channels": 3,
            "patch_size": 14,
            "image_size": 448,
            "qkv_bias": True,  # InternViT-300M: biased qkv, LayerNorm, no qk-norm (6B: the opposite)
            "qk_normalization": False,
            "norm_type": "layer_norm",
            "layer_norm_eps": 1e-6,
            "hidden_act": "gelu",
            "drop_path_rate": 0.1,
            "initializer_factor": 1.0,
            "use_flash_attn": False,
            **vision,
        },
        "llm_config": {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "hidden_act": "silu",
            "max_position_embeddings": 32768,
            "rope_theta": 1000000.0,
            "rms_norm_eps": 1e-6,
            "use_sliding_window": False,
            "sliding_window": 32768,
            "bos_token_id": ids["<|endoftext|>"],
            "eos_token_id": ids["<|im_end|>"],
            # InternVLChatConfig forces tie_word_embeddings=False on itself and on llm_config
            # (configuration_internvl_chat.py), so InternVL2.5-4B has an untied lm_head (3.7B
            # params = Qwen2.5-3B's 3.09B incl. tied embeddings + 0.31B lm_head + 0.3B ViT).
            "tie_word_embeddings": False,
            **llm,
        },
        "template": "internvl2_5",
        "select_layer": -1,
        "downsample_ratio": 0.5,
        "ps_version": "v2",
        "force_image_size": 448,
        "dynamic_image_size": True,
        "use_thumbnail": True,
        "min_dynamic_patch": 1,
        "max_dynamic_patch": 12,
        "use_backbone_lora": 0,
        "use_llm_lora": 0,
    }


# Tiny: every block present, 448 px tiles -> 32x32 patches -> pixel shuffle -> 256 tokens per tile.
TINY = _config(
    vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4),
    llm=dict(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=256,
        max_position_embeddings=512,
        sliding_window=512,
    ),
)

# InternVL2.5-4B real widths: InternViT-300M-448px-V2_5 (24 layers; 4 kept) + Qwen2.5-3B-Instruct
# (36 layers; 2 kept) with InternVL's resized vocabulary (151674) and untied lm_head.
BIG = _config(
    vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=4, num_attention_heads=16),
    llm=dict(
        hidden_size=2048,
        intermediate_size=11008,
        num_hidden_layers=2,
        num_attention_heads=16,
        num_key_value_heads=2,
        vocab_size=151674,
    ),
)


def _write_tokenizer(ckpt: Path, vocab_size: int) -> None:
    """A stub tokenizer with InternVL2.5's special tokens at their real offsets.

    optimum-intel needs one: ``_get_multi_modal_submodels_and_export_configs`` (convert.py) does
    ``model.config.img_context_token_id = preprocessors[0].convert_tokens_to_ids("<IMG_CONTEXT>")``
    for internvl_chat, where ``preprocessors`` are whatever AutoTokenizer/AutoProcessor/... load from
    the checkpoint (an empty list without a tokenizer -> IndexError), and the runtime
    (``_OVInternVLForCausalLM.merge_vision_text_embeddings``) reads ``config.img_context_token_id``.
    The real tokenizer (Qwen2.5 BPE, 151674 tokens) is not available offline, so this is a
    WordLevel tokenizer built with ``tokenizers``: the special tokens at their ids, every other id a
    placeholder ``[id]`` (so ``len(tokenizer) == vocab_size`` and there are no holes in the vocab,
    which ``tokenizers`` warns about with the whole list of missing ids), id 0 doubling as unk.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    ids = _special_ids(vocab_size)
    by_id = {i: t for t, i in ids.items()}
    vocab = {by_id.get(i, f"[{i}]"): i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[0]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[0]",
        bos_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=list(ids),
    )
    assert fast.convert_tokens_to_ids("<IMG_CONTEXT>") == vocab_size - 7 and len(fast) == vocab_size
    fast.save_pretrained(ckpt)


def prepare_checkpoint(
    source_dir: Path, config: Dict[str, Any], ckpt: Path, seed: int = 0, torch_dtype: str = "bfloat16"
) -> None:
    """Write a random-weight InternVL remote-code checkpoint into ``ckpt``.

    ``source_dir``: a copy of ``SOURCES["internvl"]`` (clone, bare git dir, or ``git archive`` extract).
    ``config``: config.json dict (``TINY``, ``BIG``, or similar; needs ``auto_map``).
    """
    ckpt = Path(ckpt)
    write_remote_code(SOURCES["internvl"], Path(source_dir), ckpt)
    config = copy.deepcopy(config)
    (ckpt / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    save_random_model(ckpt, seed, torch_dtype)
    # save_pretrained rewrites config.json (and re-copies the, already patched, module files).
    saved = json.loads((ckpt / "config.json").read_text())
    assert saved.get("auto_map", {}).get("AutoModelForCausalLM"), saved.get("auto_map")
    _write_tokenizer(ckpt, config["llm_config"]["vocab_size"])
    _write_image_processor(ckpt, int(config["force_image_size"]))


def _write_image_processor(ckpt: Path, size: int) -> None:
    """The hub repositories' ``preprocessor_config.json``: a ``CLIPImageProcessor`` at the tile size with
    ImageNet's mean and std. optimum-intel saves it next to the IRs, and openvino.genai's InternVL reads
    its ``size.shortest_edge`` as the tile size (``processor_config.cpp``; without it genai cuts 336-px
    tiles, its default, and the tower's reshape fails)."""
    from transformers import CLIPImageProcessor

    CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size}, resample=3,
                       image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]).save_pretrained(ckpt)
