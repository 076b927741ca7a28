"""ovmem.vlm.measure: the whole VLM pipeline run for real in a fresh process, on the tiny fixtures
(a few seconds each)."""

from __future__ import annotations

import json

import pytest

from ovmem.cli import main
from ovmem.errors import ModelError, UsageError
from ovmem.runtime_memory import PER_EXTRA_MODEL, kernel_families
from ovmem.vlm import analyze_pipeline
from ovmem.vlm.measure import PHASES, PipelineMeasurement, format_pipeline_measurement, measure_pipeline
from ovmem.vlm.pipeline import compiled_graphs

from conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
QWEN_VL = FIXTURES / "tiny-qwen2_5-vl-f16"
LLAVA = FIXTURES / "tiny-llava-f16"
GEMMA3 = FIXTURES / "tiny-gemma3-f16"
MiB = 2**20
HIDDEN = 64  # every tiny VLM's text width
PROMPT = 8


@pytest.fixture(scope="module")
def qwen() -> PipelineMeasurement:
    return measure_pipeline(QWEN_VL, image=(224, 224), prompt_tokens=PROMPT)


def test_qwen2_5_vl_pipeline_runs_every_part_in_order(qwen: PipelineMeasurement) -> None:
    m = qwen
    assert m.model == "tiny-qwen2_5-vl-f16" and m.model_type == "qwen2_5_vl" and m.device == "CPU"
    assert m.vision_sequence == 256 and m.images == 1  # 224 x 224 px: 16 x 16 patches of 14 px
    assert m.image_tokens == m.planned_image_tokens == 64  # 2 x 2 patches per token
    assert m.parts == ("language", "text_embeddings", "vision_embeddings", "vision_embeddings_merger")
    assert [(r.phase, r.role) for r in m.runs] == [
        ("image", "text_embeddings"),
        ("image", "vision_embeddings"),
        ("image", "vision_embeddings_merger"),
        ("prefill", "language"),
        ("decode", "text_embeddings"),
        ("decode", "language"),
    ]
    tokens = m.prefill_tokens
    assert tokens == 64 + PROMPT
    text, patches, merger, prefill, _, decode = m.runs
    assert text.inputs == {"input": (1, tokens)} and text.output == (1, tokens, HIDDEN)
    assert patches.inputs == {"hidden_states": (256, 1176)}
    assert merger.inputs["window_index"] == (64,) and merger.inputs["attention_mask"] == (1, 256, 256)
    assert merger.output == (64, HIDDEN)
    assert prefill.inputs == {
        "attention_mask": (1, tokens),
        "position_ids": (3, 1, tokens),  # M-RoPE: the rank the IR declares
        "inputs_embeds": (1, tokens, HIDDEN),
        "beam_idx": (1,),
    }
    assert decode.inputs["attention_mask"] == (1, tokens + 1) and decode.inputs["inputs_embeds"] == (1, 1, HIDDEN)
    assert decode.output == (1, 1, 256)  # logits of the one new token


def test_phases_and_peak(qwen: PipelineMeasurement) -> None:
    m = qwen
    assert tuple(m.phases) == PHASES
    assert m.peak_rss_bytes > m.device_rss_bytes > 0  # above the post-import baseline, beyond loading the plugin
    for name, phase in m.phases.items():
        assert 0 < phase.start.rss <= phase.peak_rss_bytes <= m.peak_rss_bytes, name
        assert phase.seconds > 0
    starts = [m.phases[name].start.rss for name in PHASES]
    assert starts == sorted(starts)  # nothing a phase grew is given back before the next (same process)
    # the process's peak is a phase's, up to the few pages the harness touches between phase windows
    assert 0 <= m.peak_rss_bytes - max(p.peak_rss_bytes for p in m.phases.values()) <= MiB
    assert m.peak_phase in PHASES
    assert abs(m.anon_at_peak + m.file_at_peak - m.peak_rss_bytes) <= MiB
    if m.hwm_rss_bytes is not None:  # the kernel's unsampled peak agrees
        assert abs(m.hwm_rss_bytes - m.peak_rss_bytes) <= MiB
    assert m.compile_seconds > 0 and m.samples >= 4
    assert m.properties["language"]["KV_CACHE_PRECISION"] == "f16" and set(m.properties) == set(m.parts)
    data = m.to_dict()
    assert json.loads(json.dumps(data)) == data and data["prefill_tokens"] == m.prefill_tokens
    text = format_pipeline_measurement(m)
    assert "tiny-qwen2_5-vl-f16 (qwen2_5_vl) on CPU" in text and "vision_embeddings_merger" in text and "decode" in text


