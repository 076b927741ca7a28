"""VLM exports: folder layouts, vision shapes from the graph, the pipeline's sub-models, the classic lines."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

import ovmem
from ovmem.cli import main
from ovmem.errors import UsageError
from ovmem.runtime_memory import PER_EXTRA_MODEL, PER_OP, PER_OP_THREAD, ir_ops
from ovmem.vlm import Layout, analyze_pipeline, detect_layout, image_sequence, plan_vision
from ovmem.vlm.vision import _smart_resize, minicpm_slices, minicpm_tokens

FIXTURES = Path(__file__).parent / "fixtures"
QWEN, LLAVA, GEMMA = FIXTURES / "tiny-qwen2_5-vl-f16", FIXTURES / "tiny-llava-f16", FIXTURES / "tiny-gemma3-f16"
GB = r"\d+\.\d\d"


@pytest.mark.parametrize(
    ("folder", "family", "roles"),
    [
        (QWEN, "qwen2_5_vl", ["text_embeddings", "vision_embeddings", "vision_embeddings_merger", "language"]),
        (LLAVA, "llava", ["text_embeddings", "vision_embeddings", "language"]),
        (GEMMA, "gemma3", ["text_embeddings", "vision_embeddings", "language"]),
        (FIXTURES / "tiny-qwen2-f16", "qwen2", ["model"]),
    ],
)
def test_layouts_in_run_order(folder, family, roles):
    layout = detect_layout(folder)
    assert layout.model_type == family and [p.role for p in layout.parts] == roles
    assert layout.is_vlm == (roles != ["model"])
    assert all(p.xml.is_file() for p in layout.parts)


def test_unknown_parts_are_analysed_and_reported(tmp_path):
    folder = tmp_path / "vlm-with-audio"
    shutil.copytree(LLAVA, folder)
    for suffix in (".xml", ".bin"):  # any IR will do as an extra part
        shutil.copy(LLAVA / f"openvino_text_embeddings_model{suffix}", folder / f"openvino_audio_encoder_model{suffix}")
    layout = detect_layout(folder)
    assert layout.part("audio_encoder").stage == "other"
    report = analyze_pipeline(folder, 64)
    loaded = [r for r in report.runs if r.phase == "loaded"]
    assert [r.role for r in loaded] == ["audio_encoder"] and report.weights("other") == loaded[0].report.weights_bytes > 0
    assert any("openvino_audio_encoder_model.xml" in note for note in report.notes)
    without = analyze_pipeline(LLAVA, 64)
    assert report.total_bytes == without.total_bytes + report.weights("other") + report.runtime_bytes - without.runtime_bytes
    # the runtime keeps the extra IR's ops too (ovmem.runtime_memory), once: it is compiled, never run
    audio = loaded[0].report.graph
    extra = ir_ops(audio) * (PER_OP + report.target.threads * PER_OP_THREAD) + PER_EXTRA_MODEL
    assert report.runtime_bytes - without.runtime_bytes == extra


def test_bad_folders(tmp_path):
    with pytest.raises(UsageError, match="no OpenVINO model"):
        detect_layout(tmp_path)
    for name in ("a.xml", "b.xml"):
        shutil.copy(LLAVA / "openvino_text_embeddings_model.xml", tmp_path / name)
    with pytest.raises(UsageError, match="2 models"):
        detect_layout(tmp_path)
    with pytest.raises(UsageError, match="not a vision-language export"):
        analyze_pipeline(FIXTURES / "tiny-qwen2-f16", 64)


def test_patch_sequence_shapes_come_from_the_graph():
    plan = plan_vision(detect_layout(QWEN), 64)
    # 3 channels x 2 frames x 14 x 14 values per patch: the width of the patch Convolution's weight
    assert plan.shapes["vision_embeddings"] == {"hidden_states": (64, 1176)}
    merger = plan.shapes["vision_embeddings_merger"]
    assert merger["attention_mask"] == merger["window_attention_mask"] == (1, 64, 64)
    assert merger["window_index"] == (16,) and merger["hidden_states"][0] == 64 and merger["rotary_pos_emb"][0] == 64
    with pytest.raises(UsageError, match="multiple of 4"):
        plan_vision(detect_layout(QWEN), 66)


def test_fixed_image_encoders_take_whole_images():
    layout = detect_layout(LLAVA)  # 112 px, patch 14: 64 patches an image
    assert plan_vision(layout, 64).shapes["vision_embeddings"] == {"pixel_values": (1, 3, 112, 112)}
    two = plan_vision(layout, 130)  # a class token per image does not change the count
    assert (two.images, two.sequence) == (2, 128)


@pytest.mark.parametrize(("folder", "sequence", "tokens"), [(QWEN, 64, 16), (LLAVA, 128, 128), (GEMMA, 64, 4)])
def test_image_tokens_are_the_encoders_output_rows(folder, sequence, tokens):
    # Qwen merges 2x2 patches; LLaVA hands on every patch; Gemma 3 pools 64 patches to mm_tokens_per_image (4)
    report = analyze_pipeline(folder, sequence, prompt_tokens=10)
    assert report.image_tokens == tokens
    prefill = next(r for r in report.runs if r.stage == "language" and r.phase == "prefill")
    assert prefill.report.seq_len == tokens + 10
    decode = next(r for r in report.runs if r.stage == "language" and r.phase == "decode")
    assert (decode.report.seq_len, decode.report.past_len) == (1, tokens + 10)


def test_every_sub_model_keeps_its_largest_run():
    report = analyze_pipeline(QWEN, 64, prompt_tokens=10, device="CPU")
    by = {(r.role, r.phase): r for r in report.runs}
    held = report.held()
    assert held["vision_embeddings"] == by[("vision_embeddings", "image")].working_bytes
    assert held["language"] == max(by[("language", "prefill")].working_bytes, by[("language", "decode")].working_bytes)
    assert held["text_embeddings"] == max(by[("text_embeddings", "image")].working_bytes,
                                          by[("text_embeddings", "decode")].working_bytes)  # fmt: skip
    assert report.vision_working_bytes == held["vision_embeddings"] + held["vision_embeddings_merger"]
    weights = sum(by[(role, phase)].report.weights_bytes for role, phase in
                  [("vision_embeddings", "image"), ("vision_embeddings_merger", "image"), ("text_embeddings", "image"),
                   ("language", "prefill")])  # fmt: skip
    assert report.weights() == weights
    assert report.total_bytes == weights + report.runtime_bytes + sum(held.values())
    # the language model's prefill is the same analysis as `ovmem analyze` of that IR
    alone = ovmem.analyze(QWEN / "openvino_language_model.xml", seq_len=26, device="CPU")
    assert by[("language", "prefill")].report.total_bytes == alone.total_bytes


def _embedding(vocab: int, hidden: int) -> ov.Model:
    """A text-embeddings model: one Gather of token ids over an f16 table, as optimum exports it."""
    ids = ops.parameter([1, -1], ov.Type.i64, name="input_ids")
    table = ops.convert(ops.constant(np.zeros((vocab, hidden), np.float16)), ov.Type.f32)
    return ov.Model([ops.gather(table, ids, ops.constant(0))], [ids])


def test_a_looked_up_table_is_resident_for_the_rows_read():
    """An embedding Gather over a mapped table: on the CPU only the pages of the rows read become resident
    (one 64 KiB fault-around window a token for these 512-byte rows), not the whole 4 MiB table."""
    from ovmem.passes.cpu_runtime import FAULT_AROUND_BYTES

    model = _embedding(8192, 256)
    table = 8192 * 256 * 2  # 4 MiB of f16
    whole = ovmem.analyze(model, seq_len=3, device="generic").weights_bytes
    small = whole - table  # the Gather's axis
    assert 0 <= small < 64
    assert ovmem.analyze(model, seq_len=3, device="CPU").weights_bytes == 3 * FAULT_AROUND_BYTES + small
    # the rule off: the whole table
    assert ovmem.analyze(model, seq_len=3, device="CPU", disable=("cpu-runtime.lookup",)).weights_bytes == whole
    # more lookups than the table holds: the whole table, no more
    assert ovmem.analyze(model, seq_len=128, device="CPU").weights_bytes == whole


def test_tied_tables_are_noted_only_when_tied():
    assert any("stored twice" in n for n in analyze_pipeline(QWEN, 64).notes)  # Qwen2.5-VL ties its head
    assert not any("stored twice" in n for n in analyze_pipeline(LLAVA, 64).notes)  # LLaVA's head is its own


def test_smart_resize_as_qwen2_vl_processor():
    assert _smart_resize(682, 1024, 28, 3136, 12845056) == (672, 1036)  # round to multiples of 28
    assert _smart_resize(20, 20, 28, 3136, 12845056) == (56, 56)  # grown to min_pixels
    h, w = _smart_resize(4000, 3000, 28, 3136, 1003520)  # shrunk under max_pixels, aspect kept
    assert h * w <= 1003520 and (h, w) == (1148, 840)


def test_image_sizes_to_vision_sequences():
    assert image_sequence(detect_layout(QWEN), 224, 224) == 256  # 16 x 16 patches of 14 px
    assert image_sequence(detect_layout(LLAVA), 800, 600) == 64  # resized to the tower's 112 px
    next_config = {"model_type": "llava_next", "vision_config": {"image_size": 336, "patch_size": 14}, "preprocessor": {},
                   "image_grid_pinpoints": [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]}  # fmt: skip
    # 800x600 fits 672x672 best: 2x2 crops plus the base image, 576 patches each
    assert image_sequence(Layout(Path("."), "llava_next", (), next_config), 800, 600) == 5 * 576
    internvl = {"model_type": "internvl_chat", "force_image_size": 448, "max_dynamic_patch": 12,
                "vision_config": {"image_size": 448, "patch_size": 14}, "preprocessor": {}}  # fmt: skip
    # 4:3 is a 4x3 grid of 448-px tiles plus a thumbnail, 1024 patches each
    assert image_sequence(Layout(Path("."), "internvl_chat", (), internvl), 800, 600) == 13 * 1024
    with pytest.raises(UsageError, match="not modelled"):
        image_sequence(Layout(Path("."), "phi3_v", (), {"preprocessor": {}}), 800, 600)


MINICPMV_SLICES = json.loads((Path(__file__).parent / "data" / "minicpmv_slices.json").read_text())
"""MiniCPM-V's own processor on 22 image sizes (``research/remote-code/minicpmv_processor_table.py``)."""


