#!/usr/bin/env python
"""Export tiny random-weight OpenVINO IR fixtures of real model families.

Every model is built from a config written in this file (no Hugging Face hub
access is needed or attempted), initialised with random weights under
``torch.manual_seed(0)``, saved with ``save_pretrained`` to a temporary
directory and exported with optimum-intel the same way
``optimum-cli export openvino --task text-generation-with-past --weight-format fp16``
(or ``--weight-format int4 ...``) does: ``optimum.exporters.openvino.main_export``
with an explicit ``OVConfig``, followed by optimum-intel's weight-compression step
for quantized entries. The result is a stateful LLM IR in ``OUT/NAME/``::

    openvino_model.xml  openvino_model.bin  config.json  generation_config.json
    (+ openvino_config.json for NNCF-compressed entries, as optimum writes it)

Vision-language entries (``task="image-text-to-text"``, as ``optimum-cli export
openvino --task image-text-to-text`` exports them) give optimum-intel's multi-IR layout
instead (see docs/vlm-layouts.md)::

    openvino_language_model.{xml,bin}         stateful decoder fed with inputs_embeds
    openvino_text_embeddings_model.{xml,bin}  token embedding table
    openvino_vision_embeddings_model.{xml,bin}
    (+ family extras, e.g. openvino_vision_embeddings_merger_model for Qwen2/2.5-VL)
    config.json  generation_config.json  preprocessor_config.json

Their ``prepare`` hook writes a ``preprocessor_config.json`` into the checkpoint from a
locally built (slow, torchvision-free) transformers image processor; optimum loads it
and saves it next to the IRs, like a hub checkpoint's.  For NNCF VLM entries optimum
compresses the language model as asked and every other sub-model to int8_sym.

Tokenizer files are never written (none exist for random models; any that an
exporter creates are dropped).

How to run (needs a separate venv, NOT the ovmem runtime venv)::

    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py            # all default fixtures -> tests/fixtures/
    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py --list
    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py --only tiny-qwen2-f16
    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py --big --out /work/bigmodels \\
        --only qwen2-0.5b-f16 qwen2-0.5b-int4                                 # real-width local validation models
    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py --only tiny-qwen2_5-vl-f16 tiny-llava-f16 tiny-gemma3-f16
    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py --big --out /work/bigmodels \
        --only qwen2.5-vl-3b-2l-f16 llava-1.5-7b-2l-int4 gemma-3-4b-2l-f16  # real-width VLMs (1.4-3.2 GB each)
    /path/to/venv-with-optimum/bin/python tools/export_fixtures.py --only tiny-minicpmv2_6-f16 tiny-internvl2_5-f16 \\
        --remote-code minicpmv=DIR26 --remote-code internvl=DIRVL       # remote-code VLMs (below)

Packages (the versions the committed fixtures were exported with; the ``export`` extra
of pyproject.toml lists them, except optimum-intel, see below)::

    torch==2.13.0 (CPU build)   transformers==4.57.6   optimum==2.3.0
    optimum-intel==2.2.0        openvino==2026.4.1     openvino-tokenizers==2026.4.1.0
    nncf==3.4.0 (only for the int4/int8 entries)

Install them so that pip cannot replace the CPU torch (run from the repository root)::

    python -m venv VENV
    VENV/bin/pip install torch==2.13.0          # the CPU build (CPU wheel / CPU index) FIRST
    VENV/bin/pip install -e '.[export]'          # pinned list; torch==2.13.0 is already met
    VENV/bin/pip install --no-deps optimum-intel==2.2.0

(``.[export]`` is, spelled out: ``torch==2.13.0 transformers==4.57.6 optimum==2.3.0
nncf==3.4.0 openvino==2026.4.1 openvino-tokenizers==2026.4.1.0 "huggingface-hub>=0.34,<1.0"
"requests>=2.33,<3" setuptools``, i.e. optimum-intel 2.2.0's requirements minus torchvision.)

Why ``--no-deps``: optimum-intel 2.2.0 requires ``torchvision``; pip picks the
newest one, which pins the newest torch (a multi-GB CUDA build).  With torch
pinned it picks the matching PyPI torchvision, a CUDA build whose ops fail to load
next to the CPU torch, and then ``import torchvision`` raises ("operator
torchvision::nms does not exist") and takes ``transformers``' lazy imports down
with it (``Could not import module 'AutoProcessor'`` / ``'LlamaForCausalLM'``), so
the export fails.  Text-LLM exports never need torchvision, so leave it out
(``pip check`` then reports it missing; fine).
With access to PyTorch's CPU index, ``torchvision==0.28.0`` from there is fine too.

Fixtures in ``FIXTURES`` are exported by default; ``BIG_MODELS`` are real-width
random-weight models (hundreds of MB to GB) for local validation only, selected
with ``--big`` and never meant to go into the repository.  Adding a fixture is
adding a ``Fixture(...)`` entry: a transformers config class and its kwargs, the
model class, the optimum task, and the weight format (``"fp16"``/``"fp32"``) or
an ``OVWeightQuantizationConfig`` kwargs dict (NNCF weight compression).  VLMs and
other multi-file exports can use ``model_class``/``task`` plus the ``prepare``
hook, which may write extra files (processor configs, ...) into the saved
checkpoint before export.

Determinism: same seed, same config, same package versions -> byte-identical
output (checked by exporting twice, in both orders, f16 and int4).  Each model
is exported in its own child interpreter because OpenVINO's auto-generated node
names ("Model0", "Constant_1234") come from a process-wide counter; temp paths
that optimum records in JSON side files are nulled.  The script writes only into
``OUT/NAME/`` (replacing it), plus the system temp dir, which it cleans up.

Remote-code families (``Fixture(remote_code=KEY)``): MiniCPM-V 2.5 / 2.6 and InternVL2.5 ship
their modeling code with the hub checkpoint (``trust_remote_code=True``), not in ``transformers``.
That code is never copied into this repository: ``tools/remote_code/<family>.py`` names a public git
repository + commit + file paths (``SOURCES``), the patches, the configs and ``prepare_checkpoint``,
which writes the patched files and a random-weight checkpoint into the temp dir.  Give a local copy
of the repository per key with ``--remote-code KEY=DIR`` (``KEY`` = ``minicpmv-2.5``, ``minicpmv-2.6``,
``internvl``, or the family ``minicpmv`` / ``internvl`` for all its keys; ``--list`` shows each
entry's key).  ``DIR`` is a clone (any checkout; files are read with ``git show COMMIT:PATH``), a bare
git directory holding the commit, or a plain ``git archive COMMIT | tar -x -C DIR`` extract::

    minicpmv-2.5: GIT_LFS_SKIP_SMUDGE=1 git clone https://github.com/theonlyengine/VQA_Model DIR \\
                  && git -C DIR checkout 287e3f85192a7c4acf2564fc6bda0637439a9d78   # git copy of the hub repo
    minicpmv-2.6: git clone https://github.com/404805854/minicpmv2.6-onnx DIR \\
                  && git -C DIR checkout 8490e5923eeebae2ef7163fc7bb39f5b66967272   # the unmodified fork commit
    internvl:     git clone https://github.com/OpenGVLab/InternVL DIR \\
                  && git -C DIR checkout 2410d1dbf208f0e799459aff9376e5747dbf41a2   # internvl_chat/internvl/

Without it such an entry stops the run before anything is exported, with the command above.  They are
exported like every other entry (``trust_remote_code=True`` added); optimum copies the remote ``*.py``
modules next to the IRs and they are dropped with the tokenizer files.  What is patched (exact
``str.replace`` calls, asserted to match once; research/remote-code/minicpmv.md and
research/remote-code/internvl.md give the detail, the IR layouts and the sizes):

- MiniCPM-V 2.5/2.6 ``import torchvision`` dropped (+ 2.5's ``self.transform = None``): torchvision is
  not installed, transformers refuses remote modules with missing imports; only ``chat()`` uses it.
- MiniCPM-V ``resampler.py`` imports ``typing.List``, which it used to get from old torch's
  ``torch.nn.functional`` star import.
- MiniCPM-V 2.5 vision encoder: drop the ``output_attentions``/``output_hidden_states``/``return_dict``
  kwargs optimum-intel 2.2.0's patcher passes to transformers 4.57's ``Idefics2Encoder``, which forwards
  them to the patched attention (TypeError); numerically a no-op.
- InternVL: the training repo's absolute ``internvl.*`` imports -> flat sibling ``.conversation`` (as in
  hub checkpoints), InternLM2/Phi3 imports dropped (other LLMs).
- InternVL: ``llm_config`` default ``['']`` -> ``['LlamaForCausalLM']`` (transformers >= 4.44 builds the
  config with no arguments in ``to_diff_dict``; ``''`` raises).
- InternVL: peft / einops / timm imports in try/except (not installed; LoRA, flash-attn path, and
  DropPath, the identity in eval mode).
- InternVL's checkpoint also gets a stub WordLevel tokenizer with the real special-token ids:
  optimum-intel reads ``<IMG_CONTEXT>``'s id from it into ``config.json`` (``img_context_token_id``).

Checkpoints are saved in bfloat16 like most real ones (``torch_dtype`` per entry; the
LLaVA entries use float16, like llava-hf/llava-1.5-7b-hf).  The fp16 entries load
them as float16 (``OVConfig(dtype="fp16")``), so every float weight in the IR is
an f16 Constant (+ Convert).  NNCF entries load them as bfloat16, so the weights
NNCF leaves alone (norms, biases) stay bf16 Constants, as in a real
``optimum-cli --weight-format int4`` export of a bf16 checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Union

# No hub: make every transformers / huggingface_hub call fail fast instead of
# trying the network, and keep telemetry quiet.  Must be set before the imports.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT / "tools") not in sys.path:  # tools/remote_code when imported from elsewhere
    sys.path.insert(0, str(REPO_ROOT / "tools"))

import remote_code  # stdlib-only at import; torch/transformers load inside prepare_checkpoint
from remote_code import internvl, minicpmv

DEFAULT_OUT = REPO_ROOT / "tests" / "fixtures"

# Files an exporter might emit that fixtures never keep.
_DROP_PREFIXES = (
    "tokenizer",  # tokenizer.json, tokenizer_config.json
    "openvino_tokenizer",
    "openvino_detokenizer",
    "special_tokens_map",
    "vocab",
    "merges",
    "added_tokens",
    "chat_template",
)
# Remote-code modules optimum copies next to the IRs: third-party code, never kept.
_DROP_SUFFIXES = (".py",)


@dataclasses.dataclass(frozen=True)
class Fixture:
    """One exported model.

    config_class: name of a ``transformers`` config class (e.g. ``"Qwen2Config"``).
    config_kwargs: kwargs for it; this is the whole model definition.
    weights: ``"fp16"`` or ``"fp32"`` (``OVConfig(dtype=...)``, no NNCF), or a
        dict of ``OVWeightQuantizationConfig`` kwargs (NNCF weight compression,
        e.g. ``{"bits": 4, "sym": False, "group_size": 128, "ratio": 1.0}``).
    torch_dtype: dtype the random checkpoint is saved in (real checkpoints are
        mostly bfloat16; optimum then loads it in 16 bit like a real export).
    model_class: ``transformers`` auto/model class used with ``from_config``.
    task: optimum export task.
    stateful: export KV cache as ReadValue/Assign state (the LLM default).
    prepare: optional hook ``(checkpoint_dir) -> None`` run after
        ``save_pretrained`` (e.g. to write a processor config for a VLM).
    remote_code: key of a ``tools/remote_code`` source (``"minicpmv-2.6"``, ``"internvl"``, ...): the
        checkpoint comes from that family's ``prepare_checkpoint`` with ``config_kwargs`` as its config
        (``config_class`` / ``model_class`` are then only labels), exported with ``trust_remote_code``.
    """

    name: str
    description: str
    config_class: str
    config_kwargs: Dict[str, Any]
    weights: Union[str, Dict[str, Any]] = "fp16"
    torch_dtype: str = "bfloat16"
    model_class: str = "AutoModelForCausalLM"
    task: str = "text-generation-with-past"
    stateful: bool = True
    seed: int = 0
    prepare: Optional[Callable[[Path], None]] = None
    remote_code: Optional[str] = None


# The widths every tiny fixture shares: small enough to commit, every block still present.
_TINY = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=256,
    max_position_embeddings=512,
)

_TINY_LLAMA = dict(
    **_TINY,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)

_TINY_QWEN2 = dict(
    **_TINY,
    rope_theta=1000000.0,
    rms_norm_eps=1e-6,
    bos_token_id=0,
    eos_token_id=1,
    tie_word_embeddings=True,
    use_sliding_window=False,
)

# Phi-3 (Phi-3-mini style: fused qkv_proj / gate_up_proj, untied lm_head), tiny widths.
# Phi3Config defaults bos/eos/pad to 1/32000/32000; ids must lie inside the 256-token vocab.
_TINY_PHI3 = dict(
    **_TINY,
    original_max_position_embeddings=512,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=2,
    tie_word_embeddings=False,
)

# Gemma 3 text decoder (model_type gemma3_text): explicit head_dim, q/k norms, tied embeddings,
# one sliding-window layer (window 32, local RoPE base) then one full-attention layer.
_TINY_GEMMA3_TEXT = dict(
    **_TINY,
    head_dim=16,
    query_pre_attn_scalar=16,
    sliding_window=32,
    layer_types=["sliding_attention", "full_attention"],
    pad_token_id=0,
    eos_token_id=1,
    bos_token_id=2,
    tie_word_embeddings=True,
)

# Real Qwen2-0.5B shape (https://huggingface.co/Qwen/Qwen2-0.5B config), random weights.
_QWEN2_0_5B = dict(
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    vocab_size=151936,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
    rms_norm_eps=1e-6,
    bos_token_id=151643,
    eos_token_id=151643,
    tie_word_embeddings=True,
    use_sliding_window=False,
    sliding_window=32768,
    max_window_layers=24,
)

# optimum-intel's own default int4 config (_DEFAULT_4BIT_WQ_CONFIG), spelled out.
INT4_ASYM_G128 = {"bits": 4, "sym": False, "group_size": 128, "ratio": 1.0}
# The same at tiny widths: group 16 divides every MatMul input dim (64, 128), ratio 1.0
# sends every such MatMul to int4 (NNCF keeps the embedding / lm_head in int8 backup precision).
INT4_ASYM_G16 = {"bits": 4, "sym": False, "group_size": 16, "ratio": 1.0}
# `--weight-format int8`: per-channel asymmetric int8, every weight incl. embedding / lm_head.
INT8_ASYM = {"bits": 8, "sym": False}

# --- Vision-language models (task "image-text-to-text") -------------------------------------
# optimum-intel exports a VLM as several IRs (openvino_language_model, openvino_text_embeddings_model,
# openvino_vision_embeddings_model, + family extras such as Qwen2-VL's
# openvino_vision_embeddings_merger_model); see docs/vlm-layouts.md.  The checkpoint gets
# an image processor config written next to it (the ``prepare`` hook), built locally from a
# transformers class: optimum picks it up with AutoImageProcessor and saves it as
# preprocessor_config.json next to the IRs, as a real export of a hub checkpoint does.


def _save_image_processor(class_name: str, kwargs: Dict[str, Any], ckpt: Path) -> None:
    import transformers

    # The slow (PIL/numpy) image processor classes: they need no torchvision.
    getattr(transformers, class_name)(**kwargs).save_pretrained(ckpt)


def image_processor(class_name: str, **kwargs: Any) -> Callable[[Path], None]:
    """A ``prepare`` hook writing ``preprocessor_config.json`` of ``transformers.<class_name>(**kwargs)``."""
    return functools.partial(_save_image_processor, class_name, kwargs)


_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# Qwen2.5-VL: a Qwen2 text decoder with 3-axis M-RoPE (mrope_section sums to head_dim/2 = 8),
# a ViT over 14x14x2 (temporal) patches with 2D RoPE, window attention (window_size 112 px =
# 4x4 merged tokens) in every block except fullatt_block_indexes, and a patch merger that
# concatenates 2x2 neighbouring patches (spatial_merge_size 2) into one LM token.
_TINY_QWEN2_5_VL = dict(
    text_config=dict(
        **_TINY,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        rope_scaling={"type": "mrope", "mrope_section": [2, 3, 3]},
        bos_token_id=0,
        eos_token_id=1,
        tie_word_embeddings=True,
        use_sliding_window=False,
    ),
    vision_config=dict(
        depth=2,
        hidden_size=64,
        intermediate_size=128,
        num_heads=4,
        out_hidden_size=64,
        hidden_act="silu",
        in_channels=3,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        tokens_per_second=2,
        window_size=112,
        fullatt_block_indexes=[1],  # block 0 window attention, block 1 full attention
    ),
    vision_start_token_id=251,
    vision_end_token_id=252,
    image_token_id=253,
    video_token_id=254,
    bos_token_id=0,
    eos_token_id=1,
    tie_word_embeddings=True,
)
_QWEN2_5_VL_PROCESSOR = image_processor(
    "Qwen2VLImageProcessor",
    min_pixels=3136,  # Qwen2.5-VL's preprocessor_config.json values
    max_pixels=12845056,
    patch_size=14,
    temporal_patch_size=2,
    merge_size=2,
    image_mean=_CLIP_MEAN,
    image_std=_CLIP_STD,
)

# LLaVA-1.5: CLIP ViT (class token + (112/14)^2 = 64 patch tokens), features taken from the
# second-to-last layer (vision_feature_layer -2, so the last CLIP layer and the post-layernorm are
# dead code), class token dropped ("default" strategy) -> 64 image tokens, a 2-layer GELU MLP
# projector to the Llama width.
_TINY_LLAVA = dict(
    text_config=dict(model_type="llama", **_TINY_LLAMA),
    vision_config=dict(
        model_type="clip_vision_model",
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=112,
        patch_size=14,
        projection_dim=64,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    ),
    image_token_index=255,
    projector_hidden_act="gelu",
    vision_feature_select_strategy="default",
    vision_feature_layer=-2,
    image_seq_length=64,
    pad_token_id=0,
    tie_word_embeddings=False,
)
_LLAVA_PROCESSOR_TINY = image_processor(
    "CLIPImageProcessor",
    size={"shortest_edge": 112},
    crop_size={"height": 112, "width": 112},
    image_mean=_CLIP_MEAN,
    image_std=_CLIP_STD,
)

# Gemma 3: SigLIP ViT (no class token, no pooling head) over (112/14)^2 = 8x8 patches, then the
# multimodal projector: RMSNorm + 4x4 average pooling (8 patches per side / 2 tokens per side,
# the same kernel 4 as gemma-3-4b's 64/16) + a linear map -> mm_tokens_per_image = 4 tokens.
_TINY_GEMMA3 = dict(
    text_config=dict(_TINY_GEMMA3_TEXT),
    vision_config=dict(
        model_type="siglip_vision_model",
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=112,
        patch_size=14,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
        vision_use_head=False,
    ),
    mm_tokens_per_image=4,
    boi_token_index=253,
    eoi_token_index=254,
    image_token_index=255,
    pad_token_id=0,
    eos_token_id=1,
    bos_token_id=2,
)
_GEMMA3_PROCESSOR_TINY = image_processor(
    "Gemma3ImageProcessor",
    size={"height": 112, "width": 112},
    image_mean=[0.5, 0.5, 0.5],
    image_std=[0.5, 0.5, 0.5],
    resample=2,
)

FIXTURES: Dict[str, Fixture] = {
    f.name: f
    for f in [
        Fixture(
            name="tiny-llama-f16",
            description="Llama, 2 layers, hidden 64, GQA 4q/2kv heads, vocab 256, fp16 weights",
            config_class="LlamaConfig",
            config_kwargs=_TINY_LLAMA,
        ),
        Fixture(
            name="tiny-qwen2-f16",
            description="Qwen2, 2 layers, hidden 64, GQA 4q/2kv heads, vocab 256, tied embeddings, fp16 weights",
            config_class="Qwen2Config",
            config_kwargs=_TINY_QWEN2,
        ),
        Fixture(
            name="tiny-phi3-f16",
            description="Phi-3, 2 layers, hidden 64, GQA 4q/2kv heads, fused qkv/gate_up, vocab 256, fp16 weights",
            config_class="Phi3Config",
            config_kwargs=_TINY_PHI3,
        ),
        Fixture(
            name="tiny-gemma3-text-f16",
            description="Gemma 3 text, 2 layers (sliding 32 + full), hidden 64, 4q/2kv heads of 16, vocab 256, fp16",
            config_class="Gemma3TextConfig",
            config_kwargs=_TINY_GEMMA3_TEXT,
        ),
        Fixture(
            name="tiny-qwen2-int4",
            description="tiny-qwen2 config, NNCF int4 asym group 16 (ratio 1.0), bf16 checkpoint",
            config_class="Qwen2Config",
            config_kwargs=_TINY_QWEN2,
            weights=INT4_ASYM_G16,
        ),
        Fixture(
            name="tiny-llama-int8",
            description="tiny-llama config, NNCF int8 asym per-channel weights, bf16 checkpoint",
            config_class="LlamaConfig",
            config_kwargs=_TINY_LLAMA,
            weights=INT8_ASYM,
        ),
        Fixture(
            name="tiny-qwen2_5-vl-f16",
            description="Qwen2.5-VL: Qwen2 text 2 layers hidden 64 (M-RoPE), ViT 2 blocks hidden 64 "
            "(window + full attention), 2x2 patch merger, vocab 256, fp16",
            config_class="Qwen2_5_VLConfig",
            config_kwargs=_TINY_QWEN2_5_VL,
            model_class="Qwen2_5_VLForConditionalGeneration",
            task="image-text-to-text",
            prepare=_QWEN2_5_VL_PROCESSOR,
        ),
        Fixture(
            name="tiny-llava-f16",
            description="LLaVA-1.5: CLIP ViT 2 layers hidden 64 (112 px, patch 14, feature layer -2), "
            "MLP projector, Llama 2 layers hidden 64, vocab 256, fp16",
            config_class="LlavaConfig",
            config_kwargs=_TINY_LLAVA,
            torch_dtype="float16",  # like llava-hf/llava-1.5-7b-hf
            model_class="LlavaForConditionalGeneration",
            task="image-text-to-text",
            prepare=_LLAVA_PROCESSOR_TINY,
        ),
        Fixture(
            name="tiny-gemma3-f16",
            description="Gemma 3: SigLIP 2 layers hidden 64 (112 px, patch 14), 4x4 avg-pool projector "
            "-> 4 tokens/image, Gemma 3 text 2 layers (sliding + full), vocab 256, fp16",
            config_class="Gemma3Config",
            config_kwargs=_TINY_GEMMA3,
            model_class="Gemma3ForConditionalGeneration",
            task="image-text-to-text",
            prepare=_GEMMA3_PROCESSOR_TINY,
        ),
        # Remote-code VLMs (tools/remote_code/; export with --remote-code, see the module docstring).
        Fixture(
            name="tiny-minicpmv2_6-f16",
            description="MiniCPM-V 2.6: SigLIP NaViT 2 layers hidden 64 (448 px table), resampler 16 queries, "
            "Qwen2 2 layers hidden 128 (resampler heads = hidden // 128), vocab 256, untied, fp16",
            config_class="MiniCPMVConfig",
            config_kwargs=minicpmv.TINY_MINICPMV_2_6,
            model_class="AutoModelForCausalLM",
            task="image-text-to-text",
            remote_code="minicpmv-2.6",
        ),
        Fixture(
            name="tiny-internvl2_5-f16",
            description="InternVL2.5: InternViT 2 layers hidden 64 (448 px tiles), pixel shuffle 0.5 + MLP -> "
            "256 tokens/tile, Qwen2 2 layers hidden 64, vocab 256, untied, fp16",
            config_class="InternVLChatConfig",
            config_kwargs=internvl.TINY,
            model_class="AutoModelForCausalLM",
            task="image-text-to-text",
            remote_code="internvl",
        ),
    ]
}

_LLAMA_3_2_1B_4L = dict(
    # Llama-3.2-1B config, num_hidden_layers 16 -> 4; its llama3 rope_scaling left out.
    hidden_size=2048,
    intermediate_size=8192,
    num_hidden_layers=4,
    num_attention_heads=32,
    num_key_value_heads=8,
    head_dim=64,
    vocab_size=128256,
    max_position_embeddings=131072,
    rope_theta=500000.0,
    rms_norm_eps=1e-5,
    hidden_act="silu",
    attention_bias=False,
    mlp_bias=False,
    bos_token_id=128000,
    eos_token_id=128001,
    tie_word_embeddings=True,
)

_PHI_3_MINI_4L = dict(
    # Phi-3-mini-4k-instruct config, num_hidden_layers 32 -> 4; its sliding_window 2047 left out.
    hidden_size=3072,
    intermediate_size=8192,
    num_hidden_layers=4,
    num_attention_heads=32,
    num_key_value_heads=32,
    vocab_size=32064,
    max_position_embeddings=4096,
    original_max_position_embeddings=4096,
    rope_theta=10000.0,
    rms_norm_eps=1e-5,
    hidden_act="silu",
    bos_token_id=1,
    eos_token_id=32000,
    pad_token_id=32000,
    tie_word_embeddings=False,
)

# --- Real-width, reduced-depth VLMs (random weights) ----------------------------------------
# Each keeps the published config's widths, vocabulary and image geometry, with 2 decoder layers
# and a shallower vision tower, so every sub-model IR has real-sized tensors.

# Qwen2.5-VL-3B-Instruct config: LM 36 -> 2 layers; ViT 32 -> 4 blocks, full attention in the
# last one (the real model has it in blocks 7, 15, 23, 31).
_QWEN2_5_VL_3B_2L = dict(
    text_config=dict(
        hidden_size=2048,
        intermediate_size=11008,
        num_hidden_layers=2,
        num_attention_heads=16,
        num_key_value_heads=2,
        vocab_size=151936,
        max_position_embeddings=128000,
        rope_theta=1000000.0,
        rms_norm_eps=1e-6,
        rope_scaling={"type": "mrope", "mrope_section": [16, 24, 24]},
        hidden_act="silu",
        sliding_window=32768,
        max_window_layers=70,
        use_sliding_window=False,
        bos_token_id=151643,
        eos_token_id=151645,
        tie_word_embeddings=True,
    ),
    vision_config=dict(
        depth=4,
        hidden_size=1280,
        intermediate_size=3420,
        num_heads=16,
        out_hidden_size=2048,
        hidden_act="silu",
        in_channels=3,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        tokens_per_second=2,
        window_size=112,
        fullatt_block_indexes=[3],
    ),
    vision_start_token_id=151652,
    vision_end_token_id=151653,
    image_token_id=151655,
    video_token_id=151656,
    bos_token_id=151643,
    eos_token_id=151645,
    tie_word_embeddings=True,
)

# llava-hf/llava-1.5-7b-hf config: Vicuna-7B (Llama-2-7B widths, vocab 32064) 32 -> 2 layers;
# CLIP ViT-L/14-336 24 -> 4 layers (feature layer -2, so 3 of them reach the IR); 576 image tokens.
# That checkpoint is float16, so these entries save the random checkpoint in float16 too.
_LLAVA_1_5_7B_2L = dict(
    text_config=dict(
        model_type="llama",
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=2,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32064,
        max_position_embeddings=4096,
        rope_theta=10000.0,
        rms_norm_eps=1e-5,
        hidden_act="silu",
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=32001,
        tie_word_embeddings=False,
    ),
    vision_config=dict(
        model_type="clip_vision_model",
        hidden_size=1024,
        intermediate_size=4096,
        num_hidden_layers=4,
        num_attention_heads=16,
        image_size=336,
        patch_size=14,
        projection_dim=768,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    ),
    image_token_index=32000,
    projector_hidden_act="gelu",
    vision_feature_select_strategy="default",
    vision_feature_layer=-2,
    image_seq_length=576,
    pad_token_id=32001,
    tie_word_embeddings=False,
)
_LLAVA_1_5_PROCESSOR = image_processor(
    "CLIPImageProcessor",
    size={"shortest_edge": 336},
    crop_size={"height": 336, "width": 336},
    image_mean=_CLIP_MEAN,
    image_std=_CLIP_STD,
)

# google/gemma-3-4b-it config: Gemma 3 text 34 -> 2 layers (one sliding, one full; the real
# model alternates 5 sliding : 1 full), SigLIP-So400m/14-896 27 -> 4 layers, 256 tokens/image.
# Real Gemma-3-1B text shape (google/gemma-3-1b-it config: 26 layers, 5 sliding (window 512) : 1 full,
# 4q/1kv heads of 256, vocab 262144, tied), full depth, random weights: the 262k-vocabulary LLM case.
_GEMMA3_1B = dict(
    hidden_size=1152,
    intermediate_size=6912,
    num_hidden_layers=26,
    num_attention_heads=4,
    num_key_value_heads=1,
    head_dim=256,
    query_pre_attn_scalar=256,
    vocab_size=262144,
    max_position_embeddings=32768,
    rope_theta=1000000.0,
    rope_local_base_freq=10000.0,
    rms_norm_eps=1e-6,
    hidden_activation="gelu_pytorch_tanh",
    sliding_window=512,
    layer_types=[("full_attention" if (i + 1) % 6 == 0 else "sliding_attention") for i in range(26)],
    pad_token_id=0,
    eos_token_id=1,
    bos_token_id=2,
    tie_word_embeddings=True,
)

# Real Gemma-3-270M shape (google/gemma-3-270m config: 18 layers, hidden 640, 4q/1kv heads of 256,
# vocab 262144, tied): the 262k-vocabulary case where the logits dominate the memory.
_GEMMA3_270M = dict(
    _GEMMA3_1B,
    hidden_size=640,
    intermediate_size=2048,
    num_hidden_layers=18,
    layer_types=[("full_attention" if (i + 1) % 6 == 0 else "sliding_attention") for i in range(18)],
)

# Real SmolLM2-135M shape (HuggingFaceTB/SmolLM2-135M config: Llama, 30 layers, hidden 576, 9q/3kv heads
# of 64, vocab 49152, tied), full depth, random weights: the small-int4-model case.
_SMOLLM2_135M = dict(
    hidden_size=576,
    intermediate_size=1536,
    num_hidden_layers=30,
    num_attention_heads=9,
    num_key_value_heads=3,
    vocab_size=49152,
    max_position_embeddings=8192,
    rope_theta=100000.0,
    rms_norm_eps=1e-5,
    bos_token_id=0,
    eos_token_id=0,
    tie_word_embeddings=True,
)

_GEMMA3_4B_2L = dict(
    text_config=dict(
        hidden_size=2560,
        intermediate_size=10240,
        num_hidden_layers=2,
        num_attention_heads=8,
        num_key_value_heads=4,
        head_dim=256,
        query_pre_attn_scalar=256,
        vocab_size=262208,
        max_position_embeddings=131072,
        rope_theta=1000000.0,
        rope_local_base_freq=10000.0,
        rope_scaling={"factor": 8.0, "rope_type": "linear"},
        rms_norm_eps=1e-6,
        hidden_activation="gelu_pytorch_tanh",
        sliding_window=1024,
        layer_types=["sliding_attention", "full_attention"],
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=2,
        tie_word_embeddings=True,
    ),
    vision_config=dict(
        model_type="siglip_vision_model",
        hidden_size=1152,
        intermediate_size=4304,
        num_hidden_layers=4,
        num_attention_heads=16,
        image_size=896,
        patch_size=14,
        hidden_act="gelu_pytorch_tanh",
        layer_norm_eps=1e-6,
        vision_use_head=False,
    ),
    mm_tokens_per_image=256,
    boi_token_index=255999,
    eoi_token_index=256000,
    image_token_index=262144,
    pad_token_id=0,
    eos_token_id=[1, 106],
    bos_token_id=2,
)
_GEMMA3_PROCESSOR = image_processor(
    "Gemma3ImageProcessor",
    size={"height": 896, "width": 896},
    image_mean=[0.5, 0.5, 0.5],
    image_std=[0.5, 0.5, 0.5],
    resample=2,
)

_VLM_FORMATS = {
    "f16": ("fp16", "fp16"),
    "f32": ("fp32", "fp32 (`--weight-format fp32`)"),
    "int4": (INT4_ASYM_G128, "language model NNCF int4 asym g128 (ratio 1.0), other parts int8 sym"),
}


def _vlm_formats(name: str, desc: str, config_class: str, kwargs: Dict[str, Any], dtype: str, formats, **extra) -> list:
    """One real-width VLM entry per weight format (``NAME-f16``, ``NAME-int4``, ...)."""
    return [
        Fixture(name=f"{name}-{suffix}", description=f"{desc}, {_VLM_FORMATS[suffix][1]}", config_class=config_class,
                config_kwargs=kwargs, weights=_VLM_FORMATS[suffix][0], torch_dtype=dtype, task="image-text-to-text",
                **extra)  # fmt: skip
        for suffix in formats
    ]


_BIG_VLMS = []
for _name, _desc, _cls, _kw, _model, _prep, _dtype in [
    (
        "qwen2.5-vl-3b-2l",
        "Qwen2.5-VL-3B real widths (LM hidden 2048, 16q/2kv, vocab 151936, tied; ViT 1280 x 4 blocks, "
        "3 window + 1 full attention; merger -> 2048) but 2 LM layers, random weights",
        "Qwen2_5_VLConfig",
        _QWEN2_5_VL_3B_2L,
        "Qwen2_5_VLForConditionalGeneration",
        _QWEN2_5_VL_PROCESSOR,
        "bfloat16",
    ),
    (
        "llava-1.5-7b-2l",
        "LLaVA-1.5-7B real widths (Llama hidden 4096, 32 MHA heads, vocab 32064, untied; CLIP ViT-L/14-336 "
        "x 4 layers, feature layer -2; 576 tokens) but 2 LM layers, random weights",
        "LlavaConfig",
        _LLAVA_1_5_7B_2L,
        "LlavaForConditionalGeneration",
        _LLAVA_1_5_PROCESSOR,
        "float16",
    ),
    (
        "gemma-3-4b-2l",
        "Gemma-3-4B real widths (hidden 2560, 8q/4kv heads of 256, vocab 262208, tied; SigLIP 1152 x 4 layers "
        "at 896 px; 256 tokens) but 2 LM layers (sliding + full), random weights",
        "Gemma3Config",
        _GEMMA3_4B_2L,
        "Gemma3ForConditionalGeneration",
        _GEMMA3_PROCESSOR,
        "bfloat16",
    ),
]:
    _BIG_VLMS += _vlm_formats(_name, _desc, _cls, _kw, _dtype, ("f16", "f32", "int4"), model_class=_model, prepare=_prep)

# Remote-code VLMs at real widths, reduced depth (configs in tools/remote_code/), plus a tiny
# MiniCPM-V 2.5 that checks the 2.5 code path in a minute (local only, like the rest of BIG_MODELS).
_BIG_REMOTE_VLMS = [
    Fixture(
        name="tiny-minicpmv2_5-f16",
        description="tiny MiniCPM-Llama3-V 2.5 (llama 128 x 2 layers, Idefics2/SigLIP 64 x 2 layers, "
        "16 queries), fp16; a quick check of the 2.5 path",
        config_class="MiniCPMVConfig",
        config_kwargs=minicpmv.TINY_MINICPMV_2_5,
        torch_dtype="float16",
        task="image-text-to-text",
        remote_code="minicpmv-2.5",
    ),
]
for _name, _desc, _cls, _kw, _dtype, _key in [
    (
        "minicpm-v-2.5-2l",
        "MiniCPM-Llama3-V-2.5 real widths (Llama-3-8B 4096, 32q/8kv, vocab 128256, untied; SigLIP-400M 1152 "
        "x 4 layers; resampler 96 queries) but 2 LLM layers, random weights",
        "MiniCPMVConfig",
        minicpmv.MINICPMV_2_5_2L,
        "float16",  # the hub checkpoint is float16
        "minicpmv-2.5",
    ),
    (
        "minicpm-v-2.6-2l",
        "MiniCPM-V-2.6 real widths (Qwen2-7B 3584, 28q/4kv, vocab 151666, untied; SigLIP-400M 1152 x 4 layers; "
        "resampler 64 queries) but 2 LLM layers, random weights",
        "MiniCPMVConfig",
        minicpmv.MINICPMV_2_6_2L,
        "bfloat16",
        "minicpmv-2.6",
    ),
    (
        "internvl2.5-4b-2l",
        "InternVL2.5-4B real widths (Qwen2.5-3B 2048, 16q/2kv, vocab 151674, untied; InternViT-300M 1024 x 4 "
        "layers at 448 px; 256 tokens/tile) but 2 LLM layers, random weights",
        "InternVLChatConfig",
        internvl.BIG,
        "bfloat16",
        "internvl",
    ),
]:
    _BIG_REMOTE_VLMS += _vlm_formats(_name, _desc, _cls, _kw, _dtype, ("f16", "int4"), remote_code=_key)

BIG_MODELS: Dict[str, Fixture] = {
    f.name: f
    for f in [
        Fixture(
            name="qwen2-0.5b-f16",
            description="Qwen2-0.5B real widths (24 layers, hidden 896, vocab 151936), random weights, fp16",
            config_class="Qwen2Config",
            config_kwargs=_QWEN2_0_5B,
        ),
        Fixture(
            name="qwen2-0.5b-int4",
            description="Qwen2-0.5B real widths, random weights, NNCF int4 asym group 128 (ratio 1.0)",
            config_class="Qwen2Config",
            config_kwargs=_QWEN2_0_5B,
            weights=INT4_ASYM_G128,
        ),
        Fixture(
            name="qwen2-0.5b-f32",
            description="Qwen2-0.5B real widths, random weights, fp32 (`--weight-format fp32`)",
            config_class="Qwen2Config",
            config_kwargs=_QWEN2_0_5B,
            weights="fp32",
        ),
        Fixture(
            name="gemma-3-1b-f16",
            description="Gemma-3-1B real widths and depth (26 layers, hidden 1152, 4q/1kv heads of 256, "
            "vocab 262144, tied), random weights, fp16",
            config_class="Gemma3TextConfig",
            config_kwargs=_GEMMA3_1B,
        ),
        Fixture(
            name="gemma-3-1b-int4",
            description="gemma-3-1b config, random weights, NNCF int4 asym group 128 (ratio 1.0)",
            config_class="Gemma3TextConfig",
            config_kwargs=_GEMMA3_1B,
            weights=INT4_ASYM_G128,
        ),
        Fixture(
            name="gemma-3-270m-f16",
            description="Gemma-3-270M real widths and depth (18 layers, hidden 640, 4q/1kv heads of 256, "
            "vocab 262144, tied), random weights, fp16",
            config_class="Gemma3TextConfig",
            config_kwargs=_GEMMA3_270M,
        ),
        Fixture(
            name="smollm2-135m-int4",
            description="SmolLM2-135M real widths and depth (Llama, 30 layers, hidden 576, vocab 49152, tied), "
            "random weights, NNCF int4 asym group 64 (ratio 1.0; 576 is no multiple of 128)",
            config_class="LlamaConfig",
            config_kwargs=_SMOLLM2_135M,
            weights={"bits": 4, "sym": False, "group_size": 64, "ratio": 1.0},
        ),
        Fixture(
            name="llama-3.2-1b-4l-f16",
            description="Llama-3.2-1B real widths (hidden 2048, 32q/8kv heads of 64, vocab 128256, tied) "
            "but 4 layers, no rope_scaling, random weights, fp16",
            config_class="LlamaConfig",
            config_kwargs=_LLAMA_3_2_1B_4L,
        ),
        Fixture(
            name="llama-3.2-1b-4l-int4",
            description="llama-3.2-1b-4l config, random weights, NNCF int4 asym group 128 (ratio 1.0)",
            config_class="LlamaConfig",
            config_kwargs=_LLAMA_3_2_1B_4L,
            weights=INT4_ASYM_G128,
        ),
        Fixture(
            name="phi-3-mini-4l-f16",
            description="Phi-3-mini-4k real widths (hidden 3072, 32 MHA heads, fused qkv/gate_up, vocab 32064, "
            "untied) but 4 layers, random weights, fp16",
            config_class="Phi3Config",
            config_kwargs=_PHI_3_MINI_4L,
        ),
        Fixture(
            name="phi-3-mini-4l-int4",
            description="phi-3-mini-4l config, random weights, NNCF int4 asym group 128 (ratio 1.0)",
            config_class="Phi3Config",
            config_kwargs=_PHI_3_MINI_4L,
            weights=INT4_ASYM_G128,
        ),
        *_BIG_VLMS,
        *_BIG_REMOTE_VLMS,
    ]
}


def _human(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _save_random_checkpoint(fx: Fixture, ckpt: Path, source_dir: Optional[Path] = None) -> None:
    if fx.remote_code is not None:
        src = remote_code.sources()[fx.remote_code]
        remote_code.family_module(src.family).prepare_checkpoint(
            source_dir, fx.config_kwargs, ckpt, seed=fx.seed, torch_dtype=fx.torch_dtype
        )
        if fx.prepare is not None:
            fx.prepare(ckpt)
        return

    import torch
    import transformers

    config_cls = getattr(transformers, fx.config_class)
    config = config_cls(**fx.config_kwargs)
    config.torch_dtype = fx.torch_dtype
    model_cls = getattr(transformers, fx.model_class)
    torch.manual_seed(fx.seed)
    # Auto classes have ``from_config``; concrete model classes (``LlavaForConditionalGeneration``)
    # only the equivalent ``_from_config``.
    from_config = getattr(model_cls, "from_config", None) or model_cls._from_config
    model = from_config(config, torch_dtype=torch.float32)
    # Initialise in fp32 (same random stream whatever the storage dtype), then cast.
    model = model.to(getattr(torch, fx.torch_dtype)).eval()
    model.save_pretrained(ckpt, safe_serialization=True)
    if fx.prepare is not None:
        fx.prepare(ckpt)


def _export(fx: Fixture, ckpt: Path, staging: Path) -> None:
    from optimum.exporters.openvino import main_export
    from optimum.intel import OVConfig

    # Remote-code checkpoints: optimum loads them with AutoModelForCausalLM + their auto_map.
    remote = {"trust_remote_code": True} if fx.remote_code is not None else {}
    if isinstance(fx.weights, str):
        if fx.weights not in ("fp16", "fp32"):
            raise ValueError(f"{fx.name}: weights must be 'fp16', 'fp32' or a quantization dict")
        # An explicit OVConfig also disables optimum's automatic int8 compression
        # of models with >= 1e9 weights (which only happens when ov_config is None).
        main_export(
            model_name_or_path=str(ckpt),
            output=staging,
            task=fx.task,
            ov_config=OVConfig(dtype=fx.weights),
            stateful=fx.stateful,
            convert_tokenizer=False,
            library_name="transformers",
            local_files_only=True,
            **remote,
        )
        return

    # Weight compression: what `optimum-cli export openvino --weight-format int4 ...` does:
    # export with the quantization config attached (so the rt_info runtime options match a
    # quantized model), then run optimum-intel's NNCF weight compression on the exported IR.
    from optimum.exporters.openvino.__main__ import _main_quantize
    from optimum.intel import OVWeightQuantizationConfig

    qcfg = OVWeightQuantizationConfig(**fx.weights)
    main_export(
        model_name_or_path=str(ckpt),
        output=staging,
        task=fx.task,
        ov_config=OVConfig(quantization_config=qcfg),
        stateful=fx.stateful,
        convert_tokenizer=False,
        library_name="transformers",
        local_files_only=True,
        **remote,
    )
    _main_quantize(
        model_name_or_path=str(ckpt),
        task=fx.task,
        library_name="transformers",
        quantization_config=qcfg,
        output=staging,
        cache_dir=None,
        **remote,
    )


def export_fixture(fx: Fixture, out_root: Path, source_dir: Optional[Path] = None) -> Path:
    dest = out_root / fx.name
    with tempfile.TemporaryDirectory(prefix=f"ovmem-export-{fx.name}-") as tmp:
        tmp = Path(tmp)
        if fx.remote_code is not None:
            # transformers copies remote modules into HF_MODULES_CACHE (read when it is imported, which
            # has not happened yet in this child): keep that copy in the temp dir, not in ~/.cache.
            os.environ["HF_MODULES_CACHE"] = str(tmp / "hf_modules")
        ckpt = tmp / "checkpoint"
        staging = tmp / "ir"
        _save_random_checkpoint(fx, ckpt, source_dir)
        _export(fx, ckpt, staging)
        kept = sorted(
            p
            for p in staging.iterdir()
            if p.is_file() and not p.name.startswith(_DROP_PREFIXES) and not p.name.endswith(_DROP_SUFFIXES)
        )
        if not any(p.suffix == ".xml" for p in kept):
            raise RuntimeError(f"{fx.name}: exporter produced no IR in {staging}: {os.listdir(staging)}")
        for p in kept:
            if p.suffix == ".json":
                _scrub_json(p, tmp)
            if p.suffix in (".json", ".xml") and str(tmp) in p.read_text(errors="replace"):
                raise RuntimeError(f"{fx.name}: {p.name} still mentions the temporary dir {tmp}")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for p in kept:
            shutil.copyfile(p, dest / p.name)
    return dest


def _scrub_json(path: Path, tmp: Path) -> None:
    """Keep JSON side files free of the random temporary checkpoint path.

    transformers may record ``_name_or_path`` in config.json, and optimum-intel records
    the checkpoint dir as ``quantization_config.tokenizer`` in openvino_config.json;
    both would make the output depend on the temp dir name.  Such values become null
    (``_name_or_path`` is dropped).  Files without them are left byte-for-byte as written.
    """
    import json

    data = json.loads(path.read_text())
    prefix = str(tmp)
    changed = False

    def scrub(obj):
        nonlocal changed
        if isinstance(obj, dict):
            if "_name_or_path" in obj:
                del obj["_name_or_path"]
                changed = True
            return {k: scrub(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [scrub(v) for v in obj]
        if isinstance(obj, str) and obj.startswith(prefix):
            changed = True
            return None
        return obj

    data = scrub(data)
    if changed:
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _report(dest: Path) -> int:
    total = 0
    for p in sorted(dest.iterdir()):
        size = p.stat().st_size
        total += size
        print(f"    {p.name:<43} {size:>13,d} B  {_human(size):>10}  sha256:{_sha256(p)[:16]}")
    print(f"    {'total':<43} {total:>13,d} B  {_human(total):>10}")
    return total


def remote_code_dirs(specs: list, fixtures: list) -> Dict[str, Path]:
    """Source key -> directory for the remote-code ``fixtures``, from ``--remote-code KEY=DIR`` ``specs``.

    Raises ``ValueError`` with a one-line message (what to clone) if a needed source is missing or a
    directory does not hold it.
    """
    known = remote_code.sources()
    given: Dict[str, Path] = {}
    for spec in specs:
        key, sep, directory = spec.partition("=")
        if not sep or not directory:
            raise ValueError(f"--remote-code {spec!r}: expected KEY=DIR")
        if key not in known and key not in {src.family for src in known.values()}:
            keys = sorted({src.family for src in known.values()} | set(known))
            raise ValueError(f"--remote-code {spec!r}: unknown KEY {key!r}; known: {keys}")
        given[key] = Path(directory).expanduser().resolve()
    dirs: Dict[str, Path] = {}
    for fx in fixtures:
        if fx.remote_code is None or fx.remote_code in dirs:
            continue
        src = known[fx.remote_code]
        directory = given.get(src.key) or given.get(src.family)
        if directory is None:
            raise ValueError(
                f"{fx.name} needs --remote-code {src.family}=DIR (or {src.key}=DIR), a copy of "
                f"{src.url} at {src.commit}: {src.clone_hint()}"
            )
        problem = remote_code.check(src, directory)
        if problem is not None:
            raise ValueError(f"{fx.name} ({src.key}): {problem}; get it with: {src.clone_hint()}")
        dirs[src.key] = directory
    return dirs


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(
        description="Export tiny random-weight OpenVINO IR fixtures (see module docstring).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output root (default: {DEFAULT_OUT}; required with --big, whose models must stay out of the repo)",
    )
    parser.add_argument("--only", nargs="+", metavar="NAME", help="export only these entries")
    parser.add_argument(
        "--big",
        action="store_true",
        help="select the real-width local validation models (BIG_MODELS) instead of the tiny fixtures",
    )
    parser.add_argument("--list", action="store_true", help="list entries and exit")
    parser.add_argument(
        "--remote-code",
        action="append",
        default=[],
        metavar="KEY=DIR",
        help="local copy of a remote-code source for the entries that need one (KEY: minicpmv, internvl, "
        "or a versioned key such as minicpmv-2.5; see --list and the module docstring); repeatable",
    )
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)  # worker mode
    args = parser.parse_args(argv)

    table = BIG_MODELS if args.big else FIXTURES
    if args.list:
        for title, tab in (("fixtures (default)", FIXTURES), ("local validation models (--big)", BIG_MODELS)):
            print(f"{title}:")
            for fx in tab.values():
                w = fx.weights if isinstance(fx.weights, str) else "nncf " + ",".join(
                    f"{k}={v}" for k, v in fx.weights.items()
                )
                remote = f" [--remote-code {fx.remote_code}]" if fx.remote_code else ""
                print(f"  {fx.name:<22} {fx.config_class:<18} {w:<40} {fx.description}{remote}")
        return 0

    names = args.only or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        other = BIG_MODELS if not args.big else FIXTURES
        hint = " (add --big)" if any(n in other for n in unknown) and not args.big else ""
        parser.error(f"unknown entries {unknown}{hint}; known: {sorted(table)}")

    try:
        source_dirs = remote_code_dirs(args.remote_code, [table[n] for n in names])
    except ValueError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")

    if args.out is None:
        if args.big:
            parser.error("--big needs an explicit --out outside the repository (models are 100s of MB)")
        args.out = DEFAULT_OUT
    out_root = args.out.resolve()
    out_root.mkdir(parents=True, exist_ok=True)
    if args.in_process:
        for name in names:
            fx = table[name]
            export_fixture(fx, out_root, source_dirs.get(fx.remote_code) if fx.remote_code else None)
        return 0

    grand = 0
    for name in names:
        fx = table[name]
        print(f"[export] {name}: {fx.description}", flush=True)
        # One fresh interpreter per model: OpenVINO names nodes from a process-wide
        # counter ("Model0", "Constant_1234"), so exporting several models in one
        # process would make each .xml depend on what was exported before it.
        cmd = [sys.executable, str(Path(__file__).resolve()), "--out", str(out_root), "--only", name, "--in-process"]
        if args.big:
            cmd.append("--big")
        if fx.remote_code is not None:
            cmd += ["--remote-code", f"{fx.remote_code}={source_dirs[fx.remote_code]}"]
        env = dict(os.environ, PYTHONHASHSEED="0")
        proc = subprocess.run(cmd, env=env)
        if proc.returncode != 0:
            print(f"[error] {name}: export failed (exit {proc.returncode})", file=sys.stderr)
            return proc.returncode
        dest = out_root / name
        print(f"[wrote] {dest}")
        grand += _report(dest)
    print(f"[done] {len(names)} model(s), {grand:,d} B ({_human(grand)}) under {out_root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