def test_image_tokens_agree_with_the_estimate(qwen: PipelineMeasurement) -> None:
    estimate = analyze_pipeline(QWEN_VL, image=(224, 224), prompt_tokens=PROMPT, device="CPU")
    assert qwen.image_tokens == estimate.image_tokens
    assert qwen.vision_sequence == estimate.vision_sequence


@pytest.mark.parametrize(("path", "tokens", "extra"), [(LLAVA, 64, None), (GEMMA3, 4, "token_type_ids")])
def test_fixed_image_encoders(path, tokens: int, extra: str | None) -> None:
    m = measure_pipeline(path, 64, prompt_tokens=PROMPT)
    estimate = analyze_pipeline(path, 64, prompt_tokens=PROMPT, device="CPU")
    assert m.image_tokens == estimate.image_tokens == tokens
    assert m.runs[1].inputs == {"pixel_values": (1, 3, 112, 112)}  # one image at the tower's size
    prefill = next(r for r in m.runs if r.phase == "prefill")
    assert prefill.inputs["position_ids"] == (1, tokens + PROMPT)
    assert (extra in prefill.inputs) if extra else set(prefill.inputs) == {
        "attention_mask", "position_ids", "inputs_embeds", "beam_idx"
    }  # fmt: skip
    assert m.peak_rss_bytes > 0


MINICPMV = FIXTURES / "tiny-minicpmv2_6-f16"
INTERNVL = FIXTURES / "tiny-internvl2_5-f16"


def test_minicpmv_runs_its_slices_as_one_padded_batch_then_the_resampler() -> None:
    """The seed's example image: a source and 2x2 slices of 546x364 px, 1014 patches each (5070)."""
    m = measure_pipeline(MINICPMV, image=(1024, 682), prompt_tokens=PROMPT)
    estimate = analyze_pipeline(MINICPMV, image=(1024, 682), prompt_tokens=PROMPT, device="CPU", runtime="ov")
    vision, resampler = (next(r for r in m.runs if r.role == role) for role in ("vision_embeddings", "resampler"))
    assert vision.inputs == {"pixel_values": (5, 3, 14, 1014 * 14), "patch_attention_mask": (5, 1, 1014),
                             "position_ids": (5, 1014)}  # fmt: skip
    assert resampler.inputs["pos_embed"] == (1014, 5, 128) and resampler.output == (5, 16, 128)  # query_num 16
    # 2.6: <image_id>0</image_id>, (16 + 2) per part, one newline between the two grid rows
    assert m.image_tokens == estimate.image_tokens == 3 + 5 * 18 + 1
    assert (m.vision_sequence, estimate.vision_sequence) == (5070, 5070)
    assert estimate.host_bytes == {"MiniCPM-V position table": 32 * 39 * 128 * 4}  # the slices are 26x39 patches
    # the seed's positional form: 5070 patches are 5 parts of 1014, the same run (a square grid's table)
    positional = analyze_pipeline(MINICPMV, 5070, prompt_tokens=PROMPT, device="CPU", runtime="ov")
    assert positional.image_tokens == estimate.image_tokens
    assert positional.total_bytes - sum(positional.host_bytes.values()) == estimate.total_bytes - sum(
        estimate.host_bytes.values())