@pytest.mark.parametrize("case", MINICPMV_SLICES["cases"], ids=lambda c: f"{c['version']}-{c['width']}x{c['height']}")
def test_minicpmv_slices_and_tokens_follow_the_processor(case):
    settings = MINICPMV_SLICES["settings"][case["version"]]
    config = {"model_type": "minicpmv", "version": float(case["version"]), "query_num": settings["image_feature_size"],
              "preprocessor": settings}  # fmt: skip
    layout = Layout(Path("."), "minicpmv", (), config)
    slices = minicpm_slices(layout, case["width"], case["height"])
    parts = [rows * cols for rows, cols in case["tgt_sizes"]]
    assert list(slices.patches) == parts
    assert slices.sides == (max(r for r, _ in case["tgt_sizes"]), max(c for _, c in case["tgt_sizes"]))
    assert image_sequence(layout, case["width"], case["height"]) == len(parts) * max(parts)
    assert minicpm_tokens(layout, len(parts), slices.grid, "ov") == case["tokens"]


def test_minicpmv_seed_form_is_total_patches():
    """``estimate_vlm.py FOLDER 5070`` ("patch_nums 5, size 1014"): 5 image parts of 1014 patches."""
    config = {"model_type": "minicpmv", "version": 2.5, "query_num": 96, "preprocessor": {}}
    slices = minicpm_slices(Layout(Path("."), "minicpmv", (), config), 1024, 682)
    assert slices.patches == (1014,) * 5 and slices.sequence == 5070


