#!/usr/bin/env python
"""MiniCPM-V 2.5 / 2.6 (``model_type`` ``minicpmv``, remote code): sources, patches, configs, checkpoints.

Used by tools/export_fixtures.py (its ``Fixture(remote_code="minicpmv-2.5" / "minicpmv-2.6")`` entries,
exported with ``--remote-code minicpmv=DIR``); details in research/remote-code/minicpmv.md.

MiniCPM-V's modeling code is not part of ``transformers``: it lives in the Hugging Face model
repositories (``openbmb/MiniCPM-Llama3-V-2_5`` = version 2.5, ``openbmb/MiniCPM-V-2_6`` = 2.6) and is
loaded with ``trust_remote_code=True``.  This module does NOT contain that code: ``SOURCES`` names a
public GitHub copy (repository + commit + paths) of each version's files, and
``prepare_checkpoint(source_dir, config, ckpt, ...)`` reads them from a local copy of that repository
(see tools/remote_code/__init__.py), applies the textual ``PATCHES`` that current torch /
transformers 4.57 / no torchvision / no timm / no flash-attn / offline need, and writes a Hugging Face
remote-code checkpoint into the (temporary) directory ``ckpt``::

    config.json (auto_map, architectures ["MiniCPMV"], model_type "minicpmv", version)
    model.safetensors (random weights under torch.manual_seed(seed), saved in torch_dtype)
    configuration_minicpm.py modeling_minicpmv.py resampler.py [modeling_navit_siglip.py]
    image_processing_minicpmv.py processing_minicpmv.py   (patched copies; temp dir only)
    preprocessor_config.json (the real processor settings of that version)

No tokenizer is written: optimum-intel's minicpmv export (``MiniCPMVOpenVINOConfig``) converts
``model.llm`` / ``model.vpm`` / ``model.resampler`` / the embedding table from dummy inputs and never
tokenizes; ``load_preprocessors`` swallows the missing tokenizer (and the ``MiniCPMVProcessor`` that
needs one) and still loads and saves the image processor.  The export output::

    openvino_language_model.{xml,bin}          model.llm (qwen2 for 2.6, llama for 2.5), stateful
    openvino_text_embeddings_model.{xml,bin}
    openvino_vision_embeddings_model.{xml,bin} model.vpm (SigLIP NaViT)
    openvino_resampler_model.{xml,bin}         model.resampler (perceiver, query_num queries)
    config.json  generation_config.json  preprocessor_config.json  (+ openvino_config.json for int4)

(optimum's ``save_pretrained`` also copies the remote ``*.py`` modules next to the IRs; export_fixtures
drops them, so ``preprocessor_config.json``'s ``auto_map`` names files that are not there.)

Run on its own, this file writes the inputs optimum-intel's runtime feeds the vision and resampler IRs
for one image (``runtime_vision_inputs``; export venv), for research/remote-code/minicpmv_check.py::

    VENV/bin/python tools/remote_code/minicpmv.py --remote-code minicpmv=DIR \\
        --only tiny-minicpmv2_6-f16 --runtime-inputs /tmp/x.npz [--image-size 1014x1014]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

if __name__ == "__main__":  # run as a script: make tools/ importable (remote_code, export_fixtures)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from remote_code import Source, patched_files, save_random_model, write_remote_code

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

# --------------------------------------------------------------------------------------------------
# Textual patches: (file, old, new, why).  Each old string must occur exactly once.
# --------------------------------------------------------------------------------------------------
PATCHES: Dict[str, List[Tuple[str, str, str, str]]] = {
    "2.5": [
        (
            "modeling_minicpmv.py",
            "from torchvision import transforms\n",
            "",
            "torchvision is not installed (optimum-intel's pin would pull a CUDA torch); transformers' "
            "check_imports refuses to load a module importing a missing package. It is only used by "
            "init_transform (PIL -> tensor for chat()), never for building or exporting the model.",
        ),
        (
            "modeling_minicpmv.py",
            "        self.transform = self.init_transform()\n",
            "        self.transform = None  # patched: torchvision-free (only chat() uses it)\n",
            "init_transform() needs torchvision.transforms (see above); the attribute holds no weights.",
        ),
        (
            "resampler.py",
            "from typing import Optional, Tuple\n",
            "from typing import List, Optional, Tuple\n",
            "resampler.py annotates with List but never imports it: it came in through "
            "`from torch.nn.functional import *` from torch versions whose functional.py imported "
            "typing.List (and has no __all__); torch 2.13's does not, so the module fails to import.",
        ),
        (
            "modeling_minicpmv.py",
            "        setattr(model, 'patch_size', model.embeddings.patch_size)\n",
            "        setattr(model, 'patch_size', model.embeddings.patch_size)\n"
            "        # patched (ovmem): drop the legacy output_* / return_dict kwargs that optimum-intel's\n"
            "        # MiniCPMV vision patcher passes to the encoder; transformers 4.57's Idefics2Encoder\n"
            "        # forwards **kwargs to each attention call, whose patched forward rejects them.\n"
            "        _encoder_forward = model.encoder.forward\n"
            "\n"
            "        def _encoder_forward_without_legacy_kwargs(inputs_embeds, attention_mask=None, output_attentions=None,\n"
            "                                                   output_hidden_states=None, return_dict=None, **kwargs):\n"
            "            return _encoder_forward(inputs_embeds, attention_mask, **kwargs)\n"
            "\n"
            "        model.encoder.forward = _encoder_forward_without_legacy_kwargs\n",
            "optimum-intel 2.2.0's _minicpmv_siglip_transformer_forward calls self.encoder(inputs_embeds=..., "
            "attention_mask=..., output_attentions=..., output_hidden_states=..., return_dict=...). 2.5's vision "
            "tower is transformers' own Idefics2VisionTransformer, whose 4.57 Idefics2Encoder passes **kwargs on "
            "to every layer and on to self_attn, and the patcher's replacement attention forward "
            "(hidden_states, attention_mask, output_attentions) then raises TypeError on "
            "'output_hidden_states'. So an unmodified MiniCPM-Llama3-V-2_5 does not export with "
            "optimum-intel 2.2.0 + transformers 4.57; the wrapper drops those three kwargs (ignored by the "
            "4.57 encoder anyway), changing nothing numerically. 2.6 has its own SiglipEncoder and is unaffected.",
        ),
    ],
    "2.6": [
        (
            "modeling_minicpmv.py",
            "import torchvision\n",
            "",
            "torchvision is not installed (see 2.5); the 2.6 modeling file imports it but never uses it.",
        ),
        (
            "resampler.py",
            "from typing import Optional, Tuple\n",
            "from typing import List, Optional, Tuple\n",
            "resampler.py annotates with List but never imports it: it came in through "
            "`from torch.nn.functional import *` from torch versions whose functional.py imported "
            "typing.List (and has no __all__); torch 2.13's does not, so the module fails to import.",
        ),
    ],
}

# --------------------------------------------------------------------------------------------------
# Configs (the config.json content minus auto_map/architectures/model_type, which are added).
# --------------------------------------------------------------------------------------------------
# SigLIP-400M (so400m-patch14, NaViT variant of both versions): 27 layers in the real models.
_SIGLIP_400M_4L = dict(
    hidden_size=1152,
    intermediate_size=4304,
    num_attention_heads=16,
    num_hidden_layers=4,
    patch_size=14,
    image_size=980,
)

# openbmb/MiniCPM-Llama3-V-2_5 config.json (Llama-3-8B), 32 -> 2 LLM layers, 27 -> 4 vision layers.
MINICPMV_2_5_2L: Dict[str, Any] = dict(
    version="2.5",
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=2,
    num_attention_heads=32,
    num_key_value_heads=8,
    vocab_size=128256,
    max_position_embeddings=8192,
    rope_theta=500000.0,
    rms_norm_eps=1e-05,
    hidden_act="silu",
    attention_bias=False,
    bos_token_id=128000,
    eos_token_id=128001,
    tie_word_embeddings=False,
    use_cache=True,
    query_num=96,
    image_size=448,
    patch_size=14,
    drop_vision_last_layer=False,
    batch_vision_input=True,
    slice_mode=True,
    slice_config={"max_slice_nums": 9, "patch_size": 14, "model_type": "minicpmv"},
    mm_use_im_start_end=True,
    vision_config=dict(_SIGLIP_400M_4L, model_type="idefics2"),
)

# openbmb/MiniCPM-V-2_6 config.json (Qwen2-7B), 28 -> 2 LLM layers, 27 -> 4 vision layers.
MINICPMV_2_6_2L: Dict[str, Any] = dict(
    version="2.6",
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=2,
    num_attention_heads=28,
    num_key_value_heads=4,
    vocab_size=151666,
    max_position_embeddings=32768,
    max_window_layers=28,
    rope_theta=1000000.0,
    rms_norm_eps=1e-06,
    hidden_act="silu",
    sliding_window=131072,
    use_sliding_window=False,
    bos_token_id=151643,
    eos_token_id=151645,
    tie_word_embeddings=False,
    use_cache=True,
    query_num=64,
    image_size=448,
    patch_size=14,
    drop_vision_last_layer=False,
    batch_vision_input=True,
    slice_mode=True,
    slice_config={"max_slice_nums": 9, "model_type": "minicpmv"},
    use_image_id=True,
    vision_batch_size=16,
    vision_config=dict(_SIGLIP_400M_4L, model_type="siglip"),
)

# Tiny 2.6: every block present, IRs ~1 MB.  The LLM hidden size is 128, not 64: the resampler's
# embed_dim is the LLM hidden size and its head count is hard-coded as embed_dim // 128
# (init_resampler), so hidden < 128 gives a 0-head MultiheadAttention.  Vision image_size 448
# (32x32 position table) instead of 980 (70x70) keeps the position embedding at 1024 x 64.
_TINY_COMMON: Dict[str, Any] = dict(
    hidden_size=128,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    vocab_size=256,
    max_position_embeddings=512,
    hidden_act="silu",
    bos_token_id=0,
    eos_token_id=1,
    tie_word_embeddings=False,
    use_cache=True,
    query_num=16,
    image_size=448,
    patch_size=14,
    drop_vision_last_layer=False,
    batch_vision_input=True,
    slice_mode=True,
)
_TINY_VISION = dict(hidden_size=64, intermediate_size=128, num_attention_heads=4, num_hidden_layers=2, patch_size=14,
                    image_size=448)  # fmt: skip

TINY_MINICPMV_2_6: Dict[str, Any] = dict(
    _TINY_COMMON,
    version="2.6",
    max_window_layers=2,
    rope_theta=1000000.0,
    rms_norm_eps=1e-06,
    use_sliding_window=False,
    slice_config={"max_slice_nums": 9, "model_type": "minicpmv"},
    use_image_id=True,
    vision_batch_size=16,
    vision_config=dict(_TINY_VISION, model_type="siglip"),
)

# Tiny 2.5 (same widths as TINY_MINICPMV_2_6, Llama LLM, transformers' Idefics2 vision tower); used to
# test the 2.5 path cheaply.
TINY_MINICPMV_2_5: Dict[str, Any] = dict(
    _TINY_COMMON,
    version="2.5",
    rope_theta=500000.0,
    rms_norm_eps=1e-05,
    attention_bias=False,
    slice_config={"max_slice_nums": 9, "patch_size": 14, "model_type": "minicpmv"},
    mm_use_im_start_end=True,
    vision_config=dict(_TINY_VISION, model_type="idefics2"),
)

_AUTO_MAP = {
    "AutoConfig": "configuration_minicpm.MiniCPMVConfig",
    "AutoModel": "modeling_minicpmv.MiniCPMV",
    "AutoModelForCausalLM": "modeling_minicpmv.MiniCPMV",
}

# preprocessor_config.json of each hub repo (2.5: identical to the file in SOURCES["2.5"]);
# image_feature_size is set to the config's query_num.
_PROCESSOR_AUTO_MAP = {
    "AutoProcessor": "processing_minicpmv.MiniCPMVProcessor",
    "AutoImageProcessor": "image_processing_minicpmv.MiniCPMVImageProcessor",
}
PREPROCESSOR_CONFIGS: Dict[str, Dict[str, Any]] = {
    "2.5": {
        "image_processor_type": "MiniCPMVImageProcessor",
        "auto_map": _PROCESSOR_AUTO_MAP,
        "processor_class": "MiniCPMVProcessor",
        "max_slice_nums": 9,
        "scale_resolution": 448,
        "patch_size": 14,
        "image_feature_size": 96,
        "im_start": "<image>",
        "im_end": "</image>",
        "slice_start": "<slice>",
        "slice_end": "</slice>",
        "unk": "<unk>",
        "norm_mean": [0.5, 0.5, 0.5],
        "norm_std": [0.5, 0.5, 0.5],
        "version": 2.5,
    },
    "2.6": {
        "image_processor_type": "MiniCPMVImageProcessor",
        "auto_map": _PROCESSOR_AUTO_MAP,
        "processor_class": "MiniCPMVProcessor",
        "max_slice_nums": 9,
        "scale_resolution": 448,
        "patch_size": 14,
        "use_image_id": True,
        "image_feature_size": 64,
        "im_start": "<image>",
        "im_end": "</image>",
        "slice_start": "<slice>",
        "slice_end": "</slice>",
        "unk": "<unk>",
        "im_id_start": "<image_id>",
        "im_id_end": "</image_id>",
        "slice_mode": True,
        "norm_mean": [0.5, 0.5, 0.5],
        "norm_std": [0.5, 0.5, 0.5],
        "version": 2.6,
    },
}

# --------------------------------------------------------------------------------------------------
# Where the remote code comes from.  "files" maps checkpoint file name -> path in that repository.
# --------------------------------------------------------------------------------------------------
SOURCES: Dict[str, Source] = {
    # A git copy of the Hugging Face repo openbmb/MiniCPM-Llama3-V-2_5 (same history and commit
    # messages as the hub repo, "adjust image processing for batch output (#63)" 2024-07-23 being the
    # last code change, the commit used here; later commits touch only README.md).  Its weights are
    # LFS pointers, so the clone hint skips LFS.
    "minicpmv-2.5": Source(
        key="minicpmv-2.5",
        family="minicpmv",
        url="https://github.com/theonlyengine/VQA_Model",
        commit="287e3f85192a7c4acf2564fc6bda0637439a9d78",
        files={
            name: name
            for name in (
                "configuration_minicpm.py",
                "modeling_minicpmv.py",
                "resampler.py",
                "image_processing_minicpmv.py",
                "processing_minicpmv.py",
            )
        },
        patches=tuple(PATCHES["2.5"]),
        clone_env="GIT_LFS_SKIP_SMUDGE=1",
    ),
    # Commit "fork from hugging face original code" (2024-10-05) of a repo that copied the
    # openbmb/MiniCPM-V-2_6 code files before modifying them in later commits (only this one is used).
    "minicpmv-2.6": Source(
        key="minicpmv-2.6",
        family="minicpmv",
        url="https://github.com/404805854/minicpmv2.6-onnx",
        commit="8490e5923eeebae2ef7163fc7bb39f5b66967272",
        files={
            name: name
            for name in (
                "configuration_minicpm.py",
                "modeling_minicpmv.py",
                "modeling_navit_siglip.py",
                "resampler.py",
                "image_processing_minicpmv.py",
                "processing_minicpmv.py",
            )
        },
        patches=tuple(PATCHES["2.6"]),
    ),
}


def _source(config: Dict[str, Any]) -> Tuple[str, Source]:
    version = str(config["version"])
    if f"minicpmv-{version}" not in SOURCES:
        raise ValueError(f"unknown MiniCPM-V version {version!r}; known: {sorted(SOURCES)}")
    return version, SOURCES[f"minicpmv-{version}"]


def _preprocessor_config(version: str, config: Dict[str, Any]) -> str:
    pre = dict(PREPROCESSOR_CONFIGS[version])
    pre["image_feature_size"] = int(config["query_num"])
    return json.dumps(pre, indent=2) + "\n"


def prepare_checkpoint(
    source_dir: Path,
    config: Dict[str, Any],
    ckpt: Path,
    seed: int = 0,
    torch_dtype: str = "bfloat16",
) -> None:
    """Write a random-weight MiniCPM-V checkpoint of ``config`` (its ``version`` picks the source) into ``ckpt``."""
    version, src = _source(config)
    ckpt = Path(ckpt)
    write_remote_code(src, source_dir, ckpt)

    raw = dict(config)
    raw.update(
        architectures=["MiniCPMV"],
        auto_map=_AUTO_MAP,
        model_type="minicpmv",
        version=float(version),
        torch_dtype=torch_dtype,
    )
    (ckpt / "config.json").write_text(json.dumps(raw, indent=2) + "\n")

    save_random_model(ckpt, seed, torch_dtype)
    (ckpt / "preprocessor_config.json").write_text(_preprocessor_config(version, config))


def runtime_vision_inputs(
    source_dir: Path, config: Dict[str, Any], width: int = 1014, height: int = 1014, seed: int = 0
) -> Dict[str, Any]:
    """The inputs optimum-intel's runtime feeds the vision and resampler IRs for one RGB image.

    Runs the version's real ``MiniCPMVImageProcessor`` (patched copy, from ``source_dir``) on a random
    ``width`` x ``height`` image, then ``_OVMiniCPMVForCausalLM.get_vision_embeddings`` /
    ``resampling`` of the installed optimum-intel on an instance without IRs whose
    ``vision_embeddings`` / ``resampler`` callables only record what they are given.  Returns numpy
    arrays: ``vision.<input>``, ``resampler.pos_embed``, ``resampler.key_padding_mask``, ``tgt_sizes``
    (the resampler's ``image_feature`` is the vision IR's output).
    """
    import types

    import numpy as np
    import torch
    from optimum.intel.openvino.modeling_visual_language import _OVMiniCPMVForCausalLM
    from PIL import Image
    from transformers import AutoImageProcessor

    with tempfile.TemporaryDirectory(prefix="ovmem-minicpmv-proc-") as tmp:
        tmp = Path(tmp)
        version, src = _source(config)
        texts = patched_files(src, source_dir)
        for name in ("image_processing_minicpmv.py", "processing_minicpmv.py"):
            (tmp / name).write_text(texts[name], encoding="utf-8")
        (tmp / "preprocessor_config.json").write_text(_preprocessor_config(version, config))
        processor = AutoImageProcessor.from_pretrained(tmp, trust_remote_code=True, local_files_only=True)
        rng = np.random.default_rng(seed)
        image = Image.fromarray(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8))
        # what MiniCPMVProcessor.__call__ does (2.6: max_slice_nums None -> the config's 9)
        extra = {"max_slice_nums": None} if version != "2.5" else {}
        feats = processor([image], do_pad=True, return_tensors="pt", **extra)

    vcfg = config["vision_config"]
    recorded: Dict[str, Any] = {}

    def vision_embeddings(**kw):
        recorded.update({f"vision.{k}": v.numpy() for k, v in kw.items()})
        b, _, _, L = kw["pixel_values"].shape
        return [np.zeros((b, L // vcfg["patch_size"], vcfg["hidden_size"]), dtype=np.float32)]

    def resampler(**kw):
        recorded.update({f"resampler.{k}": v.numpy() for k, v in kw.items() if k != "image_feature"})
        b = kw["image_feature"].shape[0]
        return np.zeros((b, int(config["query_num"]), int(config["hidden_size"])), dtype=np.float32)

    rt = object.__new__(_OVMiniCPMVForCausalLM)  # no IRs: only the Python glue is used
    rt.__dict__.update(
        vision_embeddings=vision_embeddings,
        resampler=resampler,
        embed_dim=int(config["hidden_size"]),
        config=types.SimpleNamespace(
            patch_size=int(config["patch_size"]),
            vision_config=types.SimpleNamespace(patch_size=vcfg["patch_size"], image_size=vcfg["image_size"]),
        ),
    )
    max_size = vcfg["image_size"] // vcfg["patch_size"]
    rt._pos_embeds = torch.from_numpy(rt._get_2d_sincos_pos_embed(rt.embed_dim, max_size)).float()
    rt.max_size = (max_size, max_size)
    rt.get_vision_embeddings(feats["pixel_values"], input_ids=None, tgt_sizes=feats["tgt_sizes"])
    recorded["tgt_sizes"] = torch.vstack([t for t in feats["tgt_sizes"] if isinstance(t, torch.Tensor)]).numpy()
    return recorded


def main(argv: Optional[list] = None) -> int:
    import export_fixtures
    import numpy as np

    parser = argparse.ArgumentParser(
        description="Write the vision/resampler inputs optimum-intel's runtime builds for one image "
        "(see module docstring); the export itself is tools/export_fixtures.py's."
    )
    parser.add_argument("--remote-code", action="append", default=[], metavar="KEY=DIR", required=True,
                        help="as in export_fixtures.py (minicpmv=DIR, minicpmv-2.5=DIR, minicpmv-2.6=DIR)")  # fmt: skip
    parser.add_argument("--only", nargs="+", metavar="NAME", required=True,
                        help="MiniCPM-V entries of export_fixtures.py (FIXTURES or BIG_MODELS)")  # fmt: skip
    parser.add_argument("--runtime-inputs", type=Path, metavar="NPZ", required=True,
                        help="output .npz (NAME.npz next to it if several entries)")  # fmt: skip
    parser.add_argument("--image-size", default="1014x1014", help="W x H of the random RGB image")
    args = parser.parse_args(argv)

    table = {**export_fixtures.FIXTURES, **export_fixtures.BIG_MODELS}
    wrong = [n for n in args.only if n not in table or not (table[n].remote_code or "").startswith("minicpmv")]
    if wrong:
        parser.error(f"not MiniCPM-V entries of export_fixtures.py: {wrong}")
    try:
        dirs = export_fixtures.remote_code_dirs(args.remote_code, [table[n] for n in args.only])
    except ValueError as e:
        parser.exit(2, f"{parser.prog}: error: {e}\n")
    w, h = (int(v) for v in args.image_size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="ovmem-minicpmv-modules-") as modules:
        # the remote image processor module is copied into HF_MODULES_CACHE: keep it out of ~/.cache
        # (transformers reads the variable when it is first imported, inside runtime_vision_inputs)
        os.environ["HF_MODULES_CACHE"] = modules
        for name in args.only:
            fx = table[name]
            arrays = runtime_vision_inputs(dirs[fx.remote_code], fx.config_kwargs, w, h)
            dest = args.runtime_inputs if len(args.only) == 1 else args.runtime_inputs.with_name(f"{name}.npz")
            np.savez(dest, **arrays)
            print(dest, {k: (v.shape, str(v.dtype)) for k, v in arrays.items()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