def test_internvl_tiles() -> None:
    m = measure_pipeline(INTERNVL, image=(1024, 682), prompt_tokens=PROMPT)
    estimate = analyze_pipeline(INTERNVL, image=(1024, 682), prompt_tokens=PROMPT, device="CPU", runtime="ov")
    assert m.runs[1].inputs == {"pixel_values": (7, 3, 448, 448)}  # 3x2 tiles and a thumbnail
    assert m.image_tokens == estimate.image_tokens == 7 * 256


def test_estimate_is_close_on_a_tiny_fixture() -> None:
    """A tiny pipeline is almost all the plugin's own memory: its base, the vision kernels' code
    (Convolution, MVN, a cache-less SDPA) and one more compiled model's objects per sub-model
    (``ovmem.runtime_memory``). Measured 61-63 MiB; with one model's runtime only, the estimate was
    52 MiB (-15 %)."""
    m = measure_pipeline(LLAVA, 64, prompt_tokens=PROMPT)
    estimate = analyze_pipeline(LLAVA, 64, prompt_tokens=PROMPT, device="CPU")
    assert abs(estimate.total_bytes - m.peak_rss_bytes) <= 0.05 * m.peak_rss_bytes, (estimate.total_bytes / MiB, m.peak_rss_bytes / MiB)
    graphs = compiled_graphs(estimate.runs)
    without_pipeline_terms = (
        estimate.total_bytes - (len(graphs) - 1) * PER_EXTRA_MODEL - sum(kernel_families(graphs).values())
    )
    assert abs(without_pipeline_terms - m.peak_rss_bytes) > 0.1 * m.peak_rss_bytes  # the terms are what closes it


def test_bad_input_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="not a vision-language export"):
        measure_pipeline(FIXTURES / "tiny-qwen2-f16", 64)
    with pytest.raises(UsageError, match="one of them"):
        measure_pipeline(LLAVA)
    with pytest.raises(UsageError, match="one of them"):
        measure_pipeline(LLAVA, 64, image=(336, 336))
    with pytest.raises(UsageError, match="multiple of 4"):
        measure_pipeline(QWEN_VL, 7)
    with pytest.raises(UsageError, match="prompt-tokens"):
        measure_pipeline(LLAVA, 64, prompt_tokens=-1)
    with pytest.raises(UsageError, match="positive"):
        measure_pipeline(LLAVA, 0)
    with pytest.raises(UsageError, match="no such file"):
        measure_pipeline(FIXTURES / "does-not-exist", 64)
    with pytest.raises(UsageError, match="timeout"):
        measure_pipeline(LLAVA, 64, timeout=0)


def test_unknown_device_is_one_model_error_line() -> None:
    with pytest.raises(ModelError) as info:
        measure_pipeline(LLAVA, 64, device="NPU_DOES_NOT_EXIST")
    text = str(info.value)
    assert "\n" not in text and "Traceback" not in text
    assert "compile_model openvino_language_model.xml failed" in text and "NPU_DOES_NOT_EXIST" in text


def test_cli_measure_on_a_vlm_folder(capsys) -> None:
    assert main(["measure", str(GEMMA3), "--vision-seq", "64", "--prompt-tokens", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["image_tokens"] == 4 and data["prompt_tokens"] == 4 and data["peak_rss_bytes"] > 0
    assert main(["measure", str(QWEN_VL), "--image", "56x56"]) == 0
    out = capsys.readouterr().out
    assert "vision sequence 16 (1 image), 4 image tokens + 0 prompt tokens" in out and "peak RSS" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["measure", str(LLAVA)], "--vision-seq N or --image WxH"),
        (["measure", str(LLAVA), "--vision-seq", "64", "--image", "336x336"], "one of them"),
        (["measure", str(LLAVA), "--vision-seq", "64", "--seq-len", "16"], "--seq-len: not for a VLM export"),
        (["measure", str(FIXTURES / "tiny-qwen2-f16"), "--vision-seq", "64"], "only for a VLM export"),
        (["measure", str(LLAVA), "--image", "336"], "WIDTHxHEIGHT"),
        (["measure", str(QWEN_VL), "--vision-seq", "6"], "multiple of 4"),
    ],
)
def test_cli_measure_vlm_usage_errors(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("ovmem: error:") and message in err