def test_classic_lines(capsys):
    assert main(["vlm", str(QWEN), "64", "--prompt-tokens", "10"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(f"Total VIT Runtime Memory {GB} GB weight {GB} GB temp {GB} GB", lines[0])
    assert re.fullmatch(f"Total LLM Runtime Memory {GB} GB weight {GB} GB temp {GB} GB", lines[1])
    assert re.fullmatch(f"Total VIT \\+ LLM \\+ Embeddings Runtime Memory {GB} GB", lines[2])
    assert main(["vit", str(LLAVA), "--image", "336x336"]) == 0
    assert re.fullmatch(f"Total VIT Runtime Memory {GB} GB weight {GB} GB temp {GB} GB\n# device CPU \\| target .*\n",
                        capsys.readouterr().out)  # fmt: skip
    for folder in (FIXTURES / "tiny-qwen2-f16", GEMMA):
        assert main(["llm", str(folder), "512"]) == 0
        out = capsys.readouterr().out.splitlines()
        assert re.fullmatch(f"Total runtime memory {GB} GB", out[0]) and re.fullmatch(f"weight {GB} GB temp {GB} GB", out[1])


def test_classic_json_and_devices(capsys):
    assert main(["vlm", str(GEMMA), "64", "--device", "GPU", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["validated"] is False and data["image_tokens"] == 4 and len(data["lines"]) == 3
    assert data["total_bytes"] == data["weights_bytes"] + data["runtime_bytes"] + sum(data["held_bytes"].values())
    assert main(["vlm", str(GEMMA), "64", "--device", "GPU"]) == 0
    assert "modelled, not validated" in capsys.readouterr().out
    assert main(["llm", str(FIXTURES / "tiny-qwen2-f16"), "64", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"][0].startswith("Total runtime memory")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vlm", str(FIXTURES / "tiny-qwen2-f16"), "64"], "not a vision-language export"),
        (["vit", str(FIXTURES / "tiny-qwen2-f16"), "64"], "not a vision encoder"),
        (["vit", str(QWEN)], "give the vision sequence"),
        (["vit", str(QWEN), "64", "--image", "64x64"], "one of them"),
        (["vit", str(QWEN), "--image", "64"], "WIDTHxHEIGHT"),
        (["llm", str(QWEN)], "give the sequence length"),
        (["vlm", "/nonexistent", "64"], "no such file"),
    ],
)
def test_classic_bad_input_is_one_line(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_minicpmv_slices_as_genai_cuts_them():
    """openvino.genai's C++ copy of the slicing (float32, halves rounded away from zero): same patches for
    most sizes, mirror grids on ties, a patch row more where a size is k + 1/2 patches."""
    layout = Layout(Path("."), "minicpmv", (), {"model_type": "minicpmv", "query_num": 64, "preprocessor": {}})
    for size, processor, genai in [((1024, 682), 5070, 5070), ((1014, 1014), 7108, 7108), ((1071, 3114), 8930, 9469)]:
        assert sum(minicpm_slices(layout, *size).patches) == processor
        assert sum(minicpm_slices(layout, *size, runtime="genai").patches) == genai
    assert (minicpm_slices(layout, 1014, 1014).grid, minicpm_slices(layout, 1014, 1014, runtime="genai").grid) == ((3, 2), (2, 3))
